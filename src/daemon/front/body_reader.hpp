// A request body as it arrives: by Content-Length, chunked (with its trailer section), or an
// endless stream after an opaque upgrade. Decodes from whatever input the protocol session
// has buffered and says how much of it was body framing; owns no buffer and does no I/O, so
// the same reader serves any session that frames a body this way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "http1/chunked_decoder.hpp"
#include "http1/errors.hpp"
#include "http1/request_parser.hpp"

namespace httpapi::daemon {

class BodyReader {
 public:
  // A new request's body, as its head framed it.
  void start(http1::Framing framing, std::uint64_t content_length);
  // After an opaque upgrade: every byte the client sends is body, and it never ends.
  void start_stream();

  struct Step {
    std::size_t consumed = 0;  // input bytes used (framing and data)
    std::size_t produced = 0;  // body bytes decoded
  };
  // Decodes from the start of `input` up to about `max` body bytes (a chunk may run past
  // it), appended to `out` when given (else discarded). Stops at the end of the body, of the
  // input, or at an error (then failed()).
  Step decode(std::string_view input, std::size_t max, std::string* out,
              const http1::ChunkedLimits& limits);

  bool has_body() const noexcept { return mode_ != Mode::none; }
  bool done() const noexcept { return done_; }
  bool failed() const noexcept { return error_ != http1::Error::none; }
  http1::Error error() const noexcept { return error_; }
  // Does `input` already hold the rest of the body (or the error that ends it)?
  bool complete_in(std::string_view input, const http1::ChunkedLimits& limits) const;
  // The chunked body's trailer fields as an ipc header list; empty until done().
  std::string take_trailers() { return std::exchange(trailers_, {}); }
  const std::string& trailers() const noexcept { return trailers_; }

 private:
  enum class Mode : std::uint8_t { none, length, chunked };
  bool keep_trailers(std::string_view raw);

  Mode mode_ = Mode::none;
  bool done_ = true;
  http1::Error error_ = http1::Error::none;
  std::uint64_t remaining_ = 0;
  http1::ChunkedDecoder chunked_;
  std::string trailers_;
};

}  // namespace httpapi::daemon
