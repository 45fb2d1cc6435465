#include "tls/server_contexts.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/tls1.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "tls/binding_selector.hpp"

namespace httpapi::tls {
namespace {

// Mozilla's "intermediate" configuration (ssl-config.mozilla.org, version 5.7) without the
// DHE suites: forward secrecy by ECDHE only, AEAD only. TLS 1.3's suites are OpenSSL's
// defaults, which are that already.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr long kSessionLifetimeSeconds = 3 * TicketKeys::kRotationSeconds;
constexpr long kSessionCacheSize = 20480;
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
// In our order of preference: h2 when the client offers it, else http/1.1.
constexpr unsigned char kAlpnH2Http11[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

SSL_CTX* new_context() {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (!context) return nullptr;
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                   SSL_OP_CIPHER_SERVER_PREFERENCE |
                                   SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_ENABLE_KTLS);
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // Read what the socket has, not one record header and then its body: a read per request
  // fewer (bench/RESULTS.md, TLS).
  SSL_CTX_set_read_ahead(context, 1);
  if (SSL_CTX_set_cipher_list(context, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(context, kGroups) != 1) {
    SSL_CTX_free(context);
    return nullptr;
  }
  return context;
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
Bio memory(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
}

// The leaf, then every further certificate in the PEM as its chain.
bool use_pair(SSL_CTX* context, const CertKeyPair& pair, std::string& problem) {
  Bio certs = memory(pair.certificate_pem);
  X509* leaf = certs ? PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!leaf || SSL_CTX_use_certificate(context, leaf) != 1) {
    X509_free(leaf);
    problem = "certificate: " + openssl_error();
    return false;
  }
  X509_free(leaf);
  while (X509* link = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(context, link) != 1) {
      X509_free(link);
      problem = "chain: " + openssl_error();
      return false;
    }
  }
  ERR_clear_error();  // the end of the PEM reads as an error
  Bio key_text = memory(pair.key_pem);
  EVP_PKEY* key =
      key_text ? PEM_read_bio_PrivateKey(key_text.get(), nullptr, nullptr, nullptr) : nullptr;
  const bool ok = key && SSL_CTX_use_PrivateKey(context, key) == 1 &&
                  SSL_CTX_check_private_key(context) == 1;
  EVP_PKEY_free(key);
  if (!ok) problem = "key: " + openssl_error();
  return ok;
}

bool use_client_cas(SSL_CTX* context, const CertBinding& binding, std::string& problem) {
  if (binding.client_cert == ClientCertMode::none) return true;
  Bio text = memory(binding.ca_pem);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  int count = 0;
  while (X509* ca = text ? PEM_read_bio_X509(text.get(), nullptr, nullptr, nullptr) : nullptr) {
    X509_STORE_add_cert(store, ca);
    sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca)));
    X509_free(ca);
    ++count;
  }
  ERR_clear_error();
  if (count == 0) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    problem = "--ca holds no certificate";
    return false;
  }
  SSL_CTX_set_client_CA_list(context, names);
  return true;
}

// `request`: ask, and let the handshake succeed whatever comes; the application reads the
// verification result. `require`: OpenSSL's own verification decides.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

std::string local_ip(int socket, std::uint16_t& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  port = 0;
  if (getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    port = ntohs(v4->sin_port);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    port = ntohs(v6->sin6_port);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  }
  return text;
}

std::string_view server_name(SSL* ssl) {
  const unsigned char* data = nullptr;
  std::size_t length = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &data, &length) != 1) return {};
  // ServerNameList: length(2), then entries of type(1) length(2) name; RFC 6066 §3 allows
  // one host_name.
  if (length < 5 || data[2] != TLSEXT_NAMETYPE_host_name) return {};
  const std::size_t name_length = static_cast<std::size_t>(data[3]) << 8 | data[4];
  if (name_length == 0 || 5 + name_length > length) return {};
  return {reinterpret_cast<const char*>(data + 5), name_length};
}

}  // namespace

