// Reading /proc/net/tcp{,6} for the program that holds a port (daemon/control/port_holder.hpp),
// and naming a real one: this test's own listening socket.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "daemon/control/port_holder.hpp"

namespace d = httpapi::daemon;

namespace {

// Rows as a little-endian machine's kernel prints them (the addresses' words read as
// host-order numbers).
const char* const kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 99 1 0000000000000000 20 4 30 10 -1\n"
    "   3: garbage\n";

const char* const kTcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   998        0 555 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 556 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0000000000000000FFFF00000300007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 557 1 0000000000000000 100 0 0 10 0\n";

bool little_endian() {
  const std::uint16_t one = 1;
  return *reinterpret_cast<const unsigned char*>(&one) == 1;
}

}  // namespace

TEST(PortHolder, ParsesListeningRowsOfTcp) {
  if (!little_endian()) GTEST_SKIP() << "the sample rows are a little-endian kernel's";
  const auto rows = d::parse_proc_listeners(kTcp, false);
  ASSERT_EQ(rows.size(), 2u);  // the established row and the garbage are skipped
  EXPECT_EQ(rows[0].address, "127.0.0.2");
  EXPECT_EQ(rows[0].port, 8080);
  EXPECT_EQ(rows[0].uid, 1000u);
  EXPECT_EQ(rows[0].inode, 4242u);
  EXPECT_EQ(rows[1].address, "0.0.0.0");
  EXPECT_EQ(rows[1].port, 80);
}

TEST(PortHolder, ParsesListeningRowsOfTcp6) {
  if (!little_endian()) GTEST_SKIP() << "the sample rows are a little-endian kernel's";
  const auto rows = d::parse_proc_listeners(kTcp6, true);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].address, "::1");
  EXPECT_EQ(rows[0].uid, 998u);
  EXPECT_EQ(rows[1].address, "::");
  EXPECT_EQ(rows[2].address, "127.0.0.3");  // IPv4-mapped, as a dotted quad
  EXPECT_EQ(rows[2].port, 8080);
}

TEST(PortHolder, Overlaps) {
  EXPECT_TRUE(d::overlaps("", "127.0.0.4"));          // every address: anything collides
  EXPECT_TRUE(d::overlaps("127.0.0.2", "127.0.0.2"));
  EXPECT_FALSE(d::overlaps("127.0.0.2", "127.0.0.4"));
  EXPECT_TRUE(d::overlaps("127.0.0.2", "0.0.0.0"));
  EXPECT_TRUE(d::overlaps("127.0.0.2", "::"));        // maybe dual-stack
  EXPECT_FALSE(d::overlaps("::1", "0.0.0.0"));
  EXPECT_TRUE(d::overlaps("0.0.0.0", "127.0.0.4"));
  EXPECT_FALSE(d::overlaps("0.0.0.0", "::1"));
  EXPECT_TRUE(d::overlaps("::", "::1"));
  EXPECT_FALSE(d::overlaps("::", "127.0.0.4"));
}

TEST(PortHolder, NamesTheProgramHoldingAPort) {
  // This process listens on 127.0.0.5, a child on 127.0.0.6 of the same port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(0x7f000005);  // 127.0.0.5
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::uint16_t port = ntohs(address.sin_port);
  // The caller's own sockets are never "a program outside httpapid".
  EXPECT_EQ(d::describe_port_holder("", port), "");
  // A child holds one: it is named, with its pid.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fd);  // the child holds 127.0.0.6 only
    const int held = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in other = address;
    other.sin_addr.s_addr = htonl(0x7f000006);  // 127.0.0.6, same port
    if (::bind(held, reinterpret_cast<sockaddr*>(&other), sizeof other) != 0 ||
        ::listen(held, 1) != 0) {
      _exit(1);
    }
    char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) _exit(1);
    ::pause();
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(fd);
  const std::string said = d::describe_port_holder("", port);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_NE(said.find("(pid " + std::to_string(child) + ") listens on 127.0.0.6:" +
                      std::to_string(port)),
            std::string::npos)
      << said;
  EXPECT_EQ(said.find("127.0.0.5"), std::string::npos) << said;
}
