#include "proxy/proxy_endpoints.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace httpapi::proxy {

ProxyEndpoints::ProxyEndpoints(std::vector<ProxyEndpoint> endpoints) {
  for (ProxyEndpoint& e : endpoints) {
    Entry entry;
    if (inet_pton(AF_INET, e.host.c_str(), entry.address) == 1) {
      entry.family = AF_INET;
      entry.any = e.host == "0.0.0.0";
    } else if (inet_pton(AF_INET6, e.host.c_str(), entry.address) == 1) {
      entry.family = AF_INET6;
      entry.any = e.host == "::";
    } else {
      continue;
    }
    entry.endpoint = std::move(e);
    entries_.push_back(std::move(entry));
  }
}

bool ProxyEndpoints::marks_port(std::uint16_t port) const noexcept {
  for (const Entry& e : entries_) {
    if (e.endpoint.port == port) return true;
  }
  return false;
}

const ProxyEndpoint* ProxyEndpoints::find(const sockaddr_storage& local) const noexcept {
  const sockaddr_storage a = unmapped(local);
  const std::uint8_t* bytes = nullptr;
  std::uint16_t port = 0;
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    bytes = reinterpret_cast<const std::uint8_t*>(&v4->sin_addr);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    bytes = v6->sin6_addr.s6_addr;
    port = ntohs(v6->sin6_port);
  } else {
    return nullptr;
  }
  const ProxyEndpoint* any = nullptr;
  for (const Entry& e : entries_) {
    if (e.endpoint.port != port) continue;
    if (e.any) {
      // "[::]:PORT" marks IPv4 addresses too, as a dual-stack socket on :: serves them.
      if (e.family == a.ss_family || e.family == AF_INET6) any = any ? any : &e.endpoint;
      continue;
    }
    if (e.family == a.ss_family &&
        std::memcmp(e.address, bytes, e.family == AF_INET ? 4 : 16) == 0) {
      return &e.endpoint;
    }
  }
  return any;
}

}  // namespace httpapi::proxy
