#include "daemon/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

// A path, or "@name" for the abstract namespace (a leading NUL byte instead of '@').
int connect_to(std::string_view path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() < 2 || path.size() >= sizeof address.sun_path ||
      (path[0] != '/' && path[0] != '@')) {
    return -1;
  }
  path.copy(address.sun_path, path.size());
  if (path[0] == '@') address.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::chrono::microseconds watchdog_from_environment() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (!usec) return std::chrono::microseconds{0};
  // WATCHDOG_PID names the process meant; another (a child that inherited it) ignores it.
  if (const char* pid = std::getenv("WATCHDOG_PID");
      pid && std::strtoll(pid, nullptr, 10) != ::getpid()) {
    return std::chrono::microseconds{0};
  }
  return std::chrono::microseconds{std::strtoll(usec, nullptr, 10)};
}

}  // namespace

SystemdNotifier SystemdNotifier::from_environment() {
  SystemdNotifier notifier;
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path) return notifier;
  notifier.fd_ = connect_to(path);
  if (notifier.fd_ >= 0) notifier.watchdog_interval_ = watchdog_from_environment();
  return notifier;
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept { *this = std::move(other); }

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    watchdog_interval_ = other.watchdog_interval_;
    last_watchdog_ = other.last_watchdog_;
    last_status_ = std::move(other.last_status_);
  }
  return *this;
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

void SystemdNotifier::send(std::string_view state) noexcept {
  if (fd_ < 0) return;
  // MSG_NOSIGNAL: a gone receiver is not a reason to die; MSG_DONTWAIT: nor to wait.
  (void)::send(fd_, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void SystemdNotifier::status(const std::string& text) {
  if (fd_ < 0 || text == last_status_) return;
  last_status_ = text;
  send("STATUS=" + text);
}

void SystemdNotifier::watchdog_tick() noexcept {
  if (fd_ < 0 || watchdog_interval_.count() <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_watchdog_ < watchdog_interval_ / 2) return;
  last_watchdog_ = now;
  send("WATCHDOG=1");
}

void SystemdNotifier::reloading() noexcept {
  if (fd_ < 0) return;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
  char text[64];
  const int n = std::snprintf(text, sizeof text, "RELOADING=1\nMONOTONIC_USEC=%lld", usec);
  if (n > 0) send(std::string_view(text, static_cast<std::size_t>(n)));
}

}  // namespace httpapi::daemon
