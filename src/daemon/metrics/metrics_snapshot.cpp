#include "daemon/metrics/metrics_snapshot.hpp"

#include <algorithm>

namespace httpapi::daemon::metrics {

QueueTraffic& QueueTraffic::operator+=(const QueueTraffic& other) noexcept {
  for (std::size_t c = 0; c < kStatusClasses; ++c) {
    for (std::size_t p = 0; p < kProtocols; ++p) requests[c][p] += other.requests[c][p];
  }
  latency += other.latency;
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  return *this;
}

void add_traffic(std::vector<QueueTraffic>& all, const QueueTraffic& traffic) {
  const auto at = std::lower_bound(
      all.begin(), all.end(), traffic.queue,
      [](const QueueTraffic& entry, const std::string& queue) { return entry.queue < queue; });
  if (at != all.end() && at->queue == traffic.queue) {
    *at += traffic;
    return;
  }
  all.insert(at, traffic);
}

}  // namespace httpapi::daemon::metrics
