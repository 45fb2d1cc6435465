#include "daemon/control/app_channel.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "daemon/control/control_server.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/loop/event_loop.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {

AppChannel::AppChannel(ControlServer& server, EventLoop& loop, int fd, std::uint64_t id,
                       PeerIdentity peer)
    : server_(server), loop_(loop), fd_(fd), id_(id), peer_(peer),
      opened_at_(monotonic_seconds()) {
  loop_.watch(fd_, EPOLLIN | EPOLLRDHUP, [this](std::uint32_t events) { on_events(events); });
}

AppChannel::~AppChannel() {
  loop_.unwatch(fd_);
  ::close(fd_);
}

void AppChannel::close(std::string_view why) {
  if (closing_) return;
  closing_ = true;
  if (!why.empty()) {
    diagnose("httpapid: application pid {} uid {} disconnected: {}\n", peer_.pid,
             peer_.uid, why);
  }
  server_.on_channel_closed(*this);
}

void AppChannel::flush_soon() { server_.flush_soon(*this); }

void AppChannel::reply(std::uint64_t call, std::uint32_t status, std::uint64_t value,
                       std::string_view detail) {
  ipc::encode(out_, ipc::Result{call, status, value, detail});
  flush();
}

void AppChannel::on_events(std::uint32_t events) {
  if (closing_) return;
  if (events & EPOLLOUT) flush();
  // epoll reports a hang-up whatever was asked for: a paused channel would get it on every
  // turn until its resume. The peer is gone; what it wrote is taken now, and it closes.
  if ((events & (EPOLLHUP | EPOLLERR)) && pauses_ > 0) return close_after_reading();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable();
}

void AppChannel::on_readable() {
  char buffer[64 * 1024];
  // A bounded read per event: an application writing as fast as we read would otherwise
  // keep this loop going, and its responses would pile up here before any slow client's
  // backpressure (pause_reading) could take effect. Epoll calls again for the rest.
  for (int reads = 0; reads < 4 && pauses_ == 0; ++reads) {
    const ssize_t n = receive(buffer, sizeof buffer);
    if (n > 0) {
      in_.append(buffer, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buffer) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    const bool broken = n < 0 && errno == EPROTO;
    process_input();  // whatever arrived before the close still counts
    if (!closing_) close(broken ? "descriptors the protocol does not allow" : "");
    return;
  }
  take_input();
}

void AppChannel::take_input() {
  process_input();
  if (ring_.valid() && !closing_ && pauses_ == 0) {
    idle_polls_ = 0;
    if (!std::exchange(ring_polled_, true)) server_.poll_ring_soon(id_);
  }
  flush();
}

bool AppChannel::poll_ring() {
  if (closing_ || pauses_ > 0) {
    ring_polled_ = false;
    return false;
  }
  if (ring_.has_records()) {
    take_input();
    return ring_polled_;
  }
  if (++idle_polls_ < kIdlePolls) return true;
  arm_ring();  // polled again only if a record arrived meanwhile
  return false;
}

void AppChannel::arm_ring() {
  ring_polled_ = false;
  if (closing_ || pauses_ > 0 || !ring_.arm_wake()) return;
  // A record came in meanwhile: the ring is polled again, so no wake-up is wanted.
  ring_.disarm_wake();
  take_input();
}

// A read that also collects the descriptors of file chunks. The control buffer holds the
// kernel's most per message (SCM_MAX_FD), so none is ever cut off; if one were, the frames
// and descriptors could no longer be matched and the peer is dropped.
ssize_t AppChannel::receive(char* buffer, std::size_t size) {
  constexpr std::size_t kMaxDescriptors = 253;  // SCM_MAX_FD
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxDescriptors)];
  iovec io{buffer, size};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd_, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      descriptors_.emplace_back(fd);
    }
  }
  // Descriptors are claimed by the frames read with them; a peer that sends them without
  // frames would otherwise fill httpapid's descriptor table.
  constexpr std::size_t kMaxUnclaimed = 4 * kMaxDescriptors;
  if ((message.msg_flags & MSG_CTRUNC) || descriptors_.size() > kMaxUnclaimed) {
    errno = EPROTO;
    return -1;
  }
  return n;
}

bool AppChannel::take_descriptors(std::size_t count, std::vector<UniqueFd>& out) {
  if (descriptors_.size() < count) return false;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(std::move(descriptors_.front()));
    descriptors_.pop_front();
  }
  return true;
}

