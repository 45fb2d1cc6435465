// Real keys and certificates made at test time with OpenSSL's API, so a test can ask for
// dates in the past or the future, chains, and key types the CLI of OpenSSL 3.0 cannot
// produce directly. Test code only: aborts on any OpenSSL failure.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace httpapi::tls::testing {

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CertFree {
  void operator()(X509* p) const { X509_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

inline void require(bool ok) {
  if (!ok) std::abort();
}

inline Key rsa_key(unsigned bits = 2048) {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  require(key != nullptr);
  return key;
}

// curve: "P-256", "P-384", ...
inline Key ec_key(const char* curve = "P-256") {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  require(key != nullptr);
  return key;
}

inline Key ed25519_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  require(key != nullptr);
  return key;
}

struct CertSpec {
  std::string common_name = "www.example.com";
  std::string organization;             // added before CN, so RFC 4514 prints it after
  std::vector<std::string> dns_names;   // subjectAltName DNS entries
  long not_before_offset = -3600;       // seconds from now
  long not_after_offset = 86400 * 30;
  bool ca = false;
};

inline CertSpec named(std::string common_name, bool ca = false) {
  CertSpec spec;
  spec.common_name = std::move(common_name);
  spec.ca = ca;
  return spec;
}

inline CertSpec dated(long not_before_offset, long not_after_offset) {
  CertSpec spec;
  spec.not_before_offset = not_before_offset;
  spec.not_after_offset = not_after_offset;
  return spec;
}

// A certificate for `key`, signed by `issuer_key` with `issuer` as issuer name (self-signed
// when issuer is null).
inline Cert make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer = nullptr,
                      EVP_PKEY* issuer_key = nullptr) {
  static long serial = 1;
  Cert cert(X509_new());
  require(cert != nullptr);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_offset);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!spec.organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.organization.c_str()),
                               -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  const auto add_extension = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    require(ext != nullptr);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  add_extension(NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!spec.dns_names.empty()) {
    std::string sans;
    for (const auto& dns : spec.dns_names) sans += (sans.empty() ? "DNS:" : ",DNS:") + dns;
    add_extension(NID_subject_alt_name, sans);
  }
  require(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0);
  return cert;
}

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

inline std::string pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(PEM_write_bio_X509(bio, cert) == 1);
  return bio_text(bio);
}

inline std::string pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  return bio_text(bio);
}

// PKCS#8 encrypted ("-----BEGIN ENCRYPTED PRIVATE KEY-----").
inline std::string encrypted_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  char password[] = "secret";
  require(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), password, 6, nullptr,
                                        nullptr) == 1);
  return bio_text(bio);
}

// The traditional form with a Proc-Type: 4,ENCRYPTED header.
inline std::string encrypted_traditional_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  unsigned char password[] = "secret";
  require(PEM_write_bio_PrivateKey_traditional(bio, key, EVP_aes_256_cbc(), password, 6,
                                               nullptr, nullptr) == 1);
  return bio_text(bio);
}

}  // namespace httpapi::tls::testing
