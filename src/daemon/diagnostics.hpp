// The service's diagnostic lines on stderr ("httpapid: ..."): one write(2) per line, so
// lines from several threads never interleave, and never an exception — stderr may be a
// pipe whose reader left, closed, or a full disk, and none of that may stop the service
// (DESIGN.md §8). A line that cannot be written is counted, for httpcfg show servicestate.
//
// Each line has a level (syslog's priorities). Lines above the --log-level are not written;
// when stderr is the journal (systemd's JOURNAL_STREAM names it), each line starts with
// "<N>", the priority journald files it under.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace httpapi::daemon {

// syslog(3)'s numbers, which journald reads from the "<N>" prefix.
enum class LogLevel : int { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// "error", "warning", "notice", "info", "debug"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;
std::string_view log_level_name(LogLevel level) noexcept;

// First thing in main: a closed descriptor 0, 1 or 2 gets /dev/null, so the store or a
// socket never becomes "stderr" and receives diagnostic lines. With no stderr at all,
// every line is lost, and counted so. Also finds out whether stderr is the journal.
void claim_standard_streams() noexcept;

// Lines of a level above `most_verbose` are dropped (not counted as lost). Any thread: the
// setting log_level changes it while the service runs.
void set_log_level(LogLevel most_verbose) noexcept;
// Whether lines get the journal's "<N>" prefix (stderr is the stream JOURNAL_STREAM names).
bool diagnostics_to_journal() noexcept;

// Writes `line` (newline included) to stderr; any thread.
void write_diagnostic(LogLevel level, std::string_view line) noexcept;

// Lines lost since the start: failed writes, and lines that could not even be formatted.
std::uint64_t diagnostic_lines_lost() noexcept;
void count_lost_diagnostic() noexcept;

// Called in a catch block at the top of a thread's event loop: an exception there is a bug.
// The service says what it was and exits at once with status 70 (EX_SOFTWARE), instead of
// std::terminate's abort with the other threads still running; systemd's Restart= starts it
// again, and applications reconnect.
[[noreturn]] void stop_on_internal_error(std::string_view thread) noexcept;

// fmt::print(stderr, ...) without its exceptions: same format, same text.
template <typename... Args>
void diagnose(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    write_diagnostic(level, fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {  // out of memory while formatting: the line is lost, the service goes on
    count_lost_diagnostic();
  }
}

// An informational line (most of the service's lines: what it did).
template <typename... Args>
void diagnose(fmt::format_string<Args...> format, Args&&... args) noexcept {
  diagnose(LogLevel::info, format, std::forward<Args>(args)...);
}

}  // namespace httpapi::daemon
