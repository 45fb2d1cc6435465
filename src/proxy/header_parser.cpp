#include "proxy/header_parser.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace httpapi::proxy {
namespace {

constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV1MaxLine = 107;  // the spec's bound, CRLF included
constexpr std::size_t kV2Fixed = 16;     // signature, version/command, family, length
constexpr std::size_t kInetBlock = 12;   // two IPv4 addresses, two ports
constexpr std::size_t kInet6Block = 36;  // two IPv6 addresses, two ports

// What the start of `input` says about `signature`: a match, a prefix of it, or neither.
Looks compare_signature(std::string_view input, std::string_view signature) noexcept {
  const std::size_t n = std::min(input.size(), signature.size());
  if (input.substr(0, n) != signature.substr(0, n)) return Looks::no;
  return n == signature.size() ? Looks::yes : Looks::maybe;
}

Result failed(Error error) noexcept { return {Status::error, error, 0}; }

// ---- version 1 ----------------------------------------------------------------------------

// The next space-separated word of `line` from `at`; `at` moves past it and its one space.
std::string_view next_word(std::string_view line, std::size_t& at) noexcept {
  const std::size_t end = std::min(line.find(' ', at), line.size());
  const std::string_view word = line.substr(at, end - at);
  at = end == line.size() ? end : end + 1;
  return word;
}

bool parse_port(std::string_view text, std::uint16_t& port) noexcept {
  if (text.empty() || text.size() > 5) return false;
  std::uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

// An address in the family `tcp6` says, as inet_pton reads it (which wants a C string).
bool parse_address(std::string_view text, bool tcp6, std::uint16_t port,
                   sockaddr_storage& out) noexcept {
  char buffer[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  out = {};
  if (tcp6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return inet_pton(AF_INET6, buffer, &v6->sin6_addr) == 1;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(port);
  return inet_pton(AF_INET, buffer, &v4->sin_addr) == 1;
}

// "TCP4 SRC DST SPORT DPORT", "TCP6 ..." or "UNKNOWN[ anything]": the line after "PROXY ".
bool parse_v1_line(std::string_view line, Header& header) noexcept {
  std::size_t at = 0;
  const std::string_view protocol = next_word(line, at);
  header.version = 1;
  if (protocol == "UNKNOWN") {  // the rest of the line is the sender's to fill: ignored
    header.proxied = false;
    return true;
  }
  if (protocol != "TCP4" && protocol != "TCP6") return false;
  const bool tcp6 = protocol == "TCP6";
  const std::string_view source = next_word(line, at);
  const std::string_view destination = next_word(line, at);
  const std::string_view source_port = next_word(line, at);
  const std::string_view destination_port = next_word(line, at);
  if (at != line.size() || line.back() == ' ') return false;  // extra words or spaces
  std::uint16_t sport = 0, dport = 0;
  if (!parse_port(source_port, sport) || !parse_port(destination_port, dport)) return false;
  if (!parse_address(source, tcp6, sport, header.source) ||
      !parse_address(destination, tcp6, dport, header.destination)) {
    return false;
  }
  header.proxied = true;
  return true;
}

Result parse_v1(std::string_view input, Header& header) noexcept {
  const std::size_t newline = input.substr(0, kV1MaxLine).find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() >= kV1MaxLine) return failed(Error::v1_too_long);
    return {Status::incomplete, Error::none, 0};
  }
  if (newline == 0 || input[newline - 1] != '\r') return failed(Error::v1_malformed);
  const std::string_view line =
      input.substr(kV1Signature.size(), newline - 1 - kV1Signature.size());
  if (line.find_first_of("\r\n") != std::string_view::npos) return failed(Error::v1_malformed);
  header.tlvs = {};
  if (!parse_v1_line(line, header)) return failed(Error::v1_malformed);
  return {Status::complete, Error::none, newline + 1};
}

// ---- version 2 ----------------------------------------------------------------------------

std::uint16_t u16_at(std::string_view bytes, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) |
                                    static_cast<unsigned char>(bytes[at + 1]));
}

std::uint32_t u32_at(std::string_view bytes, std::size_t at) noexcept {
  return static_cast<std::uint32_t>(u16_at(bytes, at)) << 16 | u16_at(bytes, at + 2);
}

// Walks the type-length-value items of `block`, calling `take(type, value)` for each; false
// when one claims more bytes than the block has left.
template <typename Take>
bool walk_tlvs(std::string_view block, Take&& take) noexcept {
  std::size_t at = 0;
  while (at < block.size()) {
    if (block.size() - at < 3) return false;
    const auto type = static_cast<unsigned char>(block[at]);
    const std::size_t length = u16_at(block, at + 1);
    at += 3;
    if (block.size() - at < length) return false;
    take(type, block.substr(at, length));
    at += length;
  }
  return true;
}

// PP2_TYPE_SSL: client bits (1 byte), verify result (4), then sub-TLVs.
bool parse_ssl(std::string_view value, Tlvs& tlvs) noexcept {
  if (value.size() < 5) return false;
  tlvs.ssl = true;
  tlvs.ssl_client = static_cast<std::uint8_t>(value[0]);
  tlvs.ssl_verify = u32_at(value, 1);
  return walk_tlvs(value.substr(5), [&](unsigned char type, std::string_view v) {
    switch (type) {
      case 0x21: tlvs.ssl_version = v; break;
      case 0x22: tlvs.ssl_cn = v; break;
      case 0x23: tlvs.ssl_cipher = v; break;
      case 0x24: tlvs.ssl_sig_alg = v; break;
      case 0x25: tlvs.ssl_key_alg = v; break;
      default: break;
    }
  });
}

