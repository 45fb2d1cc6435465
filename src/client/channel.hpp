// A connection from the library to httpapid over its control socket: connect, hello, and
// whole-frame writes and reads. Internal to libhttpapi.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "httpapi/httpapi.h"
#include "ipc/frame.hpp"
#include "ipc/frame_merge.hpp"
#include "ipc/frame_ring.hpp"
#include "ipc/messages.hpp"

namespace httpapi::client {

using Clock = std::chrono::steady_clock;

// The control socket path: $HTTPAPI_CONTROL, else the service's default for this user.
std::string control_socket_path();

class Channel {
 public:
  Channel() = default;
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Connects and exchanges hellos. Errors: SERVICE_UNAVAILABLE, VERSION_MISMATCH, PROTOCOL.
  httpapi_error open(ipc::Role role);
  // Closes the connection (if any) and forgets buffered input, ready for open() again.
  void reset();
  int fd() const noexcept { return fd_; }
  // The protocol version the service chose in its hello_ack (docs/protocol.md).
  std::uint16_t version() const noexcept { return version_; }

  // Sends one call (an encoded frame tagged `tag`) and waits for its result, on a
  // connection that carries nothing else at that moment. The result's detail goes to
  // httpapi_error_detail(). Errors: the call's status, SERVICE_UNAVAILABLE, PROTOCOL.
  httpapi_error call(std::uint64_t tag, const std::string& frame, std::uint64_t* value);

  // From protocol version 5: later frames without descriptors go through a ring in shared
  // memory when they fit (ipc/frame_ring.hpp), which costs no system call unless the
  // service asked to be woken. Without a memfd here everything keeps using the socket.
  // Errors: as write_all.
  httpapi_error share_ring();
  // From protocol version 6, on a queue connection: the service's later frames (requests
  // above all) come through a second ring when they fit, read without a system call while
  // this process is busy; the service writes a `wake` to the socket only when a reader is
  // about to sleep (docs/protocol.md, *The library's ring*). Errors: as write_all.
  httpapi_error share_library_ring();

  // Hands all of `bytes` (whole frames) to the service: into the ring, or written to the
  // socket (waiting for space as needed). Any thread: serialised. `descriptors` (file
  // chunks) travel with SCM_RIGHTS on the socket, so the service has them once it has read
  // the first byte of `bytes` (docs/protocol.md). Bytes deferred with defer() go first.
  httpapi_error write_all(std::string_view bytes, std::span<const int> descriptors = {});

  // Keeps `bytes` (whole frames the service need not have at once, such as receive
  // credits) for the next write_all or flush_deferred: one system call fewer per request.
  // Any thread. reset() forgets them.
  void defer(std::string_view bytes);
  // Writes what defer() kept, if anything: before a thread blocks waiting for an answer
  // to it. Errors as write_all.
  httpapi_error flush_deferred();

  // Takes what is available from the library's ring and the socket, waiting until
  // `deadline` for something (no deadline: wait forever; deadline in the past: do not
  // wait). One reader at a time. A readable `wake_fd` (an eventfd, drained here) ends the
  // wait early with WOULD_BLOCK. Before it waits, or returns TIMEOUT, it asks the service
  // for a wake-up on its next record, so a caller polling fd() sees that record.
  // Errors: TIMEOUT (nothing arrived), SERVICE_UNAVAILABLE (closed by the service, or its
  // ring's indexes are impossible).
  httpapi_error read_some(const Clock::time_point* deadline, int wake_fd = -1);

  // Takes the next frame, in the order the service wrote them to socket and ring. The
  // views stay valid until the next read_some. false when no complete frame is here; sets
  // `broken` when the bytes can never form one.
  bool take_frame(ipc::Frame& frame, bool& broken);

 private:
  // write_all's loop over the socket. write_mutex_ held.
  httpapi_error send_all(std::string_view bytes, std::span<const int> descriptors);
  // Into the ring, waking the service if it asked. false: no ring, or no room now.
  // write_mutex_ held.
  bool push_to_ring(std::string_view bytes, httpapi_error& result);
  // Reads the socket without waiting; true when bytes came. `closed`: the service closed it.
  bool receive_available(bool& closed);
  // Copies the library ring's records into ring_in_; false when its indexes are impossible.
  bool drain_library_ring();
  // Whether take_frame can take something from the ring now, without socket bytes.
  bool ring_frame_ready() const;
  // Before ring_in_ grows: drops what was taken (take_frame's views end here).
  void compact();

  int fd_ = -1;
  std::uint16_t version_ = 0;
  std::mutex write_mutex_;
  std::string deferred_;  // write_mutex_ held
  ipc::FrameRing ring_;   // write_mutex_ held
  // Bytes written to the socket since it opened: the stamp of each ring record.
  std::uint64_t socket_sent_ = 0;  // write_mutex_ held
  // What was read and not yet taken; the reader's, one at a time.
  std::string in_;
  std::size_t in_start_ = 0;
  ipc::FrameRing library_ring_;         // the service writes, this side reads
  std::string ring_in_;
  std::size_t ring_start_ = 0;
  ipc::FrameMerge merge_;
};

}  // namespace httpapi::client
