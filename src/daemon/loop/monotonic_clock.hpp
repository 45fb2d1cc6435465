// CLOCK_MONOTONIC, what every timer, the request-queue wait and the response cache measure
// with (wall-clock changes must not fire or stop them).
#pragma once

#include <cstdint>
#include <ctime>

namespace httpapi::daemon {

// Whole seconds: the response cache's expiry and scavenging, the hello deadline.
inline unsigned monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<unsigned>(now.tv_sec);
}

// Milliseconds: the connection and request timers (timers.hpp).
inline std::uint64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000 +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000000;
}

// Microseconds: a request's latency (the metrics' histogram, docs/metrics.md) and time taken.
inline std::uint64_t monotonic_us() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000 +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000;
}

// The time at the start of this thread's current batch of events (EventLoop::turn), read
// once per batch on first use, for the request path: it asks for the time six or seven times
// per request, and those vDSO calls were 3% of the server's CPU under pipelined load
// (bench/profile.sh --depth 16, 2026-12-05). Precise to the length of a batch (microseconds
// under load, as nginx's cached time); outside a batch, or on a thread that runs no event
// loop, the clock is read each time.
struct BatchClock {
  bool in_batch = false;
  bool has_monotonic = false;
  bool has_wall = false;
  std::uint64_t monotonic_us = 0;
  std::int64_t wall_ms = 0;
};
inline thread_local BatchClock t_batch_clock;

// Marks this thread's batch of events, for as long as it lives (EventLoop::turn).
class BatchClockScope {
 public:
  BatchClockScope() { t_batch_clock = BatchClock{.in_batch = true}; }
  ~BatchClockScope() { t_batch_clock.in_batch = false; }
  BatchClockScope(const BatchClockScope&) = delete;
  BatchClockScope& operator=(const BatchClockScope&) = delete;
};

inline std::uint64_t batch_us() {
  BatchClock& c = t_batch_clock;
  if (!c.in_batch) return monotonic_us();
  if (!c.has_monotonic) {
    c.monotonic_us = monotonic_us();
    c.has_monotonic = true;
  }
  return c.monotonic_us;
}

inline std::uint64_t batch_ms() { return batch_us() / 1000; }
inline unsigned batch_seconds() { return static_cast<unsigned>(batch_us() / 1000000); }

// Wall-clock milliseconds since the epoch (a log line's time), per batch as batch_us.
inline std::int64_t batch_wall_ms() {
  BatchClock& c = t_batch_clock;
  if (c.in_batch && c.has_wall) return c.wall_ms;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const std::int64_t ms = static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  if (c.in_batch) {
    c.wall_ms = ms;
    c.has_wall = true;
  }
  return ms;
}

}  // namespace httpapi::daemon
