// The library's frames to the service through shared memory (protocol version 5,
// docs/protocol.md).
//
// Every response used to cost the application one system call (a write on its control
// socket), and in the benchmarks with pipelined requests that write was the single largest
// item of the server's CPU. The ring moves frames without one: the library copies whole
// frames into a sealed memfd both sides map, and writes to the socket only to wake a
// service that said it is about to sleep (one wake-up per batch, not per response). A frame
// in the ring is the service's as soon as it is there: if the application dies right after,
// the service still reads it before it gives up the process's requests, as it reads what
// was left in the socket.
//
// Frames that carry descriptors, and frames that do not fit, still go through the socket.
// The service must then see the two paths in the order the library wrote them, so each
// record in the ring carries a stamp: how many bytes the library had written to the socket
// before it. The service processes socket frames up to a record's stamp, then the record
// (ipc/frame_merge.hpp).
//
// From protocol version 6 a queue connection has a second ring with the roles reversed (the
// library's ring: the service pushes its frames, requests above all, and the library
// drains). Below, "library" means the side that pushes and "service" the side that drains;
// the library always creates the memfd, so the service maps only what it checked.
//
// Layout: a control page (head: bytes the library ever wrote, tail: bytes the service ever
// read, wake: 1 when the service wants a wake-up), then kRingCapacity bytes of records, each
// {u64 stamp, u32 length, u32 zero, `length` bytes of whole frames}, wrapping at the end.
// Single producer (the library serialises its writes), single consumer (the service loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/sealed_page.hpp"

namespace httpapi::ipc {

inline constexpr std::size_t kRingCapacity = 128 * 1024;
inline constexpr std::size_t kRingRecordHeader = 16;

enum class RingRecordStatus : std::uint8_t { complete, incomplete, malformed };

// Splits the first record off `input` (bytes the service copied out of the ring). Pure.
// malformed: a length larger than a record can be, or a non-zero reserved word.
RingRecordStatus next_ring_record(std::string_view input, std::uint64_t& stamp,
                                  std::string_view& frames, std::size_t& consumed) noexcept;

class FrameRing {
 public:
  // The library's side: a new, empty ring. `fd` receives the sealed memfd to send (the
  // caller closes it once sent). Invalid, with `why`, when there is no memfd here (e.g. a
  // seccomp filter): the library then writes everything to the socket.
  static FrameRing create(int& fd, std::string& why);
  // The service's side: maps what a peer sent, after checking it is a memfd sealed against
  // shrinking and growing, of exactly the ring's size. Does not take `fd`.
  static FrameRing attach(int fd, std::string& why);

  bool valid() const noexcept { return page_.valid(); }

  // Library: appends one record of `first` then `second` (both whole frames), stamped with
  // the bytes written to the socket so far. false when it does not fit now.
  bool push(std::uint64_t stamp, std::string_view first, std::string_view second) noexcept;
  // Library, after push: true when the service asked to be woken (and no longer asks): the
  // caller must then write something to the socket. Otherwise the service looks anyway.
  bool take_wake_request() noexcept;

  // Service: appends every byte the library published to `out` and frees its space. false
  // when the ring's indexes are impossible (the peer scribbled on them).
  bool drain(std::string& out);
  // Service, polling while busy: whether the library published anything not yet drained.
  bool has_records() const noexcept;
  // Service, done for now: asks for a wake-up on the next push, then tells whether a push
  // came in between (then drain again: its wake request may have been missed).
  bool arm_wake() noexcept;
  // Service, polling again after arm_wake found a push: no wake-up is wanted after all (the
  // library would otherwise write one to the socket at its next push).
  void disarm_wake() noexcept;

 private:
  std::uint64_t& head() const noexcept;
  std::uint64_t& tail() const noexcept;
  std::uint32_t& wake() const noexcept;
  unsigned char* data() const noexcept;

  SealedPage page_;
};

}  // namespace httpapi::ipc
