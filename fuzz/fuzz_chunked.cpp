// Fuzzes ChunkedDecoder: decoding the input whole and in two pieces (split at a
// data-derived point, unconsumed bytes kept and appended to) must give the same body,
// trailers and verdict; views stay inside the input; consumed never exceeds it.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "http1/chunked_decoder.hpp"

using namespace httpapi::http1;
using httpapi::fuzz::inside;

namespace {

struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::incomplete;
  Error error = Error::none;
  std::string body;
  std::string trailers;
};

Decoded decode(std::string_view in, std::size_t cut, const ChunkedLimits& limits) {
  Decoded d;
  ChunkedDecoder decoder;
  std::string pending;
  std::size_t fed = 0;
  for (std::size_t end : {cut, in.size()}) {
    pending.append(in.substr(fed, end - fed));
    fed = end;
    while (true) {
      // A fresh heap copy per call: reading past it is caught by ASan.
      std::vector<char> buf(pending.begin(), pending.end());
      const std::string_view view(buf.data(), buf.size());
      const ChunkedDecoder::Step s = decoder.decode(view, limits);
      FUZZ_CHECK(s.consumed <= view.size());
      FUZZ_CHECK(inside(view, s.data) && inside(view, s.trailers));
      pending.erase(0, s.consumed);
      d.status = s.status;
      d.error = s.error;
      FUZZ_CHECK((s.status == ChunkedDecoder::Status::error) == (s.error != Error::none));
      if (s.status == ChunkedDecoder::Status::data) {
        FUZZ_CHECK(!s.data.empty());
        d.body.append(s.data);
        continue;
      }
      if (s.status == ChunkedDecoder::Status::done) {
        d.trailers = s.trailers;
        Field fields[64];
        const int n = parse_trailer_fields(s.trailers, fields, 64);
        FUZZ_CHECK(n >= 0 || s.trailers.size() > 64 * 4);  // validated lines always parse
        FUZZ_CHECK(decoder.finished());
      }
      if (s.status != ChunkedDecoder::Status::incomplete) return d;
      break;
    }
  }
  FUZZ_CHECK(decoder.body_bytes() == d.body.size());
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  ChunkedLimits limits;
  if (data[0] & 1) {
    limits.max_extension_bytes = data[0] >> 3;
    limits.max_trailer_bytes = data[0] >> 1;
    limits.max_body_bytes = data[0];
  }
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Decoded whole = decode(in, 0, limits);
  const Decoded split = decode(in, httpapi::fuzz::split_point(in), limits);
  FUZZ_CHECK(whole.status == split.status && whole.error == split.error);
  FUZZ_CHECK(whole.body == split.body && whole.trailers == split.trailers);
  if (limits.max_body_bytes != UINT64_MAX) FUZZ_CHECK(whole.body.size() <= limits.max_body_bytes);
  return 0;
}
