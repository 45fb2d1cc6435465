// What one URL group sets for the requests its URLs route (HTTP.sys's
// HttpServerTimeoutsProperty and HttpServerQosProperty): timer overrides, a connection limit
// and a bandwidth limit. The service loop sets them; the I/O threads read them for every
// connection whose latest request the group routed, so every field is safe to share.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "daemon/policy/bandwidth_limit.hpp"
#include "daemon/policy/connection_count.hpp"
#include "daemon/policy/timers.hpp"

namespace httpapi::daemon {

class GroupLimits {
 public:
  // Sets one httpapi_url_group_property. False, with `error` saying the allowed values,
  // when the property is unknown or the value out of its range.
  bool set(std::uint32_t property, std::uint64_t value, std::string& error);

  // The server-wide timers with this group's overrides in place.
  Timers timers(const Timers& server) const;

  // Counts one more connection unless the group has its maximum already.
  bool try_add_connection() { return connections_.try_add(max_connections_.load()); }
  void remove_connection() { connections_.remove(); }

  BandwidthLimit& bandwidth() { return bandwidth_; }

 private:
  // The timer overrides by property, HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT first; 0 = the
  // server-wide value.
  std::array<std::atomic<std::uint32_t>, 6> timers_{};
  std::atomic<std::uint32_t> max_connections_{kUnlimited};
  ConnectionCount connections_;
  BandwidthLimit bandwidth_;
};

}  // namespace httpapi::daemon
