// A count of client connections held against a limit (server-wide max_connections, a URL
// group's MAX_CONNECTIONS), shared by the I/O threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "daemon/policy/timers.hpp"

namespace httpapi::daemon {

class ConnectionCount {
 public:
  // Counts one more unless `limit` (kUnlimited = none) is reached already.
  bool try_add(std::uint32_t limit) {
    std::uint32_t current = count_.load();
    do {
      if (limit != kUnlimited && current >= limit) return false;
    } while (!count_.compare_exchange_weak(current, current + 1));
    return true;
  }
  void remove() { count_.fetch_sub(1); }
  std::uint32_t current() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t> count_{0};
};

}  // namespace httpapi::daemon
