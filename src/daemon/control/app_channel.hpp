// One application connection on the control socket: a server session (URL groups) or a
// request-queue handle (requests and responses). Lives on the service loop (loop 0).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/loop/peer_identity.hpp"
#include "daemon/loop/unique_fd.hpp"
#include "ipc/frame.hpp"
#include "ipc/frame_merge.hpp"
#include "ipc/frame_ring.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

class ControlServer;
class EventLoop;

class AppChannel {
 public:
  AppChannel(ControlServer& server, EventLoop& loop, int fd, std::uint64_t id,
             PeerIdentity peer);
  ~AppChannel();
  AppChannel(const AppChannel&) = delete;
  AppChannel& operator=(const AppChannel&) = delete;

  std::uint64_t id() const noexcept { return id_; }
  const PeerIdentity& peer() const noexcept { return peer_; }
  bool greeted() const noexcept { return greeted_; }
  ipc::Role role() const noexcept { return role_; }
  // From protocol version 2 (agreed in the hello) the library reports the requests it hands
  // to application code (`seen`), so that the others can go to another worker.
  bool reports_seen() const noexcept { return version_ >= 2; }
  // Monotonic seconds when it connected: a hello must come soon after.
  unsigned opened_at() const noexcept { return opened_at_; }
  // False once it is closing or a write to it failed: its peer takes nothing more.
  bool writable() const noexcept { return !closing_ && !write_failed_; }

  // Appends to the output buffer, which flush() writes now and flush_soon() at the batch end.
  std::string& output() { return out_; }
  // Appends an unsolicited notice (request_gone, queue_shutdown) that goes to the socket
  // even when the library's ring is shared: it must make the application's queue
  // descriptor readable (httpapi_queue_fd) whether or not the library asked for a wake-up.
  template <typename Notice>
  void notify(const Notice& notice) {
    if (out_routed_ < out_.size()) route_output();
    ipc::encode(out_, notice);
    route_to_socket();
    flush_soon();
  }
  void flush();
  // Has the output written at the end of the current batch of events (ControlServer).
  void flush_soon();
  // Answers the call `call` with a Result and writes it at once.
  void reply(std::uint64_t call, std::uint32_t status, std::uint64_t value = 0,
             std::string_view detail = {});
  // Marks the channel for closing: the service forgets it after the current event.
  void close(std::string_view why);
  bool closing() const noexcept { return closing_; }
  // Moves the next `count` descriptors that arrived with SCM_RIGHTS (file chunks, in the
  // order sent) to `out`. false when fewer arrived: the library broke the protocol.
  bool take_descriptors(std::size_t count, std::vector<UniqueFd>& out);
  // Counted: reading resumes when every pause was matched by a resume.
  void pause_reading(bool pause);
  std::uint16_t version() const noexcept { return version_; }
  // The ring while the service loop is busy (ControlServer::poll_rings): takes what it
  // holds. false when the channel stops being polled: it idled for kIdlePolls turns (its
  // wake-up is then armed), closed, or is paused (resuming reads it again).
  bool poll_ring();
  // The loop is about to sleep: asks the library for a wake-up on its next record, or takes
  // what arrived meanwhile (and is polled again).
  void arm_ring();
  // Frames that came through the socket and through the shared ring (ipc/frame_ring.hpp).
  std::uint64_t frames_by_socket() const noexcept { return frames_by_socket_; }
  std::uint64_t frames_by_ring() const noexcept { return frames_by_ring_; }
  // Bytes of frames to the library by socket and (protocol 6) by its ring.
  std::uint64_t bytes_to_socket() const noexcept { return socket_routed_; }
  std::uint64_t bytes_to_ring() const noexcept { return bytes_to_ring_; }

 private:
  void on_events(std::uint32_t events);
  void on_readable();
  // Processes what was read and what the ring holds; a channel with a ring is then polled
  // while the loop is busy.
  void take_input();
  void process_input();
  // Copies what the ring holds into ring_in_. false (and the channel closed) when its
  // indexes are impossible.
  bool drain_ring();
  void dispatch(const ipc::Frame& frame);
  bool handle_hello(const ipc::Frame& frame);
  // Maps the ring a frame_ring (library_ring_: protocol 6) frame brought; `what` names it.
  void attach(ipc::FrameRing& ring, std::string_view what);
  // Moves what was appended to out_ since the last flush to the library's ring when it
  // fits there, else to the socket's part of out_.
  void route_output();
  void route_to_socket() noexcept {
    socket_routed_ += out_.size() - out_routed_;
    out_routed_ = out_.size();
  }
  // A write failed: the peer is gone, but what it wrote before (a `seen` above all) must
  // count, so the channel reads what is left before it closes.
  void close_after_reading();

  ControlServer& server_;
  EventLoop& loop_;
  int fd_;
  std::uint64_t id_;
  PeerIdentity peer_;
  unsigned opened_at_;
  ipc::Role role_ = ipc::Role::session;
  std::uint16_t version_ = ipc::kProtocolVersion;
  bool write_failed_ = false;
  bool greeted_ = false;
  bool closing_ = false;
  bool want_write_ = false;
  unsigned pauses_ = 0;
  void update_interest();
  ssize_t receive(char* buffer, std::size_t size);
  std::string in_;
  // Socket frames and ring records in the order the library wrote them.
  ipc::FrameMerge merge_;
  ipc::FrameRing ring_;
  static constexpr unsigned kIdlePolls = 64;  // empty polls before the ring is armed
  bool ring_polled_ = false;  // in ControlServer's list of rings to poll
  unsigned idle_polls_ = 0;   // polls in a row that found the ring empty
  std::string ring_in_;  // records copied out of the ring, not yet processed
  std::uint64_t frames_by_socket_ = 0;
  std::uint64_t frames_by_ring_ = 0;
  std::deque<UniqueFd> descriptors_;  // received, not yet claimed by a frame
  std::string out_;
  std::size_t out_sent_ = 0;
  // out_ up to here goes to the socket; what follows was appended since the last flush.
  std::size_t out_routed_ = 0;
  // Protocol 6: frames to the library go into its ring when they fit, each record stamped
  // with the bytes this channel had put on the socket before it (socket_routed_).
  ipc::FrameRing library_ring_;
  std::uint64_t socket_routed_ = 0;
  std::uint64_t bytes_to_ring_ = 0;
};

}  // namespace httpapi::daemon
