// The plain TCP transport over a real loopback TCP connection: what the protocol session
// relies on — reads and gathered writes, file ranges, end of stream in each direction, and
// the reset an abortive close gives the peer.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "daemon/front/tcp_transport.hpp"

namespace d = httpapi::daemon;

namespace {

// A connected loopback pair: `server` is what httpapid would have accepted (non-blocking).
struct Connection {
  int client = -1;
  int server = -1;
  Connection() {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), length), 0);
    server = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    EXPECT_GE(server, 0);
    ::close(listener);
  }
  ~Connection() { ::close(client); }

  std::string client_reads(std::size_t want) {
    std::string got;
    char buffer[4096];
    while (got.size() < want) {
      const ssize_t n = ::read(client, buffer, sizeof buffer);
      if (n <= 0) break;
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return got;
  }
};

TEST(TcpTransport, ReadsWhatThePeerSentAndSaysWhenNothingIsThere) {
  Connection c;
  d::TcpTransport transport(c.server);
  char buffer[16];
  EXPECT_EQ(transport.read(buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(::write(c.client, "hello", 5), 5);
  ssize_t n;
  while ((n = transport.read(buffer, sizeof buffer)) < 0 && errno == EAGAIN) {
  }
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(buffer, 5), "hello");
  ::shutdown(c.client, SHUT_WR);
  while ((n = transport.read(buffer, sizeof buffer)) < 0 && errno == EAGAIN) {
  }
  EXPECT_EQ(n, 0);  // the peer's end of stream
}

TEST(TcpTransport, GatheredWritesArriveInOrder) {
  Connection c;
  d::TcpTransport transport(c.server);
  std::string head = "HTTP/1.1 200 OK\r\n\r\n", body = "body";
  const iovec parts[] = {{head.data(), head.size()}, {body.data(), body.size()}};
  EXPECT_EQ(transport.write(parts), static_cast<ssize_t>(head.size() + body.size()));
  EXPECT_EQ(transport.write("!", 1), 1);
  EXPECT_EQ(c.client_reads(head.size() + body.size() + 1), head + body + "!");
}

TEST(TcpTransport, SendsAFileRangeAndAdvancesTheOffset) {
  Connection c;
  d::TcpTransport transport(c.server);
  char path[] = "/tmp/tcp-transport-XXXXXX";
  const int file = ::mkstemp(path);
  ::unlink(path);
  ASSERT_EQ(::write(file, "0123456789", 10), 10);
  std::uint64_t offset = 3;
  transport.set_cork(true);
  EXPECT_EQ(transport.send_file(file, offset, 4), 4);
  EXPECT_EQ(offset, 7u);
  EXPECT_EQ(transport.send_file(file, offset, 10), 3);  // to the end of the file
  EXPECT_EQ(transport.send_file(file, offset, 10), 0);  // nothing left: the file ended
  transport.set_cork(false);
  EXPECT_EQ(c.client_reads(7), "3456789");
  ::close(file);
}

TEST(TcpTransport, ShutdownWriteEndsTheStreamButKeepsReading) {
  Connection c;
  d::TcpTransport transport(c.server);
  ASSERT_EQ(transport.write("last", 4), 4);
  transport.shutdown_write();
  EXPECT_EQ(c.client_reads(100), "last");  // then end of stream
  ASSERT_EQ(::write(c.client, "late", 4), 4);
  char buffer[8];
  ssize_t n;
  while ((n = transport.read(buffer, sizeof buffer)) < 0 && errno == EAGAIN) {
  }
  EXPECT_EQ(n, 4);
}

TEST(TcpTransport, AResetOnCloseReachesThePeerAsAReset) {
  Connection c;
  d::TcpTransport transport(c.server);
  transport.reset_on_close();
  transport.close();
  EXPECT_EQ(transport.descriptor(), -1);
  transport.close();  // a second close is harmless
  char buffer[8];
  EXPECT_EQ(::read(c.client, buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

TEST(TcpTransport, WritingToAPeerThatIsGoneIsAnErrorNotASignal) {
  Connection c;
  d::TcpTransport transport(c.server);
  const linger reset{1, 0};
  ::setsockopt(c.client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(c.client);
  c.client = ::socket(AF_INET, SOCK_STREAM, 0);  // keep the destructor's close harmless
  ssize_t n = 0;
  for (int i = 0; i < 100 && n >= 0; ++i) n = transport.write("x", 1);
  EXPECT_EQ(n, -1);
  EXPECT_TRUE(errno == EPIPE || errno == ECONNRESET) << errno;
}

}  // namespace
