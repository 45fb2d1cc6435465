// Certificates made at test time with OpenSSL's API: a CA, and leaves it signs or that sign
// themselves, with chosen names, key types and validity. Nothing is read from disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace httpapi::testing {

struct TestKeyPair {
  std::string certificate_pem;
  std::string key_pem;
  std::string der;  // the certificate
};

enum class KeyType { ecdsa_p256, rsa_2048 };

struct CertificateSpec {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};
  KeyType key = KeyType::ecdsa_p256;
  std::int64_t valid_from_offset = -3600;        // seconds from now
  std::int64_t valid_until_offset = 86400 * 30;  // seconds from now
  bool is_ca = false;
};

// Self-signed when `issuer` is null.
TestKeyPair make_certificate(const CertificateSpec& spec, const TestKeyPair* issuer = nullptr);

}  // namespace httpapi::testing
