// Range field parsing and resolution (see byte_ranges.hpp).
#include "http1/byte_ranges.hpp"

#include "http1/syntax.hpp"

namespace httpapi::http1 {
namespace {

// Digits at the start of `s` as a number saturated at UINT64_MAX; false when there are none.
bool take_number(std::string_view& s, std::uint64_t& out) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && syntax::is_digit(s[i])) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    ++i;
  }
  s.remove_prefix(i);
  out = v;
  return i > 0;
}

// One range-spec, the whole of `element` (OWS already trimmed).
bool parse_spec(std::string_view element, RangeSpec& spec) {
  if (element.front() == '-') {
    element.remove_prefix(1);
    spec.kind = RangeSpec::Kind::suffix;
    return take_number(element, spec.last) && element.empty();
  }
  if (!take_number(element, spec.first) || element.empty() || element.front() != '-') {
    return false;
  }
  element.remove_prefix(1);
  if (element.empty()) {
    spec.kind = RangeSpec::Kind::open;
    return true;
  }
  spec.kind = RangeSpec::Kind::closed;
  return take_number(element, spec.last) && element.empty() && spec.last >= spec.first;
}

}  // namespace

RangeSyntax parse_range(std::string_view value, std::span<RangeSpec> specs,
                        std::size_t& count) noexcept {
  count = 0;
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos) return RangeSyntax::invalid;
  const std::string_view unit = value.substr(0, eq);
  if (unit.empty() || !syntax::is_token(unit)) return RangeSyntax::invalid;
  if (!syntax::iequals(unit, "bytes")) return RangeSyntax::other_unit;
  std::string_view rest = value.substr(eq + 1);
  std::string_view element;
  std::size_t n = 0;
  // next_list_element skips empty elements and trims OWS around each one.
  while (syntax::next_list_element(rest, element)) {
    if (n == specs.size()) return RangeSyntax::too_many;
    if (!parse_spec(element, specs[n])) return RangeSyntax::invalid;
    ++n;
  }
  if (n == 0) return RangeSyntax::invalid;
  count = n;
  return RangeSyntax::ok;
}

RangeOutcome resolve_ranges(std::span<const RangeSpec> specs, std::uint64_t length,
                            std::span<ByteRange> out, std::size_t& count) noexcept {
  count = 0;
  std::uint64_t total = 0;
  for (const RangeSpec& spec : specs) {
    ByteRange r;
    switch (spec.kind) {
      case RangeSpec::Kind::suffix:
        if (spec.last == 0 || length == 0) continue;  // "-0" selects nothing
        r.length = spec.last < length ? spec.last : length;
        r.offset = length - r.length;
        break;
      case RangeSpec::Kind::open:
        if (spec.first >= length) continue;
        r.offset = spec.first;
        r.length = length - spec.first;
        break;
      case RangeSpec::Kind::closed:
        if (spec.first >= length) continue;
        r.offset = spec.first;
        r.length = (spec.last < length - 1 ? spec.last : length - 1) - spec.first + 1;
        break;
    }
    if (r.length > length - total) return RangeOutcome::full;  // more than the whole
    total += r.length;
    if (count == out.size()) return RangeOutcome::full;
    out[count++] = r;
  }
  return count == 0 ? RangeOutcome::unsatisfiable : RangeOutcome::partial;
}

}  // namespace httpapi::http1
