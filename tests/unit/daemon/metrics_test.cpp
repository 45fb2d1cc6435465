// The metrics (docs/metrics.md): the latency buckets, the per-thread counters read while
// their thread writes them, and the exposition text a scrape gets.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "daemon/metrics/exposition.hpp"
#include "daemon/metrics/metric_labels.hpp"
#include "daemon/metrics/metrics_registry.hpp"
#include "daemon/metrics/worker_metrics.hpp"

namespace m = httpapi::daemon::metrics;
using httpapi::daemon::CacheUse;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every sample line: its name and labels, to its value.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const std::string& line : lines_of(text)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

m::QueueTraffic traffic(std::string queue) {
  m::QueueTraffic t;
  t.queue = std::move(queue);
  return t;
}

}  // namespace

TEST(LatencyBuckets, BoundsAreInclusiveAsPrometheusLe) {
  EXPECT_EQ(m::bucket_of(0), 0u);
  EXPECT_EQ(m::bucket_of(100), 0u);  // le="0.0001" holds exactly 100 µs
  EXPECT_EQ(m::bucket_of(101), 1u);
  EXPECT_EQ(m::bucket_of(1000), 3u);
  EXPECT_EQ(m::bucket_of(10'000'000), 15u);
  EXPECT_EQ(m::bucket_of(10'000'001), 16u);  // +Inf
  EXPECT_EQ(m::bucket_of(UINT64_MAX), m::kBuckets - 1);
  // The label text says the same bound as the microseconds.
  for (std::size_t i = 0; i < m::kBucketLabels.size(); ++i) {
    EXPECT_DOUBLE_EQ(std::stod(std::string(m::kBucketLabels[i])) * 1e6,
                     static_cast<double>(m::kBucketBoundsUs[i]))
        << m::kBucketLabels[i];
  }
}

TEST(LatencyHistogram, ObservationsLandInTheirBucketsAndSum) {
  m::LatencyHistogram h;
  h.observe(50);
  h.observe(300);
  h.observe(300);
  h.observe(20'000'000);
  m::HistogramValues v;
  h.read(v);
  EXPECT_EQ(v.buckets[0], 1u);
  EXPECT_EQ(v.buckets[2], 2u);  // 300 µs: le="0.0005"
  EXPECT_EQ(v.buckets[m::kBuckets - 1], 1u);
  EXPECT_EQ(v.count(), 4u);
  EXPECT_EQ(v.sum_us, 20'000'650u);
}

TEST(MetricLabels, MapTheServicesWords) {
  EXPECT_EQ(m::protocol_of(1, 0), m::Protocol::http10);
  EXPECT_EQ(m::protocol_of(1, 1), m::Protocol::http11);
  EXPECT_EQ(m::protocol_of(2, 0), m::Protocol::http2);
  EXPECT_EQ(m::status_class(0), 0u);
  EXPECT_EQ(m::status_class(101), 1u);
  EXPECT_EQ(m::status_class(204), 2u);
  EXPECT_EQ(m::status_class(503), 5u);
  EXPECT_EQ(m::status_class(999), 0u);
  EXPECT_EQ(m::kUnavailableReasons[m::unavailable_reason("QueueFull")], "QueueFull");
  EXPECT_EQ(m::kUnavailableReasons[m::unavailable_reason("SomethingNew")], "other");
  EXPECT_EQ(m::timer_reason("Timer_EntityBody"), 2u);
  EXPECT_EQ(m::timer_reason("NotFound"), std::nullopt);
  EXPECT_EQ(m::connection_state_of("idle"), m::ConnectionState::idle);
  EXPECT_EQ(m::connection_state_of("http/2 idle"), m::ConnectionState::idle);
  EXPECT_EQ(m::connection_state_of("reading request"), m::ConnectionState::reading);
  EXPECT_EQ(m::connection_state_of("tls handshake"), m::ConnectionState::handshake);
  EXPECT_EQ(m::connection_state_of("proxy header"), m::ConnectionState::handshake);
  EXPECT_EQ(m::connection_state_of("with application"), m::ConnectionState::active);
  EXPECT_EQ(m::connection_state_of("http/2 streams"), m::ConnectionState::active);
  EXPECT_EQ(m::connection_state_of("closing"), m::ConnectionState::closing);
}

