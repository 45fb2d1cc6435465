#include "daemon/policy/bandwidth_limit.hpp"

#include <algorithm>

#include "daemon/policy/timers.hpp"

namespace httpapi::daemon {

void BandwidthLimit::set_rate(std::uint32_t bytes_per_second) {
  std::lock_guard lock(mutex_);
  rate_ = bytes_per_second == kUnlimited ? 0 : bytes_per_second;
  millibytes_ = capacity();  // a fresh limit starts with its full burst
  refilled_at_ms_ = 0;
  limited_ = rate_ != 0;
}

void BandwidthLimit::refill(std::uint64_t now_ms) {
  if (refilled_at_ms_ != 0 && now_ms > refilled_at_ms_) {
    millibytes_ = std::min(capacity(), millibytes_ + rate_ * (now_ms - refilled_at_ms_));
  }
  refilled_at_ms_ = now_ms;
}

std::size_t BandwidthLimit::take(std::size_t want, std::uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (rate_ == 0) return want;
  refill(now_ms);
  const std::size_t granted = std::min<std::uint64_t>(want, millibytes_ / 1000);
  millibytes_ -= granted * 1000;
  return granted;
}

void BandwidthLimit::give_back(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  if (rate_ != 0) millibytes_ = std::min(capacity(), millibytes_ + bytes * 1000);
}

std::uint64_t BandwidthLimit::wait_ms(std::size_t want, std::uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (rate_ == 0) return 1;
  refill(now_ms);
  const std::uint64_t needed = std::min<std::uint64_t>(want, rate_ / 10) * 1000;
  if (millibytes_ >= needed) return 1;
  return (needed - millibytes_ + rate_ - 1) / rate_;
}

}  // namespace httpapi::daemon
