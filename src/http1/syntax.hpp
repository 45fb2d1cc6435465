// Character classes and small lexical helpers shared by the http1 front end (internal).
//
// Everything here is constexpr-table driven: the parser classifies every byte of every
// request, so a branch-free table lookup is the cheapest way to keep the grammar exact.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// hex_value() as a table: -1 for bytes that are not HEXDIG.
constexpr std::array<std::int8_t, 256> make_hex_table() {
  std::array<std::int8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(hex_value(static_cast<char>(c)));
  }
  return t;
}
inline constexpr std::array<std::int8_t, 256> hex_table = make_hex_table();

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

// s == lit, case-sensitive, as a size check and a fixed-size compare (inlined).
template <std::size_t N>
inline bool equals(std::string_view s, const char (&lit)[N]) noexcept {
  if (s.size() != N - 1) return false;
  for (std::size_t i = 0; i + 1 < N; ++i) {
    if (s[i] != lit[i]) return false;
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
    // v * 10 + d <= UINT64_MAX, without a division per digit
    constexpr std::uint64_t kLimit = UINT64_MAX / 10;
    if (v > kLimit || (v == kLimit && d > UINT64_MAX % 10)) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// ---- scanners for the parser's fast path ----------------------------------------------
// Each returns the index of the first byte at or after `i` (and before `n`) that stops the
// scan, or `n`. They never read outside [0, n): the tests put inputs flush against a guard
// page. With SSE2 (every x86-64) they test 16 bytes per step; the last partial block is
// handled with a block that ends at `n` (overlapping bytes already passed), or byte by byte
// when the whole input is shorter than a block.

#if defined(__SSE2__)
namespace simd {

inline __m128i splat(int c) noexcept { return _mm_set1_epi8(static_cast<char>(c)); }

// 0xFF where the byte is an ASCII letter or digit. Signed compares after a bias: a byte b is
// in [lo, lo + k) exactly when (b + 0x80 - lo) as a signed byte is below -128 + k.
inline __m128i alnum(__m128i x) noexcept {
  const __m128i lower = _mm_or_si128(x, splat(0x20));
  const __m128i letter =
      _mm_cmplt_epi8(_mm_add_epi8(lower, splat(0x80 - 'a')), splat(-128 + 26));
  const __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(x, splat(0x80 - '0')), splat(-128 + 10));
  return _mm_or_si128(letter, digit);
}

// Stop masks: bit k set when byte k of the block stops the scan.
struct ValueStops {  // CTLs (HTAB included) and DEL
  int operator()(__m128i x) const noexcept {
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, splat(0x1F)), x);  // x <= 0x1F
    return _mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(x, splat(0x7F))));
  }
};
struct TargetStops {  // anything but VCHAR, and '#'
  int operator()(__m128i x) const noexcept {
    // Bytes >= 0x80 are negative as signed bytes, so they fail "> 0x20".
    const __m128i vchar =
        _mm_and_si128(_mm_cmpgt_epi8(x, splat(0x20)), _mm_cmplt_epi8(x, splat(0x7F)));
    return _mm_movemask_epi8(_mm_andnot_si128(_mm_cmpeq_epi8(x, splat('#')), vchar)) ^ 0xFFFF;
  }
};
struct TokenStops {  // anything but ALPHA, DIGIT and '-' (the usual token characters)
  int operator()(__m128i x) const noexcept {
    return _mm_movemask_epi8(_mm_or_si128(alnum(x), _mm_cmpeq_epi8(x, splat('-')))) ^ 0xFFFF;
  }
};
struct RegNameStops {  // anything but ALPHA, DIGIT, '-', '.' and '_'
  int operator()(__m128i x) const noexcept {
    const __m128i punct = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, splat('-')), _mm_cmpeq_epi8(x, splat('.'))),
        _mm_cmpeq_epi8(x, splat('_')));
    return _mm_movemask_epi8(_mm_or_si128(alnum(x), punct)) ^ 0xFFFF;
  }
};

inline __m128i load(const char* p) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

inline std::size_t first_bit(unsigned mask) noexcept {
  return static_cast<std::size_t>(__builtin_ctz(mask));
}

