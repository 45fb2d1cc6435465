// Fuzzes the frame ring's record splitter (ipc/frame_ring.hpp) with arbitrary bytes, as the
// service copies them out of a ring the peer may have written anything into: nothing may
// crash or read outside the input, a record never claims more than the input or the ring
// holds, and the frames inside split as the socket's do.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ipc/frame.hpp"
#include "ipc/frame_ring.hpp"

namespace ipc = httpapi::ipc;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int records = 0; records < 64; ++records) {
    std::uint64_t stamp = 0;
    std::string_view frames;
    std::size_t consumed = 0;
    if (ipc::next_ring_record(rest, stamp, frames, consumed) != ipc::RingRecordStatus::complete) {
      break;
    }
    check(consumed == ipc::kRingRecordHeader + frames.size() && consumed <= rest.size());
    check(consumed <= ipc::kRingCapacity);
    check(frames.data() == rest.data() + ipc::kRingRecordHeader);
    while (!frames.empty()) {
      ipc::Frame frame;
      std::size_t taken = 0;
      if (ipc::next_frame(frames, frame, taken) != ipc::FrameStatus::complete) break;
      check(taken >= ipc::kHeaderSize && taken <= frames.size());
      frames.remove_prefix(taken);
    }
    rest.remove_prefix(consumed);
  }
  return 0;
}
