#include "daemon/policy/min_send_rate.hpp"

#include <algorithm>

#include "daemon/policy/timers.hpp"

namespace httpapi::daemon {
namespace {

// HTTP.sys's default MaxBytesPerSend.
constexpr std::uint64_t kSendPiece = 64 * 1024;

}  // namespace

void MinSendRate::refused(std::uint64_t now_ms) noexcept {
  if (stalled_) return;
  stalled_ = true;
  judged_at_ms_ = now_ms;
  sent_ = 0;
  debt_ = 0;
}

bool MinSendRate::too_slow(std::uint32_t rate, std::uint64_t next_piece,
                           std::uint64_t now_ms) noexcept {
  if (!stalled_ || rate == kUnlimited) return false;
  const std::uint64_t owed = debt_ + std::uint64_t{rate} * (now_ms - judged_at_ms_);
  const std::uint64_t paid = sent_ * 1000;
  debt_ = paid >= owed ? 0 : owed - paid;
  judged_at_ms_ = now_ms;
  sent_ = 0;
  const std::uint64_t piece = std::min(next_piece, kSendPiece);
  return debt_ > std::max<std::uint64_t>(rate, piece) * 1000;
}

}  // namespace httpapi::daemon
