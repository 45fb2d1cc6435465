// Which certificate binding a handshake uses, in HTTP.sys's order: the exact host name and
// port of the client's SNI, then a wildcard binding for that name, then the local IP and port,
// then any address on the port. A wildcard covers exactly one label (RFC 6125 §6.4.3).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tls/cert_binding.hpp"

namespace httpapi::tls {

// nullptr when no binding matches. `local_ip` is the address the connection arrived on, as
// text; an IPv4-mapped IPv6 address counts as its IPv4 address.
const CertBinding* select_binding(std::span<const CertBinding> bindings, std::string_view sni,
                                  std::string_view local_ip, std::uint16_t port);

}  // namespace httpapi::tls
