// The listening endpoints an administrator marked for the PROXY protocol (`httpcfg iplisten
// add --ipport IP:PORT --proxy-protocol --trusted CIDR,...`), and which one a connection
// arrived on. A mark names the local address and port a connection was accepted on, whatever
// socket accepted it: a port listening on every address serves both marked and unmarked
// addresses. "0.0.0.0:PORT" and "[::]:PORT" mark every address of the port; an exact address
// is preferred to them.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/trusted_networks.hpp"

namespace httpapi::proxy {

struct ProxyEndpoint {
  std::string host;  // as tls::parse_endpoint writes it: "127.0.0.2", "::1", "0.0.0.0", "::"
  std::uint16_t port = 0;
  TrustedNetworks trusted;
};

class ProxyEndpoints {
 public:
  // `endpoints` with valid hosts (checked by the caller).
  explicit ProxyEndpoints(std::vector<ProxyEndpoint> endpoints);
  // The endpoint a connection accepted on `local` arrived on, or nullptr when unmarked.
  const ProxyEndpoint* find(const sockaddr_storage& local) const noexcept;
  bool marks_port(std::uint16_t port) const noexcept;
  bool empty() const noexcept { return entries_.empty(); }

 private:
  struct Entry {
    ProxyEndpoint endpoint;
    int family = 0;              // AF_INET or AF_INET6
    std::uint8_t address[16] = {};
    bool any = false;            // 0.0.0.0 or ::: every address of the port
  };
  std::vector<Entry> entries_;
};

}  // namespace httpapi::proxy