// Socket frames and ring records merged in the order the library wrote them
// (ipc/frame_merge.hpp). The socket is read before the ring is drained, so a record written
// before socket bytes we hold is always in ring_in_ by now.
void AppChannel::process_input() {
  if (pauses_ == 0 && !drain_ring()) return;
  std::size_t at = 0;
  std::size_t ring_at = 0;
  while (!closing_) {
    ipc::Frame frame;
    const ipc::FrameMerge::Step step = merge_.next(
        std::string_view(in_).substr(at), std::string_view(ring_in_).substr(ring_at), frame);
    if (step.status == ipc::FrameMerge::Status::malformed) return close(step.why);
    at += step.socket_used;
    ring_at += step.ring_used;
    if (step.status == ipc::FrameMerge::Status::incomplete) break;
    ++(step.from_ring ? frames_by_ring_ : frames_by_socket_);
    if (!greeted_) {
      if (!handle_hello(frame)) return;
      continue;
    }
    dispatch(frame);
  }
  in_.erase(0, at);
  ring_in_.erase(0, ring_at);
}

bool AppChannel::drain_ring() {
  if (!ring_.valid() || ring_.drain(ring_in_)) return true;
  close("its frame ring's indexes are out of bounds");
  return false;
}

// The ring's own frames are the channel's business; the rest go to the role's handlers.
void AppChannel::dispatch(const ipc::Frame& frame) {
  if (ipc::Wake wake; ipc::decode(frame, wake)) return;
  if (ipc::FrameRingFrame ring; version_ >= 5 && ipc::decode(frame, ring)) {
    return attach(ring_, "frame ring");
  }
  if (ipc::LibraryRingFrame ring; version_ >= 6 && ipc::decode(frame, ring)) {
    return attach(library_ring_, "library ring");
  }
  server_.on_frame(*this, frame);
}

// One ring of each kind per connection, each sent with its descriptor.
void AppChannel::attach(ipc::FrameRing& ring, std::string_view what) {
  std::vector<UniqueFd> descriptor;
  if (ring.valid() || !take_descriptors(1, descriptor)) {
    return close(fmt::format("a {} it may not send", what));
  }
  std::string why;
  ring = ipc::FrameRing::attach(descriptor.front().get(), why);
  if (!ring.valid()) close(why);
}

bool AppChannel::handle_hello(const ipc::Frame& frame) {
  ipc::Hello hello;
  if (!ipc::decode(frame, hello)) {
    close("first message is not a valid hello");
    return false;
  }
  ipc::HelloAck ack;
  ack.peer_id = id_;
  if (hello.min_version > ipc::kProtocolVersion || hello.max_version < ipc::kMinProtocolVersion ||
      hello.min_version > hello.max_version) {
    ack.status = HTTPAPI_ERROR_VERSION_MISMATCH;
    ipc::encode(out_, ack);
    flush();
    close(fmt::format("protocol versions {}..{} not supported", hello.min_version,
                      hello.max_version));
    return false;
  }
  role_ = hello.role;
  version_ = std::min(hello.max_version, ipc::kProtocolVersion);
  greeted_ = true;
  ack.version = version_;
  ipc::encode(out_, ack);
  return true;
}

// The library may write anything into the ring's control page; FrameRing::push never trusts
// it past the ring's bounds, and a ring it spoiled only sends its frames to the socket.
void AppChannel::route_output() {
  const std::string_view fresh = std::string_view(out_).substr(out_routed_);
  if (library_ring_.valid() && library_ring_.push(socket_routed_, fresh, {})) {
    bytes_to_ring_ += fresh.size();
    out_.resize(out_routed_);
    if (!library_ring_.take_wake_request()) return;
    ipc::encode(out_, ipc::Wake{});
  }
  route_to_socket();
}

void AppChannel::flush() {
  if (write_failed_) return;
  if (out_routed_ < out_.size()) route_output();
  while (out_sent_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    out_.clear();
    out_sent_ = 0;
    out_routed_ = 0;
    write_failed_ = true;  // no more requests for a peer that is gone (writable())
    close_after_reading();
    return;
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    out_routed_ = 0;
  } else if (out_sent_ > 1024 * 1024) {
    out_.erase(0, out_sent_);
    out_routed_ -= out_sent_;
    out_sent_ = 0;
  }
  if (want_write_ != !out_.empty()) {
    want_write_ = !out_.empty();
    update_interest();
  }
}

// Deferred: a flush may run in the middle of process_input, which must finish first.
void AppChannel::close_after_reading() {
  loop_.post([this] {
    if (closing_) return;
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = receive(buffer, sizeof buffer);
      if (n > 0) {
        in_.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    // Paused or not, what the peer put in its ring before it went counts as its last bytes.
    if (!drain_ring()) return;
    process_input();
    if (!closing_) close({});
  });
}

void AppChannel::pause_reading(bool pause) {
  if (pause) {
    ++pauses_;
  } else if (pauses_ > 0) {
    --pauses_;
  }
  update_interest();
  if (!pause && pauses_ == 0 && !closing_) on_readable();  // what arrived meanwhile
}

void AppChannel::update_interest() {
  if (closing_) return;
  const std::uint32_t read = pauses_ == 0 ? EPOLLIN | EPOLLRDHUP : 0u;
  loop_.modify(fd_, read | (want_write_ ? EPOLLOUT : 0u));
}

}  // namespace httpapi::daemon
