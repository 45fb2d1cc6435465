#include "daemon/front/http2_abuse_guard.hpp"

#include <algorithm>

namespace httpapi::daemon {
namespace {

constexpr std::uint64_t kUnit = 1000;  // one event, in the buckets' thousandths

bool stream_kind(Http2Abuse kind) noexcept {
  return kind == Http2Abuse::client_reset || kind == Http2Abuse::stream_error ||
         kind == Http2Abuse::oversized_head;
}

}  // namespace

Http2AbuseGuard::Http2AbuseGuard(std::uint32_t max_concurrent_streams) noexcept
    : stream_budget_(std::clamp<std::uint32_t>(max_concurrent_streams, 1, kMaxStreamBudget)) {}

std::uint32_t Http2AbuseGuard::capacity(Http2Abuse kind) const noexcept {
  return stream_kind(kind) ? stream_budget_ : kFloodBurst;
}

std::uint32_t Http2AbuseGuard::per_second(Http2Abuse kind) noexcept {
  return stream_kind(kind) ? kStreamsPerSecond : kFloodPerSecond;
}

bool Http2AbuseGuard::record(Http2Abuse kind, std::uint64_t now_ms) noexcept {
  if (tripped_) return false;
  Bucket& bucket = buckets_[static_cast<std::size_t>(kind)];
  // `per_second` events a second is `per_second` thousandths a millisecond.
  const std::uint64_t drained =
      now_ms > bucket.at_ms ? (now_ms - bucket.at_ms) * per_second(kind) : 0;
  bucket.level = bucket.level > drained ? bucket.level - drained : 0;
  bucket.at_ms = std::max(bucket.at_ms, now_ms);
  bucket.level += kUnit;
  if (bucket.level < capacity(kind) * kUnit) return true;
  tripped_ = true;
  tripped_by_ = kind;
  return false;
}

void Http2AbuseGuard::stream_completed() noexcept {
  for (Http2Abuse kind : {Http2Abuse::client_reset, Http2Abuse::stream_error,
                          Http2Abuse::oversized_head}) {
    std::uint64_t& level = buckets_[static_cast<std::size_t>(kind)].level;
    level = level > kUnit ? level - kUnit : 0;
  }
}

std::string_view Http2AbuseGuard::log_reason(Http2Abuse kind) noexcept {
  switch (kind) {
    case Http2Abuse::ping: return "HTTP2_PING_Flood";
    case Http2Abuse::settings: return "HTTP2_SETTINGS_Flood";
    case Http2Abuse::priority: return "HTTP2_PRIORITY_Flood";
    case Http2Abuse::empty_data: return "HTTP2_Empty_DATA_Flood";
    case Http2Abuse::client_reset: return "HTTP2_Rapid_Reset";
    case Http2Abuse::stream_error: return "HTTP2_MadeYouReset";
    case Http2Abuse::oversized_head: return "HTTP2_Header_Bomb";
  }
  return "HTTP2_Abuse";
}

}  // namespace httpapi::daemon
