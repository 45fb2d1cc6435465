// A TCP endpoint as accept() and getsockname() give it, kept in the 28 bytes an IPv6 (or
// IPv4) address takes instead of a sockaddr_storage's 128: every connection keeps two, and
// idle keep-alive connections can be many (bench/idle.sh).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

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

 private:
  static_assert(sizeof(sockaddr_in) <= sizeof(sockaddr_in6));
  sockaddr_in6 address_;  // a sockaddr_in in its first bytes for IPv4
};

}  // namespace httpapi::daemon
