// Server-wide limits and timers (DESIGN.md §5): defaults are HTTP.sys's; the configuration
// store overrides them, and `httpcfg set setting` changes them live. Each I/O thread keeps
// its own copy, replaced through its event loop, so the request path reads them without
// locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "http1/chunked_decoder.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/logging/access_file.hpp"
#include "daemon/logging/access_format.hpp"
#include "daemon/policy/timers.hpp"
#include "http1/request_parser.hpp"

namespace httpapi::daemon {

// The response cache (docs/cache.md); defaults and ranges are HTTP.sys's registry values.
struct CacheLimits {
  bool enabled = true;                             // UriEnableCache
  std::size_t max_response_bytes = 256 * 1024;     // UriMaxUriBytes: head + body of one entry
  std::size_t max_total_bytes = 64 * 1024 * 1024;  // all entries (HTTP.sys: by RAM size)
  unsigned scavenger_seconds = 120;                // UriScavengerPeriod: unused this long
};

struct Settings {
  http1::Limits limits;                 // max_request_bytes, max_field_length, url segments
  http1::ChunkedLimits chunked_limits;  // shares max_body_bytes with limits
  std::size_t queue_length = 1000;      // for queues created from now on
  std::string server_header = std::string("httpapi/") + HTTPAPI_VERSION_STRING;
  Timers timers;                   // URL groups may override each
  std::uint32_t max_connections = 0;  // client connections at once; 0 = no limit
  std::size_t inline_body_bytes = 64 * 1024;  // body delivered with the head
  // Requests of one connection in flight at once (HTTP/1.1 pipelining; docs/pipelining.md).
  std::uint32_t max_pipelined_requests = 16;
  // TLS handshakes one client source may have in progress at once (docs/tls.md).
  std::uint32_t max_tls_handshakes_per_source = 256;
  CacheLimits cache;
  // HTTP/2 (docs/http2.md): prior knowledge on cleartext ports, streams of one connection
  // open at once (SETTINGS_MAX_CONCURRENT_STREAMS), the request body bytes one stream may
  // send before its application reads (SETTINGS_INITIAL_WINDOW_SIZE) and the largest frame
  // the service takes (SETTINGS_MAX_FRAME_SIZE). The header list limit is max_request_bytes.
  bool http2_cleartext = true;
  std::uint32_t http2_max_concurrent_streams = 100;
  std::uint32_t http2_initial_window_size = 256 * 1024;
  std::uint32_t http2_max_frame_size = 16 * 1024;
  // The server-wide access log, STATE_DIR/logs/access/httpapid.log: every request no URL
  // group logs (docs/access-logs.md). Off by default, as HTTP.sys's.
  AccessFormat access_log_format = AccessFormat::none;
  // Its rollover (daily, as HTTP.sys's default), the size that rolls it with
  // Rollover::size, and whether its periods, file names and NCSA times are local time.
  Rollover access_log_rollover = Rollover::daily;
  std::uint64_t access_log_rollover_bytes = 16 * 1024 * 1024;
  bool access_log_local_time = false;
  // The most verbose diagnostic lines written (--log-level is the boot value).
  LogLevel log_level = LogLevel::info;
  // URL settings: the URLs the service answers itself (daemon/builtin/builtin_urls.hpp), ""
  // when off. health_url: 200 while serving, 503 while draining (docs/operations.md).
  std::string health_url;
  // metrics_url: Prometheus's scrapes (docs/metrics.md).
  std::string metrics_url;
};

// The URL settings, by key (built-in URLs): a pointer to the member, or null for another key.
std::string Settings::*url_setting(std::string_view key) noexcept;

// Sets one setting from its text form. False, with `error` saying why (unknown key, not a
// number, out of HTTP.sys's range), leaves `settings` unchanged.
bool apply_setting(Settings& settings, std::string_view key, std::string_view value,
                   std::string& error);

// Every setting in its text form, by key.
std::map<std::string, std::string> describe(const Settings& settings);

}  // namespace httpapi::daemon
