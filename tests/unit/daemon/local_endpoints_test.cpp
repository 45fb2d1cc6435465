// An I/O worker's local endpoints: every connection accepted on one address and port shares
// one entry (its address and IP text), which never moves while others are added.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#include "daemon/front/local_endpoints.hpp"

namespace d = httpapi::daemon;

namespace {

sockaddr_storage v4(const char* ip, std::uint16_t port) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  EXPECT_EQ(::inet_pton(AF_INET, ip, &in->sin_addr), 1);
  return storage;
}

sockaddr_storage v6(const char* ip, std::uint16_t port) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in6*>(&storage);
  in->sin6_family = AF_INET6;
  in->sin6_port = htons(port);
  EXPECT_EQ(::inet_pton(AF_INET6, ip, &in->sin6_addr), 1);
  return storage;
}

}  // namespace

TEST(LocalEndpoints, OneEntryPerAddressAndPortThatNeverMoves) {
  d::LocalEndpoints endpoints;
  const d::LocalEndpoint& first = endpoints.find_or_add(v4("127.0.0.1", 8080));
  EXPECT_EQ(first.ip, "127.0.0.1");
  EXPECT_EQ(first.address.port(), 8080);
  for (int i = 0; i < 100; ++i) {  // other ports and addresses, added after it
    endpoints.find_or_add(v4("127.0.0.2", static_cast<std::uint16_t>(9000 + i)));
  }
  EXPECT_EQ(&endpoints.find_or_add(v4("127.0.0.1", 8080)), &first);
  EXPECT_EQ(first.ip, "127.0.0.1");
  const d::LocalEndpoint& other_port = endpoints.find_or_add(v4("127.0.0.1", 8081));
  EXPECT_NE(&other_port, &first);
  EXPECT_EQ(other_port.address.port(), 8081);
}

// What lies past an IPv4 address in a sockaddr_storage is no part of it.
TEST(LocalEndpoints, BytesPastTheAddressDoNotMakeANewEntry) {
  d::LocalEndpoints endpoints;
  sockaddr_storage dirty = v4("10.1.2.3", 80);
  std::memset(reinterpret_cast<char*>(&dirty) + sizeof(sockaddr_in), 0x5a,
              sizeof dirty - sizeof(sockaddr_in));
  EXPECT_EQ(&endpoints.find_or_add(v4("10.1.2.3", 80)), &endpoints.find_or_add(dirty));
}

// An IPv4 client of a dual-stack listener arrives as an IPv4-mapped IPv6 address; routing
// must see it as IPv4 (ip_text), while the address itself stays as accepted.
TEST(LocalEndpoints, IPv6AndMappedIPv4Texts) {
  d::LocalEndpoints endpoints;
  EXPECT_EQ(endpoints.find_or_add(v6("::1", 443)).ip, "::1");
  const d::LocalEndpoint& mapped = endpoints.find_or_add(v6("::ffff:192.0.2.7", 443));
  EXPECT_EQ(mapped.ip, "192.0.2.7");
  EXPECT_EQ(mapped.address.port(), 443);
  const sockaddr_storage back = mapped.address;
  EXPECT_EQ(back.ss_family, AF_INET6);
}
