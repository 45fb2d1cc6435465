#include "test_certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace httpapi::testing {
namespace {

std::string to_pem(auto&& write) {
  BIO* out = BIO_new(BIO_s_mem());
  write(out);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(size));
  BIO_free(out);
  return text;
}

EVP_PKEY* make_key(KeyType type) {
  return type == KeyType::ecdsa_p256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
}

void add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (!extension) throw std::runtime_error("bad extension " + value);
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

}  // namespace

TestKeyPair make_certificate(const CertificateSpec& spec, const TestKeyPair* issuer) {
  EVP_PKEY* key = make_key(spec.key);
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial++);
  X509_gmtime_adj(X509_getm_notBefore(certificate), static_cast<long>(spec.valid_from_offset));
  X509_gmtime_adj(X509_getm_notAfter(certificate), static_cast<long>(spec.valid_until_offset));
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("httpapi tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             -1, -1, 0);
  X509* issuer_certificate = certificate;
  EVP_PKEY* signing_key = key;
  if (issuer) {
    BIO* in = BIO_new_mem_buf(issuer->certificate_pem.data(),
                              static_cast<int>(issuer->certificate_pem.size()));
    issuer_certificate = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    in = BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size()));
    signing_key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
  }
  X509_set_issuer_name(certificate, X509_get_subject_name(issuer_certificate));
  if (spec.is_ca) {
    add_extension(certificate, issuer_certificate, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(certificate, issuer_certificate, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(certificate, issuer_certificate, NID_basic_constraints, "CA:FALSE");
  }
  if (!spec.dns_names.empty()) {
    std::string names;
    for (const std::string& dns : spec.dns_names) names += (names.empty() ? "DNS:" : ",DNS:") + dns;
    add_extension(certificate, issuer_certificate, NID_subject_alt_name, names);
  }
  X509_sign(certificate, signing_key, EVP_sha256());

  TestKeyPair pair;
  pair.certificate_pem = to_pem([&](BIO* out) { PEM_write_bio_X509(out, certificate); });
  pair.key_pem = to_pem([&](BIO* out) {
    PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  unsigned char* der = nullptr;
  const int length = i2d_X509(certificate, &der);
  pair.der.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  if (issuer) {
    X509_free(issuer_certificate);
    EVP_PKEY_free(signing_key);
  }
  X509_free(certificate);
  EVP_PKEY_free(key);
  return pair;
}

}  // namespace httpapi::testing