// First stop at or after i; requires n >= 16.
template <typename Stops>
inline std::size_t scan(const char* s, std::size_t i, std::size_t n, Stops stops) noexcept {
  while (i + 16 <= n) {
    const auto mask = static_cast<unsigned>(stops(load(s + i)));
    if (mask != 0) return i + first_bit(mask);
    i += 16;
  }
  if (i < n) {  // the last block ends at n; drop the bits of bytes before i
    const auto mask = static_cast<unsigned>(stops(load(s + n - 16))) >> (i + 16 - n);
    if (mask != 0) return i + first_bit(mask);
  }
  return n;
}

}  // namespace simd
#endif

// Field-value bytes other than HTAB: stops at any CTL (0x00-0x1F, including HTAB, CR, LF)
// and at DEL. Everything else (VCHAR, SP, obs-text) is passed over.
inline std::size_t scan_value(const char* s, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (n >= 16) return simd::scan(s, i, n, simd::ValueStops{});
#endif
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return i;
    ++i;
  }
  return i;
}

// Request-target bytes: VCHAR (0x21-0x7E) except '#'.
inline std::size_t scan_target(const char* s, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (n >= 16) return simd::scan(s, i, n, simd::TargetStops{});
#endif
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c >= 0x7F || c == '#') return i;
    ++i;
  }
  return i;
}

// Token characters (a method, a field name). The block test knows ALPHA, DIGIT and '-';
// a stop on another tchar is stepped over.
inline std::size_t scan_tchar(const char* s, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (n >= 16) {
    while (true) {
      i = simd::scan(s, i, n, simd::TokenStops{});
      if (i == n || !is_tchar(s[i])) return i;
      ++i;
    }
  }
#endif
  while (i < n && is_tchar(s[i])) ++i;
  return i;
}

// reg-name characters as accepted in a host (k_reg_name): ALPHA DIGIT - . _
inline std::size_t scan_reg_name(const char* s, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (n >= 16) return simd::scan(s, i, n, simd::RegNameStops{});
#endif
  while (i < n && is(s[i], k_reg_name)) ++i;
  return i;
}

// True when buffer[begin, end) is 1 to 16 reg-name characters (so a valid host without a
// port), tested with one block; false means "not known": ask split_authority_in().
inline bool all_reg_name_short(const char* buffer, std::size_t begin, std::size_t end) noexcept {
#if defined(__SSE2__)
  const std::size_t length = end - begin;
  if (end < 16 || length == 0 || length > 16) return false;
  const auto stops = static_cast<unsigned>(simd::RegNameStops{}(simd::load(buffer + end - 16)));
  return (stops >> (16 - length)) == 0;
#else
  (void)buffer;
  (void)begin;
  (void)end;
  return false;
#endif
}

// Case-insensitive comparison of a token (every byte a tchar) with a lowercase literal made
// of letters and '-' only, of the same length. Setting bit 0x20 folds exactly the letters
// here: no other tchar lands on a lowercase letter or on '-' that way.
inline bool token_equals_lower(const char* token, const char* lower, std::size_t len) noexcept {
  constexpr std::uint64_t fold8 = 0x2020202020202020ULL;
  auto load8 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  if (len >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      if ((load8(token + i) | fold8) != load8(lower + i)) return false;
    }
    return i == len || (load8(token + len - 8) | fold8) == load8(lower + len - 8);
  }
  if (len >= 4) {
    constexpr std::uint32_t fold4 = 0x20202020U;
    auto load4 = [](const char* p) {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    };
    return (load4(token) | fold4) == load4(lower) &&
           (load4(token + len - 4) | fold4) == load4(lower + len - 4);
  }
  for (std::size_t i = 0; i < len; ++i) {
    if ((static_cast<unsigned char>(token[i]) | 0x20U) != static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
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

// The same for the authority buffer[begin, end): identical answer, but the scans may read
// all of `buffer` before `end` (a Host value inside a request head).
bool split_authority_in(std::string_view buffer, std::size_t begin, std::size_t end,
                        Authority& out) noexcept;

// NUL and CR may appear nowhere inside a line (a terminating CR is stripped before):
// both are request-smuggling tools, so they get a plain 400 before anything else.
bool has_nul_or_cr(std::string_view line) noexcept;

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), `line` without its
// terminator and already free of NUL and CR. invalid_header for a bad name (empty, not a
// token, whitespace before the colon, no colon); bad_request for obs-fold (a line starting
// with whitespace) and for CTLs in the value.
Error parse_field_line(std::string_view line, Field& out) noexcept;

}  // namespace httpapi::http1::syntax
