// One application connection on the control socket: a server session (URL groups) or a
// request-queue handle (requests and responses). Lives on the service loop (loop 0).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "daemon/loop/peer_identity.hpp"
#include "daemon/loop/unique_fd.hpp"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

class EventLoop;
class Service;

class AppChannel {
 public:
  AppChannel(Service& service, EventLoop& loop, int fd, std::uint64_t id, PeerIdentity peer);
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

  // Appends to the output buffer; written at the end of the current loop iteration batch.
  std::string& output() { return out_; }
  void flush();
  // Marks the channel for closing: the service forgets it after the current event.
  void close(std::string_view why);
  bool closing() const noexcept { return closing_; }
  // Moves the next `count` descriptors that arrived with SCM_RIGHTS (file chunks, in the
  // order sent) to `out`. false when fewer arrived: the library broke the protocol.
  bool take_descriptors(std::size_t count, std::vector<UniqueFd>& out);
  // Counted: reading resumes when every pause was matched by a resume.
  void pause_reading(bool pause);

  // Receive credits: requests this process asked for and has not been given yet.
  std::uint32_t credits = 0;
  std::uint64_t queue_id = 0;  // queue role: the queue this handle created or opened
  bool flush_queued = false;   // output waits for the end of the event batch
  unsigned opened_at = 0;      // monotonic seconds; a hello must come soon after
  std::unordered_set<std::uint64_t> delivered;  // requests handed over, not yet answered
  // Of those, the ones application code has not seen, in the order they were handed over:
  // if the process goes, they go back to the front of the queue (reports_seen() only).
  std::deque<std::uint64_t> unseen;
  std::unordered_map<std::uint64_t, std::uint64_t> groups;  // client group id -> service id

 private:
  void on_events(std::uint32_t events);
  void on_readable();
  void process_input();
  bool handle_hello(const ipc::Frame& frame);
  // A write failed: the peer is gone, but what it wrote before (a `seen` above all) must
  // count, so the channel reads what is left before it closes.
  void close_after_reading();

  Service& service_;
  EventLoop& loop_;
  int fd_;
  std::uint64_t id_;
  PeerIdentity peer_;
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
  std::deque<UniqueFd> descriptors_;  // received, not yet claimed by a frame
  std::string out_;
  std::size_t out_sent_ = 0;
};

}  // namespace httpapi::daemon