std::shared_ptr<const ServerContexts> ServerContexts::build(
    const std::vector<CertBinding>& bindings, std::shared_ptr<TicketKeys> keys,
    std::vector<std::string>& problems) {
  std::shared_ptr<ServerContexts> self(new ServerContexts());
  self->keys_ = std::move(keys);
  self->front_ = new_context();
  if (!self->front_) {
    problems.push_back("cannot create a TLS context: " + openssl_error());
    return nullptr;
  }
  SSL_CTX_set_client_hello_cb(self->front_, &ServerContexts::on_client_hello, self.get());
  SSL_CTX_set_session_cache_mode(self->front_, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(self->front_, kSessionCacheSize);
  SSL_CTX_set_timeout(self->front_, kSessionLifetimeSeconds);
  self->keys_->install(self->front_);

  for (const CertBinding& binding : bindings) {
    SSL_CTX* context = new_context();
    std::string problem = context ? "" : openssl_error();
    for (const CertKeyPair& pair : binding.certificates) {
      if (!problem.empty() || !use_pair(context, pair, problem)) break;
    }
    if (problem.empty()) use_client_cas(context, binding, problem);
    if (!problem.empty()) {
      problems.push_back(fmt::format("certificate binding {}:{} left out: {}", binding.host,
                                     binding.port, problem));
      SSL_CTX_free(context);
      continue;
    }
    // Sessions resume only on the binding that made them, whose client policy they passed.
    const std::string identity = fmt::format("{}|{}|{}", static_cast<int>(binding.kind),
                                             binding.host, binding.port);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_length = 0;
    EVP_Digest(identity.data(), identity.size(), digest.data(), &digest_length, EVP_sha256(),
               nullptr);
    SSL_CTX_set_session_id_context(context, digest.data(), SSL_MAX_SID_CTX_LENGTH);
    // The callback's argument says whether the binding speaks HTTP/2 (null: disable_http2).
    SSL_CTX_set_alpn_select_cb(context, &ServerContexts::on_alpn,
                               binding.disable_http2 ? nullptr : self.get());
    self->keys_->install(context);
    self->bindings_.push_back(binding);
    self->contexts_.push_back(context);
  }
  return self;
}

ServerContexts::~ServerContexts() {
  for (SSL_CTX* context : contexts_) SSL_CTX_free(context);
  SSL_CTX_free(front_);
}

SSL* ServerContexts::accept(int socket, std::string* failure) const {
  SSL* ssl = SSL_new(front_);
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl, socket) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_app_data(ssl, failure);
  SSL_set_accept_state(ssl);
  return ssl;
}

int ServerContexts::on_client_hello(SSL* ssl, int* alert, void* self) {
  return static_cast<const ServerContexts*>(self)->choose_binding(ssl, alert)
             ? SSL_CLIENT_HELLO_SUCCESS
             : SSL_CLIENT_HELLO_ERROR;
}

bool ServerContexts::choose_binding(SSL* ssl, int* alert) const {
  std::uint16_t port = 0;
  const std::string ip = local_ip(SSL_get_fd(ssl), port);
  const std::string_view sni = server_name(ssl);
  const CertBinding* binding = select_binding(bindings_, sni, ip, port);
  if (!binding) {
    if (auto* failure = static_cast<std::string*>(SSL_get_app_data(ssl))) {
      *failure = sni.empty()
                     ? fmt::format("TLS_No_Binding: no certificate binding for {}:{}", ip, port)
                     : fmt::format("TLS_No_Binding: no certificate binding for {}:{} nor {}:{}",
                                   sni, port, ip, port);
    }
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return false;
  }
  SSL_CTX* context = contexts_[static_cast<std::size_t>(binding - bindings_.data())];
  SSL_set_SSL_CTX(ssl, context);
  if (binding->min_tls == MinTls::v1_3) SSL_set_min_proto_version(ssl, TLS1_3_VERSION);
  switch (binding->client_cert) {
    case ClientCertMode::none: break;
    case ClientCertMode::request:
      SSL_set_verify(ssl, SSL_VERIFY_PEER, &accept_any_certificate);
      break;
    case ClientCertMode::require:
      SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  if (binding->disable_session_id) {
    // No ticket is issued, and the session cache cannot match: a random context per handshake.
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
    SSL_set_num_tickets(ssl, 0);
    std::array<unsigned char, SSL_MAX_SID_CTX_LENGTH> random{};
    RAND_bytes(random.data(), static_cast<int>(random.size()));
    SSL_set_session_id_context(ssl, random.data(), random.size());
  }
  return true;
}

// h2 when the client offers it and the binding allows HTTP/2 (`h2_allowed` non-null), else
// http/1.1. A client that offers only protocols we lack (h2 alone on a binding with
// disable_http2) is refused with no_application_protocol, as RFC 7301 §3.2 asks.
int ServerContexts::on_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                            const unsigned char* offered, unsigned offered_length,
                            void* h2_allowed) {
  unsigned char* selected = nullptr;
  const unsigned char* ours = h2_allowed ? kAlpnH2Http11 : kAlpnHttp11;
  const unsigned ours_length = h2_allowed ? sizeof kAlpnH2Http11 : sizeof kAlpnHttp11;
  if (SSL_select_next_proto(&selected, out_length, ours, ours_length, offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace httpapi::tls
