// Character classes and small lexical helpers shared by the http1 front end (internal).
//
// Everything here is constexpr-table driven: the parser classifies every byte of every
// request, so a branch-free table lookup is the cheapest way to keep the grammar exact.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http1/errors.hpp"
#include "http1/request_parser.hpp"

namespace httpapi::http1::syntax {

enum : std::uint8_t {
  k_tchar = 1 << 0,     // RFC 9110 token character
  k_field = 1 << 1,     // allowed in a field value: VCHAR, obs-text, SP, HTAB
  k_target = 1 << 2,    // allowed raw in a request target: VCHAR (0x21-0x7E)
  k_hex = 1 << 3,       // HEXDIG
  k_reg_name = 1 << 4,  // host name characters we accept: ALPHA DIGIT - . _
  k_qdtext = 1 << 5,    // quoted-string text (RFC 9110 §5.6.4), without '"' and '\'
};

constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                              std::string_view::npos) {
      v |= k_tchar;
    }
    if ((c >= 0x21 && c <= 0x7E) || c >= 0x80 || c == ' ' || c == '\t') v |= k_field;
    if (c >= 0x21 && c <= 0x7E) v |= k_target;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= k_hex;
    if (alpha || digit || c == '-' || c == '.' || c == '_') v |= k_reg_name;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
        (c >= 0x5D && c <= 0x7E) || c >= 0x80) {
      v |= k_qdtext;
    }
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}

inline constexpr std::array<std::uint8_t, 256> table = make_table();

constexpr bool is(char c, std::uint8_t cls) noexcept {
  return (table[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool is_tchar(char c) noexcept { return is(c, k_tchar); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

constexpr bool all_of(std::string_view s, std::uint8_t cls) noexcept {
  for (char c : s) {
    if (!is(c, cls)) return false;
  }
  return true;
}

// a + b without wrapping: limits may be set to SIZE_MAX to mean "unlimited".
constexpr std::size_t sat_add(std::size_t a, std::size_t b) noexcept {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

constexpr bool is_token(std::string_view s) noexcept { return !s.empty() && all_of(s, k_tchar); }

constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Walks a comma-separated list (RFC 9110 §5.6.1), skipping empty elements as the RFC
// requires of recipients. Returns false when the list is exhausted.
constexpr bool next_list_element(std::string_view& rest, std::string_view& element) noexcept {
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    element = trim_ows(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (!element.empty()) return true;
  }
  return false;
}

// Does the comma-separated list `value` contain `token` (case-insensitive)?
constexpr bool list_contains(std::string_view value, std::string_view token) noexcept {
  std::string_view element;
  while (next_list_element(value, element)) {
    if (iequals(element, token)) return true;
  }
  return false;
}

// Decimal 1*DIGIT into uint64 without overflow. False on empty, non-digit or overflow.
constexpr bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// An authority's host part, port split off. Validated by split_authority().
struct Authority {
  std::string_view host;  // reg-name, IPv4, or "[IPv6]" with brackets
  std::string_view port;  // digits without ':'; empty when absent
};

// Splits and validates `host[:port]` (RFC 3986 authority without userinfo).
// host: reg-name of ALPHA DIGIT - . _ (IPv4 is a subset), or an IPv6 literal in brackets;
// port: 1-5 digits <= 65535. Empty host, userinfo, zone ids and IPvFuture are rejected.
bool split_authority(std::string_view authority, Authority& out) noexcept;

// NUL and CR may appear nowhere inside a line (a terminating CR is stripped before):
// both are request-smuggling tools, so they get a plain 400 before anything else.
bool has_nul_or_cr(std::string_view line) noexcept;

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), `line` without its
// terminator and already free of NUL and CR. invalid_header for a bad name (empty, not a
// token, whitespace before the colon, no colon); bad_request for obs-fold (a line starting
// with whitespace) and for CTLs in the value.
Error parse_field_line(std::string_view line, Field& out) noexcept;

}  // namespace httpapi::http1::syntax
