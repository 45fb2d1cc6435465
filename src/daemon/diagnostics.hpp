// The service's diagnostic lines on stderr ("httpapid: ..."): one write(2) per line, so
// lines from several threads never interleave, and never an exception — stderr may be a
// pipe whose reader left, closed, or a full disk, and none of that may stop the service
// (DESIGN.md §8). A line that cannot be written is counted, for httpcfg show servicestate.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace httpapi::daemon {

// First thing in main: a closed descriptor 0, 1 or 2 gets /dev/null, so the store or a
// socket never becomes "stderr" and receives diagnostic lines. With no stderr at all,
// every line is lost, and counted so.
void claim_standard_streams() noexcept;

// Writes `line` (newline included) to stderr; any thread.
void write_diagnostic(std::string_view line) noexcept;

// Lines lost since the start: failed writes, and lines that could not even be formatted.
std::uint64_t diagnostic_lines_lost() noexcept;
void count_lost_diagnostic() noexcept;

// fmt::print(stderr, ...) without its exceptions: same format, same text.
template <typename... Args>
void diagnose(fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    write_diagnostic(fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {  // out of memory while formatting: the line is lost, the service goes on
    count_lost_diagnostic();
  }
}

}  // namespace httpapi::daemon