TEST(WorkerMetrics, CountsRequestsPerQueueLabel) {
  m::WorkerMetrics w;
  m::QueueSlot* pool = w.queue("pool");
  EXPECT_EQ(w.queue("pool"), pool);
  EXPECT_EQ(w.queue("")->label, m::kUnnamedQueue);
  m::RequestDone done;
  done.queue = pool;
  done.status = 200;
  done.first_byte_us = 700;
  done.bytes_in = 80;
  done.bytes_out = 500;
  done.cache = CacheUse::hit;
  w.request_done(done);
  done.status = 0;  // the client left before any answer: no latency
  done.cache = CacheUse::miss;
  w.request_done(done);
  done.queue = nullptr;  // a 404 from the service
  done.status = 404;
  done.protocol = m::Protocol::http2;
  done.cache = CacheUse::none;
  w.request_done(done);

  m::MetricsSnapshot s;
  w.read(s);
  std::map<std::string, m::QueueTraffic> by_label;
  for (const auto& t : s.traffic) by_label[t.queue] = t;
  const m::QueueTraffic& p = by_label.at("pool");
  EXPECT_EQ(p.requests[2][1], 1u);
  EXPECT_EQ(p.requests[0][1], 1u);
  EXPECT_EQ(p.latency.count(), 1u);
  EXPECT_EQ(p.latency.sum_us, 700u);
  EXPECT_EQ(p.bytes_in, 160u);
  EXPECT_EQ(p.bytes_out, 1000u);
  EXPECT_EQ(by_label.at("").requests[4][2], 1u);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hit_bytes, 500u);
}

// The thread remembers the last label it was asked for: asking for others in turn still
// gives each its own slot.
TEST(WorkerMetrics, AlternatingLabelsKeepTheirSlots) {
  m::WorkerMetrics w;
  m::QueueSlot* a = w.queue("a");
  m::QueueSlot* b = w.queue("b");
  ASSERT_NE(a, b);
  EXPECT_EQ(w.queue("a"), a);
  EXPECT_EQ(w.queue("b"), b);
  EXPECT_EQ(w.queue("ab")->label, "ab");
  EXPECT_EQ(w.queue("a"), a);
  EXPECT_EQ(w.queue("")->label, m::kUnnamedQueue);
  EXPECT_EQ(w.queue(m::kUnnamedQueue), w.queue(""));
}

TEST(WorkerMetrics, QueueLabelsAreBounded) {
  m::WorkerMetrics w;
  for (std::size_t i = 0; i < m::WorkerMetrics::kMaxQueueLabels; ++i) {
    EXPECT_NE(w.queue(fmt::format("q{}", i))->label, m::kOtherQueues);
  }
  EXPECT_EQ(w.queue("one-too-many")->label, m::kOtherQueues);
  EXPECT_EQ(w.queue("q0")->label, "q0");  // those seen before keep their own
}

TEST(WorkerMetrics, ReasonsTimersAndConnections) {
  m::WorkerMetrics w;
  w.unavailable("QueueFull");
  w.unavailable("QueueFull");
  w.unavailable("Brand_New");
  w.log_reason("Timer_HeaderWait");
  w.log_reason("NotFound");  // not a timer
  w.accepted();
  w.refused("Connections_Refused");
  w.refused("Something");  // not a refusal reason: ignored
  w.sample_connections({1, 2, 3, 4, 5});
  m::MetricsSnapshot s;
  w.read(s);
  w.read(s);  // two threads' worth
  EXPECT_EQ(s.unavailable[m::unavailable_reason("QueueFull")], 4u);
  EXPECT_EQ(s.unavailable[m::unavailable_reason("other")], 2u);
  EXPECT_EQ(s.timer_expiries[*m::timer_reason("Timer_HeaderWait")], 2u);
  EXPECT_EQ(s.connections_accepted, 2u);
  EXPECT_EQ(s.connections_refused[0], 2u);
  EXPECT_EQ(s.connections_refused[1], 0u);
  EXPECT_EQ(s.connections[4], 10u);
}

