// Text forms of socket addresses, as logs, routing and applications want them.
#pragma once

#include <sys/socket.h>

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace httpapi::daemon {

// "1.2.3.4" or "::1"; IPv4-mapped IPv6 addresses are shown as IPv4, since a dual-stack
// listener reports IPv4 clients that way and routing must treat them as IPv4.
std::string ip_text(const sockaddr_storage& address);
// The same text in place, for a caller that only reads it (a log line): no allocation.
class IpText {
 public:
  explicit IpText(const sockaddr_storage& address) noexcept;
  operator std::string_view() const noexcept {  // NOLINT(google-explicit-constructor)
    return {text_, size_};
  }

 private:
  char text_[INET6_ADDRSTRLEN] = {};
  std::size_t size_ = 0;
};
std::uint16_t port_of(const sockaddr_storage& address);
// "1.2.3.4:80" or "[::1]:80".
std::string endpoint_text(const sockaddr_storage& address);

}  // namespace httpapi::daemon
