// HTTP.sys's minimum send rate (MinSendRate, 150 bytes/s by default), judged while the
// client's socket refuses bytes: every second of that adds `rate` bytes to what the client
// owes, every byte it accepts pays one back (it cannot save up by reading fast earlier). A
// client may fall behind by one send of HTTP.sys's default MaxBytesPerSend (64 KiB), or one
// second's worth if that is more, before it is cut off: a pause of a few seconds at 150 B/s
// is forgiven, a reader gone for minutes is not. Times are monotonic milliseconds, given by
// the caller.
#pragma once

#include <cstddef>
#include <cstdint>

namespace httpapi::daemon {

class MinSendRate {
 public:
  // After a write attempt: the socket took all it was given, or refused some at `now_ms`.
  void took_everything() noexcept { stalled_ = false; }
  void refused(std::uint64_t now_ms) noexcept;
  void sent(std::size_t bytes) noexcept { sent_ += bytes; }

  // Judged once a second: is the client further behind `rate` bytes/s than it may be?
  // `next_piece` is the size of the next write the client is waiting to take.
  bool too_slow(std::uint32_t rate, std::uint64_t next_piece, std::uint64_t now_ms) noexcept;

 private:
  bool stalled_ = false;
  std::uint64_t judged_at_ms_ = 0;  // the stall's start, then the last judgement
  std::uint64_t sent_ = 0;          // bytes accepted since then
  std::uint64_t debt_ = 0;          // how far behind the rate, in thousandths of a byte
};

}  // namespace httpapi::daemon
