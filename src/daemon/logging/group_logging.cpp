#include "daemon/logging/group_logging.hpp"

#include <fmt/format.h>

#include "daemon/logging/w3c_format.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {

bool valid_log_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  if (name == AccessLog::kServerLogName) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool group_logging_config(const ipc::GroupLogging& call, AccessLogConfig& config,
                          std::string& error) {
  if (call.format > HTTPAPI_LOG_FORMAT_JSON) {
    error = fmt::format("unknown log format {}: W3C, NCSA, JSON or NONE", call.format);
    return false;
  }
  if (call.format == HTTPAPI_LOG_FORMAT_NONE) return true;
  if (!valid_log_name(call.name)) {
    error = fmt::format(
        "log name '{}' is not 1 to 64 of [A-Za-z0-9._-] (not starting with '.', not '{}'): "
        "it names STATE_DIR/logs/access/NAME.log, never a path",
        call.name.substr(0, 80), AccessLog::kServerLogName);
    return false;
  }
  if (call.rollover != HTTPAPI_LOG_ROLLOVER_SIZE && call.rollover != HTTPAPI_LOG_ROLLOVER_DAILY &&
      call.rollover != HTTPAPI_LOG_ROLLOVER_HOURLY) {
    error = fmt::format("unknown rollover {}: SIZE, DAILY or HOURLY", call.rollover);
    return false;
  }
  if (call.rollover == HTTPAPI_LOG_ROLLOVER_SIZE &&
      call.rollover_size < HTTPAPI_LOG_MIN_ROLLOVER_SIZE) {
    error = fmt::format("rollover_size must be at least {} bytes", HTTPAPI_LOG_MIN_ROLLOVER_SIZE);
    return false;
  }
  if (call.flags & ~HTTPAPI_LOG_FLAG_LOCAL_TIME) {
    error = fmt::format("unknown logging flags {:#x}", call.flags & ~HTTPAPI_LOG_FLAG_LOCAL_TIME);
    return false;
  }
  if (call.format == HTTPAPI_LOG_FORMAT_W3C && (call.fields & ~w3c_known_fields())) {
    error = fmt::format("unknown W3C field bits {:#x}", call.fields & ~w3c_known_fields());
    return false;
  }
  const bool local = call.flags & HTTPAPI_LOG_FLAG_LOCAL_TIME;
  config.style.format = static_cast<AccessFormat>(call.format);
  config.style.fields = call.fields;
  config.style.local_time = local;
  config.style.site_name.assign(call.name);
  config.file.name.assign(call.name);
  config.file.rollover = static_cast<Rollover>(call.rollover);
  config.file.max_bytes = call.rollover_size;
  config.file.local_time = local;
  return true;
}

}  // namespace httpapi::daemon
