#include "daemon/logging/access_log.hpp"

#include <ctime>
#include <utility>

namespace httpapi::daemon {
namespace {

// The writer wakes every 100 ms, and sooner once this many lines wait: at 100,000
// requests a second it writes every 5 ms or so, in batches of a few hundred lines.
constexpr std::size_t kWakeAt = 512;
constexpr auto kPeriod = std::chrono::milliseconds(100);

}  // namespace

AccessLog::AccessLog(std::string directory, std::size_t capacity)
    : directory_(std::move(directory)), capacity_(capacity) {
  thread_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

bool AccessLog::push(std::uint64_t group_id, AccessFormat server_format,
                     const AccessRecord& record) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (count_ >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (count_ == entries_.size()) entries_.emplace_back();
    Entry& entry = entries_[count_++];
    entry.group = group_id;
    entry.server_format = server_format;
    entry.record = record;  // the slot's strings keep their capacity: no allocation
    ++pushed_;
    wake = count_ == kWakeAt;
  }
  if (wake) wake_.notify_one();
  return true;
}

void AccessLog::configure(std::uint64_t group_id, std::optional<AccessLogConfig> config) {
  {
    std::lock_guard lock(mutex_);
    if (config) {
      configured_.insert(group_id);
    } else {
      configured_.erase(group_id);
    }
    groups_logging_.store(static_cast<int>(configured_.size()), std::memory_order_relaxed);
    configs_.emplace_back(group_id, std::move(config));
  }
  wake_.notify_one();
}

void AccessLog::configure_server(Rollover rollover, std::uint64_t max_bytes, bool local_time) {
  {
    std::lock_guard lock(mutex_);
    AccessLogConfig config;
    config.style.local_time = local_time;
    config.file.rollover = rollover;
    config.file.max_bytes = max_bytes;
    config.file.local_time = local_time;
    server_config_ = std::move(config);
  }
  wake_.notify_one();
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = pushed_;
  flush_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return handled_ >= target || stop_; });
}

// ---- the writer thread ------------------------------------------------------------------

void AccessLog::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, kPeriod, [&] {
      return stop_ || flush_ || reopen_ || count_ >= kWakeAt || !configs_.empty() ||
             server_config_;
    });
    std::swap(entries_, batch_);
    const std::size_t count = std::exchange(count_, 0);
    auto configs = std::move(configs_);
    configs_.clear();
    auto server_config = std::exchange(server_config_, std::nullopt);
    const bool reopen = std::exchange(reopen_, false);
    flush_ = false;
    const bool stop = stop_;
    lock.unlock();

    for (auto& [group, config] : configs) {
      if (auto it = groups_.find(group); it != groups_.end()) {
        write_pending(it->second);
        groups_.erase(it);
      }
      if (config) groups_.emplace(group, make_sink(config->style, config->file));
    }
    if (server_config) {
      // The next line opens the file again, rolling as now asked.
      if (server_) write_pending(*server_);
      server_.reset();
      server_wide_ = std::move(*server_config);
    }
    if (reopen) {
      for (auto& [group, sink] : groups_) sink.file->reopen();
      if (server_) server_->file->reopen();
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (Sink* sink = sink_for(batch_[i])) add(*sink, batch_[i].record);
    }
    for (auto& [group, sink] : groups_) write_pending(sink);
    if (server_) write_pending(*server_);

    lock.lock();
    handled_ += count;
    flushed_.notify_all();
    if (stop && count_ == 0) return;
  }
}

AccessLog::Sink AccessLog::make_sink(const AccessStyle& style, const AccessFilePolicy& policy) {
  Sink sink;
  sink.style = style;
  sink.file = std::make_unique<AccessFile>(directory_, policy, style);
  return sink;
}

// A group's line goes to its own log; a group that stopped logging meanwhile, and every
// request no group logs, go to the server-wide log if it is on.
AccessLog::Sink* AccessLog::sink_for(const Entry& entry) {
  if (entry.group != 0) {
    if (auto it = groups_.find(entry.group); it != groups_.end()) return &it->second;
  }
  if (entry.server_format == AccessFormat::none) return nullptr;
  if (!server_ || server_->style.format != entry.server_format) {
    if (server_) write_pending(*server_);
    AccessStyle style = server_wide_.style;
    style.format = entry.server_format;
    style.site_name = std::string(kServerLogName);
    AccessFilePolicy policy = server_wide_.file;
    policy.name = std::string(kServerLogName);
    server_ = std::make_unique<Sink>(make_sink(style, policy));
  }
  return server_.get();
}

void AccessLog::add(Sink& sink, const AccessRecord& record) {
  line_.clear();
  CivilClock& style_clock = sink.style.local_time ? local_ : utc_;
  append_access_line(line_, sink.style, record, utc_, style_clock);
  if (sink.file->must_roll(record.time_ms, sink.pending.size(), line_.size())) {
    write_pending(sink);
    sink.file->roll(record.time_ms);
  }
  sink.pending += line_;
  ++sink.pending_lines;
}

void AccessLog::write_pending(Sink& sink) {
  if (sink.pending_lines == 0) return;
  const std::uint64_t lost = sink.file->write(sink.pending, sink.pending_lines);
  written_.fetch_add(sink.pending_lines - lost, std::memory_order_relaxed);
  if (lost > 0) lost_.fetch_add(lost, std::memory_order_relaxed);
  sink.pending.clear();
  sink.pending_lines = 0;
}

}  // namespace httpapi::daemon
