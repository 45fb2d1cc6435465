// The text of an address, as the logs, routing and applications get it: IpText formats IPv4
// itself (it runs for every logged request), so it is held to inet_ntop's output for every
// value each octet can take, in every position.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>

#include "daemon/loop/socket_address.hpp"

namespace d = httpapi::daemon;

namespace {

sockaddr_storage v4(const unsigned char (&bytes)[4]) {
  sockaddr_storage storage{};
  auto& a = reinterpret_cast<sockaddr_in&>(storage);
  a.sin_family = AF_INET;
  std::memcpy(&a.sin_addr, bytes, 4);
  return storage;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage storage{};
  auto& a = reinterpret_cast<sockaddr_in6&>(storage);
  a.sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, text, &a.sin6_addr), 1) << text;
  return storage;
}

std::string inet_ntop_v4(const unsigned char (&bytes)[4]) {
  char text[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, bytes, text, sizeof text);
}

}  // namespace

TEST(IpText, IPv4IsWhatInetNtopWrites) {
  const unsigned char others[] = {0, 1, 9, 10, 99, 100, 199, 200, 255};
  for (int position = 0; position < 4; ++position) {
    for (unsigned value = 0; value < 256; ++value) {
      for (const unsigned char other : others) {
        unsigned char bytes[4] = {other, other, other, other};
        bytes[position] = static_cast<unsigned char>(value);
        ASSERT_EQ(std::string_view(d::IpText(v4(bytes))), inet_ntop_v4(bytes));
      }
    }
  }
  const unsigned char widest[4] = {255, 255, 255, 255};
  EXPECT_EQ(std::string_view(d::IpText(v4(widest))), "255.255.255.255");
  EXPECT_EQ(d::ip_text(v4(widest)), "255.255.255.255");
}

TEST(IpText, MappedIPv4IsShownAsIPv4AndIPv6AsInetNtopWritesIt) {
  EXPECT_EQ(std::string_view(d::IpText(v6("::ffff:192.0.2.7"))), "192.0.2.7");
  EXPECT_EQ(std::string_view(d::IpText(v6("::ffff:0.0.0.0"))), "0.0.0.0");
  EXPECT_EQ(std::string_view(d::IpText(v6("::1"))), "::1");
  EXPECT_EQ(std::string_view(d::IpText(v6("2001:db8::ff00:42:8329"))), "2001:db8::ff00:42:8329");
  const std::string widest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  EXPECT_EQ(std::string_view(d::IpText(v6(widest.c_str()))), widest);
}

TEST(IpText, AnotherFamilyIsEmpty) {
  sockaddr_storage unix_address{};
  unix_address.ss_family = AF_UNIX;
  EXPECT_EQ(std::string_view(d::IpText(unix_address)), "");
}
