// One access-log file, DIR/NAME.log, as the writer thread keeps it: opened on the first
// line (W3C's directives at the top of each opening), rolled over by size, hourly or daily
// (the old file renamed NAME-<period>.log), and never a reason to stop: a line that cannot
// be written (directory removed or read-only, disk full) is counted, a deleted file or
// directory is made again, and a failed open is retried at most once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/logging/access_format.hpp"
#include "daemon/logging/log_time.hpp"

namespace httpapi::daemon {

// Values as HTTPAPI_LOG_ROLLOVER_* (httpapi.h), which are HTTP.sys's.
enum class Rollover : std::uint8_t { size = 0, daily = 1, hourly = 4 };
// "size", "daily", "hourly" (the server-wide log's setting); nullopt for anything else.
std::optional<Rollover> parse_rollover(std::string_view name) noexcept;
std::string_view rollover_name(Rollover rollover) noexcept;

struct AccessFilePolicy {
  std::string name;  // NAME of NAME.log
  Rollover rollover = Rollover::daily;
  std::uint64_t max_bytes = 0;  // for Rollover::size
  bool local_time = false;      // periods and rollover names in local time
};

class AccessFile {
 public:
  // `style` gives what each opening starts with (W3C's directives, dated then).
  AccessFile(std::string directory, AccessFilePolicy policy, AccessStyle style);
  ~AccessFile();
  AccessFile(const AccessFile&) = delete;
  AccessFile& operator=(const AccessFile&) = delete;

  // Called before a line of `line` bytes stamped `time_ms` is added to `pending` bytes not
  // written yet: true when the file must roll over first (the caller writes what is
  // pending, then calls roll()).
  bool must_roll(std::int64_t time_ms, std::size_t pending, std::size_t line);
  void roll(std::int64_t time_ms);
  // Writes `lines` (`count` whole lines) in one write. Returns the lines that could not be
  // written.
  std::uint64_t write(std::string_view lines, std::uint64_t count);
  // Closed now, opened again at the next write (logrotate moved it; SIGHUP).
  void reopen();
  std::string path() const;

 private:
  bool usable(std::int64_t now_ms);
  void open(std::int64_t now_ms);
  void close();
  std::string period_of(std::int64_t time_ms);
  std::string rolled_name(const std::string& period) const;

  std::string directory_;
  AccessFilePolicy policy_;
  AccessStyle style_;
  CivilClock clock_;
  int fd_ = -1;
  std::uint64_t written_ = 0;  // bytes in the file, header included
  std::uint64_t header_bytes_ = 0;
  std::string period_;  // hourly and daily: the period the open file holds
  // A second whose lines were found to be in period_: the period is formatted once a second,
  // not once a line.
  std::int64_t same_period_second_ = INT64_MIN;
  std::chrono::steady_clock::time_point next_open_attempt_{};
};

}  // namespace httpapi::daemon
