// Fuzzes the merge of socket frames and ring records (ipc/frame_merge.hpp) as either side
// runs it on what its peer wrote: the first two bytes choose how much of the rest is socket
// bytes, the third how many bytes of each input arrive per round. Nothing may crash or read
// outside the inputs, no step may claim more than it was given, and a malformed stream stays
// malformed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "ipc/frame.hpp"
#include "ipc/frame_merge.hpp"

namespace ipc = httpapi::ipc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  const std::size_t split = std::min<std::size_t>(input.size(), data[0] | data[1] << 8);
  const std::size_t step_size = 1 + data[2];
  const std::string_view socket = input.substr(0, split);
  const std::string_view ring = input.substr(split);
  ipc::FrameMerge merge;
  std::size_t socket_at = 0, ring_at = 0, socket_have = 0, ring_have = 0;
  for (int rounds = 0; rounds < 4096; ++rounds) {
    socket_have = std::min(socket.size(), socket_have + step_size);
    ring_have = std::min(ring.size(), ring_have + step_size);
    for (;;) {
      ipc::Frame frame;
      const std::string_view s = socket.substr(socket_at, socket_have - socket_at);
      const std::string_view r = ring.substr(ring_at, ring_have - ring_at);
      const ipc::FrameMerge::Step step = merge.next(s, r, frame);
      FUZZ_CHECK(step.socket_used <= s.size() && step.ring_used <= r.size());
      socket_at += step.socket_used;
      ring_at += step.ring_used;
      if (step.status == ipc::FrameMerge::Status::malformed) {
        FUZZ_CHECK(step.why != nullptr);
        return 0;
      }
      if (step.status == ipc::FrameMerge::Status::incomplete) break;
      FUZZ_CHECK(frame.encoded.size() >= ipc::kHeaderSize);
      FUZZ_CHECK(step.from_ring ? step.ring_used > 0 : step.socket_used == frame.encoded.size());
    }
    if (socket_have == socket.size() && ring_have == ring.size()) break;
  }
  FUZZ_CHECK(merge.socket_taken() == socket_at);
  return 0;
}
