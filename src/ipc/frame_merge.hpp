// Frames that came by two paths, socket and frame ring (ipc/frame_ring.hpp), taken in the
// order their writer wrote them. Each ring record is stamped with the bytes the writer had
// put on the socket before it: the socket's frames up to that many bytes come first, then
// the record's frames, then the rest. The service merges the library's frames this way
// (protocol 5) and the library the service's (protocol 6).
//
// Pure and resumable: no I/O, no allocation. The caller keeps both inputs, feeds what it
// has not consumed yet, and drops what each step says it used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ipc/frame.hpp"

namespace httpapi::ipc {

class FrameMerge {
 public:
  enum class Status : std::uint8_t { frame, incomplete, malformed };
  struct Step {
    Status status = Status::incomplete;
    bool from_ring = false;        // frame: where it came from
    std::size_t socket_used = 0;   // bytes of `socket` consumed (drop them)
    std::size_t ring_used = 0;     // bytes of `ring` consumed (drop them)
    const char* why = nullptr;     // malformed: what was wrong, to log and close on
  };

  // The next frame in written order from `socket` (socket bytes not yet consumed) and `ring`
  // (whole records copied out of the ring, not yet consumed). The frame's views point into
  // the inputs. incomplete: more socket bytes are needed; malformed: the stream cannot
  // continue (the writer broke the protocol).
  Step next(std::string_view socket, std::string_view ring, Frame& frame) noexcept;

  // Socket bytes taken since the connection opened: what the stamps count.
  std::uint64_t socket_taken() const noexcept { return socket_taken_; }
  // Whether `ring` starts inside a record some of whose frames were taken.
  bool inside_record() const noexcept { return record_left_ > 0; }

 private:
  std::uint64_t socket_taken_ = 0;
  std::size_t record_left_ = 0;  // bytes of the record being taken that `ring` starts with
};

}  // namespace httpapi::ipc
