// A registered URL prefix, `scheme://host:port/path/`, parsed and validated by HTTP.sys's
// rules (DESIGN.md §4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace httpapi::route {

// The routing buckets, in the order they are searched.
enum class HostKind : std::uint8_t {
  strong_wildcard,  // '+'
  explicit_name,    // a host name, e.g. "shop.example" or "localhost"
  ip_literal,       // "127.0.0.1" or "[::1]": matches the local address the request arrived on
  weak_wildcard,    // '*'
};

struct UrlPrefix {
  bool secure = false;       // https
  HostKind host_kind = HostKind::strong_wildcard;
  std::string host;          // lower-cased; "+" / "*" for wildcards; IPv6 without brackets
  std::uint16_t port = 0;
  std::string path;          // lower-cased, starts and ends with '/'
  std::string text;          // canonical form: scheme://host:port/path/ (host lower-cased)
};

enum class PrefixError : std::uint8_t {
  none,
  bad_scheme,      // not lowercase "http" or "https"
  bad_host,        // empty, malformed, 0.0.0.0 / [::], malformed IPv6
  bad_port,        // missing, zero, leading zero, > 65535, not decimal
  bad_path,        // does not end in '/', contains a query or fragment, or control characters
};

// Human-readable reason for a PrefixError (for API error details and logs).
std::string_view describe(PrefixError error) noexcept;

// Parses `text`. On success fills `out` and returns PrefixError::none.
PrefixError parse_url_prefix(std::string_view text, UrlPrefix& out);

}  // namespace httpapi::route
