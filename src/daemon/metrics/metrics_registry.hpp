// Where a scrape's numbers come from (docs/metrics.md): the I/O threads' own counters
// (WorkerMetrics, summed at scrape time), the gauges of the service loop (queues and
// application channels, published by it once a second), the response cache, the logs and
// the process's descriptors. snapshot() and scrape() may be called on any thread: the
// request path takes no part in them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/metrics/metrics_snapshot.hpp"

namespace httpapi::daemon {
class AccessLog;
class IoWorker;
class ResponseCache;
}  // namespace httpapi::daemon

namespace httpapi::daemon::metrics {

// What the service loop knows and the I/O threads do not.
struct ControlGauges {
  std::vector<QueueGauge> queues;  // sorted by queue label, one per label
  std::array<std::uint64_t, kChannelRoles.size()> app_channels{};
};

class MetricsRegistry {
 public:
  struct Sources {
    const std::vector<std::unique_ptr<IoWorker>>& workers;
    const ResponseCache& cache;
    const AccessLog& access_log;
    // The error log is made after the registry; its lost lines through this.
    std::function<std::uint64_t()> error_log_lines_lost;
  };
  explicit MetricsRegistry(Sources sources);

  // --- the service loop, once a second
  void publish(ControlGauges gauges);

  // --- any thread
  MetricsSnapshot snapshot() const;
  // The exposition text of a snapshot taken now.
  std::string scrape() const;

 private:
  Sources sources_;
  const std::int64_t start_time_seconds_;
  mutable std::mutex mutex_;  // over control_: the service loop's tick and scrapes only
  ControlGauges control_;
};

// Adds a queue's length and workers to its label's gauge (unnamed queues share one).
void add_queue_gauge(ControlGauges& gauges, std::string_view queue_name, std::uint64_t length,
                     std::uint64_t workers);

}  // namespace httpapi::daemon::metrics
