// Tells systemd how the service is (sd_notify(3)'s datagram protocol over NOTIFY_SOCKET,
// written here: it is a documented wire format of a few lines, not worth libsystemd):
// READY=1 once applications can connect, STATUS= with the live counts, RELOADING=1 and
// READY=1 around a SIGHUP, STOPPING=1 when a drain begins, and WATCHDOG=1 at half the
// interval systemd asks for (WATCHDOG_USEC), sent from the service loop, so that a stuck
// loop is noticed. Without NOTIFY_SOCKET every call does nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace httpapi::daemon {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID and connects; before the privilege
  // change, so that the socket's permissions never matter afterwards.
  static SystemdNotifier from_environment();

  SystemdNotifier() = default;
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;
  ~SystemdNotifier();

  bool active() const noexcept { return fd_ >= 0; }
  // One datagram of NAME=VALUE lines; a failure is ignored (systemd may be gone).
  void send(std::string_view state) noexcept;
  // STATUS=text, only when it differs from the last one sent.
  void status(const std::string& text);
  // WATCHDOG=1 when half the watchdog interval has passed; call often (every tick).
  void watchdog_tick() noexcept;
  // READY=1 after a reload, with the MONOTONIC_USEC systemd 253 wants beside RELOADING=1.
  void reloading() noexcept;

 private:
  int fd_ = -1;
  std::chrono::microseconds watchdog_interval_{0};  // 0 = no watchdog
  std::chrono::steady_clock::time_point last_watchdog_{};
  std::string last_status_;
};

}  // namespace httpapi::daemon
