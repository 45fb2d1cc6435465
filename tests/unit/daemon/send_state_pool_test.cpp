// The I/O thread's pool of SendStates (a connection's output queue and minimum-send-rate
// judgement while it has output): a state given back is the one the next connection takes,
// clean, and its buffer is the BufferPool's again, so an idle connection holds neither and a
// busy one allocates neither per response. Over a real socket pair and a real file.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "daemon/front/buffer_pool.hpp"
#include "daemon/front/send_state_pool.hpp"
#include "daemon/front/tcp_transport.hpp"

namespace d = httpapi::daemon;

namespace {

struct Pair {
  int reader = -1;
  std::unique_ptr<d::TcpTransport> writer;
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    writer = std::make_unique<d::TcpTransport>(fds[0]);
    reader = fds[1];
  }
  ~Pair() { ::close(reader); }
  std::string read_all() {
    std::string got;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(reader, buffer, sizeof buffer)) > 0) got.append(buffer, n);
    return got;
  }
};

}  // namespace

TEST(SendStatePool, AStateGivenBackIsTheOneTakenNextWithItsBufferPooled) {
  d::BufferPool buffers;
  d::SendStatePool pool(buffers);
  Pair pair;
  std::unique_ptr<d::SendState> state = pool.take();
  d::SendState* const first = state.get();
  state->queue.append("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  while (!state->queue.empty()) ASSERT_GT(state->queue.write_some(*pair.writer, 1 << 20), 0);
  EXPECT_EQ(pair.read_all(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_FALSE(state->queue.holds_memory()) << "an empty queue's buffer goes to the BufferPool";
  std::string pooled = buffers.take();
  EXPECT_GT(pooled.capacity(), d::BufferPool::kInline);
  buffers.give(std::move(pooled));
  pool.give(std::move(state));

  std::unique_ptr<d::SendState> again = pool.take();
  EXPECT_EQ(again.get(), first);
  EXPECT_TRUE(again->queue.empty());
  again->queue.append("next");  // the pooled buffer, through the queue the pool set up
  EXPECT_GT(again->queue.buffered(), 0u);
  while (!again->queue.empty()) ASSERT_GT(again->queue.write_some(*pair.writer, 1 << 20), 0);
  EXPECT_EQ(pair.read_all(), "next");
  pool.give(std::move(again));
}

// A connection closed with output unwritten gives its state back as it is: the bytes are
// dropped, the files' descriptors closed, a buffer too large for the BufferPool freed, and a
// stalled client's debt forgotten.
TEST(SendStatePool, WhatAClosedConnectionLeftUnwrittenIsDropped) {
  d::BufferPool buffers;
  d::SendStatePool pool(buffers);
  std::unique_ptr<d::SendState> state = pool.take();
  char path[] = "/tmp/send-state-XXXXXX";
  const int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  ::unlink(path);
  ASSERT_EQ(::write(file, "0123456789", 10), 10);
  state->queue.append(std::string(200 * 1024, 'x'));
  state->queue.append_file(d::UniqueFd(file), 0, 10);
  state->send_rate.refused(1000);
  EXPECT_TRUE(state->send_rate.too_slow(1, 1, 1000 + 600 * 1000 * 1000ull));
  pool.give(std::move(state));
  EXPECT_EQ(::fcntl(file, F_GETFD), -1) << "the file's descriptor was closed";
  EXPECT_EQ(errno, EBADF);

  std::unique_ptr<d::SendState> again = pool.take();
  EXPECT_TRUE(again->queue.empty());
  EXPECT_EQ(again->queue.files(), 0u);
  EXPECT_FALSE(again->queue.holds_memory());
  EXPECT_FALSE(again->send_rate.too_slow(1, 1, 2000 + 600 * 1000 * 1000ull));
  pool.give(std::move(again));
}
