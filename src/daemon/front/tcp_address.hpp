// A TCP endpoint as accept() and getsockname() give it, kept in the 28 bytes an IPv6 (or
// IPv4) address takes instead of a sockaddr_storage's 128: every connection keeps two, and
// idle keep-alive connections can be many (bench/idle.sh).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace httpapi::daemon {

class TcpAddress {
 public:
  // Implicit both ways, so that it stands in for the sockaddr_storage it keeps.
  TcpAddress(const sockaddr_storage& address) noexcept {  // NOLINT(google-explicit-constructor)
    std::memcpy(&address_, &address, sizeof address_);
  }
  // Zeroed past the address, as a zero-initialised sockaddr_storage filled by accept() is.
  operator sockaddr_storage() const noexcept {  // NOLINT(google-explicit-constructor)
    sockaddr_storage storage{};
    std::memcpy(&storage, &address_, sizeof address_);
    return storage;
  }
  // The port, which IPv4 and IPv6 keep at the same place; 0 for any other family.
  std::uint16_t port() const noexcept {
    const bool ip = address_.sin6_family == AF_INET || address_.sin6_family == AF_INET6;
    return ip ? ntohs(address_.sin6_port) : 0;
  }

 private:
  static_assert(sizeof(sockaddr_in) <= sizeof(sockaddr_in6));
  sockaddr_in6 address_;  // a sockaddr_in in its first bytes for IPv4
};

}  // namespace httpapi::daemon
