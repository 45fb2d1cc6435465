// What a certificate binding's PEM text holds, and whether it can be served: the checks
// `httpcfg sslcert add/update` runs in the service before a binding is stored, and the
// description `httpcfg sslcert show` prints. Pure functions over PEM text (no file I/O):
// httpcfg reads the files, the service never does (docs/tls.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "tls/cert_binding.hpp"

namespace httpapi::tls {

struct CertificateInfo {
  std::string subject;                 // RFC 4514, e.g. "CN=www.example.com,O=Example"
  std::string issuer;                  // RFC 4514
  std::vector<std::string> dns_names;  // the DNS names of subjectAltName, in order
  std::string not_before;              // ISO 8601 UTC, "2026-12-04T10:00:00Z"
  std::string not_after;
  std::string sha256;                  // lower-case hex of the leaf's DER
  std::string key_type;                // "RSA 2048", "ECDSA P-256"
  int chain_length = 0;                // the leaf plus the intermediates in the file
};

// Reads the leaf (and counts the chain) of `certificate_pem` into `info`. "" on success,
// else a one-line reason. Says nothing about the key or the dates.
std::string describe_certificate(const std::string& certificate_pem, CertificateInfo& info);

// Whether `pair` can be served at `now_unix`: both parse, the key is unencrypted, RSA
// (2048 bits or more) or ECDSA, and belongs to the leaf (the first certificate), and the
// leaf is valid now. "" on success with `info` filled; else a one-line reason that says
// what is wrong and what to do.
std::string check_pair(const CertKeyPair& pair, std::int64_t now_unix, CertificateInfo& info);

// A bundle of trusted client-certificate issuers (--ca): at least one certificate, every
// block well-formed. "" on success with `count` set; else a one-line reason.
std::string check_ca(const std::string& pem, int& count);

// The key family that a binding may hold once ("RSA" or "ECDSA"): the first word of
// CertificateInfo::key_type.
std::string key_family(const CertificateInfo& info);

// Shared with the TLS transport (client certificates): a name as RFC 4514 text, and the
// lower-case hex SHA-256 of a certificate's DER.
std::string name_text(const X509_NAME* name);
std::string sha256_hex(const X509* certificate);

}  // namespace httpapi::tls
