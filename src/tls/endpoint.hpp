// The endpoint of a certificate binding as an administrator writes it (`--ipport IP:PORT`,
// `--hostnameport NAME:PORT`) and as `show` prints it. One canonical form per endpoint, so
// the store's key and what the selector compares never depend on how it was typed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tls/cert_binding.hpp"

namespace httpapi::tls {

// Parses `text` for a binding of `kind` into `host` and `port`. ip_port: "1.2.3.4:443",
// "[::1]:443", "0.0.0.0:443" or "[::]:443" (any address); the address is stored as
// inet_ntop writes it, without brackets. hostname_port: "www.example.com:443" or
// "*.example.com:443", lower-cased; a DNS name of letters, digits and hyphens in labels of
// at most 63 characters, 253 in all, no trailing dot; "*" only as the whole first label,
// with at least two labels after it. Port 1-65535. "" on success, else a one-line reason.
std::string parse_endpoint(std::string_view text, CertBinding::Kind kind, std::string& host,
                           std::uint16_t& port);

// "0.0.0.0:443", "[::]:443", "www.example.com:443".
std::string endpoint_text(const CertBinding& binding);

// True for the "any address" hosts of an ip_port binding: "0.0.0.0" and "::".
bool is_any_address(std::string_view host);

}  // namespace httpapi::tls
