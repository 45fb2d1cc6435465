#include "http1/syntax.hpp"

#include <cstring>

namespace httpapi::http1::syntax {
namespace {

constexpr std::size_t k_max_host_length = 255;  // DNS name limit; longer is never legitimate

bool valid_ipv4(std::string_view s) noexcept {
  int parts = 0;
  while (true) {
    std::size_t n = 0;
    unsigned value = 0;
    while (n < s.size() && is_digit(s[n])) {
      value = value * 10 + static_cast<unsigned>(s[n] - '0');
      if (++n > 3) return false;
    }
    if (n == 0 || value > 255) return false;
    ++parts;
    s.remove_prefix(n);
    if (s.empty()) return parts == 4;
    if (s.front() != '.' || parts == 4) return false;
    s.remove_prefix(1);
  }
}

// RFC 4291 text form: up to eight 16-bit hex groups, one "::" for a run of zero groups,
// optionally ending in a dotted IPv4 address that counts as two groups.
bool valid_ipv6(std::string_view s) noexcept {
  int groups = 0;
  bool elided = false;
  if (s.starts_with("::")) {
    elided = true;
    s.remove_prefix(2);
    if (s.empty()) return true;
  } else if (s.starts_with(":")) {
    return false;
  }
  while (true) {
    std::size_t n = 0;
    while (n < s.size() && is(s[n], k_hex)) ++n;
    if (n < s.size() && s[n] == '.') {  // embedded IPv4 must be the last part
      if (!valid_ipv4(s)) return false;
      groups += 2;
      break;
    }
    if (n == 0 || n > 4) return false;
    ++groups;
    s.remove_prefix(n);
    if (s.empty()) break;
    if (s.front() != ':') return false;
    s.remove_prefix(1);
    if (!s.empty() && s.front() == ':') {
      if (elided) return false;
      elided = true;
      s.remove_prefix(1);
      if (s.empty()) break;
    } else if (s.empty()) {
      return false;  // trailing single ':'
    }
  }
  return elided ? groups <= 7 : groups == 8;
}

bool valid_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5) return false;
  std::uint64_t value = 0;
  return parse_decimal(port, value) && value <= 65535;
}

}  // namespace

bool split_authority(std::string_view authority, Authority& out) noexcept {
  return split_authority_in(authority, 0, authority.size(), out);
}

bool split_authority_in(std::string_view buffer, std::size_t begin, std::size_t end,
                        Authority& out) noexcept {
  const std::string_view authority = buffer.substr(begin, end - begin);
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (!valid_port(port)) return false;
    }
    if (!valid_ipv6(host.substr(1, host.size() - 2))) return false;
  } else {
    // The host runs to the first ':' and must be reg-name characters all the way.
    const std::size_t stop = scan_reg_name(buffer.data(), begin, end) - begin;
    if (stop != authority.size()) {
      if (authority[stop] != ':') return false;
      host = authority.substr(0, stop);
      port = authority.substr(stop + 1);
      if (!valid_port(port)) return false;  // also rejects a second ':' (bare IPv6)
    }
    if (host.empty()) return false;
  }
  if (host.size() > k_max_host_length) return false;
  out = Authority{host, port};
  return true;
}

bool has_nul_or_cr(std::string_view line) noexcept {
  if (line.empty()) return false;  // memchr must not see a null pointer
  return std::memchr(line.data(), '\0', line.size()) != nullptr ||
         std::memchr(line.data(), '\r', line.size()) != nullptr;
}

Error parse_field_line(std::string_view line, Field& out) noexcept {
  // obs-fold (and whitespace right after the request line, RFC 9112 §2.2) are rejected.
  if (line.empty() || is_ows(line.front())) return Error::bad_request;
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  // Empty name, no colon, or whitespace before the colon (RFC 9112 §5.1).
  if (i == 0 || i == line.size() || line[i] != ':') return Error::invalid_header;
  const std::string_view value = line.substr(i + 1);
  for (char c : value) {
    if (!is(c, k_field)) return Error::bad_request;  // CTLs other than HTAB, and DEL
  }
  out.name = line.substr(0, i);
  out.value = trim_ows(value);
  return Error::none;
}

}  // namespace httpapi::http1::syntax
