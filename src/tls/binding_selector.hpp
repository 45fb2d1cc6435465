// Which certificate binding a TLS handshake uses (HTTP.sys's order, docs/tls.md):
//   1. the hostname:port binding whose name equals the SNI name (case-insensitively);
//   2. a wildcard hostname:port binding, "*.example.com" covering exactly one label
//      (a.example.com, not example.com nor a.b.example.com; RFC 6125);
//   3. the ip:port binding for the local address the client reached;
//   4. the any-address binding of the port: 0.0.0.0 first for an IPv4 local address,
//      [::] first for an IPv6 one, then the other.
// An IPv4-mapped IPv6 local address (::ffff:1.2.3.4, a dual-stack socket) counts as the
// IPv4 address. No SNI skips steps 1 and 2.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tls/cert_binding.hpp"

namespace httpapi::tls {

// The binding to use, or nullptr when none matches (the handshake then fails with an
// unrecognized_name alert). `sni` may end with a dot; `local_ip` is an IP literal, IPv6
// with or without brackets.
const CertBinding* select_binding(std::span<const CertBinding> bindings, std::string_view sni,
                                  std::string_view local_ip, std::uint16_t port);

}  // namespace httpapi::tls
