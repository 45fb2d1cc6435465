#include "tls/binding_selector.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace httpapi::tls {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// "*.example.com" covers "a.example.com": one non-empty label, then the suffix. A name
// with a '*' of its own (no valid SNI has one) is covered by nothing.
bool wildcard_covers(std::string_view pattern, std::string_view name) {
  if (!pattern.starts_with("*.")) return false;
  const std::string_view suffix = pattern.substr(1);  // ".example.com"
  if (name.size() <= suffix.size()) return false;
  const std::string_view label = name.substr(0, name.size() - suffix.size());
  return label.find_first_of(".*") == std::string_view::npos &&
         iequals(name.substr(label.size()), suffix);
}

// An address in a comparable form: family and bytes, IPv4-mapped IPv6 folded to IPv4.
struct Address {
  int family = 0;  // 0: not an address
  unsigned char bytes[16] = {};

  bool operator==(const Address& other) const {
    const std::size_t size = family == AF_INET ? 4 : 16;
    return family == other.family && std::memcmp(bytes, other.bytes, size) == 0;
  }
};

Address parse_address(std::string_view text) {
  std::string bare(text);
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  Address out;
  if (inet_pton(AF_INET, bare.c_str(), out.bytes) == 1) {
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, bare.c_str(), out.bytes) == 1) {
    out.family = AF_INET6;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.bytes, kMapped, sizeof kMapped) == 0) {
      std::memmove(out.bytes, out.bytes + 12, 4);
      std::memset(out.bytes + 4, 0, 12);
      out.family = AF_INET;
    }
  }
  return out;
}

bool is_any(const Address& address) {
  static constexpr unsigned char kZero[16] = {};
  const std::size_t size = address.family == AF_INET ? 4 : 16;
  return address.family != 0 && std::memcmp(address.bytes, kZero, size) == 0;
}

template <typename Match>
const CertBinding* first(std::span<const CertBinding> bindings, CertBinding::Kind kind,
                         std::uint16_t port, Match match) {
  for (const CertBinding& b : bindings) {
    if (b.kind == kind && b.port == port && match(b)) return &b;
  }
  return nullptr;
}

}  // namespace

const CertBinding* select_binding(std::span<const CertBinding> bindings, std::string_view sni,
                                  std::string_view local_ip, std::uint16_t port) {
  using Kind = CertBinding::Kind;
  if (sni.ends_with('.')) sni.remove_suffix(1);
  if (!sni.empty()) {
    if (const CertBinding* b = first(bindings, Kind::hostname_port, port, [&](const auto& c) {
          return !c.host.starts_with("*.") && iequals(c.host, sni);
        })) {
      return b;
    }
    if (const CertBinding* b = first(bindings, Kind::hostname_port, port, [&](const auto& c) {
          return wildcard_covers(c.host, sni);
        })) {
      return b;
    }
  }
  const Address local = parse_address(local_ip);
  if (local.family != 0 && !is_any(local)) {
    if (const CertBinding* b = first(bindings, Kind::ip_port, port, [&](const auto& c) {
          const Address bound = parse_address(c.host);
          return !is_any(bound) && bound == local;
        })) {
      return b;
    }
  }
  // The any-address bindings: the local address's own family first.
  const int families[2] = {local.family == AF_INET6 ? AF_INET6 : AF_INET,
                           local.family == AF_INET6 ? AF_INET : AF_INET6};
  for (const int family : families) {
    if (const CertBinding* b = first(bindings, Kind::ip_port, port, [&](const auto& c) {
          const Address bound = parse_address(c.host);
          return bound.family == family && is_any(bound);
        })) {
      return b;
    }
  }
  return nullptr;
}

}  // namespace httpapi::tls
