// The local endpoints (address and port) an I/O worker's connections were accepted on, each
// kept once with its IP's text: routing reads the text on every request, and every
// connection would otherwise carry both (idle keep-alive connections can be many:
// bench/idle.sh). They are the host's own addresses on its listening ports, so few: they are
// kept for the worker's life. Loop thread only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <map>
#include <string>

#include "daemon/front/tcp_address.hpp"
#include "daemon/loop/socket_address.hpp"

namespace httpapi::daemon {

struct LocalEndpoint {
  TcpAddress address;
  std::string ip;  // ip_text(address)
};

class LocalEndpoints {
 public:
  // The entry for `local`, added the first time; it never moves (a map node).
  const LocalEndpoint& find_or_add(const sockaddr_storage& local) {
    auto [it, added] = endpoints_.try_emplace(key_of(local), LocalEndpoint{local, {}});
    if (added) it->second.ip = ip_text(local);
    return it->second;
  }

 private:
  // The family's own bytes only: what lies past them in a sockaddr_storage is not part of
  // the address.
  using Key = std::array<unsigned char, sizeof(sockaddr_in6)>;
  static Key key_of(const sockaddr_storage& address) noexcept {
    Key key{};
    const std::size_t size =
        address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::memcpy(key.data(), &address, size);
    return key;
  }

  std::map<Key, LocalEndpoint> endpoints_;
};

}  // namespace httpapi::daemon
