// HTTP.sys's request header indexes (HTTP_HEADER_ID, request side) and the rule for
// folding repeated fields into the one value a known-header slot can hold.
#pragma once

#include <cstdint>
#include <string_view>

namespace httpapi::http1 {

enum class HeaderId : int {
  cache_control = 0, connection = 1, date = 2, keep_alive = 3, pragma = 4, trailer = 5,
  transfer_encoding = 6, upgrade = 7, via = 8, warning = 9, allow = 10, content_length = 11,
  content_type = 12, content_encoding = 13, content_language = 14, content_location = 15,
  content_md5 = 16, content_range = 17, expires = 18, last_modified = 19, accept = 20,
  accept_charset = 21, accept_encoding = 22, accept_language = 23, authorization = 24,
  cookie = 25, expect = 26, from = 27, host = 28, if_match = 29, if_modified_since = 30,
  if_none_match = 31, if_range = 32, if_unmodified_since = 33, max_forwards = 34,
  proxy_authorization = 35, referer = 36, range = 37, te = 38, translate = 39,
  user_agent = 40,
};

inline constexpr int known_request_header_count = 41;

// Index of a known request header (case-insensitive), or -1 for any other name.
int known_request_header(std::string_view name) noexcept;

// Canonical spelling ("Content-Length") of a known index; empty for out-of-range values.
std::string_view known_request_header_name(int id) noexcept;

// How a header that occurs more than once is folded into one value (docs/http1.md):
//  comma      - list-valued fields (RFC 9110 #rule): values joined with ", " in arrival
//               order; this also applies to every unknown header.
//  semicolon  - Cookie: joined with "; " (RFC 9113 §8.2.3 reassembly rule).
//  first      - singleton fields: the first occurrence is kept, later ones are dropped.
enum class HeaderMerge : std::uint8_t { comma, semicolon, first };

// Merge rule for a known index; unknown headers (-1) merge with a comma.
HeaderMerge header_merge_rule(int id) noexcept;

// True when repeats of `id` (or of an unknown header, -1) are joined with ", ".
bool merges_with_comma(int id) noexcept;

}  // namespace httpapi::http1
