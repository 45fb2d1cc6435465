#include "daemon/control/control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "daemon/control/app_channel.hpp"
#include "daemon/loop/event_loop.hpp"
#include "daemon/loop/peer_identity.hpp"

namespace httpapi::daemon {

ControlServer::ControlServer(EventLoop& loop) : loop_(loop) {
  loop_.add_poller([this] { poll_rings(); }, [this] { arm_rings(); });
}

ControlServer::~ControlServer() {
  if (fd_ >= 0) ::close(fd_);
}

void ControlServer::handle(ipc::Role role, ipc::Type type, Handler handler) {
  handlers_[key(role, static_cast<std::uint16_t>(type))] = std::move(handler);
}

void ControlServer::on_closed(ipc::Role role, ClosedHandler handler) {
  closed_.at(static_cast<std::size_t>(role)) = std::move(handler);
}

void ControlServer::listen(const std::string& path) {
  path_ = path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path_.size() >= sizeof address.sun_path) {
    throw std::runtime_error("state directory path too long for a Unix socket: " + path_);
  }
  std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    ::close(probe);
    throw std::runtime_error("another httpapid is already running on " + path_);
  }
  ::close(probe);
  ::unlink(path_.c_str());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd_, 512) != 0) {
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", path_, std::strerror(errno)));
  }
  ::chmod(path_.c_str(), 0666);
  loop_.watch(fd_, EPOLLIN, [this](std::uint32_t) { accept(); });
}

void ControlServer::adopt(const std::string& path, int fd) {
  path_ = path;
  fd_ = fd;
  loop_.watch(fd_, EPOLLIN, [this](std::uint32_t) { accept(); });
}

void ControlServer::stop_accepting() {
  if (fd_ < 0) return;
  loop_.unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
}

void ControlServer::stop(bool keep_path) {
  channels_.clear();
  if (!path_.empty() && !keep_path) ::unlink(path_.c_str());
}

void ControlServer::accept() {
  for (;;) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    PeerIdentity peer;
    if (!read_peer_identity(fd, peer)) {
      ::close(fd);
      continue;
    }
    const std::uint64_t id = ++next_id_;
    channels_[id] = std::make_unique<AppChannel>(*this, loop_, fd, id, peer);
  }
}

void ControlServer::close_silent(unsigned now) {
  std::vector<AppChannel*> silent;
  for (auto& [id, channel] : channels_) {
    if (!channel->greeted() && !channel->closing() && now - channel->opened_at() >= kHelloSeconds) {
      silent.push_back(channel.get());
    }
  }
  for (AppChannel* channel : silent) channel->close("no valid hello within 5 seconds");
}

AppChannel* ControlServer::find(std::uint64_t id) {
  const auto channel = channels_.find(id);
  return channel == channels_.end() ? nullptr : channel->second.get();
}

void ControlServer::flush_soon(AppChannel& channel) {
  if (std::find(to_flush_.begin(), to_flush_.end(), channel.id()) == to_flush_.end()) {
    to_flush_.push_back(channel.id());
  }
}

void ControlServer::flush_queued() {
  while (!to_flush_.empty()) {
    flushing_.swap(to_flush_);
    for (std::uint64_t id : flushing_) {
      if (AppChannel* channel = find(id)) channel->flush();
    }
    flushing_.clear();
  }
}

void ControlServer::poll_ring_soon(std::uint64_t channel_id) {
  polled_.push_back(channel_id);
  loop_.stay_awake();
}

void ControlServer::poll_rings() {
  polling_.swap(polled_);
  for (const std::uint64_t id : polling_) {
    if (AppChannel* channel = find(id); channel && channel->poll_ring()) polled_.push_back(id);
  }
  polling_.clear();
  if (!polled_.empty()) loop_.stay_awake();
}

// A channel that took input while arming is listed again by poll_ring_soon.
void ControlServer::arm_rings() {
  polling_.swap(polled_);
  for (const std::uint64_t id : polling_) {
    if (AppChannel* channel = find(id)) channel->arm_ring();
  }
  polling_.clear();
}

void ControlServer::on_frame(AppChannel& channel, const ipc::Frame& frame) {
  const auto handler = handlers_.find(key(channel.role(), frame.type));
  if (handler != handlers_.end()) return handler->second(channel, frame);
  channel.close(fmt::format("message type {} is not valid on a {} connection", frame.type,
                            static_cast<int>(channel.role())));
}

void ControlServer::on_channel_closed(AppChannel& channel) {
  const auto role = static_cast<std::size_t>(channel.role());
  if (role < closed_.size() && closed_[role]) closed_[role](channel);
  // Forgotten after the current event: the channel may be in the middle of its own handler.
  loop_.post([this, id = channel.id()] { channels_.erase(id); });
}

}  // namespace httpapi::daemon
