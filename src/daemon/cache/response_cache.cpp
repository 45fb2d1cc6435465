// The response cache (see response_cache.hpp and docs/cache.md).
#include "daemon/cache/response_cache.hpp"

#include <mutex>

#include <nlohmann/json.hpp>

#include "http1/syntax.hpp"

namespace httpapi::daemon {
namespace {

bool expired(const CachedResponse& entry, unsigned now) {
  return entry.expires_at != 0 && now >= entry.expires_at;
}

}  // namespace

bool path_under(std::string_view path, std::string_view prefix, bool recursive) {
  using http1::syntax::iequals;
  if (iequals(path, prefix)) return true;
  if (!recursive || path.size() <= prefix.size() ||
      !iequals(path.substr(0, prefix.size()), prefix)) {
    return false;
  }
  return prefix.ends_with('/') || path[prefix.size()] == '/';
}

std::shared_ptr<const CachedResponse> ResponseCache::find(std::string_view url,
                                                          unsigned now) const {
  if (empty_.load(std::memory_order_relaxed)) return nullptr;
  std::shared_lock lock(mutex_);
  const auto it = entries_.find(url);
  if (it == entries_.end() || expired(*it->second, now)) return nullptr;
  it->second->last_used.store(now, std::memory_order_relaxed);
  it->second->hits.fetch_add(1, std::memory_order_relaxed);
  return it->second;
}

bool ResponseCache::insert(std::shared_ptr<CachedResponse> entry, std::uint64_t generation) {
  std::unique_lock lock(mutex_);
  if (!limits_.enabled || generation != generation_.load(std::memory_order_relaxed) ||
      entry->size() > limits_.max_response_bytes) {
    return false;
  }
  auto [it, added] = entries_.try_emplace(entry->url);
  if (!added) total_bytes_ -= it->second->size();
  if (total_bytes_ + entry->size() > limits_.max_total_bytes) {  // full: HTTP.sys adds nothing
    entries_.erase(it);
    empty_.store(entries_.empty(), std::memory_order_relaxed);
    return false;
  }
  total_bytes_ += entry->size();
  it->second = std::move(entry);
  empty_.store(false, std::memory_order_relaxed);
  return true;
}

std::size_t ResponseCache::flush(std::string_view host, std::uint16_t port,
                                 std::string_view path, bool recursive) {
  const bool any_host = host == "+" || host == "*";
  std::unique_lock lock(mutex_);
  // A response in flight (its request routed before this flush) may carry what the flush is
  // meant to remove, and be stored by its I/O thread only after: it must not be stored.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  const std::size_t before = entries_.size();
  std::erase_if(entries_, [&](const auto& item) {
    const CachedResponse& e = *item.second;
    const bool gone = e.port == port && (any_host || e.host == host || e.local_ip == host) &&
                      path_under(e.path, path, recursive);
    if (gone) total_bytes_ -= e.size();
    return gone;
  });
  empty_.store(entries_.empty(), std::memory_order_relaxed);
  return before - entries_.size();
}

void ResponseCache::clear() {
  std::unique_lock lock(mutex_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  entries_.clear();
  total_bytes_ = 0;
  empty_.store(true, std::memory_order_relaxed);
}

void ResponseCache::scavenge(unsigned now) {
  std::unique_lock lock(mutex_);
  std::erase_if(entries_, [&](const auto& item) {
    const CachedResponse& e = *item.second;
    const bool gone = expired(e, now) ||
                      now - e.last_used.load(std::memory_order_relaxed) >=
                          limits_.scavenger_seconds;
    if (gone) total_bytes_ -= e.size();
    return gone;
  });
  empty_.store(entries_.empty(), std::memory_order_relaxed);
}

void ResponseCache::set_limits(const CacheLimits& limits) {
  std::unique_lock lock(mutex_);
  limits_ = limits;
  enabled_.store(limits.enabled, std::memory_order_relaxed);
  if (!limits.enabled) {
    entries_.clear();
    total_bytes_ = 0;
    empty_.store(true, std::memory_order_relaxed);
  }
}

std::size_t ResponseCache::max_response_bytes() const {
  std::shared_lock lock(mutex_);
  return limits_.max_response_bytes;
}

ResponseCache::Usage ResponseCache::usage() const {
  std::shared_lock lock(mutex_);
  return {entries_.size(), total_bytes_};
}

void ResponseCache::describe(nlohmann::json& out, unsigned now) const {
  std::shared_lock lock(mutex_);
  nlohmann::json entries = nlohmann::json::array();
  std::uint64_t hits = 0;
  for (const auto& [url, e] : entries_) {
    const std::uint64_t entry_hits = e->hits.load(std::memory_order_relaxed);
    hits += entry_hits;
    nlohmann::json item = {{"url", url},
                           {"status", e->status},
                           {"bytes", e->size()},
                           {"hits", entry_hits},
                           {"idle_seconds", now - e->last_used.load(std::memory_order_relaxed)}};
    if (e->expires_at != 0) {
      item["expires_in_seconds"] = e->expires_at > now ? e->expires_at - now : 0;
    }
    entries.push_back(std::move(item));
  }
  out = {{"enabled", limits_.enabled},
         {"entries", std::move(entries)},
         {"bytes", total_bytes_},
         {"hits", hits},
         {"max_response_bytes", limits_.max_response_bytes},
         {"max_total_bytes", limits_.max_total_bytes},
         {"scavenger_seconds", limits_.scavenger_seconds}};
}

}  // namespace httpapi::daemon
