#include "daemon/logging/access_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

std::int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::optional<Rollover> parse_rollover(std::string_view name) noexcept {
  if (name == "size") return Rollover::size;
  if (name == "daily") return Rollover::daily;
  if (name == "hourly") return Rollover::hourly;
  return std::nullopt;
}

std::string_view rollover_name(Rollover rollover) noexcept {
  switch (rollover) {
    case Rollover::size: return "size";
    case Rollover::hourly: return "hourly";
    case Rollover::daily: break;
  }
  return "daily";
}

AccessFile::AccessFile(std::string directory, AccessFilePolicy policy, AccessStyle style)
    : directory_(std::move(directory)),
      policy_(std::move(policy)),
      style_(std::move(style)),
      clock_(policy_.local_time) {}

AccessFile::~AccessFile() { close(); }

std::string AccessFile::path() const { return fmt::format("{}/{}.log", directory_, policy_.name); }

std::string AccessFile::period_of(std::int64_t time_ms) {
  const CivilTime t = clock_.at(time_ms);
  switch (policy_.rollover) {
    case Rollover::hourly: return fmt::format("{:04}{:02}{:02}{:02}", t.year, t.month, t.day, t.hour);
    case Rollover::daily: return fmt::format("{:04}{:02}{:02}", t.year, t.month, t.day);
    case Rollover::size:
      break;
  }
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}", t.year, t.month, t.day, t.hour, t.minute,
                     t.second);
}

// NAME-<period>.log, or NAME-<period>-<n>.log when that exists (several size rollovers
// within one second).
std::string AccessFile::rolled_name(const std::string& period) const {
  std::string name = fmt::format("{}/{}-{}.log", directory_, policy_.name, period);
  for (unsigned n = 1; ::access(name.c_str(), F_OK) == 0 && n < 10000; ++n) {
    name = fmt::format("{}/{}-{}-{}.log", directory_, policy_.name, period, n);
  }
  return name;
}

void AccessFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AccessFile::reopen() {
  close();
  next_open_attempt_ = {};
}

// A file left from an earlier period (the service was stopped across the hour or the day)
// is given that period's name before the new one starts.
void AccessFile::open(std::int64_t now) {
  std::error_code ignored;
  std::filesystem::create_directories(directory_, ignored);
  const std::string current = path();
  const std::string period = period_of(now);
  struct stat st {};
  if (policy_.rollover != Rollover::size && ::stat(current.c_str(), &st) == 0 && st.st_size > 0) {
    const std::string was = period_of(static_cast<std::int64_t>(st.st_mtime) * 1000);
    if (was != period) std::rename(current.c_str(), rolled_name(was).c_str());
  }
  fd_ = ::open(current.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return;
  written_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  period_ = period;
  same_period_second_ = INT64_MIN;
  header_bytes_ = 0;
  const std::string header = access_file_header(style_, now);
  if (!header.empty()) {
    const ssize_t n = ::write(fd_, header.data(), header.size());
    if (n > 0) written_ += static_cast<std::uint64_t>(n);
    header_bytes_ = header.size();
  }
}

// Whether fd_ leads to a file in the directory: a deleted file (or directory) would take
// every line unseen, so it is replaced.
bool AccessFile::usable(std::int64_t now) {
  struct stat st {};
  if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || st.st_nlink == 0)) close();
  if (fd_ >= 0) return true;
  const auto clock = std::chrono::steady_clock::now();
  if (clock < next_open_attempt_) return false;
  next_open_attempt_ = clock + std::chrono::seconds(1);
  open(now);
  return fd_ >= 0;
}

bool AccessFile::must_roll(std::int64_t time_ms, std::size_t pending, std::size_t line) {
  if (fd_ < 0 && !usable(time_ms)) return false;
  if (policy_.rollover == Rollover::size) {
    // A file holds at least one line, however long.
    return (written_ > header_bytes_ || pending > 0) &&
           written_ + pending + line > policy_.max_bytes;
  }
  // Periods only move forward: a line stamped just before the hour, written just after,
  // stays in the new file rather than starting the old period again.
  const std::int64_t second = time_ms / 1000;
  if (second == same_period_second_) return false;
  if (period_of(time_ms) > period_) return true;
  same_period_second_ = second;
  return false;
}

void AccessFile::roll(std::int64_t time_ms) {
  if (fd_ < 0) return;
  close();
  const std::string current = path();
  std::rename(current.c_str(), rolled_name(policy_.rollover == Rollover::size
                                               ? period_of(time_ms)
                                               : period_).c_str());
  next_open_attempt_ = {};
  open(time_ms);
}

std::uint64_t AccessFile::write(std::string_view lines, std::uint64_t count) {
  if (lines.empty()) return 0;
  if (!usable(now_ms())) return count;
  std::size_t done = 0;
  while (done < lines.size()) {
    const ssize_t n = ::write(fd_, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  written_ += done;
  if (done == lines.size()) return 0;
  // Whole lines written count as written; the one cut short is lost with the rest. The next
  // write starts over with a fresh open, so a cut line never glues onto the next.
  close();
  next_open_attempt_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  const auto whole = static_cast<std::uint64_t>(
      std::count(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(done), '\n'));
  return count - whole;
}

}  // namespace httpapi::daemon
