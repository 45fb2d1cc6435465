// UrlPrefix parsing and canonicalisation. The rules (and the reasons behind each policy
// choice) are written down in docs/routing.md; keep the two in step.
#include "route/url_prefix.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

namespace httpapi::route {
namespace {

constexpr std::size_t kMaxHostName = 253;  // DNS limit for a name written without its final dot
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxIpv6Text = 45;   // INET6_ADDRSTRLEN - 1

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

// Only the exact lowercase spellings are accepted: HTTP.sys rejects "HTTP://" too.
bool parse_scheme(std::string_view& rest, bool& secure) noexcept {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  if (rest.starts_with(kHttp)) {
    secure = false;
    rest.remove_prefix(kHttp.size());
    return true;
  }
  if (rest.starts_with(kHttps)) {
    secure = true;
    rest.remove_prefix(kHttps.size());
    return true;
  }
  return false;
}

// Strict dotted quad: four decimal octets, no leading zeros (inet_aton would read "010" as
// octal, so such spellings are ambiguous), each <= 255.
bool parse_ipv4(std::string_view s, std::array<std::uint8_t, 4>& out) noexcept {
  std::size_t octet = 0;
  while (true) {
    if (octet == 4) return false;
    std::size_t n = 0;
    while (n < s.size() && is_digit(s[n])) ++n;
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0')) return false;
    unsigned value = 0;
    for (std::size_t i = 0; i < n; ++i) value = value * 10 + static_cast<unsigned>(s[i] - '0');
    if (value > 255) return false;
    out[octet++] = static_cast<std::uint8_t>(value);
    s.remove_prefix(n);
    if (s.empty()) return octet == 4;
    if (s.front() != '.') return false;
    s.remove_prefix(1);
  }
}

std::string ipv4_text(const std::array<std::uint8_t, 4>& a) {
  std::string out;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i != 0) out += '.';
    out += std::to_string(a[i]);
  }
  return out;
}

bool is_unspecified_v4(const std::array<std::uint8_t, 4>& a) noexcept {
  return a == std::array<std::uint8_t, 4>{};
}

// "[...]": validated with inet_pton, stored in RFC 5952 form. An IPv4-mapped address is
// stored as its dotted quad so that `[::ffff:1.2.3.4]` and `1.2.3.4` are one prefix.
PrefixError parse_ipv6(std::string_view inner, UrlPrefix& out) {
  if (inner.empty() || inner.size() > kMaxIpv6Text) return PrefixError::bad_host;
  for (char c : inner) {
    // Rejects zone ids ("%2"): a prefix names an address, not an interface.
    if (!is_hex(c) && c != ':' && c != '.') return PrefixError::bad_host;
  }
  char buf[kMaxIpv6Text + 1];
  std::memcpy(buf, inner.data(), inner.size());
  buf[inner.size()] = '\0';
  in6_addr addr{};
  if (inet_pton(AF_INET6, buf, &addr) != 1) return PrefixError::bad_host;

  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), &addr, bytes.size());
  if (bytes == std::array<std::uint8_t, 16>{}) return PrefixError::bad_host;  // [::]

  constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMapped.data(), kMapped.size()) == 0) {
    const std::array<std::uint8_t, 4> v4{bytes[12], bytes[13], bytes[14], bytes[15]};
    if (is_unspecified_v4(v4)) return PrefixError::bad_host;
    out.host = ipv4_text(v4);
    out.host_kind = HostKind::ip_literal;
    return PrefixError::none;
  }
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &addr, text, sizeof text) == nullptr) return PrefixError::bad_host;
  out.host = text;
  out.host_kind = HostKind::ip_literal;
  return PrefixError::none;
}

bool is_label_char(char c) noexcept {
  // '_' is allowed: real intranet names carry it and Host headers do too (docs/routing.md).
  return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

bool is_valid_label(std::string_view label) noexcept {
  if (label.empty() || label.size() > kMaxLabel) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!is_label_char(c)) return false;
  }
  return true;
}

bool all_digits(std::string_view s) noexcept {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return !s.empty();
}

