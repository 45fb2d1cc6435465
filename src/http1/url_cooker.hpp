// Builds the cooked URL (what routing and applications' `url` fields use) from the raw
// request target and the Host, as HTTP.sys does: percent-decoding (including %2F and %5C),
// '\' -> '/', runs of '/' collapsed, dot segments removed (never above the root), invalid
// UTF-8 and decoded control characters rejected, host lower-cased and validated, query kept
// raw. Pure: writes into a caller-provided buffer, never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http1/errors.hpp"
#include "http1/request_parser.hpp"

namespace httpapi::http1 {

struct CookedUrl {
  std::string_view full;   // scheme://host:port/path?query
  std::string_view host;   // lower-cased; IPv6 literals keep their brackets
  std::uint16_t port = 0;  // the local port the connection arrived on
  std::string_view path;   // starts with '/', decoded and canonical
  std::string_view query;  // raw, without the '?' (empty when there is none)
};

// Bytes of `out` that cook_url may need. The constant covers "https://", ":65535", a
// path of "/" and, when `host` is empty, the bracketed local IPv6 address used instead
// (up to 47 bytes): hence 64, not less.
constexpr std::size_t cooked_url_capacity(std::string_view target, std::string_view host) {
  return target.size() + host.size() + 64;
}

// `target` and `form` from RequestHead; `host` is RequestHead::host (may be empty for
// HTTP/1.0, then `local_address` text is used as the host). `secure` picks https.
// Errors: invalid_url, url_too_long (segment limits), invalid_hostname.
// On success every view in `url` points into `out`.
Error cook_url(std::string_view target, TargetForm form, std::string_view host,
               std::string_view local_address, std::uint16_t local_port, bool secure,
               const Limits& limits, std::span<char> out, CookedUrl& url) noexcept;

}  // namespace httpapi::http1
