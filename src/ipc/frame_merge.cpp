#include "ipc/frame_merge.hpp"

#include "ipc/frame_ring.hpp"

namespace httpapi::ipc {

namespace {

FrameMerge::Step malformed(FrameMerge::Step step, const char* why) {
  step.status = FrameMerge::Status::malformed;
  step.why = why;
  return step;
}

}  // namespace

FrameMerge::Step FrameMerge::next(std::string_view socket, std::string_view ring,
                                  Frame& frame) noexcept {
  Step step;
  // The stamp of the first record still waiting for socket frames: those may go up to it.
  std::uint64_t bound = UINT64_MAX;
  for (;;) {
    if (record_left_ > 0) {
      std::size_t consumed = 0;
      const std::string_view record = ring.substr(step.ring_used, record_left_);
      if (record.size() < record_left_ ||
          next_frame(record, frame, consumed) != FrameStatus::complete) {
        return malformed(step, "a ring record that does not hold whole frames");
      }
      record_left_ -= consumed;
      step.ring_used += consumed;
      step.from_ring = true;
      step.status = Status::frame;
      return step;
    }
    if (step.ring_used == ring.size()) break;
    std::uint64_t stamp = 0;
    std::string_view frames;
    std::size_t size = 0;
    const RingRecordStatus status =
        next_ring_record(ring.substr(step.ring_used), stamp, frames, size);
    if (status == RingRecordStatus::malformed) return malformed(step, "malformed ring record");
    if (status == RingRecordStatus::incomplete) break;
    if (stamp < socket_taken_) {
      return malformed(step, "a ring record stamped before frames already taken");
    }
    if (stamp > socket_taken_) {
      bound = stamp;
      break;
    }
    step.ring_used += kRingRecordHeader;
    record_left_ = frames.size();
  }
  std::size_t consumed = 0;
  switch (next_frame(socket, frame, consumed)) {
    case FrameStatus::complete:
      break;
    case FrameStatus::incomplete:
      return step;
    case FrameStatus::oversized:
      return malformed(step, "oversized message");
    case FrameStatus::malformed:
      return malformed(step, "malformed frame");
  }
  if (socket_taken_ + consumed > bound) {
    return malformed(step, "a ring record stamped inside a frame");
  }
  socket_taken_ += consumed;
  step.socket_used = consumed;
  step.status = Status::frame;
  return step;
}

}  // namespace httpapi::ipc
