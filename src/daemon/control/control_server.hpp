// The control socket (state_dir/control.sock) and the application channels on it: accepting
// them, the hello deadline, writing their output once per batch of events, and handing each
// message to the handler registered for its type on its channel's role. Service loop only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

class AppChannel;
class EventLoop;

class ControlServer {
 public:
  using Handler = std::function<void(AppChannel& channel, const ipc::Frame& frame)>;
  using ClosedHandler = std::function<void(AppChannel& channel)>;
  using Channels = std::unordered_map<std::uint64_t, std::unique_ptr<AppChannel>>;

  explicit ControlServer(EventLoop& loop);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Messages of `type` on a channel of `role` go to `handler`; any other closes the channel.
  void handle(ipc::Role role, ipc::Type type, Handler handler);
  // A channel of `role` closed: `handler` releases what it held.
  void on_closed(ipc::Role role, ClosedHandler handler);

  // Listens on the Unix socket `path`, open to every local user (what each may do is decided
  // by its SO_PEERCRED identity). A socket file left by a crashed service is replaced; a live
  // service is not displaced. Throws std::runtime_error when it cannot.
  void listen(const std::string& path);
  const std::string& path() const noexcept { return path_; }
  // An upgrade: the listening socket itself passes between the processes, so the path never
  // stops being connectable. listening_fd() is the old one's, adopt() the new one's start
  // (instead of listen()), stop_accepting() the old one's last act on it.
  int listening_fd() const noexcept { return fd_; }
  void adopt(const std::string& path, int fd);
  void stop_accepting();
  // Drops every channel and removes the socket file (kept when `keep_path`: it belongs to
  // the httpapid that replaced this one).
  void stop(bool keep_path = false);
  // Closes the channels that connected `kHelloSeconds` or more before `now` (monotonic
  // seconds) without a valid hello: they hold a slot for nothing.
  void close_silent(unsigned now);
  static constexpr unsigned kHelloSeconds = 5;

  AppChannel* find(std::uint64_t id);
  const Channels& channels() const noexcept { return channels_; }

  // Output for applications is written once per batch of events: requests from many client
  // connections that became readable together reach an application in one write.
  void flush_soon(AppChannel& channel);
  void flush_queued();

  // From AppChannel: its ring has frames now and then, so it is read after each batch of
  // events while the loop is busy, rather than woken by a write (EventLoop::add_poller).
  void poll_ring_soon(std::uint64_t channel_id);
  // From AppChannel.
  void on_frame(AppChannel& channel, const ipc::Frame& frame);
  void on_channel_closed(AppChannel& channel);

 private:
  void accept();
  void poll_rings();
  void arm_rings();
  static std::uint32_t key(ipc::Role role, std::uint16_t type) {
    return static_cast<std::uint32_t>(role) << 16 | type;
  }

  EventLoop& loop_;
  int fd_ = -1;
  std::string path_;
  std::uint64_t next_id_ = 0;
  Channels channels_;
  std::unordered_map<std::uint32_t, Handler> handlers_;  // by key(role, type)
  std::array<ClosedHandler, 4> closed_;                  // by role
  // The channels to flush at the end of the batch, in the order they were marked, each once.
  // A list searched in full: it holds the few applications a batch wrote to, and a set's
  // node per mark was an allocation per request. `flushing_` is the list being flushed;
  // both keep their capacity.
  std::vector<std::uint64_t> to_flush_;
  std::vector<std::uint64_t> flushing_;
  // The channels whose rings are polled, each once (AppChannel keeps the mark); `polling_`
  // is the list being walked.
  std::vector<std::uint64_t> polled_;
  std::vector<std::uint64_t> polling_;
};

}  // namespace httpapi::daemon
