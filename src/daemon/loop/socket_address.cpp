#include "daemon/loop/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace httpapi::daemon {

IpText::IpText(const sockaddr_storage& address) noexcept {
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text_, sizeof text_);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], text_, sizeof text_);
    } else {
      inet_ntop(AF_INET6, &v6.sin6_addr, text_, sizeof text_);
    }
  }
  size_ = std::strlen(text_);
}

std::string ip_text(const sockaddr_storage& address) {
  return std::string(std::string_view(IpText(address)));
}

std::uint16_t port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return 0;
}

std::string endpoint_text(const sockaddr_storage& address) {
  std::string ip = ip_text(address);
  const bool bracket = ip.find(':') != std::string::npos;
  std::string text = bracket ? "[" + ip + "]" : ip;
  return text + ":" + std::to_string(port_of(address));
}

}  // namespace httpapi::daemon
