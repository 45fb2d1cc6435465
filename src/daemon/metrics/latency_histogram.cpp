#include "daemon/metrics/latency_histogram.hpp"

#include <algorithm>

namespace httpapi::daemon::metrics {

std::size_t bucket_of(std::uint64_t microseconds) noexcept {
  const auto at = std::lower_bound(kBucketBoundsUs.begin(), kBucketBoundsUs.end(), microseconds);
  return static_cast<std::size_t>(at - kBucketBoundsUs.begin());
}

std::uint64_t HistogramValues::count() const noexcept {
  std::uint64_t total = 0;
  for (const std::uint64_t n : buckets) total += n;
  return total;
}

HistogramValues& HistogramValues::operator+=(const HistogramValues& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets[i] += other.buckets[i];
  sum_us += other.sum_us;
  return *this;
}

void LatencyHistogram::read(HistogramValues& out) const noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) out.buckets[i] += buckets_[i].value();
  out.sum_us += sum_us_.value();
}

}  // namespace httpapi::daemon::metrics
