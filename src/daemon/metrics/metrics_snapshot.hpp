// Every metric's value at one scrape, as plain data: the per-thread counters summed, the
// service loop's gauges, the logs' counts. What the exposition renders (exposition.hpp);
// built by MetricsRegistry::snapshot, or by hand in tests.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/metrics/latency_histogram.hpp"
#include "daemon/metrics/metric_labels.hpp"

namespace httpapi::daemon::metrics {

// The requests of one queue label: by status class and protocol, their latency, their bytes.
struct QueueTraffic {
  std::string queue;
  std::array<std::array<std::uint64_t, kProtocols>, kStatusClasses> requests{};
  HistogramValues latency;
  std::uint64_t bytes_in = 0;   // request heads and bodies, as the protocol carried them
  std::uint64_t bytes_out = 0;  // response heads, framing and bodies

  QueueTraffic& operator+=(const QueueTraffic& other) noexcept;
};

// A queue as the service loop last saw it (once a second).
struct QueueGauge {
  std::string queue;
  std::uint64_t length = 0;   // requests waiting for a process
  std::uint64_t workers = 0;  // processes receiving from it
};

struct LogLines {
  std::uint64_t access_written = 0;
  std::uint64_t access_dropped = 0;  // the access logs' buffer was full
  std::uint64_t access_lost = 0;     // the file refused them (disk full, directory gone)
  std::uint64_t error_lost = 0;
  std::uint64_t stderr_lost = 0;
};

struct MetricsSnapshot {
  std::string version;
  std::int64_t start_time_seconds = 0;  // since the epoch
  std::vector<QueueTraffic> traffic;    // one per queue label, sorted by it
  std::vector<QueueGauge> queues;       // sorted by queue label
  std::array<std::uint64_t, kUnavailableReasons.size()> unavailable{};
  std::array<std::uint64_t, kTimerReasons.size()> timer_expiries{};
  std::array<std::uint64_t, kConnectionStates> connections{};
  std::uint64_t connections_accepted = 0;
  std::array<std::uint64_t, kRefusalReasons.size()> connections_refused{};
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t cache_hit_bytes = 0;
  std::uint64_t cache_entries = 0;
  std::uint64_t cache_bytes = 0;
  std::array<std::uint64_t, kChannelRoles.size()> app_channels{};
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
  LogLines log_lines;
};

// Adds `traffic` to the entry of its queue label in `all` (sorted), making one if needed.
void add_traffic(std::vector<QueueTraffic>& all, const QueueTraffic& traffic);

}  // namespace httpapi::daemon::metrics
