// What an HTTP/2 client may do that costs the service work and asks nothing of it: frames
// legal one at a time and harmful in floods (RFC 9113 §10.5), and streams ended before their
// response, by the client (Rapid Reset, CVE-2023-44487) or by the service because the client
// broke the protocol on them (MadeYouReset, CVE-2025-8671). Each kind has a budget that
// refills slowly; a client that spends one is cut off (GOAWAY ENHANCE_YOUR_CALM). Pure
// arithmetic on a clock the caller gives, so that tests can drive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace httpapi::daemon {

enum class Http2Abuse : std::uint8_t {
  ping,            // PING frames: each costs an ACK
  settings,        // SETTINGS frames: each costs an ACK and a walk over its entries
  priority,        // PRIORITY frames: legal on any stream, even one never opened
  empty_data,      // DATA frames carrying nothing and not ending their stream
  client_reset,    // streams the client reset before their response was complete
  stream_error,    // streams reset because the client broke the protocol on them
  oversized_head,  // header blocks decoding past the request head limits (HPACK bombs)
};
inline constexpr std::size_t kHttp2AbuseKinds = 7;

class Http2AbuseGuard {
 public:
  // Frames of one flood kind: a burst of this many, or more than the rate for long.
  static constexpr std::uint32_t kFloodBurst = 500;
  static constexpr std::uint32_t kFloodPerSecond = 100;
  // Streams ended early: at most this many (fewer if the connection allows fewer streams at
  // once), one more allowed per second and per stream that completed normally.
  static constexpr std::uint32_t kMaxStreamBudget = 1000;
  static constexpr std::uint32_t kStreamsPerSecond = 1;

  // `max_concurrent_streams` (http2_max_concurrent_streams) bounds the early-ended streams: a
  // Rapid Reset attacker gets no more requests to applications than a client that keeps its
  // streams open.
  explicit Http2AbuseGuard(std::uint32_t max_concurrent_streams) noexcept;

  // One more `kind` at `now_ms` (monotonic milliseconds). False once the client has spent
  // that kind's budget (the event that spends its last unit included), and for every event
  // after that: the connection is to end.
  bool record(Http2Abuse kind, std::uint64_t now_ms) noexcept;
  // A stream's response went out whole: a client doing real work earns one early end back.
  void stream_completed() noexcept;

  bool tripped() const noexcept { return tripped_; }
  Http2Abuse tripped_by() const noexcept { return tripped_by_; }
  // The error log's reason for the connection a kind ended, e.g. "HTTP2_Rapid_Reset".
  static std::string_view log_reason(Http2Abuse kind) noexcept;

 private:
  // A leaky bucket in thousandths of an event: each event adds 1000, time drains it.
  struct Bucket {
    std::uint64_t level = 0;
    std::uint64_t at_ms = 0;
  };
  std::uint32_t capacity(Http2Abuse kind) const noexcept;
  static std::uint32_t per_second(Http2Abuse kind) noexcept;

  std::array<Bucket, kHttp2AbuseKinds> buckets_{};
  std::uint32_t stream_budget_;
  bool tripped_ = false;
  Http2Abuse tripped_by_ = Http2Abuse::ping;
};

}  // namespace httpapi::daemon
