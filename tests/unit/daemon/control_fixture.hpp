// Real application channels for the service-loop parts: each channel is one end of a Unix
// socket pair, registered on an event loop that most tests never run (they call the parts
// directly); the other end is the application's, from which a test reads what it was sent.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/control/app_channel.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/loop/event_loop.hpp"
#include "daemon/loop/peer_identity.hpp"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon::testing {

struct Application {
  std::unique_ptr<AppChannel> channel;
  int fd = -1;  // the application's end
  ~Application() {
    if (fd >= 0) ::close(fd);
  }
};

class ControlFixture : public ::testing::Test {
 protected:
  // A channel from a process of user `uid` (and group `gid`).
  Application& connect(std::uint32_t uid, std::uint32_t gid = 100) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    PeerIdentity peer;
    peer.pid = 4242;
    peer.uid = uid;
    peer.gid = gid;
    auto& app = *applications_.emplace_back(std::make_unique<Application>());
    app.channel = std::make_unique<AppChannel>(control_, loop_, fds[0], ++ids_, peer);
    app.fd = fds[1];
    return app;
  }

  // The messages the service wrote to `app`, as (type, tag) pairs. (These channels are not
  // the control server's, so output marked for the end of the batch is written here.)
  static std::vector<std::pair<ipc::Type, std::uint64_t>> received(Application& app) {
    app.channel->flush();
    std::string bytes;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(app.fd, buffer, sizeof buffer)) > 0) {
      bytes.append(buffer, static_cast<std::size_t>(n));
    }
    std::vector<std::pair<ipc::Type, std::uint64_t>> messages;
    std::string_view rest = bytes;
    ipc::Frame frame;
    std::size_t consumed = 0;
    while (ipc::next_frame(rest, frame, consumed) == ipc::FrameStatus::complete) {
      messages.emplace_back(static_cast<ipc::Type>(frame.type), frame.tag);
      rest.remove_prefix(consumed);
    }
    return messages;
  }

  // A message as the channel hands it over: `frame` points into `bytes`.
  struct Encoded {
    std::string bytes;
    ipc::Frame frame;
  };
  template <typename Message>
  static std::unique_ptr<Encoded> frame_of(const Message& message) {
    auto encoded = std::make_unique<Encoded>();
    ipc::encode(encoded->bytes, message);
    std::size_t consumed = 0;
    EXPECT_EQ(ipc::next_frame(encoded->bytes, encoded->frame, consumed),
              ipc::FrameStatus::complete);
    return encoded;
  }

  EventLoop loop_{0};
  ControlServer control_{loop_};

 private:
  std::uint64_t ids_ = 0;
  std::vector<std::unique_ptr<Application>> applications_;
};

}  // namespace httpapi::daemon::testing
