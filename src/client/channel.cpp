#include "client/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace httpapi::client {

void set_error_detail(std::string_view detail);

namespace {

int remaining_ms(const Clock::time_point* deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return left.count() > INT32_MAX ? INT32_MAX : static_cast<int>(left.count());
}

}  // namespace

std::string control_socket_path() {
  if (const char* path = std::getenv("HTTPAPI_CONTROL"); path && *path) return path;
  if (geteuid() == 0) return "/run/httpapi/control.sock";
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/httpapi/control.sock";
  }
  return "/tmp/httpapi-" + std::to_string(geteuid()) + "/control.sock";
}

Channel::~Channel() { reset(); }

void Channel::reset() {
  std::lock_guard lock(write_mutex_);  // a sender on another thread never writes a stale fd
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  deferred_.clear();
  ring_ = {};
  socket_sent_ = 0;
  in_.clear();
  in_start_ = 0;
  library_ring_ = {};
  ring_in_.clear();
  ring_start_ = 0;
  merge_ = {};
}

httpapi_error Channel::call(std::uint64_t tag, const std::string& frame, std::uint64_t* value) {
  if (httpapi_error e = write_all(frame); e != HTTPAPI_OK) return e;
  for (;;) {
    ipc::Frame reply;
    bool malformed = false;
    if (take_frame(reply, malformed)) {
      ipc::Result result;
      if (!ipc::decode(reply, result) || result.call != tag) return HTTPAPI_ERROR_PROTOCOL;
      if (value) *value = result.value;
      set_error_detail(result.detail);
      return static_cast<httpapi_error>(result.status);
    }
    if (malformed) return HTTPAPI_ERROR_PROTOCOL;
    if (read_some(nullptr) != HTTPAPI_OK) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
}

httpapi_error Channel::open(ipc::Role role) {
  reset();
  const std::string path = control_socket_path();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return HTTPAPI_ERROR_NO_MEMORY;
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
  std::string hello;
  ipc::Hello message;
  message.role = role;
  message.min_version = ipc::kMinProtocolVersion;  // an older service still serves us
  ipc::encode(hello, message);
  if (httpapi_error e = write_all(hello); e != HTTPAPI_OK) return e;
  // The hello is answered at once; a service that does not answer within a few seconds
  // is not one we can talk to.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    ipc::Frame frame;
    bool broken = false;
    if (take_frame(frame, broken)) {
      ipc::HelloAck ack;
      if (!ipc::decode(frame, ack)) return HTTPAPI_ERROR_PROTOCOL;
      if (ack.status != HTTPAPI_OK) return static_cast<httpapi_error>(ack.status);
      if (ack.version < ipc::kMinProtocolVersion || ack.version > ipc::kProtocolVersion) {
        return HTTPAPI_ERROR_VERSION_MISMATCH;
      }
      version_ = ack.version;
      return HTTPAPI_OK;
    }
    if (broken) return HTTPAPI_ERROR_PROTOCOL;
    if (httpapi_error e = read_some(&deadline); e != HTTPAPI_OK) {
      return e == HTTPAPI_ERROR_TIMEOUT ? HTTPAPI_ERROR_SERVICE_UNAVAILABLE : e;
    }
  }
}

