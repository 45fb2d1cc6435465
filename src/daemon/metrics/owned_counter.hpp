// A counter with one writer (the I/O thread that owns it) and any number of readers (a
// scrape, on whatever thread answers it). The writer's add() is a relaxed load and store,
// not a locked read-modify-write: nobody else writes the counter, so no increment is lost,
// and the request path pays no more than for a plain integer. Readers see a recent value.
#pragma once

#include <atomic>
#include <cstdint>

namespace httpapi::daemon::metrics {

class OwnedCounter {
 public:
  // --- the owning thread only
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For gauges the owner samples (connections by state, once a second).
  void set(std::uint64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }

  // --- any thread
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace httpapi::daemon::metrics
