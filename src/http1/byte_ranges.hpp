// Range requests (RFC 9110 §14): the `Range: bytes=...` field of a request, parsed, then
// resolved against the length of a representation into the byte ranges to send.
//
// Pure functions over a byte span: no I/O, no allocation (results go into caller storage),
// limits as parameters. Numbers that do not fit in 64 bits are not errors: they saturate,
// which gives every overflow form of MS15-034 its correct meaning (a last-byte-pos past the
// end is the end; a first-byte-pos past the end is unsatisfiable; a huge suffix is the whole
// representation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace httpapi::http1 {

// One range-spec as sent: `first-last`, `first-` (open) or `-suffix`.
struct RangeSpec {
  enum class Kind : std::uint8_t { closed, open, suffix };
  Kind kind = Kind::closed;
  std::uint64_t first = 0;   // closed, open
  std::uint64_t last = 0;    // closed: last byte position; suffix: the suffix length
};

enum class RangeSyntax : std::uint8_t {
  ok,         // `count` specs were stored
  other_unit, // a unit other than bytes: ignored, as RFC 9110 §14.2 says
  invalid,    // not a valid ranges-specifier: the field is ignored
  too_many,   // more specs than `specs` holds: ignored (the full representation is sent)
};

// Parses a Range field value. OWS around commas and empty list elements are accepted;
// `first-last` with last < first is invalid (RFC 9110 §14.1.1). `count` is 0 unless ok.
RangeSyntax parse_range(std::string_view value, std::span<RangeSpec> specs,
                        std::size_t& count) noexcept;

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // >= 1
};

enum class RangeOutcome : std::uint8_t {
  partial,        // 206 with `count` ranges, in the order requested
  full,           // send the whole representation with 200
  unsatisfiable,  // 416, Content-Range: bytes */length
};

// Resolves parsed specs against a representation of `length` bytes. Unsatisfiable specs
// are dropped; none left -> unsatisfiable. When the ranges together would send more bytes
// than the representation has (overlapping ranges used to amplify a response), the whole
// representation is sent instead (RFC 9110 §14.2 lets a server ignore such a Range).
// `out` must hold at least specs.size() entries.
RangeOutcome resolve_ranges(std::span<const RangeSpec> specs, std::uint64_t length,
                            std::span<ByteRange> out, std::size_t& count) noexcept;

}  // namespace httpapi::http1
