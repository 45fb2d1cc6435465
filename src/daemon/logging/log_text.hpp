// Appending numbers and escapes to a log line without a format string. The access-log writer
// formats every request's line, and fmt's run-time parsing of format strings cost more than
// everything else in a line (callgrind: 8,500 instructions per W3C line, 7% of them in
// vformat_to alone; bench/RESULTS.md, "Access logging").
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/logging/log_time.hpp"

namespace httpapi::daemon {

inline void append_decimal(std::string& out, std::uint64_t value) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// `value` in exactly `width` digits (at most 4), zero-padded: dates and times.
inline void append_padded(std::string& out, unsigned value, int width) {
  char digits[4];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<std::size_t>(width));
}

// YYYY-MM-DD
inline void append_date(std::string& out, const CivilTime& t) {
  append_padded(out, static_cast<unsigned>(t.year), 4);
  out += '-';
  append_padded(out, static_cast<unsigned>(t.month), 2);
  out += '-';
  append_padded(out, static_cast<unsigned>(t.day), 2);
}

// HH:MM:SS
inline void append_clock(std::string& out, const CivilTime& t) {
  append_padded(out, static_cast<unsigned>(t.hour), 2);
  out += ':';
  append_padded(out, static_cast<unsigned>(t.minute), 2);
  out += ':';
  append_padded(out, static_cast<unsigned>(t.second), 2);
}

// `prefix` and two lowercase hex digits of `byte`: NCSA's \xXX, JSON's \u00XX.
inline void append_hex_byte(std::string& out, std::string_view prefix, unsigned char byte) {
  constexpr char kDigits[] = "0123456789abcdef";
  out += prefix;
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xf];
}

}  // namespace httpapi::daemon