bool parse_tlvs(std::string_view block, Tlvs& tlvs) noexcept {
  bool ssl_ok = true;
  const bool ok = walk_tlvs(block, [&](unsigned char type, std::string_view value) {
    switch (type) {
      case 0x01: tlvs.alpn = value; break;
      case 0x02: tlvs.authority = value; break;
      case 0x20: ssl_ok = ssl_ok && parse_ssl(value, tlvs); break;
      default: break;  // CRC32C, NOOP, UNIQUE_ID, NETNS and others: not shown
    }
  });
  return ok && ssl_ok;
}

void read_inet(std::string_view block, sockaddr_storage& source, sockaddr_storage& destination) {
  source = {};
  destination = {};
  auto* s = reinterpret_cast<sockaddr_in*>(&source);
  auto* d = reinterpret_cast<sockaddr_in*>(&destination);
  s->sin_family = d->sin_family = AF_INET;
  std::memcpy(&s->sin_addr, block.data(), 4);
  std::memcpy(&d->sin_addr, block.data() + 4, 4);
  std::memcpy(&s->sin_port, block.data() + 8, 2);  // both in network order already
  std::memcpy(&d->sin_port, block.data() + 10, 2);
}

void read_inet6(std::string_view block, sockaddr_storage& source,
                sockaddr_storage& destination) {
  source = {};
  destination = {};
  auto* s = reinterpret_cast<sockaddr_in6*>(&source);
  auto* d = reinterpret_cast<sockaddr_in6*>(&destination);
  s->sin6_family = d->sin6_family = AF_INET6;
  std::memcpy(&s->sin6_addr, block.data(), 16);
  std::memcpy(&d->sin6_addr, block.data() + 16, 16);
  std::memcpy(&s->sin6_port, block.data() + 32, 2);
  std::memcpy(&d->sin6_port, block.data() + 34, 2);
}

Result parse_v2(std::string_view input, const Limits& limits, Header& header) noexcept {
  if (input.size() < kV2Fixed) return {Status::incomplete, Error::none, 0};
  const auto version_command = static_cast<unsigned char>(input[12]);
  const auto family = static_cast<unsigned char>(input[13]);
  const std::size_t length = u16_at(input, 14);
  if (version_command >> 4 != 2) return failed(Error::v2_version);
  const unsigned command = version_command & 0x0F;
  if (command > 1) return failed(Error::v2_command);
  const bool local = command == 0;
  // LOCAL: the sender's own connection; its address block is discarded whatever it says.
  std::size_t block = 0;
  if (!local && family == 0x11) block = kInetBlock;        // TCP over IPv4
  else if (!local && family == 0x21) block = kInet6Block;  // TCP over IPv6
  else if (!local && family != 0x00) return failed(Error::v2_unsupported);
  if (length < block) return failed(Error::v2_length);
  if (kV2Fixed + length > limits.max_header_bytes) return failed(Error::too_long);
  if (input.size() < kV2Fixed + length) return {Status::incomplete, Error::none, 0};

  const std::string_view body = input.substr(kV2Fixed, length);
  header.version = 2;
  header.proxied = block != 0;  // PROXY with an unspecified family keeps the real peer
  header.tlvs = {};
  if (block == kInetBlock) read_inet(body, header.source, header.destination);
  if (block == kInet6Block) read_inet6(body, header.source, header.destination);
  if (!local && !parse_tlvs(body.substr(block), header.tlvs)) return failed(Error::v2_tlv);
  return {Status::complete, Error::none, kV2Fixed + length};
}

}  // namespace

std::string_view error_name(Error error) noexcept {
  switch (error) {
    case Error::none: return "none";
    case Error::not_proxy: return "not_proxy";
    case Error::v1_too_long: return "v1_too_long";
    case Error::v1_malformed: return "v1_malformed";
    case Error::v2_version: return "v2_version";
    case Error::v2_command: return "v2_command";
    case Error::v2_unsupported: return "v2_unsupported";
    case Error::v2_length: return "v2_length";
    case Error::v2_tlv: return "v2_tlv";
    case Error::too_long: return "too_long";
  }
  return "unknown";
}

Looks looks_like_header(std::string_view input) noexcept {
  const Looks v1 = compare_signature(input, kV1Signature);
  const Looks v2 = compare_signature(input, kV2Signature);
  if (v1 == Looks::yes || v2 == Looks::yes) return Looks::yes;
  if (v1 == Looks::maybe || v2 == Looks::maybe) return Looks::maybe;
  return Looks::no;
}

Result parse_header(std::string_view input, const Limits& limits, Header& header) noexcept {
  if (compare_signature(input, kV2Signature) == Looks::yes) {
    return parse_v2(input, limits, header);
  }
  if (compare_signature(input, kV1Signature) == Looks::yes) return parse_v1(input, header);
  if (looks_like_header(input) == Looks::maybe) return {Status::incomplete, Error::none, 0};
  return failed(Error::not_proxy);
}

}  // namespace httpapi::proxy
