#include "daemon/metrics/exposition.hpp"

#include <initializer_list>

#include <fmt/format.h>

namespace httpapi::daemon::metrics {
namespace {

struct Label {
  std::string_view name;
  std::string_view value;
};

// Appends families and samples; the caller keeps each family's samples together, as the
// format requires.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }

  template <typename Value>
  void sample(std::string_view name, std::initializer_list<Label> labels, Value value) {
    out_ += name;
    if (labels.size() > 0) {
      char separator = '{';
      for (const Label& label : labels) {
        out_ += separator;
        out_ += label.name;
        out_ += "=\"";
        out_ += escape_label_value(label.value);
        out_ += '"';
        separator = ',';
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }

 private:
  std::string& out_;
};

double seconds(std::uint64_t microseconds) { return static_cast<double>(microseconds) / 1e6; }

bool has_requests(const QueueTraffic& traffic) {
  for (const auto& by_protocol : traffic.requests) {
    for (const std::uint64_t n : by_protocol) {
      if (n > 0) return true;
    }
  }
  return false;
}

// One sample per label value of a fixed set, zeros included, so that rate() and alerts
// work from the first event on.
template <std::size_t N>
void each_label(Writer& w, std::string_view name, std::string_view label,
                const std::array<std::string_view, N>& values,
                const std::array<std::uint64_t, N>& counts) {
  for (std::size_t i = 0; i < N; ++i) w.sample(name, {{label, values[i]}}, counts[i]);
}

void write_requests(Writer& w, const MetricsSnapshot& s) {
  w.family("httpapi_requests_total", "counter",
           "Requests completed, by request queue (\"\": answered by the service before any "
           "queue), status class (none: no response was sent) and protocol.");
  for (const QueueTraffic& t : s.traffic) {
    for (std::size_t c = 0; c < kStatusClasses; ++c) {
      for (std::size_t p = 0; p < kProtocols; ++p) {
        if (t.requests[c][p] == 0) continue;
        w.sample("httpapi_requests_total",
                 {{"queue", t.queue},
                  {"code", kStatusClassNames[c]},
                  {"protocol", kProtocolNames[p]}},
                 t.requests[c][p]);
      }
    }
  }
  w.family("httpapi_request_duration_seconds", "histogram",
           "Time from a request's head to the first byte of its response, by request queue.");
  for (const QueueTraffic& t : s.traffic) {
    if (!has_requests(t)) continue;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      cumulative += t.latency.buckets[b];
      const std::string_view le = b < kBucketLabels.size() ? kBucketLabels[b] : "+Inf";
      w.sample("httpapi_request_duration_seconds_bucket", {{"queue", t.queue}, {"le", le}},
               cumulative);
    }
    w.sample("httpapi_request_duration_seconds_sum", {{"queue", t.queue}},
             seconds(t.latency.sum_us));
    w.sample("httpapi_request_duration_seconds_count", {{"queue", t.queue}}, cumulative);
  }
  w.family("httpapi_request_bytes_total", "counter",
           "Request bytes read (heads and bodies, as the protocol carried them), by request "
           "queue.");
  for (const QueueTraffic& t : s.traffic) {
    if (has_requests(t)) {
      w.sample("httpapi_request_bytes_total", {{"queue", t.queue}}, t.bytes_in);
    }
  }
  w.family("httpapi_response_bytes_total", "counter",
           "Response bytes written (heads, framing and bodies), by request queue.");
  for (const QueueTraffic& t : s.traffic) {
    if (has_requests(t)) {
      w.sample("httpapi_response_bytes_total", {{"queue", t.queue}}, t.bytes_out);
    }
  }
}

void write_queues(Writer& w, const MetricsSnapshot& s) {
  w.family("httpapi_queue_length", "gauge",
           "Requests waiting in a request queue for a process to receive them (sampled each "
           "second).");
  for (const QueueGauge& q : s.queues) {
    w.sample("httpapi_queue_length", {{"queue", q.queue}}, q.length);
  }
  w.family("httpapi_queue_workers", "gauge",
           "Processes receiving from a request queue (sampled each second).");
  for (const QueueGauge& q : s.queues) {
    w.sample("httpapi_queue_workers", {{"queue", q.queue}}, q.workers);
  }
  w.family("httpapi_service_unavailable_total", "counter",
           "503 answers the service gave itself (or connection resets in their place, for a "
           "queue with 503 verbosity basic), by the error log's reason.");
  each_label(w, "httpapi_service_unavailable_total", "reason", kUnavailableReasons, s.unavailable);
  w.family("httpapi_timer_expiries_total", "counter",
           "Timers that expired, by the error log's reason.");
  each_label(w, "httpapi_timer_expiries_total", "reason", kTimerReasons, s.timer_expiries);
}

void write_connections(Writer& w, const MetricsSnapshot& s) {
  w.family("httpapi_connections", "gauge", "Client connections by state (sampled each second).");
  each_label(w, "httpapi_connections", "state", kConnectionStateNames, s.connections);
  w.family("httpapi_connections_accepted_total", "counter", "Client connections accepted.");
  w.sample("httpapi_connections_accepted_total", {}, s.connections_accepted);
  w.family("httpapi_connections_refused_total", "counter",
           "Client connections reset as soon as accepted, by the error log's reason.");
  each_label(w, "httpapi_connections_refused_total", "reason", kRefusalReasons,
             s.connections_refused);
}

void write_cache(Writer& w, const MetricsSnapshot& s) {
  w.family("httpapi_cache_hits_total", "counter", "Requests answered from the response cache.");
  w.sample("httpapi_cache_hits_total", {}, s.cache_hits);
  w.family("httpapi_cache_misses_total", "counter",
           "Requests the response cache could have answered but held no entry for.");
  w.sample("httpapi_cache_misses_total", {}, s.cache_misses);
  w.family("httpapi_cache_hit_bytes_total", "counter",
           "Response bytes written from the response cache.");
  w.sample("httpapi_cache_hit_bytes_total", {}, s.cache_hit_bytes);
  w.family("httpapi_cache_entries", "gauge", "Responses held in the response cache.");
  w.sample("httpapi_cache_entries", {}, s.cache_entries);
  w.family("httpapi_cache_bytes", "gauge", "Bytes held in the response cache.");
  w.sample("httpapi_cache_bytes", {}, s.cache_bytes);
}

void write_process(Writer& w, const MetricsSnapshot& s) {
  w.family("httpapi_app_channels", "gauge",
           "Application connections on the control socket, by role (sampled each second).");
  each_label(w, "httpapi_app_channels", "role", kChannelRoles, s.app_channels);
  w.family("httpapi_open_fds", "gauge", "File descriptors the service has open.");
  w.sample("httpapi_open_fds", {}, s.open_fds);
  w.family("httpapi_max_fds", "gauge", "The service's limit of open file descriptors.");
  w.sample("httpapi_max_fds", {}, s.max_fds);
  w.family("httpapi_log_lines_dropped_total", "counter",
           "Access log lines dropped because the writer's buffer was full.");
  w.sample("httpapi_log_lines_dropped_total", {{"log", "access"}}, s.log_lines.access_dropped);
  w.family("httpapi_log_lines_lost_total", "counter",
           "Log lines that could not be written (closed stderr, full disk, directory gone), "
           "by log.");
  w.sample("httpapi_log_lines_lost_total", {{"log", "access"}}, s.log_lines.access_lost);
  w.sample("httpapi_log_lines_lost_total", {{"log", "error"}}, s.log_lines.error_lost);
  w.sample("httpapi_log_lines_lost_total", {{"log", "stderr"}}, s.log_lines.stderr_lost);
  w.family("httpapi_log_lines_written_total", "counter", "Log lines written, by log.");
  w.sample("httpapi_log_lines_written_total", {{"log", "access"}}, s.log_lines.access_written);
  w.family("httpapi_start_time_seconds", "gauge",
           "When the service started, in seconds since the epoch.");
  w.sample("httpapi_start_time_seconds", {}, s.start_time_seconds);
  w.family("httpapi_build_info", "gauge", "Always 1; the label says the service's version.");
  w.sample("httpapi_build_info", {{"version", s.version}}, 1);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_exposition(const MetricsSnapshot& snapshot) {
  std::string out;
  out.reserve(8192 + 2048 * snapshot.traffic.size());
  Writer w(out);
  write_requests(w, snapshot);
  write_queues(w, snapshot);
  write_connections(w, snapshot);
  write_cache(w, snapshot);
  write_process(w, snapshot);
  return out;
}

}  // namespace httpapi::daemon::metrics
