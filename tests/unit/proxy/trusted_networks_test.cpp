#include "proxy/trusted_networks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace httpapi::proxy {
namespace {

sockaddr_storage address(const char* text) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    ADD_FAILURE() << text;
  }
  return s;
}

TEST(TrustedNetworks, Ipv4Prefixes) {
  TrustedNetworks t;
  ASSERT_EQ(t.parse("127.0.0.1/32,10.0.0.0/8,192.168.4.0/22"), "");
  EXPECT_TRUE(t.trusts(address("127.0.0.1")));
  EXPECT_FALSE(t.trusts(address("127.0.0.3")));
  EXPECT_TRUE(t.trusts(address("10.255.1.2")));
  EXPECT_FALSE(t.trusts(address("11.0.0.1")));
  EXPECT_TRUE(t.trusts(address("192.168.7.255")));
  EXPECT_FALSE(t.trusts(address("192.168.8.0")));
  EXPECT_FALSE(t.trusts(address("::1")));
  EXPECT_EQ(t.text(), "127.0.0.1/32,10.0.0.0/8,192.168.4.0/22");
}

TEST(TrustedNetworks, MappedIpv4PeersMatchIpv4Networks) {
  TrustedNetworks t;
  ASSERT_EQ(t.parse("127.0.0.1"), "");
  EXPECT_TRUE(t.trusts(address("::ffff:127.0.0.1")));
  EXPECT_FALSE(t.trusts(address("::ffff:127.0.0.3")));
  EXPECT_EQ(t.text(), "127.0.0.1/32");
}

TEST(TrustedNetworks, Ipv6Prefixes) {
  TrustedNetworks t;
  ASSERT_EQ(t.parse("::1/128,fd00::/8,2001:db8:0:2::/63"), "");
  EXPECT_TRUE(t.trusts(address("::1")));
  EXPECT_FALSE(t.trusts(address("::2")));
  EXPECT_TRUE(t.trusts(address("fdff::1")));
  EXPECT_FALSE(t.trusts(address("fe00::1")));
  EXPECT_TRUE(t.trusts(address("2001:db8:0:3::1")));
  EXPECT_FALSE(t.trusts(address("2001:db8:0:4::1")));
  EXPECT_FALSE(t.trusts(address("127.0.0.1")));
  EXPECT_EQ(t.text(), "::1/128,fd00::/8,2001:db8:0:2::/63");
}

TEST(TrustedNetworks, ZeroPrefixTrustsTheWholeFamily) {
  TrustedNetworks t;
  ASSERT_EQ(t.parse("0.0.0.0/0"), "");
  EXPECT_TRUE(t.trusts(address("203.0.113.9")));
  EXPECT_FALSE(t.trusts(address("2001:db8::1")));
}

TEST(TrustedNetworks, Rejections) {
  TrustedNetworks t;
  EXPECT_NE(t.parse(""), "");
  EXPECT_NE(t.parse("10.0.0.0/8,"), "");
  EXPECT_NE(t.parse("10.0.0.0/33"), "");
  EXPECT_NE(t.parse("::/129"), "");
  EXPECT_NE(t.parse("10.0.0.0/"), "");
  EXPECT_NE(t.parse("10.0.0.0/x"), "");
  EXPECT_NE(t.parse("example.com/8"), "");
  EXPECT_EQ(t.parse("10.1.2.3/8"), "'10.1.2.3/8' has bits set past its prefix; the network is 10.0.0.0/8");
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace httpapi::proxy
