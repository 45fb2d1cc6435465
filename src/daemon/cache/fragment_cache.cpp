#include "daemon/cache/fragment_cache.hpp"

#include <nlohmann/json.hpp>

#include "daemon/cache/response_cache.hpp"

namespace httpapi::daemon {
namespace {

bool expired(const Fragment& fragment, unsigned now) {
  return fragment.expires_at != 0 && now >= fragment.expires_at;
}

}  // namespace

FragmentAdd FragmentCache::add(std::shared_ptr<Fragment> fragment) {
  if (!limits_.enabled) return FragmentAdd::full;
  if (fragment->bytes.size() > limits_.max_response_bytes) return FragmentAdd::too_large;
  auto [it, added] = fragments_.try_emplace(fragment->key);
  if (!added) {
    if (it->second->queue != fragment->queue) return FragmentAdd::taken;
    total_bytes_ -= it->second->bytes.size();
  }
  if (total_bytes_ + fragment->bytes.size() > limits_.max_total_bytes) {
    fragments_.erase(it);
    return FragmentAdd::full;
  }
  total_bytes_ += fragment->bytes.size();
  it->second = std::move(fragment);
  return FragmentAdd::added;
}

std::shared_ptr<const Fragment> FragmentCache::find(std::string_view key, std::uint64_t queue,
                                                    unsigned now) {
  const auto it = fragments_.find(std::string(key));
  if (it == fragments_.end() || it->second->queue != queue || expired(*it->second, now)) {
    return nullptr;
  }
  it->second->last_used = now;
  return it->second;
}

std::size_t FragmentCache::flush(std::string_view host, std::uint16_t port,
                                 std::string_view path, bool recursive) {
  const bool any_host = host == "+" || host == "*";
  return std::erase_if(fragments_, [&](const auto& item) {
    const Fragment& f = *item.second;
    const bool gone = f.port == port && (any_host || f.host == host) &&
                      path_under(f.path, path, recursive);
    if (gone) total_bytes_ -= f.bytes.size();
    return gone;
  });
}

void FragmentCache::clear() {
  fragments_.clear();
  total_bytes_ = 0;
}

void FragmentCache::remove_queue(std::uint64_t queue) {
  std::erase_if(fragments_, [&](const auto& item) {
    const bool gone = item.second->queue == queue;
    if (gone) total_bytes_ -= item.second->bytes.size();
    return gone;
  });
}

void FragmentCache::scavenge(unsigned now) {
  std::erase_if(fragments_, [&](const auto& item) {
    const Fragment& f = *item.second;
    const bool gone = expired(f, now) || now - f.last_used >= limits_.scavenger_seconds;
    if (gone) total_bytes_ -= f.bytes.size();
    return gone;
  });
}

void FragmentCache::set_limits(const CacheLimits& limits) {
  limits_ = limits;
  if (!limits.enabled) clear();
}

void FragmentCache::describe(nlohmann::json& out, unsigned now) const {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [key, f] : fragments_) {
    nlohmann::json item = {{"name", key},
                           {"bytes", f->bytes.size()},
                           {"queue", f->queue},
                           {"idle_seconds", now - f->last_used}};
    if (f->expires_at != 0) item["expires_in_seconds"] = f->expires_at > now ? f->expires_at - now : 0;
    entries.push_back(std::move(item));
  }
  out = {{"entries", std::move(entries)}, {"bytes", total_bytes_}};
}

}  // namespace httpapi::daemon
