// Fuzzes parse_range and resolve_ranges: the first 8 bytes choose the representation length,
// the rest is the Range field value. Checks: every resolved range lies inside the
// representation, a partial answer never sends more bytes than the representation has,
// and the answer does not depend on how much spare storage the caller gives.
#include <cstring>

#include "fuzz_support.hpp"
#include "http1/byte_ranges.hpp"

using namespace httpapi::http1;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint64_t length = 0;
  if (size >= 8) {
    std::memcpy(&length, data, 8);
    data += 8;
    size -= 8;
    // Mostly small lengths, where ranges overlap the end; sometimes any 64-bit length.
    if ((length & 0xF) != 0) length >>= 40;
  }
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  RangeSpec specs[16];
  RangeSpec roomy[64];
  std::size_t count = 0;
  std::size_t roomy_count = 0;
  const RangeSyntax syntax = parse_range(value, specs, count);
  const RangeSyntax roomy_syntax = parse_range(value, roomy, roomy_count);
  FUZZ_CHECK(count <= 16);
  if (syntax != RangeSyntax::too_many) {
    FUZZ_CHECK(roomy_syntax == syntax && roomy_count == count);
  }
  if (syntax != RangeSyntax::ok) {
    FUZZ_CHECK(count == 0);
    return 0;
  }
  FUZZ_CHECK(count > 0);
  ByteRange ranges[16];
  std::size_t n = 0;
  const RangeOutcome outcome =
      resolve_ranges(std::span<const RangeSpec>(specs, count), length, ranges, n);
  if (outcome != RangeOutcome::partial) {
    FUZZ_CHECK(n <= count);
    return 0;
  }
  FUZZ_CHECK(n >= 1 && n <= count);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(ranges[i].length >= 1);
    FUZZ_CHECK(ranges[i].offset < length && ranges[i].length <= length - ranges[i].offset);
    total += ranges[i].length;
    FUZZ_CHECK(total <= length);
  }
  return 0;
}
