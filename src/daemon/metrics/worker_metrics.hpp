// One I/O thread's counters (docs/metrics.md): what its connections and requests did. The
// thread that owns it is the only writer, through OwnedCounter (a relaxed load and store:
// no lock, no locked instruction, no line of memory written by another thread); a scrape on
// any thread reads them all and sums the threads (MetricsRegistry).
//
// Counters per queue label live in slots made the first time a label is seen on the thread
// (an allocation per queue and thread, never per request), at most kMaxQueueLabels of
// them: later labels share the "(other)" slot, so a process that makes queue after queue
// cannot grow the service's memory or the scrape without bound. A slot, once published to
// readers, is never freed nor moved until the thread's IoWorker goes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/logging/access_record.hpp"
#include "daemon/metrics/latency_histogram.hpp"
#include "daemon/metrics/metric_labels.hpp"
#include "daemon/metrics/metrics_snapshot.hpp"
#include "daemon/metrics/owned_counter.hpp"

namespace httpapi::daemon::metrics {

// The counters of one queue label on one thread.
struct alignas(64) QueueSlot {
  explicit QueueSlot(std::string_view label_text) : label(label_text) {}
  const std::string label;
  std::array<std::array<OwnedCounter, kProtocols>, kStatusClasses> requests;
  LatencyHistogram latency;
  OwnedCounter bytes_in;
  OwnedCounter bytes_out;
};

// How one request ended, as its exchange tells it.
struct RequestDone {
  QueueSlot* queue = nullptr;  // null: answered before any queue (the "" label)
  int status = 0;              // 0: no response was sent
  Protocol protocol = Protocol::http11;
  // Head to first response byte; only when a response was sent.
  std::uint64_t first_byte_us = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  CacheUse cache = CacheUse::none;
};

class alignas(64) WorkerMetrics {
 public:
  static constexpr std::size_t kMaxQueueLabels = 256;

  WorkerMetrics();
  ~WorkerMetrics();
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  // --- the owning I/O thread
  // The slot of a queue named `name` ("" for a queue without a name).
  QueueSlot* queue(std::string_view name);
  void request_done(const RequestDone& done) noexcept;
  // The service answered 503 for `log_reason` (or reset in its place).
  void unavailable(std::string_view log_reason) noexcept;
  // An error-log reason: counted when it is a timer's expiry.
  void log_reason(std::string_view log_reason) noexcept;
  void accepted() noexcept { accepted_.add(); }
  // A connection reset at accept (server-wide limit, TLS handshakes per source).
  void refused(std::string_view log_reason) noexcept;
  // The thread's connections by state, counted by its once-a-second tick.
  void sample_connections(const std::array<std::uint64_t, kConnectionStates>& counts) noexcept;

  // --- any thread: adds this thread's values to `out`
  void read(MetricsSnapshot& out) const;

 private:
  QueueSlot* publish(std::string_view label);

  // Readers walk slots_[0, published_): each pointer is stored before the count that
  // covers it (release), and read after it (acquire).
  std::array<std::atomic<QueueSlot*>, kMaxQueueLabels + 2> slots_{};
  std::atomic<std::size_t> published_{0};
  // The owner's: lookup by label, and the slots themselves.
  struct LabelHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, QueueSlot*, LabelHash, std::equal_to<>> by_label_;
  // The slot found last: consecutive requests mostly go to one queue, and comparing its
  // label is cheaper than hashing the name again.
  QueueSlot* last_slot_ = nullptr;
  std::vector<std::unique_ptr<QueueSlot>> owned_;
  QueueSlot* no_queue_ = nullptr;
  QueueSlot* other_ = nullptr;

  std::array<OwnedCounter, kUnavailableReasons.size()> unavailable_;
  std::array<OwnedCounter, kTimerReasons.size()> timers_;
  std::array<OwnedCounter, kConnectionStates> connections_;
  std::array<OwnedCounter, kRefusalReasons.size()> refused_;
  OwnedCounter accepted_;
  OwnedCounter cache_hits_;
  OwnedCounter cache_misses_;
  OwnedCounter cache_hit_bytes_;
};

}  // namespace httpapi::daemon::metrics
