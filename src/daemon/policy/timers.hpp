// HTTP.sys's connection and request timers (HTTP_TIMEOUT_LIMIT_INFO): the server-wide values
// live in Settings, a URL group may override each (GroupLimits). docs/timers.md says when
// each one runs and what happens when it fires.
#pragma once

#include <cstdint>

#include "daemon/loop/monotonic_clock.hpp"

namespace httpapi::daemon {

// A seconds timer set to this never fires (HTTP.sys: USHORT max).
inline constexpr std::uint32_t kTimerNever = 0xffff;
// No limit: a send rate that is not checked, a connection or bandwidth limit that is not set
// (HTTP.sys's HTTP_LIMIT_INFINITE).
inline constexpr std::uint32_t kUnlimited = 0xffffffff;

struct Timers {
  std::uint32_t entity_body = 120;        // s without request body bytes while waiting for them
  std::uint32_t drain_entity_body = 120;  // s to discard an unread body after the response
  std::uint32_t request_queue = 120;      // s a request may wait in its queue
  std::uint32_t idle_connection = 120;    // s a keep-alive connection may wait for a request
  std::uint32_t header_wait = 120;        // s a request head may take to arrive
  std::uint32_t min_send_rate = 150;      // bytes/s a client must accept a response at
};

// Has a timer of `seconds`, started at `start_ms`, fired by `now_ms`?
constexpr bool expired(std::uint64_t start_ms, std::uint64_t now_ms, std::uint32_t seconds) {
  return seconds != kTimerNever && now_ms - start_ms >= std::uint64_t{seconds} * 1000;
}

}  // namespace httpapi::daemon
