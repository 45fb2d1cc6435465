// A certificate binding (HTTP.sys's HTTP_SERVICE_CONFIG_SSL_SET, netsh http add sslcert):
// which certificate an https endpoint presents and how it treats clients. Kept in the
// service's store, managed with `httpcfg sslcert`, selected per handshake by
// select_binding (binding_selector.hpp). Plain data: PEM text, never file names, because the
// service never reads the administrator's files (docs/tls.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace httpapi::tls {

enum class ClientCertMode : std::uint8_t { none, request, require };
enum class MinTls : std::uint8_t { v1_2, v1_3 };

struct CertKeyPair {
  std::string certificate_pem;  // the leaf first, then any intermediates
  std::string key_pem;          // unencrypted PKCS#8 or traditional
};

struct CertBinding {
  enum class Kind : std::uint8_t { ip_port, hostname_port };
  Kind kind = Kind::ip_port;
  // ip_port: an IP literal, "0.0.0.0" or "::" for any address; hostname_port: a DNS name,
  // lower-case, possibly "*.example.com".
  std::string host;
  std::uint16_t port = 0;
  std::vector<CertKeyPair> certificates;  // one or two (an RSA and an ECDSA one)
  ClientCertMode client_cert = ClientCertMode::none;
  std::string ca_pem;  // trusted client-certificate issuers; with request/require
  MinTls min_tls = MinTls::v1_2;
  bool disable_http2 = false;
  bool disable_session_id = false;  // no session cache nor tickets: every handshake is full
};

}  // namespace httpapi::tls
