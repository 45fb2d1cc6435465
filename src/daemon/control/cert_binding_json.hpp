// The JSON of the sslcert admin commands (docs/httpcfg.md): a certificate binding read from
// an add/update command and checked as the service requires (so a hand-made admin client
// cannot store what httpcfg would refuse), the endpoint of a delete/show, and a binding
// described for show — certificates' public facts only, never a key, never PEM.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tls/cert_binding.hpp"

namespace httpapi::daemon {

// The endpoint named by "ipport" or "hostnameport" (exactly one). "" or the reason.
std::string endpoint_from_command(const nlohmann::json& command, tls::CertBinding& binding);

// The whole binding of sslcert.add/update, checked at `now_unix`: the endpoint, one or two
// certificates that pass tls::check_pair and are of different key types, the client
// certificate mode ("request" and "require" need "ca", which must pass tls::check_ca), and
// the options. "" or a one-line reason (the request is then refused as a whole).
std::string binding_from_command(const nlohmann::json& command, std::int64_t now_unix,
                                 tls::CertBinding& binding);

// {"endpoint", "kind", "certificates": [{"subject", "issuer", "dns_names", "not_before",
// "not_after", "sha256", "key_type", "chain_length"}], "client_cert", "ca_certificates",
// "min_tls", "disable_http2", "disable_session_id"}.
nlohmann::json describe_binding(const tls::CertBinding& binding);

}  // namespace httpapi::daemon
