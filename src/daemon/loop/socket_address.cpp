#include "daemon/loop/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace httpapi::daemon {
namespace {

// What inet_ntop(AF_INET) writes, without its sprintf per octet: the access log asks for
// the client's address with every request, and glibc's took 1,700 instructions of it
// (bench/profile.sh --access-log w3c).
std::size_t format_ipv4(const unsigned char* bytes, char* out) noexcept {
  char* at = out;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *at++ = '.';
    const unsigned value = bytes[i];
    if (value >= 100) *at++ = static_cast<char>('0' + value / 100);
    if (value >= 10) *at++ = static_cast<char>('0' + value / 10 % 10);
    *at++ = static_cast<char>('0' + value % 10);
  }
  *at = '\0';
  return static_cast<std::size_t>(at - out);
}

}  // namespace

IpText::IpText(const sockaddr_storage& address) noexcept {
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    size_ = format_ipv4(reinterpret_cast<const unsigned char*>(&v4.sin_addr), text_);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      size_ = format_ipv4(&v6.sin6_addr.s6_addr[12], text_);
    } else {
      inet_ntop(AF_INET6, &v6.sin6_addr, text_, sizeof text_);
      size_ = std::strlen(text_);
    }
  }
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
