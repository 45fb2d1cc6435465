// The response cache (HTTP.sys's kernel response cache, docs/cache.md): complete responses
// an application marked cacheable, answered again by httpapid for later GETs of the same URL
// without the application.
//
// Shared by every I/O thread (lookups and insertions) and the service loop (flushes,
// scavenging, cachestate): a reader-writer lock over a map of immutable entries. A hit holds
// its entry by shared_ptr, so a flush never frees bytes that are being written.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "daemon/policy/settings.hpp"

namespace httpapi::daemon {

struct CachedResponse {
  std::string url;      // the cooked URL, the key: http://host:port/path
  std::string host;     // for flushes by prefix
  std::string local_ip;  // the address it arrived on: a flush naming an IP literal matches it
  std::uint16_t port = 0;
  std::string path;
  std::uint16_t status = 0;
  // "HTTP/1.1 ..." and the application's headers with Content-Length; Date, Server and
  // Connection are added per hit.
  std::string head;
  std::string body;
  bool has_server = false;  // the application sent its own Server header
  unsigned expires_at = 0;  // monotonic seconds; 0 = until flushed or scavenged
  mutable std::atomic<unsigned> last_used{0};
  mutable std::atomic<std::uint64_t> hits{0};

  std::size_t size() const { return head.size() + body.size(); }
};

// Is `path` the URL `prefix` names or, when `recursive`, under it? Case-insensitive, as
// routing is: prefixes are kept lower-cased, cooked paths as sent. (Flushes of responses
// and of fragments.)
bool path_under(std::string_view path, std::string_view prefix, bool recursive);

class ResponseCache {
 public:
  // Bumped by every clear() and flush(): a response to a request routed before a routing
  // change must not be stored (it may come from an application that no longer owns the
  // URL), nor one routed before a flush (it may be what the flush was meant to remove).
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // The live entry for `url`, or null. Counts the hit.
  std::shared_ptr<const CachedResponse> find(std::string_view url, unsigned now) const;

  // Stores `entry` unless the limits refuse it or `generation` is stale. Replaces an entry
  // for the same URL.
  bool insert(std::shared_ptr<CachedResponse> entry, std::uint64_t generation);

  // Removes entries whose URL is under `host:port/path` (`recursive`) or is exactly it;
  // host "+" or "*" matches every host, and an IP literal also the entries of requests that
  // arrived on that address under another host name (they were routed by it). Returns how
  // many went.
  std::size_t flush(std::string_view host, std::uint16_t port, std::string_view path,
                    bool recursive);
  void clear();

  // Drops expired entries and those unused for the scavenger period.
  void scavenge(unsigned now);

  void set_limits(const CacheLimits& limits);
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  std::size_t max_response_bytes() const;

  // How much it holds, for the metrics (docs/metrics.md).
  struct Usage {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
  };
  Usage usage() const;

  // {"entries": [...], "bytes": N, "hits": N, "limits": {...}} for `httpcfg show cachestate`.
  void describe(nlohmann::json& out, unsigned now) const;

 private:
  struct UrlHash {  // lets find() look up a string_view without building a string
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CachedResponse>, UrlHash,
                     std::equal_to<>>
      entries_;
  std::size_t total_bytes_ = 0;
  CacheLimits limits_;
  std::atomic<bool> enabled_{true};
  std::atomic<std::uint64_t> generation_{1};
  std::atomic<bool> empty_{true};  // lets a miss on an empty cache skip the lock
};

}  // namespace httpapi::daemon
