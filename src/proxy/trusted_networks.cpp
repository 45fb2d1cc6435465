#include "proxy/trusted_networks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

namespace httpapi::proxy {
namespace {

// Whether the first `prefix` bits of `a` and `b` agree.
bool same_prefix(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) noexcept {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

Network masked(Network n) noexcept {
  const unsigned bytes = n.v6 ? 16 : 4;
  for (unsigned bit = n.prefix; bit < bytes * 8; ++bit) {
    n.address[bit / 8] = static_cast<std::uint8_t>(n.address[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return n;
}

bool host_bits_zero(const Network& n) noexcept {
  return std::memcmp(masked(n).address, n.address, n.v6 ? 16 : 4) == 0;
}

}  // namespace

sockaddr_storage unmapped(const sockaddr_storage& address) noexcept {
  if (address.ss_family != AF_INET6) return address;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) return address;
  sockaddr_storage out{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  v4->sin_family = AF_INET;
  v4->sin_port = v6->sin6_port;
  std::memcpy(&v4->sin_addr, v6->sin6_addr.s6_addr + 12, 4);
  return out;
}

std::string parse_network(std::string_view text, Network& network) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  network = {};
  if (inet_pton(AF_INET, address.c_str(), network.address) == 1) {
    network.v6 = false;
  } else if (inet_pton(AF_INET6, address.c_str(), network.address) == 1) {
    network.v6 = true;
  } else {
    return fmt::format("'{}' is not an IPv4 or IPv6 network (e.g. 10.0.0.0/8, fd00::/8)", text);
  }
  const unsigned bits = network.v6 ? 128 : 32;
  network.prefix = bits;
  if (slash != std::string_view::npos) {
    const std::string_view length = text.substr(slash + 1);
    unsigned value = 0;
    if (length.empty() || length.size() > 3) {
      return fmt::format("'{}': the prefix length must be 0 to {}", text, bits);
    }
    for (const char c : length) {
      if (c < '0' || c > '9') {
        return fmt::format("'{}': the prefix length must be 0 to {}", text, bits);
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > bits) return fmt::format("'{}': the prefix length must be 0 to {}", text, bits);
    network.prefix = value;
  }
  if (!host_bits_zero(network)) {
    return fmt::format("'{}' has bits set past its prefix; the network is {}", text,
                       network_text(masked(network)));
  }
  return "";
}

std::string network_text(const Network& network) {
  char buffer[INET6_ADDRSTRLEN];
  inet_ntop(network.v6 ? AF_INET6 : AF_INET, network.address, buffer, sizeof buffer);
  return fmt::format("{}/{}", buffer, network.prefix);
}

bool contains(const Network& network, const sockaddr_storage& address) noexcept {
  const sockaddr_storage a = unmapped(address);
  if (a.ss_family == AF_INET && !network.v6) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    return same_prefix(network.address, reinterpret_cast<const std::uint8_t*>(&v4->sin_addr),
                       network.prefix);
  }
  if (a.ss_family == AF_INET6 && network.v6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    return same_prefix(network.address, v6->sin6_addr.s6_addr, network.prefix);
  }
  return false;
}

std::string TrustedNetworks::parse(std::string_view list) {
  networks_.clear();
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    Network network;
    if (std::string error = parse_network(list.substr(at, comma - at), network);
        !error.empty()) {
      networks_.clear();
      return error;
    }
    networks_.push_back(network);
    at = comma + 1;
  }
  return "";
}

bool TrustedNetworks::trusts(const sockaddr_storage& peer) const noexcept {
  for (const Network& n : networks_) {
    if (contains(n, peer)) return true;
  }
  return false;
}

std::string TrustedNetworks::text() const {
  std::string out;
  for (const Network& n : networks_) {
    if (!out.empty()) out += ',';
    out += network_text(n);
  }
  return out;
}

}  // namespace httpapi::proxy
