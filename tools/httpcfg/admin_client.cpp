#include "admin_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "httpapi/httpapi.h"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace httpcfg {

namespace ipc = httpapi::ipc;

std::string control_socket_path(const std::string& state_dir) {
  if (!state_dir.empty()) return state_dir + "/control.sock";
  if (const char* path = std::getenv("HTTPAPI_CONTROL"); path && *path) return path;
  if (geteuid() == 0) return "/run/httpapi/control.sock";
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/httpapi/control.sock";
  }
  return "/tmp/httpapi-" + std::to_string(geteuid()) + "/control.sock";
}

AdminClient::~AdminClient() {
  if (fd_ >= 0) ::close(fd_);
}

ConnectStatus AdminClient::connect(const std::string& path, std::string& error) {
  path_ = path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = "the control socket path " + path + " is longer than " +
            std::to_string(sizeof address.sun_path - 1) + " bytes";
    return ConnectStatus::failed;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error = std::string("cannot create a socket: ") + std::strerror(errno);
    return ConnectStatus::failed;
  }
  int rc;
  do {
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int e = errno;
    error = std::strerror(e);
    return (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR) ? ConnectStatus::not_running
                                                                : ConnectStatus::failed;
  }

  std::string hello;
  ipc::Hello message;
  message.role = ipc::Role::admin;
  message.min_version = ipc::kMinProtocolVersion;  // administration is the same in each
  ipc::encode(hello, message);
  if (!send_all(hello, error)) return ConnectStatus::failed;
  std::string bytes;
  if (!read_frame(bytes, 10000, error)) return ConnectStatus::failed;
  ipc::Frame frame;
  std::size_t consumed = 0;
  ipc::next_frame(bytes, frame, consumed);
  ipc::HelloAck ack;
  if (!ipc::decode(frame, ack)) {
    error = "httpapid answered the hello with something else (message type " +
            std::to_string(frame.type) + ")";
    return ConnectStatus::failed;
  }
  if (ack.status != HTTPAPI_OK || ack.version < ipc::kMinProtocolVersion ||
      ack.version > ipc::kProtocolVersion) {
    error = "httpapid speaks none of protocol versions " +
            std::to_string(ipc::kMinProtocolVersion) + ".." +
            std::to_string(ipc::kProtocolVersion) + " (hello status " +
            std::to_string(ack.status) + ")";
    return ConnectStatus::failed;
  }
  return ConnectStatus::ok;
}

bool AdminClient::call(const std::string& json, Answer& answer, std::string& error,
                       int timeout_ms) {
  const std::uint64_t id = next_call_++;
  std::string out;
  if (!ipc::encode(out, ipc::AdminCall{id, json})) {
    error = "the command is larger than the protocol allows";
    return false;
  }
  if (!send_all(out, error)) return false;
  for (;;) {
    std::string bytes;
    if (!read_frame(bytes, timeout_ms, error)) return false;
    ipc::Frame frame;
    std::size_t consumed = 0;
    ipc::next_frame(bytes, frame, consumed);
    ipc::Result result;
    if (!ipc::decode(frame, result)) {
      error = "httpapid sent an unexpected message (type " + std::to_string(frame.type) +
              ") instead of the result";
      return false;
    }
    if (result.call != id) continue;  // not ours (cannot happen with one call at a time)
    answer.status = result.status;
    answer.detail.assign(result.detail);
    return true;
  }
}

bool AdminClient::send_all(const std::string& bytes, std::string& error) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    error = std::string("cannot write to the control socket: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool AdminClient::read_frame(std::string& frame_bytes, int timeout_ms, std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ipc::Frame frame;
    std::size_t consumed = 0;
    const auto status = ipc::next_frame(in_, frame, consumed);
    if (status == ipc::FrameStatus::complete) {
      frame_bytes = in_.substr(0, consumed);
      in_.erase(0, consumed);
      return true;
    }
    if (status != ipc::FrameStatus::incomplete) {
      error = "httpapid sent a malformed frame";
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error = "httpapid did not answer within " + std::to_string(timeout_ms / 1000) + " s";
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above reports the timeout
    char buffer[64 * 1024];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      in_.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    error = n == 0 ? std::string("httpapid closed the connection without answering")
                   : std::string("cannot read from the control socket: ") + std::strerror(errno);
    return false;
  }
}

}  // namespace httpcfg
