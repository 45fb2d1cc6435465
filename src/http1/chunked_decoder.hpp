// Decoder for the chunked transfer coding (RFC 9112 §7.1): a resumable state machine over
// byte spans. No I/O, no allocation; data comes back as views into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http1/errors.hpp"
#include "http1/request_parser.hpp"

namespace httpapi::http1 {

struct ChunkedLimits {
  std::size_t max_extension_bytes = 4096;   // chunk extensions on one size line
  std::size_t max_trailer_bytes = 16 * 1024;  // the whole trailer section
  std::uint64_t max_body_bytes = UINT64_MAX;  // decoded body larger -> entity_too_large
};

class ChunkedDecoder {
 public:
  enum class Status : std::uint8_t { data, incomplete, done, error };

  struct Step {
    Status status = Status::incomplete;
    Error error = Error::none;
    std::size_t consumed = 0;    // bytes of `input` used by this step (framing and data)
    std::string_view data;       // Status::data: body bytes, a view into `input`
    std::string_view trailers;   // Status::done: raw trailer lines (may be empty), a view into
                                 // `input`; parse with parse_trailer_fields
  };

  // Decodes from the start of `input`. Consumes only whole framing lines, so on incomplete
  // the caller keeps the unconsumed tail and calls again with more bytes appended.
  // Call repeatedly: each call returns at most one data piece.
  Step decode(std::string_view input, const ChunkedLimits& limits) noexcept;

  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  bool finished() const noexcept { return state_ == State::finished; }

 private:
  enum class State : std::uint8_t { size_line, data, data_crlf, trailers, finished, failed };
  State state_ = State::size_line;
  std::uint64_t chunk_remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  // Bytes of the current size line or trailer section already searched for line ends,
  // relative to where that line or section starts (it is never consumed partially), so a
  // slowly arriving line is scanned once.
  std::size_t scanned_ = 0;
  std::size_t trailer_line_ = 0;  // start of the trailer line being scanned, same origin
  Error error_ = Error::none;     // repeated by every call after a failure

  Step size_line(std::string_view input, std::size_t& pos, const ChunkedLimits& limits) noexcept;
  Step trailers(std::string_view input, std::size_t pos, const ChunkedLimits& limits) noexcept;
  Step fail(Error error) noexcept;
};

// Splits a raw trailer section (as returned in Step::trailers) into fields.
// Returns the number of fields, or -1 when a line is malformed or storage is too small.
int parse_trailer_fields(std::string_view trailers, Field* storage, std::size_t capacity) noexcept;

}  // namespace httpapi::http1