// A DNS name (ASCII; IDNs must be given as A-labels). A name whose last label is numeric
// would be read as an IPv4 address by clients, so it must be a valid dotted quad instead.
PrefixError parse_name_or_ipv4(std::string_view host, UrlPrefix& out) {
  if (host.empty() || host.size() > kMaxHostName) return PrefixError::bad_host;
  const std::size_t last_dot = host.rfind('.');
  const std::string_view last_label =
      last_dot == std::string_view::npos ? host : host.substr(last_dot + 1);
  if (all_digits(last_label)) {
    std::array<std::uint8_t, 4> v4{};
    if (!parse_ipv4(host, v4) || is_unspecified_v4(v4)) return PrefixError::bad_host;
    out.host = ipv4_text(v4);
    out.host_kind = HostKind::ip_literal;
    return PrefixError::none;
  }
  std::string_view rest = host;
  while (true) {
    const std::size_t dot = rest.find('.');
    if (!is_valid_label(rest.substr(0, dot))) return PrefixError::bad_host;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  out.host = lowered(host);
  out.host_kind = HostKind::explicit_name;
  return PrefixError::none;
}

PrefixError parse_host(std::string_view host, UrlPrefix& out) {
  if (host == "+") {
    out.host = "+";
    out.host_kind = HostKind::strong_wildcard;
    return PrefixError::none;
  }
  if (host == "*") {
    out.host = "*";
    out.host_kind = HostKind::weak_wildcard;
    return PrefixError::none;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return parse_ipv6(host.substr(1, host.size() - 2), out);
  }
  return parse_name_or_ipv4(host, out);
}

// Decimal 1-65535, no sign, no leading zero, nothing else.
bool parse_port(std::string_view s, std::uint16_t& port) noexcept {
  if (s.empty() || s.size() > 5 || s.front() == '0' || !all_digits(s)) return false;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size() || value == 0 || value > 65535) {
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Splits "host:port" (host possibly "[v6]"). The host is validated before the port, so an
// error is reported for the leftmost bad component.
PrefixError parse_authority(std::string_view authority, UrlPrefix& out) {
  std::size_t host_end = 0;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return PrefixError::bad_host;
    host_end = close + 1;
    if (host_end < authority.size() && authority[host_end] != ':') return PrefixError::bad_host;
  } else {
    host_end = authority.find(':');
    if (host_end == std::string_view::npos) host_end = authority.size();
  }
  if (const PrefixError e = parse_host(authority.substr(0, host_end), out);
      e != PrefixError::none) {
    return e;
  }
  if (host_end == authority.size()) return PrefixError::bad_port;  // the port is required
  return parse_port(authority.substr(host_end + 1), out.port) ? PrefixError::none
                                                              : PrefixError::bad_port;
}

// Length of the UTF-8 sequence starting at s[i] if it is well formed (shortest form, no
// surrogates, <= U+10FFFF), else 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

// Characters a prefix path may not contain. A prefix is compared with *cooked* paths, which
// never contain '\' (turned into '/'), and '%' would be ambiguous (escape or literal?);
// '?' and '#' would start a query or fragment; controls and space are never valid.
bool is_forbidden_path_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F || c == ' ' || c == '?' || c == '#' || c == '%' || c == '\\';
}

// A cooked path has no empty, "." or ".." segments, so a prefix with one could never match.
bool is_valid_segment(std::string_view segment) noexcept {
  return !segment.empty() && segment != "." && segment != "..";
}

PrefixError parse_path(std::string_view path, UrlPrefix& out) {
  if (path.empty() || path.front() != '/' || path.back() != '/') return PrefixError::bad_path;
  for (std::size_t i = 0; i < path.size();) {
    if (static_cast<unsigned char>(path[i]) >= 0x80) {
      const std::size_t len = utf8_sequence(path, i);
      if (len == 0) return PrefixError::bad_path;
      i += len;
      continue;
    }
    if (is_forbidden_path_char(path[i])) return PrefixError::bad_path;
    ++i;
  }
  // Segments lie between consecutive slashes; the root "/" has none.
  std::string_view inner = path.substr(1, path.size() - 1);
  while (!inner.empty()) {
    const std::size_t slash = inner.find('/');
    if (!is_valid_segment(inner.substr(0, slash))) return PrefixError::bad_path;
    inner.remove_prefix(slash + 1);
  }
  out.path = lowered(path);
  return PrefixError::none;
}

std::string canonical_text(const UrlPrefix& p) {
  std::string text = p.secure ? "https://" : "http://";
  const bool bracket = p.host_kind == HostKind::ip_literal && p.host.find(':') != std::string::npos;
  if (bracket) text += '[';
  text += p.host;
  if (bracket) text += ']';
  text += ':';
  text += std::to_string(p.port);
  text += p.path;
  return text;
}

}  // namespace

std::string_view describe(PrefixError error) noexcept {
  switch (error) {
    case PrefixError::none:
      return "valid URL prefix";
    case PrefixError::bad_scheme:
      return "the scheme must be lowercase \"http://\" or \"https://\"";
    case PrefixError::bad_host:
      return "the host must be '+', '*', a DNS name, an IPv4 address or a bracketed IPv6 "
             "address (not 0.0.0.0 or [::])";
    case PrefixError::bad_port:
      return "the port must be present, decimal, 1-65535, without sign or leading zero";
    case PrefixError::bad_path:
      return "the path must start and end with '/', without query, fragment, '%', '\\', "
             "control characters, spaces, empty or dot segments";
  }
  return "unknown URL prefix error";
}

PrefixError parse_url_prefix(std::string_view text, UrlPrefix& out) {
  UrlPrefix result;
  std::string_view rest = text;
  if (!parse_scheme(rest, result.secure)) return PrefixError::bad_scheme;

  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (const PrefixError e = parse_authority(authority, result); e != PrefixError::none) return e;

  // No path at all ("http://+:80"): HTTP.sys requires at least the root "/".
  if (slash == std::string_view::npos) return PrefixError::bad_path;
  if (const PrefixError e = parse_path(rest.substr(slash), result); e != PrefixError::none) {
    return e;
  }
  result.text = canonical_text(result);
  out = std::move(result);
  return PrefixError::none;
}

}  // namespace httpapi::route
