#include "daemon/diagnostics.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace httpapi::daemon {
namespace {

std::atomic<std::uint64_t> lost{0};
// Set before any thread starts, read-only after.
bool stderr_missing = false;
bool to_journal = false;
std::atomic<int> threshold{static_cast<int>(LogLevel::info)};

// systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the journal; a
// child that inherits the variable but has another stderr must not add prefixes, so the
// descriptor itself is compared.
bool stderr_is_journal() noexcept {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  std::uintmax_t device = 0;
  std::uintmax_t inode = 0;
  if (std::sscanf(stream, "%" SCNuMAX ":%" SCNuMAX, &device, &inode) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<std::uintmax_t>(st.st_dev) == device &&
         static_cast<std::uintmax_t>(st.st_ino) == inode;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) noexcept {
  if (name == "error") return LogLevel::error;
  if (name == "warning") return LogLevel::warning;
  if (name == "notice") return LogLevel::notice;
  if (name == "info") return LogLevel::info;
  if (name == "debug") return LogLevel::debug;
  return std::nullopt;
}

std::string_view log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::notice: return "notice";
    case LogLevel::debug: return "debug";
    case LogLevel::info: break;
  }
  return "info";
}

void claim_standard_streams() noexcept {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // The lowest free descriptor is this one, since those below it are open.
    const int opened = ::open("/dev/null", O_RDWR);
    if (opened >= 0 && opened != fd) ::close(opened);
    if (fd == STDERR_FILENO) stderr_missing = true;
  }
  to_journal = !stderr_missing && stderr_is_journal();
}

void set_log_level(LogLevel most_verbose) noexcept {
  threshold.store(static_cast<int>(most_verbose), std::memory_order_relaxed);
}

bool diagnostics_to_journal() noexcept { return to_journal; }

void write_diagnostic(LogLevel level, std::string_view line) noexcept {
  if (static_cast<int>(level) > threshold.load(std::memory_order_relaxed)) return;
  if (stderr_missing) {
    count_lost_diagnostic();
    return;
  }
  // The prefix and the line in one write, so that lines of several threads never mix.
  char buffer[1024];
  std::string_view out = line;
  if (to_journal && line.size() + 3 <= sizeof buffer) {
    buffer[0] = '<';
    buffer[1] = static_cast<char>('0' + static_cast<int>(level));
    buffer[2] = '>';
    line.copy(buffer + 3, line.size());
    out = std::string_view(buffer, line.size() + 3);
  }
  // A longer line goes without its prefix: journald files it at the unit's default level.
  // A blocking write as fmt::print's was; a short write (a pipe near full) is finished,
  // an error (EPIPE, EBADF, ENOSPC, EAGAIN on a non-blocking stderr...) loses the line.
  while (!out.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      count_lost_diagnostic();
      return;
    }
    out.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::uint64_t diagnostic_lines_lost() noexcept { return lost.load(std::memory_order_relaxed); }

void count_lost_diagnostic() noexcept { lost.fetch_add(1, std::memory_order_relaxed); }

void stop_on_internal_error(std::string_view thread) noexcept {
  std::string_view what = "an exception of unknown type";
  try {
    throw;
  } catch (const std::exception& error) {
    what = error.what();
  } catch (...) {
  }
  diagnose(LogLevel::error, "httpapid: internal error in the {} thread: {}; stopping (exit 70)\n",
           thread, what);
  std::_Exit(70);
}

}  // namespace httpapi::daemon
