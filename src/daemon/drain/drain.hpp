// Draining (`httpcfg drain`, docs/operations.md): taking one host out from behind a load
// balancer without losing a request. Four phases:
//   serving  - the normal state;
//   grace    - the health URL answers 503 at once, so the balancer stops sending new
//              clients; requests are still served for `grace` seconds (the balancer needs a
//              few checks to notice), each answer ending its connection (HTTP/1.1
//              Connection: close, HTTP/2 GOAWAY) so clients reconnect elsewhere;
//   closing  - the service stops accepting and listening; the exchanges in flight finish,
//              their connections closing after them; past `timeout` seconds, the
//              connections left are closed (and counted);
//   drained  - no client connection left. The applications stay connected; SIGTERM (or
//              systemctl stop) ends the service.
// `httpcfg resume` takes a drain in its grace period back to serving. Service loop only,
// but for draining(), which the I/O threads read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json_fwd.hpp>

namespace httpapi::daemon {

class Drain {
 public:
  enum class Phase : std::uint8_t { serving, grace, closing, drained };

  static constexpr std::uint32_t kDefaultGrace = 10;     // seconds
  static constexpr std::uint32_t kDefaultTimeout = 30;   // seconds
  static constexpr std::uint32_t kMaxSeconds = 86400;    // a day: anything longer is a typo

  // What a drain does to the rest of the service, and what it reports of it.
  struct Actions {
    // The grace period is over: close the listening sockets, and let every connection end
    // after the exchanges it has in flight. The service calls all_connections_gone() once
    // none is left.
    std::function<void()> stop_accepting;
    // The timeout passed: close the connections left. The service calls
    // closed_at_timeout() with how many that was.
    std::function<void()> close_connections;
    std::function<std::size_t()> open_connections;
    std::function<std::size_t()> requests_in_flight;
  };
  explicit Drain(Actions actions) : actions_(std::move(actions)) {}

  // --- any thread: answers end their connections, the health URL says 503.
  bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }

  // --- service loop; `now_ms` is CLOCK_MONOTONIC in milliseconds.
  // Starts a drain. Returns HTTPAPI_OK, or an error with `detail` saying why and what to do
  // (a drain already running, a duration out of range).
  std::uint32_t begin(std::uint32_t grace, std::uint32_t timeout, std::uint64_t now_ms,
                      std::string& detail);
  // Ends a drain still in its grace period.
  std::uint32_t resume(std::string& detail);
  // Every second: moves on when the grace period or the timeout is over.
  void tick(std::uint64_t now_ms);
  // No client connection is left (after stop_accepting).
  void all_connections_gone();
  void closed_at_timeout(std::size_t count) { closed_at_timeout_ += count; }

  Phase phase() const noexcept { return phase_; }
  // {"state": ..., "grace_seconds", "timeout_seconds", "seconds_left", "connections",
  //  "requests_in_flight", "closed_at_timeout"} for httpcfg show servicestate.
  nlohmann::json describe(std::uint64_t now_ms) const;
  // For systemd's STATUS line: "" while serving, else "draining (grace, 7 s left)"...
  std::string status(std::uint64_t now_ms) const;

 private:
  void start_closing(std::uint64_t now_ms);
  std::uint64_t seconds_left(std::uint64_t now_ms) const;

  Actions actions_;
  std::atomic<bool> draining_{false};
  Phase phase_ = Phase::serving;
  std::uint32_t grace_ = 0;
  std::uint32_t timeout_ = 0;
  std::uint64_t phase_started_ms_ = 0;
  bool timed_out_ = false;
  std::size_t closed_at_timeout_ = 0;
};

std::string_view phase_name(Drain::Phase phase) noexcept;

}  // namespace httpapi::daemon
