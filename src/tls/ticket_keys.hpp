// The keys that encrypt TLS session tickets (RFC 5077, RFC 8446 §4.6.1), shared by every I/O
// thread and every certificate binding, so a ticket one thread issued resumes on any other.
// A new key takes over every rotation period; the two before it still decrypt (their tickets
// are renewed on use), so a ticket lives at most three periods and a key stolen from memory
// opens only recent sessions. Thread-safe.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>

namespace httpapi::tls {

class TicketKeys {
 public:
  static constexpr std::int64_t kRotationSeconds = 3600;

  TicketKeys();

  // Rotates when the current key is older than kRotationSeconds (CLOCK_MONOTONIC seconds).
  void rotate_if_due(std::int64_t now);
  // Installs the ticket callback on `context`; `this` must outlive it.
  void install(SSL_CTX* context);

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> cipher_key;  // AES-256-CBC
    std::array<unsigned char, 32> mac_key;     // HMAC-SHA256
  };
  static Key make_key();
  static int callback(SSL* ssl, unsigned char name[16], unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);
  int encrypt(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac);
  int decrypt(const unsigned char name[16], const unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac);

  std::mutex mutex_;
  std::deque<Key> keys_;  // newest first; at most three
  std::int64_t rotated_at_ = 0;
};

}  // namespace httpapi::tls