namespace {

// One send; with descriptors, a sendmsg that carries them along with the bytes.
ssize_t send_with(int fd, std::string_view bytes, std::span<const int> descriptors) {
  if (descriptors.empty()) {
    return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  constexpr std::size_t kMost = 253;  // SCM_MAX_FD
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMost)];
  if (descriptors.size() > kMost) {
    errno = EINVAL;
    return -1;
  }
  iovec io{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = CMSG_SPACE(sizeof(int) * descriptors.size());
  cmsghdr* c = CMSG_FIRSTHDR(&message);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * descriptors.size());
  std::memcpy(CMSG_DATA(c), descriptors.data(), sizeof(int) * descriptors.size());
  return ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

void Channel::defer(std::string_view bytes) {
  if (bytes.empty()) return;  // most receives: the window is full, nothing to ask for
  std::lock_guard lock(write_mutex_);
  deferred_.append(bytes);
}

httpapi_error Channel::flush_deferred() {
  {
    std::lock_guard lock(write_mutex_);
    if (deferred_.empty()) return HTTPAPI_OK;
  }
  return write_all({});
}

httpapi_error Channel::share_ring() {
  if (version_ < 5) return HTTPAPI_OK;
  int fd = -1;
  std::string why;
  ipc::FrameRing ring = ipc::FrameRing::create(fd, why);
  if (!ring.valid()) return HTTPAPI_OK;
  std::string frame;
  ipc::encode(frame, ipc::FrameRingFrame{});
  const int descriptors[] = {fd};
  const httpapi_error e = write_all(frame, descriptors);
  ::close(fd);
  if (e != HTTPAPI_OK) return e;
  std::lock_guard lock(write_mutex_);
  ring_ = std::move(ring);
  return HTTPAPI_OK;
}

httpapi_error Channel::share_library_ring() {
  if (version_ < 6) return HTTPAPI_OK;
  int fd = -1;
  std::string why;
  ipc::FrameRing ring = ipc::FrameRing::create(fd, why);
  if (!ring.valid()) return HTTPAPI_OK;  // the service keeps writing to the socket
  // Ours before the frame leaves: the service may answer through the ring at once.
  library_ring_ = std::move(ring);
  std::string frame;
  ipc::encode(frame, ipc::LibraryRingFrame{});
  const int descriptors[] = {fd};
  const httpapi_error e = write_all(frame, descriptors);
  ::close(fd);
  return e;
}

bool Channel::push_to_ring(std::string_view bytes, httpapi_error& result) {
  if (!ring_.valid() || !ring_.push(socket_sent_, deferred_, bytes)) return false;
  deferred_.clear();
  result = HTTPAPI_OK;
  if (ring_.take_wake_request()) {
    static const std::string wake = [] {
      std::string frame;
      ipc::encode(frame, ipc::Wake{});
      return frame;
    }();
    result = send_all(wake, {});
  }
  return true;
}

// Deferred bytes and `bytes` go out together from deferred_, which keeps its capacity for
// the next defer: no buffer is allocated per write.
httpapi_error Channel::write_all(std::string_view bytes, std::span<const int> descriptors) {
  std::lock_guard lock(write_mutex_);
  if (fd_ < 0) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  // flush_deferred's write after another thread took what it saw deferred: nothing to do
  // (an empty ring record would be legal, only useless).
  if (bytes.empty() && deferred_.empty() && descriptors.empty()) return HTTPAPI_OK;
  httpapi_error pushed;
  if (descriptors.empty() && push_to_ring(bytes, pushed)) return pushed;
  if (deferred_.empty()) return send_all(bytes, descriptors);
  deferred_.append(bytes);
  const httpapi_error e = send_all(deferred_, descriptors);
  deferred_.clear();
  return e;
}

httpapi_error Channel::send_all(std::string_view bytes, std::span<const int> descriptors) {
  while (!bytes.empty()) {
    const ssize_t n = send_with(fd_, bytes, descriptors);
    if (n > 0) {
      socket_sent_ += static_cast<std::uint64_t>(n);
      descriptors = {};  // they went with the first bytes
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
  return HTTPAPI_OK;
}

namespace {

// Drops the bytes before `start` once they are all of `buffer`, or many.
void drop_taken(std::string& buffer, std::size_t& start) {
  if (start == buffer.size()) {
    buffer.clear();
    start = 0;
  } else if (start > 256 * 1024) {
    buffer.erase(0, start);
    start = 0;
  }
}

}  // namespace

void Channel::compact() {
  drop_taken(in_, in_start_);
  drop_taken(ring_in_, ring_start_);
}

bool Channel::drain_library_ring() {
  return !library_ring_.valid() || library_ring_.drain(ring_in_);
}

// A record can be taken once every socket byte written before it is here: those taken, and
// those read and not yet taken.
bool Channel::ring_frame_ready() const {
  if (merge_.inside_record()) return true;
  std::uint64_t stamp = 0;
  std::string_view frames;
  std::size_t size = 0;
  switch (ipc::next_ring_record(std::string_view(ring_in_).substr(ring_start_), stamp, frames,
                                size)) {
    case ipc::RingRecordStatus::complete:
      return stamp <= merge_.socket_taken() + (in_.size() - in_start_);
    case ipc::RingRecordStatus::malformed:
      return true;  // take_frame says so
    case ipc::RingRecordStatus::incomplete:
      return false;
  }
  return false;
}

bool Channel::receive_available(bool& closed) {
  char buffer[64 * 1024];
  bool got = false;
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buffer, static_cast<std::size_t>(n));
      got = true;
      if (static_cast<std::size_t>(n) < sizeof buffer) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    return got;
  }
}

// The ring first: while the service keeps it filled, reading costs no system call. The
// socket is read when the ring has nothing, or nothing that may go before the socket's bytes.
httpapi_error Channel::read_some(const Clock::time_point* deadline, int wake_fd) {
  compact();
  for (;;) {
    if (!drain_library_ring()) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
    if (ring_frame_ready()) return HTTPAPI_OK;
    // The service is asked for a wake-up before this thread sleeps (and before a caller
    // that polls fd() does); a record it pushed meanwhile is taken instead.
    if (library_ring_.valid() && library_ring_.arm_wake()) {
      library_ring_.disarm_wake();
      continue;
    }
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int ready = ::poll(p, wake_fd >= 0 ? 2 : 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return HTTPAPI_ERROR_TIMEOUT;  // the wake-up stays asked for
    if (library_ring_.valid()) library_ring_.disarm_wake();  // awake: none is wanted now
    if (p[1].revents & POLLIN) {
      std::uint64_t count;
      while (::read(wake_fd, &count, sizeof count) > 0) {
      }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) return HTTPAPI_ERROR_WOULD_BLOCK;
    }
    // Every record the service pushed before it wrote the bytes read here is drained
    // after the read, so take_frame never passes one by.
    bool closed = false;
    if (receive_available(closed)) {
      return drain_library_ring() ? HTTPAPI_OK : HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
    }
    if (closed) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
}

bool Channel::take_frame(ipc::Frame& frame, bool& broken) {
  for (;;) {
    const ipc::FrameMerge::Step step =
        merge_.next(std::string_view(in_).substr(in_start_),
                    std::string_view(ring_in_).substr(ring_start_), frame);
    in_start_ += step.socket_used;
    ring_start_ += step.ring_used;
    if (step.status != ipc::FrameMerge::Status::frame) {
      broken = step.status == ipc::FrameMerge::Status::malformed;
      return false;
    }
    if (ipc::Wake wake; !ipc::decode(frame, wake)) return true;  // a wake-up was only that
  }
}

}  // namespace httpapi::client
