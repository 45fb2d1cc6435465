#include "daemon/metrics/metrics_registry.hpp"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <ctime>

#include "daemon/cache/response_cache.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/logging/access_log.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/metrics/exposition.hpp"

namespace httpapi::daemon::metrics {
namespace {

// Entries of /proc/self/fd, less the one reading it.
std::uint64_t open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count > 0 ? count - 1 : 0;
}

std::uint64_t descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

}  // namespace

void add_queue_gauge(ControlGauges& gauges, std::string_view queue_name, std::uint64_t length,
                     std::uint64_t workers) {
  const std::string_view label = queue_name.empty() ? kUnnamedQueue : queue_name;
  auto& all = gauges.queues;
  const auto at = std::lower_bound(
      all.begin(), all.end(), label,
      [](const QueueGauge& entry, std::string_view wanted) { return entry.queue < wanted; });
  if (at != all.end() && at->queue == label) {
    at->length += length;
    at->workers += workers;
    return;
  }
  all.insert(at, QueueGauge{std::string(label), length, workers});
}

MetricsRegistry::MetricsRegistry(Sources sources)
    : sources_(std::move(sources)),
      start_time_seconds_(static_cast<std::int64_t>(std::time(nullptr))) {}

void MetricsRegistry::publish(ControlGauges gauges) {
  std::lock_guard lock(mutex_);
  control_ = std::move(gauges);
}

MetricsSnapshot MetricsRegistry::snapshot() const {
  MetricsSnapshot s;
  s.version = HTTPAPI_VERSION_STRING;
  s.start_time_seconds = start_time_seconds_;
  for (const auto& worker : sources_.workers) worker->metrics().read(s);
  {
    std::lock_guard lock(mutex_);
    s.queues = control_.queues;
    s.app_channels = control_.app_channels;
  }
  const ResponseCache::Usage cache = sources_.cache.usage();
  s.cache_entries = cache.entries;
  s.cache_bytes = cache.bytes;
  s.open_fds = open_descriptors();
  s.max_fds = descriptor_limit();
  s.log_lines.access_written = sources_.access_log.lines_written();
  s.log_lines.access_dropped = sources_.access_log.lines_dropped();
  s.log_lines.access_lost = sources_.access_log.lines_lost();
  s.log_lines.error_lost = sources_.error_log_lines_lost ? sources_.error_log_lines_lost() : 0;
  s.log_lines.stderr_lost = diagnostic_lines_lost();
  return s;
}

std::string MetricsRegistry::scrape() const { return render_exposition(snapshot()); }

}  // namespace httpapi::daemon::metrics
