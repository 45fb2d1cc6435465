#include "daemon/policy/group_limits.hpp"

#include <fmt/format.h>

#include "httpapi/httpapi.h"

namespace httpapi::daemon {

bool GroupLimits::set(std::uint32_t property, std::uint64_t value, std::string& error) {
  switch (property) {
    case HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT:
    case HTTPAPI_GROUP_DRAIN_ENTITY_BODY_TIMEOUT:
    case HTTPAPI_GROUP_REQUEST_QUEUE_TIMEOUT:
    case HTTPAPI_GROUP_IDLE_CONNECTION_TIMEOUT:
    case HTTPAPI_GROUP_HEADER_WAIT_TIMEOUT:
      if (value > kTimerNever) {
        error = fmt::format("a timeout is 0 (the server-wide setting) or 1 to {} seconds "
                            "({} = never), not {}", kTimerNever, kTimerNever, value);
        return false;
      }
      break;
    case HTTPAPI_GROUP_MIN_SEND_RATE:
      if (value > kUnlimited) {
        error = fmt::format("the minimum send rate is 0 (the server-wide setting) to {} "
                            "bytes/s ({} = no check), not {}", kUnlimited, kUnlimited, value);
        return false;
      }
      break;
    case HTTPAPI_GROUP_MAX_CONNECTIONS:
      if (value == 0 || value > kUnlimited) {
        error = fmt::format("the connection limit is 1 to {} ({} = no limit), not {}",
                            kUnlimited, kUnlimited, value);
        return false;
      }
      max_connections_ = static_cast<std::uint32_t>(value);
      return true;
    case HTTPAPI_GROUP_MAX_BANDWIDTH:
      // HTTP.sys's HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE is 1024.
      if (value < 1024 || value > kUnlimited) {
        error = fmt::format("the bandwidth limit is 1024 to {} bytes/s ({} = no limit), "
                            "not {}", kUnlimited, kUnlimited, value);
        return false;
      }
      bandwidth_.set_rate(static_cast<std::uint32_t>(value));
      return true;
    default:
      error = fmt::format("no URL group property {}", property);
      return false;
  }
  timers_[property - HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT] = static_cast<std::uint32_t>(value);
  return true;
}

Timers GroupLimits::timers(const Timers& server) const {
  const auto pick = [this](std::uint32_t property, std::uint32_t fallback) {
    const std::uint32_t own = timers_[property - HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT];
    return own != 0 ? own : fallback;
  };
  return {pick(HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT, server.entity_body),
          pick(HTTPAPI_GROUP_DRAIN_ENTITY_BODY_TIMEOUT, server.drain_entity_body),
          pick(HTTPAPI_GROUP_REQUEST_QUEUE_TIMEOUT, server.request_queue),
          pick(HTTPAPI_GROUP_IDLE_CONNECTION_TIMEOUT, server.idle_connection),
          pick(HTTPAPI_GROUP_HEADER_WAIT_TIMEOUT, server.header_wait),
          pick(HTTPAPI_GROUP_MIN_SEND_RATE, server.min_send_rate)};
}

}  // namespace httpapi::daemon
