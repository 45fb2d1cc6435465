// The fragment cache (HTTP.sys's HttpAddFragmentToCache, docs/cache.md): named byte strings
// an application stores once and then sends as HTTPAPI_CHUNK_FRAGMENT chunks, or reads back.
//
// Used only on the service loop (adds, lookups when a send names a fragment, flushes,
// scavenging); a send holds its fragments by shared_ptr, so a flush while the bytes are
// being written frees nothing in use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "daemon/policy/settings.hpp"

namespace httpapi::daemon {

struct Fragment {
  std::string key;  // canonical name: host:port/path, "s:" first for https
  std::string host;
  std::uint16_t port = 0;
  std::string path;
  std::uint64_t queue = 0;  // only the queue that added it may use, read or replace it
  std::string bytes;
  unsigned expires_at = 0;  // monotonic seconds; 0 = until flushed or scavenged
  unsigned last_used = 0;
};

enum class FragmentAdd : std::uint8_t { added, too_large, full, taken };

class FragmentCache {
 public:
  // Stores `fragment`, replacing one of the same key and queue.
  FragmentAdd add(std::shared_ptr<Fragment> fragment);
  // The live fragment `key` of `queue`, or null; marks it used.
  std::shared_ptr<const Fragment> find(std::string_view key, std::uint64_t queue, unsigned now);
  std::size_t flush(std::string_view host, std::uint16_t port, std::string_view path,
                    bool recursive);
  void clear();
  void remove_queue(std::uint64_t queue);  // the queue is gone: so are its fragments
  void scavenge(unsigned now);
  void set_limits(const CacheLimits& limits);
  // {"entries": [...], "bytes": N} for `httpcfg show cachestate`.
  void describe(nlohmann::json& out, unsigned now) const;

 private:
  std::unordered_map<std::string, std::shared_ptr<Fragment>> fragments_;
  std::size_t total_bytes_ = 0;
  CacheLimits limits_;
};

}  // namespace httpapi::daemon
