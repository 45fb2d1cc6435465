// The OpenSSL server contexts for a set of certificate bindings (docs/tls.md): one per
// binding, holding its certificates, client-certificate policy and trust store, and one
// front context every connection starts on. The front context picks the binding when the
// ClientHello arrives (SNI, then the local address) and owns what outlives one binding: the
// session cache and the ticket keys. Immutable once built; the service builds a new set when
// the bindings change and hands it to the I/O threads, while connections that started on the
// old set keep it alive. Every binding gets the same profile: TLS 1.2 and 1.3, forward-secret
// AEAD suites only (Mozilla's "intermediate"), server preference in 1.2, no compression, no
// renegotiation.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "tls/cert_binding.hpp"
#include "tls/ticket_keys.hpp"

namespace httpapi::tls {

class ServerContexts {
 public:
  // Bindings OpenSSL refuses (the store checks them first, so this means a library
  // disagreement) are left out, with one line each in `problems`.
  static std::shared_ptr<const ServerContexts> build(const std::vector<CertBinding>& bindings,
                                                     std::shared_ptr<TicketKeys> keys,
                                                     std::vector<std::string>& problems);
  ~ServerContexts();
  ServerContexts(const ServerContexts&) = delete;
  ServerContexts& operator=(const ServerContexts&) = delete;

  // A server-side SSL for the accepted `socket`, or nullptr when OpenSSL is out of memory.
  // When the handshake fails for want of a binding, the reason is written to `*failure`,
  // which must outlive the handshake.
  SSL* accept(int socket, std::string* failure) const;

  std::size_t size() const noexcept { return bindings_.size(); }

 private:
  ServerContexts() = default;
  static int on_client_hello(SSL* ssl, int* alert, void* self);
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                     const unsigned char* offered, unsigned offered_length, void* h2_allowed);
  bool choose_binding(SSL* ssl, int* alert) const;

  std::shared_ptr<TicketKeys> keys_;
  SSL_CTX* front_ = nullptr;
  std::vector<CertBinding> bindings_;
  std::vector<SSL_CTX*> contexts_;  // one per binding, same order
};

}  // namespace httpapi::tls
