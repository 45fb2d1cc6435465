// The request latency histogram (httpapi_request_duration_seconds): time from a request's
// head to the first byte of its response, in fixed buckets. The bounds start at 100 µs
// because cache hits and the service's own answers take well under a millisecond, and end
// at 10 s, past which a request is waiting for its application, not being served.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/metrics/owned_counter.hpp"

namespace httpapi::daemon::metrics {

// Upper bounds in microseconds, and the same as Prometheus `le` label text (seconds).
inline constexpr std::array<std::uint64_t, 16> kBucketBoundsUs = {
    100,    250,    500,     1000,    2500,    5000,    10000,   25000,
    50000,  100000, 250000,  500000,  1000000, 2500000, 5000000, 10000000};
inline constexpr std::array<std::string_view, 16> kBucketLabels = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};
// Every bucket plus the last, +Inf.
inline constexpr std::size_t kBuckets = kBucketBoundsUs.size() + 1;

// The bucket a duration falls in: the first whose bound is >= it (Prometheus's `le`).
std::size_t bucket_of(std::uint64_t microseconds) noexcept;

// What a scrape reads: counts per bucket (not yet cumulative) and the sum.
struct HistogramValues {
  std::array<std::uint64_t, kBuckets> buckets{};
  std::uint64_t sum_us = 0;

  std::uint64_t count() const noexcept;
  HistogramValues& operator+=(const HistogramValues& other) noexcept;
};

// One thread's histogram: observe() on the owning thread, read() anywhere.
class LatencyHistogram {
 public:
  void observe(std::uint64_t microseconds) noexcept {
    buckets_[bucket_of(microseconds)].add();
    sum_us_.add(microseconds);
  }
  // Adds this histogram's values to `out`.
  void read(HistogramValues& out) const noexcept;

 private:
  std::array<OwnedCounter, kBuckets> buckets_;
  OwnedCounter sum_us_;
};

}  // namespace httpapi::daemon::metrics
