// What the response cache may store and serve (HTTP.sys's rules, docs/cache.md), and the
// bytes of a hit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/cache/response_cache.hpp"
#include "http1/request_parser.hpp"
#include "http1/url_cooker.hpp"

namespace httpapi::daemon {

// A request whose answer may come from, or go into, the cache: GET, HTTP/1.x, no body, no
// query string, no Authorization, Range, If-Range, If-None-Match, If-Modified-Since,
// If-Match, If-Unmodified-Since or `Translate: f`, no Expect other than 100-continue.
bool cacheable_request(const http1::RequestHead& head, const http1::CookedUrl& url);

// What the application sent, in one send_response frame.
struct CacheCandidate {
  std::uint16_t cache_kind = 0;     // httpapi_cache_policy_kind
  std::uint32_t cache_seconds = 0;
  std::uint16_t status = 0;
  std::string_view reason;          // as written on the wire
  std::string_view headers;         // ipc header list
  std::string_view body;
};

// The entry for a response that qualifies (a cache policy; time to live >= 1 s; a final
// status other than 206; a Content-Type; no Transfer-Encoding; a Content-Length, if any,
// that matches the body), or null. `url` is the cooked URL of its request.
std::shared_ptr<CachedResponse> make_cache_entry(const CacheCandidate& response,
                                                 std::string_view url, std::string_view host,
                                                 std::uint16_t port, std::string_view path,
                                                 unsigned now);

// Appends a hit to `out`: the stored head, a fresh Date, Server (unless the application
// sent one), Connection as the exchange needs, the blank line and the body.
void append_cache_hit(std::string& out, const CachedResponse& entry, std::string_view date,
                      std::string_view server, bool close, bool http10_keep_alive);

}  // namespace httpapi::daemon