// A scrape reads while the owning thread counts and makes new queue slots: every read is
// complete (no torn slot), never goes backwards, and the last one sees everything.
TEST(WorkerMetrics, ReadWhileTheOwnerWrites) {
  m::WorkerMetrics w;
  constexpr int kRequests = 200000;
  std::atomic<bool> done{false};
  std::thread owner([&] {
    for (int i = 0; i < kRequests; ++i) {
      m::RequestDone r;
      r.queue = w.queue(fmt::format("q{}", i % 300));  // past the limit: "(other)"
      r.status = 200;
      r.first_byte_us = 10;
      w.request_done(r);
    }
    done = true;
  });
  auto total = [&] {
    m::MetricsSnapshot s;
    w.read(s);
    std::uint64_t n = 0;
    for (const auto& t : s.traffic) {
      EXPECT_FALSE(t.queue.empty() && t.requests[2][1] != 0);
      n += t.requests[2][1];
    }
    return n;
  };
  std::uint64_t last = 0;
  while (!done) {
    const std::uint64_t now = total();
    EXPECT_GE(now, last);
    last = now;
  }
  owner.join();
  EXPECT_EQ(total(), static_cast<std::uint64_t>(kRequests));
}

TEST(QueueGauges, UnnamedQueuesShareTheirLabel) {
  m::ControlGauges g;
  m::add_queue_gauge(g, "b", 3, 1);
  m::add_queue_gauge(g, "", 1, 1);
  m::add_queue_gauge(g, "a", 0, 2);
  m::add_queue_gauge(g, "", 2, 0);
  ASSERT_EQ(g.queues.size(), 3u);
  EXPECT_EQ(g.queues[0].queue, "(unnamed)");
  EXPECT_EQ(g.queues[0].length, 3u);
  EXPECT_EQ(g.queues[1].queue, "a");
  EXPECT_EQ(g.queues[2].queue, "b");
}

