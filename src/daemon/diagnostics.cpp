#include "daemon/diagnostics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace httpapi::daemon {
namespace {

std::atomic<std::uint64_t> lost{0};
bool stderr_missing = false;  // set before any thread starts, read-only after

}  // namespace

void claim_standard_streams() noexcept {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // The lowest free descriptor is this one, since those below it are open.
    const int opened = ::open("/dev/null", O_RDWR);
    if (opened >= 0 && opened != fd) ::close(opened);
    if (fd == STDERR_FILENO) stderr_missing = true;
  }
}

void write_diagnostic(std::string_view line) noexcept {
  if (stderr_missing) {
    count_lost_diagnostic();
    return;
  }
  // A blocking write as fmt::print's was; a short write (a pipe near full) is finished,
  // an error (EPIPE, EBADF, ENOSPC, EAGAIN on a non-blocking stderr...) loses the line.
  while (!line.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      count_lost_diagnostic();
      return;
    }
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::uint64_t diagnostic_lines_lost() noexcept { return lost.load(std::memory_order_relaxed); }

void count_lost_diagnostic() noexcept { lost.fetch_add(1, std::memory_order_relaxed); }

}  // namespace httpapi::daemon
