#include "proxy/proxy_endpoints.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace httpapi::proxy {
namespace {

sockaddr_storage endpoint(const char* ip, std::uint16_t port) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  }
  return s;
}

ProxyEndpoint mark(const char* host, std::uint16_t port, const char* trusted) {
  ProxyEndpoint e;
  e.host = host;
  e.port = port;
  EXPECT_EQ(e.trusted.parse(trusted), "");
  return e;
}

TEST(ProxyEndpoints, ExactAddressAndPort) {
  const ProxyEndpoints marks({mark("127.0.0.2", 8080, "127.0.0.1/32")});
  EXPECT_NE(marks.find(endpoint("127.0.0.2", 8080)), nullptr);
  // What a dual-stack listener on :: reports for the same connection.
  EXPECT_NE(marks.find(endpoint("::ffff:127.0.0.2", 8080)), nullptr);
  EXPECT_EQ(marks.find(endpoint("127.0.0.1", 8080)), nullptr);
  EXPECT_EQ(marks.find(endpoint("127.0.0.2", 8081)), nullptr);
  EXPECT_TRUE(marks.marks_port(8080));
  EXPECT_FALSE(marks.marks_port(8081));
}

TEST(ProxyEndpoints, AnyAddressMarksThePortAndExactOnesWin) {
  const ProxyEndpoints marks({mark("0.0.0.0", 80, "10.0.0.0/8"), mark("::", 443, "::1"),
                              mark("127.0.0.5", 80, "127.0.0.1")});
  const ProxyEndpoint* any = marks.find(endpoint("192.0.2.1", 80));
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->host, "0.0.0.0");
  EXPECT_EQ(marks.find(endpoint("::1", 80)), nullptr);  // 0.0.0.0 is IPv4 only
  const ProxyEndpoint* exact = marks.find(endpoint("127.0.0.5", 80));
  ASSERT_NE(exact, nullptr);
  EXPECT_EQ(exact->host, "127.0.0.5");
  EXPECT_NE(marks.find(endpoint("::1", 443)), nullptr);
  EXPECT_NE(marks.find(endpoint("127.0.0.1", 443)), nullptr);  // [::] serves IPv4 too
}

TEST(ProxyEndpoints, NoneMarked) {
  const ProxyEndpoints marks({});
  EXPECT_TRUE(marks.empty());
  EXPECT_EQ(marks.find(endpoint("127.0.0.1", 80)), nullptr);
}

}  // namespace
}  // namespace httpapi::proxy
