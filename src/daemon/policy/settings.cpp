#include "daemon/policy/settings.hpp"

#include <charconv>
#include <functional>

#include <fmt/format.h>

#include "daemon/builtin/builtin_urls.hpp"
#include "httpapi/httpapi.h"
#include "route/url_prefix.hpp"

namespace httpapi::daemon {
namespace {

struct Knob {
  std::string_view key;
  std::uint64_t min;
  std::uint64_t max;
  std::function<void(Settings&, std::uint64_t)> set;
  std::function<std::uint64_t(const Settings&)> get;
};

// A knob for one of the timers.
Knob timer_knob(std::string_view key, std::uint64_t max, std::uint32_t Timers::*member) {
  return {key, 1, max,
          [member](Settings& s, std::uint64_t v) {
            s.timers.*member = static_cast<std::uint32_t>(v);
          },
          [member](const Settings& s) { return std::uint64_t{s.timers.*member}; }};
}

// Ranges are HTTP.sys's registry ranges where it has one (reference §4.1).
const std::vector<Knob>& knobs() {
  static const std::vector<Knob> all = {
      {"max_request_bytes", 256, 16 * 1024 * 1024,
       [](Settings& s, std::uint64_t v) { s.limits.max_request_bytes = v; },
       [](const Settings& s) { return std::uint64_t{s.limits.max_request_bytes}; }},
      {"max_field_length", 64, 65534,
       [](Settings& s, std::uint64_t v) { s.limits.max_field_length = v; },
       [](const Settings& s) { return std::uint64_t{s.limits.max_field_length}; }},
      {"url_segment_max_length", 0, 32766,
       [](Settings& s, std::uint64_t v) { s.limits.url_segment_max_length = v; },
       [](const Settings& s) { return std::uint64_t{s.limits.url_segment_max_length}; }},
      {"url_segment_max_count", 0, 16383,
       [](Settings& s, std::uint64_t v) { s.limits.url_segment_max_count = v; },
       [](const Settings& s) { return std::uint64_t{s.limits.url_segment_max_count}; }},
      {"max_body_bytes", 0, UINT64_MAX,
       [](Settings& s, std::uint64_t v) {
         s.limits.max_body_bytes = v == 0 ? UINT64_MAX : v;
         s.chunked_limits.max_body_bytes = s.limits.max_body_bytes;
       },
       [](const Settings& s) {
         return s.limits.max_body_bytes == UINT64_MAX ? 0 : s.limits.max_body_bytes;
       }},
      {"queue_length", 1, 65535,
       [](Settings& s, std::uint64_t v) { s.queue_length = v; },
       [](const Settings& s) { return std::uint64_t{s.queue_length}; }},
      // Seconds timers are USHORTs in HTTP.sys; 65535 turns one off. min_send_rate 2^32-1
      // turns the send-rate check off.
      timer_knob("header_wait_seconds", kTimerNever, &Timers::header_wait),
      timer_knob("request_queue_seconds", kTimerNever, &Timers::request_queue),
      timer_knob("idle_connection_seconds", kTimerNever, &Timers::idle_connection),
      timer_knob("entity_body_seconds", kTimerNever, &Timers::entity_body),
      timer_knob("drain_entity_body_seconds", kTimerNever, &Timers::drain_entity_body),
      timer_knob("min_send_rate", kUnlimited, &Timers::min_send_rate),
      // HTTP.sys's MaxConnections, 0 = no limit. Its registry range starts at 1024; any
      // value is taken here, so that a small machine (or a test) can use it.
      {"max_connections", 0, kUnlimited,
       [](Settings& s, std::uint64_t v) { s.max_connections = static_cast<std::uint32_t>(v); },
       [](const Settings& s) { return std::uint64_t{s.max_connections}; }},
      // Pipelined requests of one connection admitted at once; 1 serves them one by one.
      {"max_tls_handshakes_per_source", 1, 65535,
       [](Settings& s, std::uint64_t v) {
         s.max_tls_handshakes_per_source = static_cast<std::uint32_t>(v);
       },
       [](const Settings& s) { return std::uint64_t{s.max_tls_handshakes_per_source}; }},
      {"max_pipelined_requests", 1, 1024,
       [](Settings& s, std::uint64_t v) { s.max_pipelined_requests = static_cast<std::uint32_t>(v); },
       [](const Settings& s) { return std::uint64_t{s.max_pipelined_requests}; }},
      {"http2_cleartext", 0, 1, [](Settings& s, std::uint64_t v) { s.http2_cleartext = v != 0; },
       [](const Settings& s) { return std::uint64_t{s.http2_cleartext}; }},
      {"http2_max_concurrent_streams", 1, 0x7fffffff,
       [](Settings& s, std::uint64_t v) {
         s.http2_max_concurrent_streams = static_cast<std::uint32_t>(v);
       },
       [](const Settings& s) { return std::uint64_t{s.http2_max_concurrent_streams}; }},
      // RFC 9113 §6.5.2's ranges; a window under 64 KiB - 1 would only slow uploads down.
      {"http2_initial_window_size", 65535, 0x7fffffff,
       [](Settings& s, std::uint64_t v) {
         s.http2_initial_window_size = static_cast<std::uint32_t>(v);
       },
       [](const Settings& s) { return std::uint64_t{s.http2_initial_window_size}; }},
      {"http2_max_frame_size", 16384, 16777215,
       [](Settings& s, std::uint64_t v) { s.http2_max_frame_size = static_cast<std::uint32_t>(v); },
       [](const Settings& s) { return std::uint64_t{s.http2_max_frame_size}; }},
      {"cache_enabled", 0, 1, [](Settings& s, std::uint64_t v) { s.cache.enabled = v != 0; },
       [](const Settings& s) { return std::uint64_t{s.cache.enabled}; }},
      {"cache_max_response_bytes", 4096, 16 * 1024 * 1024,
       [](Settings& s, std::uint64_t v) { s.cache.max_response_bytes = v; },
       [](const Settings& s) { return std::uint64_t{s.cache.max_response_bytes}; }},
      {"cache_max_total_bytes", 0, UINT64_MAX,
       [](Settings& s, std::uint64_t v) { s.cache.max_total_bytes = v; },
       [](const Settings& s) { return std::uint64_t{s.cache.max_total_bytes}; }},
      {"access_log_rollover_bytes", HTTPAPI_LOG_MIN_ROLLOVER_SIZE, UINT64_MAX,
       [](Settings& s, std::uint64_t v) { s.access_log_rollover_bytes = v; },
       [](const Settings& s) { return s.access_log_rollover_bytes; }},
      {"access_log_local_time", 0, 1,
       [](Settings& s, std::uint64_t v) { s.access_log_local_time = v != 0; },
       [](const Settings& s) { return std::uint64_t{s.access_log_local_time}; }},
      {"cache_scavenger_seconds", 1, 0xffffffff,
       [](Settings& s, std::uint64_t v) { s.cache.scavenger_seconds = static_cast<unsigned>(v); },
       [](const Settings& s) { return std::uint64_t{s.cache.scavenger_seconds}; }},
  };
  return all;
}

// A URL setting's value: empty (off), or a URL the service can register as a prefix.
bool valid_url_setting(std::string_view key, std::string_view value, std::string& error) {
  if (value.empty()) return true;
  route::UrlPrefix prefix;
  const auto problem = route::parse_url_prefix(builtin_prefix_text(value), prefix);
  if (problem == route::PrefixError::none) return true;
  error = fmt::format("{} must be a URL such as http://127.0.0.1:9181/path (or empty: off); "
                      "'{}': {}",
                      key, value, route::describe(problem));
  return false;
}

// The URL settings (built-in URLs, daemon/builtin/builtin_urls.hpp): a new one is a member
// of Settings and a line here.
struct UrlSetting {
  std::string_view key;
  std::string Settings::*member;
};
constexpr UrlSetting kUrlSettings[] = {
    {"health_url", &Settings::health_url},
    {"metrics_url", &Settings::metrics_url},
};

}  // namespace

std::string Settings::*url_setting(std::string_view key) noexcept {
  for (const UrlSetting& setting : kUrlSettings) {
    if (setting.key == key) return setting.member;
  }
  return nullptr;
}

bool apply_setting(Settings& settings, std::string_view key, std::string_view value,
                   std::string& error) {
  if (key == "server_header") {
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        error = "server_header must be printable text";
        return false;
      }
    }
    settings.server_header.assign(value);
    return true;
  }
  if (key == "access_log_format") {
    const auto format = parse_access_format(value);
    if (!format) {
      error = fmt::format("access_log_format is w3c, ncsa, json or none, not '{}'", value);
      return false;
    }
    settings.access_log_format = *format;
    return true;
  }
  if (key == "log_level") {
    const auto level = parse_log_level(value);
    if (!level) {
      error = fmt::format("log_level is error, warning, notice, info or debug, not '{}'", value);
      return false;
    }
    settings.log_level = *level;
    return true;
  }
  if (key == "access_log_rollover") {
    const auto rollover = parse_rollover(value);
    if (!rollover) {
      error = fmt::format("access_log_rollover is daily, hourly or size, not '{}'", value);
      return false;
    }
    settings.access_log_rollover = *rollover;
    return true;
  }
  if (std::string Settings::*url = url_setting(key)) {
    if (!valid_url_setting(key, value, error)) return false;
    (settings.*url).assign(value);
    return true;
  }
  for (const Knob& knob : knobs()) {
    if (knob.key != key) continue;
    std::uint64_t number = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
      error = fmt::format("{} takes a whole number, not '{}'", key, value);
      return false;
    }
    if (number < knob.min || number > knob.max) {
      error = fmt::format("{} must be between {} and {}", key, knob.min, knob.max);
      return false;
    }
    knob.set(settings, number);
    return true;
  }
  std::string known = "server_header, log_level, access_log_format, access_log_rollover";
  for (const UrlSetting& setting : kUrlSettings) known += fmt::format(", {}", setting.key);
  for (const Knob& knob : knobs()) known += fmt::format(", {}", knob.key);
  error = fmt::format("unknown setting '{}'; settings are {}", key, known);
  return false;
}

std::map<std::string, std::string> describe(const Settings& settings) {
  std::map<std::string, std::string> out;
  for (const Knob& knob : knobs()) out[std::string(knob.key)] = std::to_string(knob.get(settings));
  out["server_header"] = settings.server_header;
  out["access_log_format"] = std::string(access_format_name(settings.access_log_format));
  out["access_log_rollover"] = std::string(rollover_name(settings.access_log_rollover));
  out["log_level"] = std::string(log_level_name(settings.log_level));
  for (const UrlSetting& setting : kUrlSettings) {
    out[std::string(setting.key)] = settings.*setting.member;
  }
  return out;
}

}  // namespace httpapi::daemon
