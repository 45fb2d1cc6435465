// An application's channel over a real socket pair and a real frame ring, driven by turns of
// its event loop: what a peer put in its ring before it went still counts when the channel
// is paused (a slow client's backpressure), whether the service learns of the departure
// from a failed write or from the hang-up itself.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control_fixture.hpp"
#include "ipc/frame.hpp"
#include "ipc/frame_ring.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon::testing {
namespace {

void send_with_descriptor(int socket, const std::string& bytes, int descriptor) {
  iovec io{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&message);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &descriptor, sizeof descriptor);
  ASSERT_EQ(::sendmsg(socket, &message, MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

std::string frame_of_type(ipc::Type type, std::uint64_t tag) {
  std::string out;
  ipc::FrameWriter(out, static_cast<std::uint16_t>(type), tag).finish();
  return out;
}

class AppChannelTest : public ControlFixture {
 protected:
  // A version-5 queue connection that shared its ring; `taken` lists the tags of the
  // create_queue frames the service took from it.
  Application& ring_peer() {
    Application& app = connect(1000);
    std::string bytes;
    ipc::Hello hello;
    hello.role = ipc::Role::queue;
    ipc::encode(bytes, hello);
    ipc::encode(bytes, ipc::FrameRingFrame{});
    int ring_fd = -1;
    std::string why;
    ring_ = ipc::FrameRing::create(ring_fd, why);
    EXPECT_TRUE(ring_.valid()) << why;
    send_with_descriptor(app.fd, bytes, ring_fd);
    ::close(ring_fd);
    socket_bytes_ = bytes.size();
    control_.handle(ipc::Role::queue, ipc::Type::create_queue,
                    [this](AppChannel&, const ipc::Frame& frame) { taken_.push_back(frame.tag); });
    loop_.run_once(0);
    EXPECT_TRUE(app.channel->greeted());
    EXPECT_EQ(app.channel->version(), ipc::kProtocolVersion);
    return app;
  }

  void push(std::uint64_t tag) {
    ASSERT_TRUE(ring_.push(socket_bytes_, frame_of_type(ipc::Type::create_queue, tag), {}));
  }

  static void hang_up(Application& app) {
    ::close(app.fd);
    app.fd = -1;
  }

  ipc::FrameRing ring_;
  std::uint64_t socket_bytes_ = 0;
  std::vector<std::uint64_t> taken_;
};

TEST_F(AppChannelTest, APausedChannelTakesItsRingWhenAWriteFindsThePeerGone) {
  Application& app = ring_peer();
  app.channel->pause_reading(true);
  push(7);
  hang_up(app);
  app.channel->reply(1, 0);  // fails: nobody is there
  loop_.run_once(0);
  EXPECT_EQ(taken_, std::vector<std::uint64_t>{7});
  EXPECT_TRUE(app.channel->closing());
}

// A paused channel's peer that hangs up without the service writing to it: epoll reports the
// hang-up whatever the channel asked for, so a channel that kept waiting for its resume would
// get it again on every turn.
TEST_F(AppChannelTest, APausedChannelWhosePeerHangsUpTakesItsRingAndCloses) {
  Application& app = ring_peer();
  app.channel->pause_reading(true);
  push(8);
  push(9);
  hang_up(app);
  loop_.run_once(0);
  EXPECT_EQ(taken_, (std::vector<std::uint64_t>{8, 9}));
  EXPECT_TRUE(app.channel->closing());
}

// The loop goes idle and arms the ring, but a record came in just before: the channel takes
// it and is polled again, so the library's next push needs no wake-up through the socket.
// (The fixture's channels are not the control server's: its pollers do not reach them, so
// the test calls what they would.)
TEST_F(AppChannelTest, ARingArmedTooLateIsPolledAgainWithoutAskingForAWake) {
  Application& app = ring_peer();
  push(7);
  app.channel->arm_ring();  // the loop going idle
  ASSERT_EQ(taken_, std::vector<std::uint64_t>{7});
  push(8);
  EXPECT_FALSE(ring_.take_wake_request());
  EXPECT_TRUE(app.channel->poll_ring()) << "still polled";
  EXPECT_EQ(taken_, (std::vector<std::uint64_t>{7, 8}));
}

}  // namespace
}  // namespace httpapi::daemon::testing
