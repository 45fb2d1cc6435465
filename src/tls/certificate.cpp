#include "tls/certificate.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string_view>

namespace httpapi::tls {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Never prompt for a pass phrase on the service's terminal: an encrypted key simply fails.
int no_passphrase(char*, int, int, void*) { return -1; }

// OpenSSL's reason for the last failure, and the thread's error queue emptied (the queue
// is per thread; a stale entry would confuse the next TLS call there).
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason ? reason : "unknown error";
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every CERTIFICATE block of `pem`, in order. "" on success (possibly none found), else the
// reason a block is malformed.
std::string read_certificates(const std::string& pem, std::vector<X509Ptr>& out) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return "out of memory reading the certificate";
  ERR_clear_error();
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (cert) {
      out.push_back(std::move(cert));
      continue;
    }
    const unsigned long code = ERR_peek_last_error();
    if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
      ERR_clear_error();  // the end of the text: no further block
      return "";
    }
    return openssl_reason();
  }
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

std::string iso_time(const ASN1_TIME* time, std::int64_t* unix_time) {
  std::tm parts{};
  if (!time || ASN1_TIME_to_tm(time, &parts) != 1) {
    ERR_clear_error();
    return "?";
  }
  if (unix_time) *unix_time = static_cast<std::int64_t>(timegm(&parts));
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::vector<std::string> dns_names(const X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                     static_cast<std::size_t>(ASN1_STRING_length(dns)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

// "RSA 2048", "ECDSA P-256", "Ed25519"; the curve's own name when it has no NIST one.
std::string key_type(const EVP_PKEY* key) {
  if (!key) return "unknown";
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
  }
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
      ERR_clear_error();
      return "ECDSA";
    }
    const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group));
    return std::string("ECDSA ") + (nist ? nist : group);
  }
  if (id == EVP_PKEY_ED25519) return "Ed25519";
  if (id == EVP_PKEY_ED448) return "Ed448";
  const char* name = OBJ_nid2sn(id);
  return name ? name : "unknown";
}

void fill_info(const X509* leaf, std::size_t chain_length, CertificateInfo& info) {
  info.subject = name_text(X509_get_subject_name(leaf));
  info.issuer = name_text(X509_get_issuer_name(leaf));
  info.dns_names = dns_names(leaf);
  info.not_before = iso_time(X509_get0_notBefore(leaf), nullptr);
  info.not_after = iso_time(X509_get0_notAfter(leaf), nullptr);
  info.sha256 = sha256_hex(leaf);
  info.key_type = key_type(X509_get0_pubkey(leaf));
  info.chain_length = static_cast<int>(chain_length);
}

// The chain of a certificate file; "" with at least one certificate, else the reason.
std::string read_chain(const std::string& pem, std::vector<X509Ptr>& chain) {
  if (const std::string error = read_certificates(pem, chain); !error.empty()) {
    return "the certificate file is malformed PEM (" + error +
           "); give the complete PEM file as the certificate authority issued it";
  }
  if (!chain.empty()) return "";
  if (contains(pem, "PRIVATE KEY-----")) {
    return "the certificate file holds a private key and no certificate; were --cert and "
           "--key swapped?";
  }
  return "the certificate file holds no PEM certificate (no -----BEGIN CERTIFICATE----- "
         "line); give the certificate in PEM form (convert a DER one with 'openssl x509 "
         "-inform der -in FILE -out FILE.pem')";
}

// The private key of a pair; "" on success, else the reason.
std::string read_key(const std::string& pem, PkeyPtr& key) {
  if (contains(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
      contains(pem, "Proc-Type: 4,ENCRYPTED")) {
    return "the private key is encrypted, which httpapid cannot load unattended; decrypt it "
           "with 'openssl pkey -in KEY -out PLAIN.key' and give the decrypted file";
  }
  if (!contains(pem, "PRIVATE KEY-----")) {
    return "the key file holds no PEM private key; give the unencrypted private key "
           "(-----BEGIN PRIVATE KEY-----) the certificate was issued for";
  }
  BioPtr bio = memory_bio(pem);
  if (!bio) return "out of memory reading the private key";
  ERR_clear_error();
  key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return "the key file is malformed PEM (" + openssl_reason() +
           "); give the complete, unencrypted PEM private key";
  }
  return "";
}

// RSA of 2048 bits or more, or ECDSA: what every TLS client accepts and OpenSSL's default
// security level allows.
std::string check_key_type(const EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < 2048) {
      return "the RSA key has " + std::to_string(bits) +
             " bits; TLS libraries refuse RSA keys under 2048 bits, so make a new key of 2048 "
             "bits or more and a certificate for it";
    }
    return "";
  }
  if (id == EVP_PKEY_EC) return "";
  return "the key is " + key_type(key) +
         ", which this service does not serve; use an RSA (2048 bits or more) or ECDSA key";
}

}  // namespace

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !name) return "";
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string sha256_hex(const X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!certificate || X509_digest(certificate, EVP_sha256(), digest, &length) != 1) {
    ERR_clear_error();
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string describe_certificate(const std::string& certificate_pem, CertificateInfo& info) {
  std::vector<X509Ptr> chain;
  if (std::string error = read_chain(certificate_pem, chain); !error.empty()) return error;
  fill_info(chain.front().get(), chain.size(), info);
  return "";
}

std::string check_pair(const CertKeyPair& pair, std::int64_t now_unix, CertificateInfo& info) {
  std::vector<X509Ptr> chain;
  if (std::string error = read_chain(pair.certificate_pem, chain); !error.empty()) return error;
  const X509* leaf = chain.front().get();
  fill_info(leaf, chain.size(), info);

  PkeyPtr key;
  if (std::string error = read_key(pair.key_pem, key); !error.empty()) return error;
  if (std::string error = check_key_type(key.get()); !error.empty()) return error;
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    for (std::size_t i = 1; i < chain.size(); ++i) {
      if (X509_check_private_key(chain[i].get(), key.get()) == 1) {
        ERR_clear_error();
        return "the key belongs to certificate " + std::to_string(i + 1) +
               " of the certificate file, not the first; put the server's own certificate "
               "first, then its intermediates";
      }
      ERR_clear_error();
    }
    return "the private key does not match the certificate (" + info.subject +
           "); give the key the certificate was issued for";
  }

  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  iso_time(X509_get0_notBefore(leaf), &not_before);
  iso_time(X509_get0_notAfter(leaf), &not_after);
  if (now_unix < not_before) {
    return "the certificate (" + info.subject + ") is not valid before " + info.not_before +
           "; use it from then on, or issue one that is valid now (check the clock too)";
  }
  if (now_unix > not_after) {
    return "the certificate (" + info.subject + ") expired on " + info.not_after +
           "; renew it and give the new certificate";
  }
  return "";
}

std::string check_ca(const std::string& pem, int& count) {
  count = 0;
  std::vector<X509Ptr> certificates;
  if (const std::string error = read_certificates(pem, certificates); !error.empty()) {
    return "the CA file is malformed PEM (" + error +
           "); give the PEM certificates of the issuers you trust for client certificates";
  }
  if (certificates.empty()) {
    return "the CA file holds no PEM certificate (no -----BEGIN CERTIFICATE----- line); give "
           "the PEM certificates of the issuers you trust for client certificates";
  }
  count = static_cast<int>(certificates.size());
  return "";
}

std::string key_family(const CertificateInfo& info) {
  return info.key_type.substr(0, info.key_type.find(' '));
}

}  // namespace httpapi::tls