TEST(Exposition, EscapesLabelValues) {
  EXPECT_EQ(m::escape_label_value("plain"), "plain");
  EXPECT_EQ(m::escape_label_value("a\"b"), "a\\\"b");
  EXPECT_EQ(m::escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(m::escape_label_value("a\nb"), "a\\nb");
}

TEST(Exposition, RendersEveryFamilyWithHelpAndType) {
  m::MetricsSnapshot s;
  s.version = "1.2.3";
  s.start_time_seconds = 1700000000;
  m::QueueTraffic t = traffic("pool");
  t.requests[2][1] = 5;
  t.requests[5][2] = 1;
  t.latency.buckets[0] = 4;
  t.latency.buckets[3] = 1;
  t.latency.buckets[m::kBuckets - 1] = 1;
  t.latency.sum_us = 12'500'250;
  t.bytes_in = 600;
  t.bytes_out = 7000;
  m::add_traffic(s.traffic, t);
  m::add_traffic(s.traffic, traffic("idle-queue"));  // no requests: no series
  s.queues.push_back({"pool", 7, 2});
  s.unavailable[m::unavailable_reason("QueueFull")] = 3;
  s.connections[static_cast<std::size_t>(m::ConnectionState::idle)] = 9;
  s.cache_hits = 11;
  s.cache_misses = 12;
  s.log_lines.access_dropped = 13;
  const std::string text = m::render_exposition(s);
  const auto v = samples(text);

  EXPECT_EQ(v.at(R"(httpapi_requests_total{queue="pool",code="2xx",protocol="HTTP/1.1"})"), "5");
  EXPECT_EQ(v.at(R"(httpapi_requests_total{queue="pool",code="5xx",protocol="HTTP/2"})"), "1");
  EXPECT_EQ(v.count(R"(httpapi_requests_total{queue="pool",code="4xx",protocol="HTTP/1.1"})"), 0u);
  // Cumulative buckets; +Inf and _count are every observation.
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_bucket{queue="pool",le="0.0001"})"), "4");
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_bucket{queue="pool",le="0.00025"})"), "4");
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_bucket{queue="pool",le="0.001"})"), "5");
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_bucket{queue="pool",le="10"})"), "5");
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_bucket{queue="pool",le="+Inf"})"), "6");
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_count{queue="pool"})"), "6");
  EXPECT_EQ(v.at(R"(httpapi_request_duration_seconds_sum{queue="pool"})"), "12.50025");
  EXPECT_EQ(v.at(R"(httpapi_request_bytes_total{queue="pool"})"), "600");
  EXPECT_EQ(v.at(R"(httpapi_response_bytes_total{queue="pool"})"), "7000");
  EXPECT_EQ(text.find("idle-queue"), std::string::npos);
  EXPECT_EQ(v.at(R"(httpapi_queue_length{queue="pool"})"), "7");
  EXPECT_EQ(v.at(R"(httpapi_queue_workers{queue="pool"})"), "2");
  EXPECT_EQ(v.at(R"(httpapi_service_unavailable_total{reason="QueueFull"})"), "3");
  EXPECT_EQ(v.at(R"(httpapi_service_unavailable_total{reason="Disabled"})"), "0");
  EXPECT_EQ(v.at(R"(httpapi_timer_expiries_total{reason="Timer_HeaderWait"})"), "0");
  EXPECT_EQ(v.at(R"(httpapi_connections{state="idle"})"), "9");
  EXPECT_EQ(v.at("httpapi_cache_hits_total"), "11");
  EXPECT_EQ(v.at("httpapi_cache_misses_total"), "12");
  EXPECT_EQ(v.at(R"(httpapi_log_lines_dropped_total{log="access"})"), "13");
  EXPECT_EQ(v.at("httpapi_start_time_seconds"), "1700000000");
  EXPECT_EQ(v.at(R"(httpapi_build_info{version="1.2.3"})"), "1");

  // Each family: HELP then TYPE, once, before its samples, which all follow together.
  const std::regex help(R"(^# HELP (httpapi_[a-z_]+) \S.*$)");
  const std::regex type(R"(^# TYPE (httpapi_[a-z_]+) (counter|gauge|histogram)$)");
  const std::regex sample(
      R"(^(httpapi_[a-z_]+)(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?[0-9.e+-]+$)");
  std::set<std::string> families;
  std::string current, current_type;
  std::smatch match;
  const auto lines = lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (std::regex_match(line, match, help)) {
      current = match[1];
      EXPECT_TRUE(families.insert(current).second) << "family twice: " << current;
      ASSERT_LT(i + 1, lines.size());
      std::smatch typed;
      ASSERT_TRUE(std::regex_match(lines[i + 1], typed, type)) << lines[i + 1];
      EXPECT_EQ(typed[1], current);
      current_type = typed[2];
      ++i;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
    const std::string name = match[1];
    if (current_type == "histogram") {
      EXPECT_TRUE(name == current + "_bucket" || name == current + "_sum" ||
                  name == current + "_count")
          << line;
    } else {
      EXPECT_EQ(name, current) << line;
    }
  }
  for (const char* wanted : {"httpapi_requests_total", "httpapi_request_duration_seconds",
                             "httpapi_connections", "httpapi_queue_length",
                             "httpapi_cache_hits_total", "httpapi_cache_misses_total",
                             "httpapi_log_lines_dropped_total", "httpapi_timer_expiries_total",
                             "httpapi_app_channels", "httpapi_open_fds",
                             "httpapi_service_unavailable_total"}) {
    EXPECT_TRUE(families.count(wanted)) << wanted;
  }
}

TEST(Exposition, LabelValuesAreEscapedInSamples) {
  m::MetricsSnapshot s;
  s.version = "x\"y\\z\nw";
  const auto v = samples(m::render_exposition(s));
  EXPECT_EQ(v.at(R"(httpapi_build_info{version="x\"y\\z\nw"})"), "1");
}
