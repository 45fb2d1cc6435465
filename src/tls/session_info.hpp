// What a TLS connection's handshake settled, as the application learns it with each request
// (HTTP.sys's HTTP_SSL_INFO and HttpReceiveClientCertificate; docs/tls.md maps the fields).
#pragma once

#include <optional>
#include <string>

namespace httpapi::tls {

struct ClientCertificate {
  std::string der;      // the leaf certificate as sent
  std::string subject;  // RFC 4514, e.g. "CN=client1,O=Example"
  std::string issuer;   // RFC 4514
  bool verified = false;  // chains to the binding's --ca and is valid now
};

struct SessionInfo {
  std::string protocol;  // as OpenSSL names it: "TLSv1.3", "TLSv1.2"
  std::string cipher;    // as OpenSSL names it: "TLS_AES_128_GCM_SHA256"
  std::string sni;       // the server name the client asked for; empty when none
  std::string alpn;      // the protocol agreed by ALPN; empty when none
  bool resumed = false;  // an abbreviated handshake (ticket or session cache)
  std::optional<ClientCertificate> client_certificate;  // when the client sent one
};

}  // namespace httpapi::tls
