// The source networks a PROXY header is believed from (`--trusted 10.0.0.0/8,::1/128`).
// Trust is decided by the real TCP peer of a connection, never by what a header says.
// IPv4-mapped IPv6 peers (what a dual-stack listener reports for an IPv4 client) match the
// IPv4 networks.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace httpapi::proxy {

struct Network {
  bool v6 = false;
  std::uint8_t address[16] = {};  // IPv4 in the first 4 bytes; host bits zero
  unsigned prefix = 0;            // 0-32 or 0-128
};

// "10.0.0.0/8", "::1/128"; a bare address is a whole-length prefix. "" on success, else a
// one-line reason (host bits set: the reason names the network meant).
std::string parse_network(std::string_view text, Network& network);
std::string network_text(const Network& network);  // canonical: "10.0.0.0/8"

bool contains(const Network& network, const sockaddr_storage& address) noexcept;

class TrustedNetworks {
 public:
  TrustedNetworks() = default;
  // A comma-separated list, at least one network. "" on success, else why not.
  std::string parse(std::string_view list);
  bool trusts(const sockaddr_storage& peer) const noexcept;
  std::string text() const;  // canonical, comma-separated
  bool empty() const noexcept { return networks_.empty(); }

 private:
  std::vector<Network> networks_;
};

// `address` with an IPv4-mapped IPv6 address turned into the IPv4 one; others unchanged.
sockaddr_storage unmapped(const sockaddr_storage& address) noexcept;

}  // namespace httpapi::proxy
