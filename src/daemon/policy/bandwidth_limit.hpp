// A URL group's bandwidth limit (HTTP.sys's QoS bandwidth property): a token bucket that
// every connection sending the group's responses draws from, on any I/O thread. It holds
// at most one second's worth of bytes, so a response may start with a burst of that size
// and then flows at the rate.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace httpapi::daemon {

class BandwidthLimit {
 public:
  // Bytes per second; kUnlimited turns the limit off. Any thread.
  void set_rate(std::uint32_t bytes_per_second);
  // Lock-free: asked on every write of every connection of the group.
  bool limited() const { return limited_.load(std::memory_order_relaxed); }

  // Takes up to `want` bytes of allowance at `now_ms` (monotonic milliseconds) and returns
  // how many were granted; 0 means wait (see wait_ms).
  std::size_t take(std::size_t want, std::uint64_t now_ms);
  // Returns allowance taken but not used (the socket took fewer bytes).
  void give_back(std::size_t bytes);
  // Milliseconds from `now_ms` until `want` bytes (at most a tenth of a second's worth, so
  // several connections share the rate in small turns) will be available.
  std::uint64_t wait_ms(std::size_t want, std::uint64_t now_ms);

 private:
  void refill(std::uint64_t now_ms);  // mutex held
  std::uint64_t capacity() const { return std::uint64_t{rate_} * 1000; }  // one second

  std::atomic<bool> limited_{false};
  std::mutex mutex_;
  std::uint64_t rate_ = 0;        // bytes per second; 0 = no limit
  std::uint64_t millibytes_ = 0;  // the allowance, in thousandths of a byte
  std::uint64_t refilled_at_ms_ = 0;
};

}  // namespace httpapi::daemon
