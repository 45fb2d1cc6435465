// What the access log says about one request, however it was answered: by its application,
// from the response cache, or by the service itself (404, 400, 503 from a full queue). The
// Exchange fills one when the request is over; the access-log writer formats it (W3C, NCSA
// or JSON lines) on its own thread. Plain data, copied into the writer's bounded buffer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace httpapi::daemon {

enum class CacheUse : std::uint8_t {
  none,  // the request could not be answered from the cache (or the cache is off)
  miss,  // it could have been, but no entry was there
  hit,   // answered from the response cache: no application saw it
};

// The name the logs give it ("hit", "miss", "none").
inline std::string_view cache_name(CacheUse cache) {
  switch (cache) {
    case CacheUse::hit: return "hit";
    case CacheUse::miss: return "miss";
    case CacheUse::none: break;
  }
  return "none";
}

struct AccessRecord {
  std::int64_t time_ms = 0;         // wall clock when it ended, ms since the epoch (UTC)
  std::uint64_t time_taken_ms = 0;  // from the head's arrival to the response's last byte queued
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string server_ip;
  std::uint16_t server_port = 0;
  std::string method;  // empty when the request line could not be read
  std::string uri;     // the raw target as sent: path and query
  std::string host;
  std::string user_agent;
  std::string referer;
  std::string cookie;
  std::string username;  // the application's (httpapi_request_set_log_data); empty: none
  int version_major = 1;
  int version_minor = 1;
  std::string tls_protocol;  // "TLSv1.3"; empty on a cleartext connection
  std::string queue;         // the request queue's name, when it has one and it mattered
  std::string reason;        // the service's own answers: the error log's reason (NotFound, ...)
  std::uint16_t status = 0;  // 0: no response was sent (the connection ended first)
  std::uint32_t substatus = 0;  // the application's; HTTP.sys has none of its own
  // IIS's sc-win32-status: 0 done; 64 the client left before the response was complete;
  // 1236 the service cut it (cancelled, broken response, reset).
  std::uint32_t win32_status = 0;
  std::uint64_t bytes_in = 0;   // request head and body bytes read
  std::uint64_t bytes_out = 0;  // response bytes written (head, framing, body)
  CacheUse cache = CacheUse::none;
};

// sc-win32-status values (Win32 error codes, as IIS logs them).
inline constexpr std::uint32_t kWin32ClientGone = 64;        // ERROR_NETNAME_DELETED
inline constexpr std::uint32_t kWin32Aborted = 1236;         // ERROR_CONNECTION_ABORTED

}  // namespace httpapi::daemon
