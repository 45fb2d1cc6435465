#include "daemon/metrics/worker_metrics.hpp"

namespace httpapi::daemon::metrics {
namespace {

template <std::size_t N>
void add_each(std::array<std::uint64_t, N>& out, const std::array<OwnedCounter, N>& counters) {
  for (std::size_t i = 0; i < N; ++i) out[i] += counters[i].value();
}

}  // namespace

// The two slots every thread has: requests with no queue, and labels past the limit.
WorkerMetrics::WorkerMetrics() {
  no_queue_ = publish(kNoQueue);
  other_ = publish(kOtherQueues);
}

WorkerMetrics::~WorkerMetrics() = default;

QueueSlot* WorkerMetrics::queue(std::string_view name) {
  const std::string_view label = name.empty() ? kUnnamedQueue : name;
  if (last_slot_ != nullptr && last_slot_->label == label) return last_slot_;
  if (const auto it = by_label_.find(label); it != by_label_.end()) {
    last_slot_ = it->second;
    return last_slot_;
  }
  if (owned_.size() >= kMaxQueueLabels + 2) return other_;
  last_slot_ = publish(label);
  return last_slot_;
}

QueueSlot* WorkerMetrics::publish(std::string_view label) {
  owned_.push_back(std::make_unique<QueueSlot>(label));
  QueueSlot* slot = owned_.back().get();
  by_label_.emplace(std::string(label), slot);
  const std::size_t index = published_.load(std::memory_order_relaxed);
  slots_[index].store(slot, std::memory_order_release);
  published_.store(index + 1, std::memory_order_release);
  return slot;
}

void WorkerMetrics::request_done(const RequestDone& done) noexcept {
  QueueSlot& slot = done.queue ? *done.queue : *no_queue_;
  slot.requests[status_class(done.status)][static_cast<std::size_t>(done.protocol)].add();
  if (done.status != 0) slot.latency.observe(done.first_byte_us);
  slot.bytes_in.add(done.bytes_in);
  slot.bytes_out.add(done.bytes_out);
  if (done.cache == CacheUse::hit) {
    cache_hits_.add();
    cache_hit_bytes_.add(done.bytes_out);
  } else if (done.cache == CacheUse::miss) {
    cache_misses_.add();
  }
}

void WorkerMetrics::unavailable(std::string_view log_reason) noexcept {
  unavailable_[unavailable_reason(log_reason)].add();
}

void WorkerMetrics::log_reason(std::string_view log_reason) noexcept {
  if (const auto timer = timer_reason(log_reason)) timers_[*timer].add();
}

void WorkerMetrics::refused(std::string_view log_reason) noexcept {
  if (const auto reason = refusal_reason(log_reason)) refused_[*reason].add();
}

void WorkerMetrics::sample_connections(
    const std::array<std::uint64_t, kConnectionStates>& counts) noexcept {
  for (std::size_t i = 0; i < kConnectionStates; ++i) connections_[i].set(counts[i]);
}

void WorkerMetrics::read(MetricsSnapshot& out) const {
  const std::size_t count = published_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < count; ++i) {
    const QueueSlot* slot = slots_[i].load(std::memory_order_acquire);
    QueueTraffic traffic;
    traffic.queue = slot->label;
    for (std::size_t c = 0; c < kStatusClasses; ++c) {
      for (std::size_t p = 0; p < kProtocols; ++p) {
        traffic.requests[c][p] = slot->requests[c][p].value();
      }
    }
    slot->latency.read(traffic.latency);
    traffic.bytes_in = slot->bytes_in.value();
    traffic.bytes_out = slot->bytes_out.value();
    add_traffic(out.traffic, traffic);
  }
  add_each(out.unavailable, unavailable_);
  add_each(out.timer_expiries, timers_);
  add_each(out.connections, connections_);
  add_each(out.connections_refused, refused_);
  out.connections_accepted += accepted_.value();
  out.cache_hits += cache_hits_.value();
  out.cache_misses += cache_misses_.value();
  out.cache_hit_bytes += cache_hit_bytes_.value();
}

}  // namespace httpapi::daemon::metrics
