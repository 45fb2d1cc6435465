#include "daemon/front/body_reader.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "ipc/messages.hpp"

namespace httpapi::daemon {

void BodyReader::start(http1::Framing framing, std::uint64_t content_length) {
  mode_ = framing == http1::Framing::chunked          ? Mode::chunked
          : framing == http1::Framing::content_length ? Mode::length
                                                      : Mode::none;
  remaining_ = content_length;
  done_ = mode_ == Mode::none || (mode_ == Mode::length && remaining_ == 0);
  error_ = http1::Error::none;
  chunked_ = {};
  trailers_.clear();
}

void BodyReader::start_stream() {
  mode_ = Mode::length;
  remaining_ = UINT64_MAX;
  done_ = false;
}

BodyReader::Step BodyReader::decode(std::string_view input, std::size_t max, std::string* out,
                                    const http1::ChunkedLimits& limits) {
  Step step;
  while (!done_ && step.produced < max && step.consumed < input.size()) {
    const std::string_view rest = input.substr(step.consumed);
    if (mode_ == Mode::length) {
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>({rest.size(), remaining_, max - step.produced}));
      if (out) out->append(rest.substr(0, take));
      step.consumed += take;
      step.produced += take;
      remaining_ -= take;
      done_ = remaining_ == 0;
      continue;
    }
    const auto piece = chunked_.decode(rest, limits);
    step.consumed += piece.consumed;
    switch (piece.status) {
      case http1::ChunkedDecoder::Status::data:
        if (out) out->append(piece.data);
        step.produced += piece.data.size();
        break;
      case http1::ChunkedDecoder::Status::done:
        done_ = true;
        if (!keep_trailers(piece.trailers)) error_ = http1::Error::bad_request;
        return step;
      case http1::ChunkedDecoder::Status::error:
        done_ = true;
        error_ = piece.error;
        return step;
      case http1::ChunkedDecoder::Status::incomplete:
        return step;
    }
  }
  return step;
}

bool BodyReader::complete_in(std::string_view input, const http1::ChunkedLimits& limits) const {
  if (done_) return true;
  if (mode_ == Mode::length) return input.size() >= remaining_;
  http1::ChunkedDecoder probe = chunked_;  // a copy: the real decoder is not moved
  while (!input.empty()) {
    const auto step = probe.decode(input, limits);
    if (step.status != http1::ChunkedDecoder::Status::data) {
      return step.status != http1::ChunkedDecoder::Status::incomplete;
    }
    input.remove_prefix(step.consumed);
  }
  return false;
}

// Turns the raw trailer section into the header list the application receives.
bool BodyReader::keep_trailers(std::string_view raw) {
  http1::Field fields[64];
  const int count = http1::parse_trailer_fields(raw, fields, std::size(fields));
  if (count < 0) return false;
  for (int i = 0; i < count; ++i) ipc::append_header(trailers_, fields[i].name, fields[i].value);
  return true;
}

}  // namespace httpapi::daemon
