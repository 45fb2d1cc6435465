// The HTTP/1.1 request-head parser: a pure function over a byte span.
//
// It does no I/O and never allocates: results are views into the caller's buffer, header
// fields go into a caller-provided array, and limits are parameters. It is resumable in the
// sense that matters for a server: the caller keeps the unconsumed bytes and calls again
// with more; `HeadScanner` remembers how far the search for the end of the head got, so a
// head that arrives one byte at a time is scanned once, not quadratically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http1/errors.hpp"

namespace httpapi::http1 {

// HTTP.sys defaults (MaxRequestBytes, MaxFieldLength, UrlSegmentMaxLength/Count).
struct Limits {
  std::size_t max_request_bytes = 16 * 1024;  // request line + all header lines + terminators
  std::size_t max_field_length = 16 * 1024;   // one header line: name, colon, value
  std::size_t url_segment_max_length = 260;   // 0 = unlimited
  std::size_t url_segment_max_count = 255;    // 0 = unlimited
  std::uint64_t max_body_bytes = UINT64_MAX;  // larger declared Content-Length -> 413
  // HTTP/1.1 requests must carry exactly one Host (RFC 9112 §3.2). Only test harnesses that
  // compare with parsers not enforcing it (tests/conformance) turn this off.
  bool require_host = true;
};

struct Field {
  std::string_view name;   // as sent (case kept)
  std::string_view value;  // leading and trailing whitespace removed
};

enum class Framing : std::uint8_t {
  none,            // no body
  content_length,  // exactly `content_length` bytes follow
  chunked,         // chunked transfer coding follows (decode with ChunkedDecoder)
};

enum class TargetForm : std::uint8_t { origin, absolute, asterisk, authority };

// Written by parse_request_head (see there which members an answer fills). Members have no
// initialisers on purpose: a caller declares one per parse, and zeroing its ~100 bytes first
// would cost more than parsing a small request.
struct RequestHead {
  std::string_view method;
  std::string_view target;     // the raw URL exactly as sent
  TargetForm target_form;
  int version_major;
  int version_minor;
  Field* fields;               // points into the caller's storage
  std::size_t field_count;
  std::string_view host;       // Host header value, or the authority of an absolute-form target
  Framing framing;
  std::uint64_t content_length;
  bool keep_alive;              // version default adjusted by Connection: close / keep-alive
  bool expect_continue;         // Expect: 100-continue (HTTP/1.1 only)
  bool upgrade;                 // Connection: upgrade with an Upgrade header
  std::size_t head_length;      // bytes of the head including the blank line
};

enum class Status : std::uint8_t { complete, incomplete, error };

struct HeadResult {
  Status status = Status::incomplete;
  Error error = Error::none;
  std::size_t consumed = 0;  // == head.head_length when complete
};

// Remembers progress of the end-of-head search between calls over a growing buffer.
// Reset (value-initialise) it for every new request.
struct HeadScanner {
  std::size_t scanned = 0;
  // Added by the parser implementation (value-initialised like `scanned`):
  std::size_t line_start = 0;    // where the line being scanned begins
  std::size_t request_line = 0;  // where the request line begins (after ignored empty lines)
  std::size_t field_lines = 0;   // header lines validated so far
  bool in_fields = false;        // the request line is complete and valid
};

// Parses one request head from the start of `input`.
// - complete: every member of `head` is written; views point into `input`; `consumed` bytes
//   belong to the head.
// - incomplete: call again with the same bytes plus more. Fails with request_too_long once
//   `input` holds more than limits.max_request_bytes without a complete head.
// - error: `error` says why; the connection must be answered and closed. When the whole
//   head arrived and only its meaning was refused (Host, framing, 411, 413, 501), method,
//   target and version are filled, for the error log; otherwise method and target are empty.
//   Other members are unspecified after an error or incomplete.
// More fields than `field_storage` holds -> request_too_long.
HeadResult parse_request_head(std::string_view input, const Limits& limits,
                              std::span<Field> field_storage, RequestHead& head,
                              HeadScanner& scanner) noexcept;

}  // namespace httpapi::http1
