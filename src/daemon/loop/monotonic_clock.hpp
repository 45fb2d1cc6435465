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

}  // namespace httpapi::daemon
