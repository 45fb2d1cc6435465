#include "tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace httpapi::tls {
namespace {

constexpr std::size_t kKeysKept = 3;

int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::int64_t monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec;
}

bool set_mac_key(EVP_MAC_CTX* mac, std::array<unsigned char, 32>& key) {
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.data(), key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeys::TicketKeys() {
  keys_.push_front(make_key());
  rotated_at_ = monotonic_seconds();
}

TicketKeys::Key TicketKeys::make_key() {
  Key key;
  // RAND_bytes fails only when the system has no entropy source: then tickets are not
  // worth having, and a fixed key would be worse than none. The zeroed key is never used
  // because its name cannot match (names are random too).
  if (RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) != 1 ||
      RAND_bytes(key.cipher_key.data(), static_cast<int>(key.cipher_key.size())) != 1 ||
      RAND_bytes(key.mac_key.data(), static_cast<int>(key.mac_key.size())) != 1) {
    key = Key{};
  }
  return key;
}

void TicketKeys::rotate_if_due(std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (now - rotated_at_ < kRotationSeconds) return;
  keys_.push_front(make_key());
  if (keys_.size() > kKeysKept) keys_.pop_back();
  rotated_at_ = now;
}

void TicketKeys::install(SSL_CTX* context) {
  SSL_CTX_set_ex_data(context, ex_index(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(context, &TicketKeys::callback);
}

// OpenSSL calls this on the context the connection started with (its session context).
int TicketKeys::callback(SSL* ssl, unsigned char name[16], unsigned char* iv,
                         EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  SSL_CTX* context = SSL_get_SSL_CTX(ssl);
  auto* self = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(context, ex_index()));
  if (!self) return -1;
  return encrypt ? self->encrypt(name, iv, cipher, mac) : self->decrypt(name, iv, cipher, mac);
}

int TicketKeys::encrypt(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac) {
  if (RAND_bytes(iv, 16) != 1) return -1;
  std::lock_guard lock(mutex_);
  Key& key = keys_.front();
  std::memcpy(name, key.name.data(), key.name.size());
  if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher_key.data(), iv) != 1 ||
      !set_mac_key(mac, key.mac_key)) {
    return -1;
  }
  return 1;
}

// 1: decrypted with the current key; 2: with an older one, so OpenSSL issues a fresh ticket;
// 0: unknown key (expired or from another server), so the handshake is a full one.
int TicketKeys::decrypt(const unsigned char name[16], const unsigned char* iv,
                        EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac) {
  std::lock_guard lock(mutex_);
  const auto key = std::find_if(keys_.begin(), keys_.end(), [name](const Key& k) {
    return std::memcmp(k.name.data(), name, k.name.size()) == 0;
  });
  if (key == keys_.end()) return 0;
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->cipher_key.data(), iv) != 1 ||
      !set_mac_key(mac, key->mac_key)) {
    return -1;
  }
  return key == keys_.begin() ? 1 : 2;
}

}  // namespace httpapi::tls
