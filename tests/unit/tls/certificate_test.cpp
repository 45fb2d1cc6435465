// check_pair, check_ca and describe_certificate over real certificates made at test time
// (test_certificates.hpp); the fingerprint and subject are compared with what the openssl
// command line prints for the same file.
#include "tls/certificate.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "test_certificates.hpp"

namespace httpapi::tls {
namespace {

using namespace testing;  // NOLINT: the test helpers

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// What `openssl x509` says about `pem`: the line after "=" of -fingerprint or -subject.
std::string openssl_x509(const std::string& pem, const std::string& what) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("tls-test-" + std::to_string(::getpid()) + ".pem"))
          .string();
  std::ofstream(path) << pem;
  const std::string line = run("openssl x509 -noout -nameopt RFC2253 " + what + " -in " + path);
  std::filesystem::remove(path);
  return line.substr(line.find('=') + 1);
}

std::string fingerprint_hex(std::string colon_hex) {
  std::string out;
  for (char c : colon_hex) {
    if (c != ':') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

TEST(CheckPair, RsaSelfSignedIsDescribed) {
  Key key = rsa_key();
  CertSpec spec;
  spec.organization = "Example";
  spec.dns_names = {"www.example.com", "example.com"};
  Cert cert = make_cert(spec, key.get());
  CertificateInfo info;
  EXPECT_EQ(check_pair({pem(cert.get()), pem(key.get())}, now(), info), "");
  EXPECT_EQ(info.subject, "CN=www.example.com,O=Example");
  EXPECT_EQ(info.issuer, "CN=www.example.com,O=Example");
  EXPECT_EQ(info.dns_names, (std::vector<std::string>{"www.example.com", "example.com"}));
  EXPECT_EQ(info.key_type, "RSA 2048");
  EXPECT_EQ(key_family(info), "RSA");
  EXPECT_EQ(info.chain_length, 1);
  EXPECT_EQ(info.sha256.size(), 64u);
  EXPECT_EQ(info.sha256, fingerprint_hex(openssl_x509(pem(cert.get()), "-fingerprint -sha256")));
  EXPECT_EQ(info.subject, openssl_x509(pem(cert.get()), "-subject"));
}

TEST(CheckPair, DatesAreIso8601Utc) {
  Key key = ec_key();
  Cert cert = make_cert({}, key.get());
  CertificateInfo info;
  ASSERT_EQ(check_pair({pem(cert.get()), pem(key.get())}, now(), info), "");
  // notBefore was set to now - 3600 s.
  const std::time_t before = std::time(nullptr) - 3600;
  std::tm parts{};
  gmtime_r(&before, &parts);
  char expected[32];
  std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:", &parts);
  EXPECT_EQ(info.not_before.size(), 20u) << info.not_before;
  EXPECT_EQ(info.not_before.substr(0, 14), expected);
  EXPECT_EQ(info.not_before.back(), 'Z');
  EXPECT_EQ(info.not_after.size(), 20u);
}

TEST(CheckPair, EcdsaKeyTypesNameTheCurve) {
  for (const auto& [curve, text] : {std::pair{"P-256", "ECDSA P-256"},
                                    std::pair{"P-384", "ECDSA P-384"},
                                    std::pair{"P-521", "ECDSA P-521"}}) {
    Key key = ec_key(curve);
    Cert cert = make_cert({}, key.get());
    CertificateInfo info;
    EXPECT_EQ(check_pair({pem(cert.get()), pem(key.get())}, now(), info), "") << curve;
    EXPECT_EQ(info.key_type, text);
    EXPECT_EQ(key_family(info), "ECDSA");
  }
}

TEST(CheckPair, ChainWithAnIntermediateLeafFirst) {
  Key root_key = ec_key();
  CertSpec root_spec = named("Example Root", true);
  Cert root = make_cert(root_spec, root_key.get());
  Key mid_key = ec_key();
  CertSpec mid_spec = named("Example Intermediate", true);
  Cert mid = make_cert(mid_spec, mid_key.get(), root.get(), root_key.get());
  Key leaf_key = rsa_key();
  Cert leaf = make_cert(named("api.example.com"), leaf_key.get(), mid.get(),
                        mid_key.get());

  CertificateInfo info;
  EXPECT_EQ(check_pair({pem(leaf.get()) + pem(mid.get()), pem(leaf_key.get())}, now(), info),
            "");
  EXPECT_EQ(info.subject, "CN=api.example.com");
  EXPECT_EQ(info.issuer, "CN=Example Intermediate");
  EXPECT_EQ(info.chain_length, 2);
  EXPECT_EQ(info.key_type, "RSA 2048");

  // The same file with the intermediate first: the key belongs to the second certificate.
  const std::string reason =
      check_pair({pem(mid.get()) + pem(leaf.get()), pem(leaf_key.get())}, now(), info);
  EXPECT_NE(reason.find("certificate 2"), std::string::npos) << reason;
  EXPECT_NE(reason.find("first"), std::string::npos) << reason;
}

TEST(CheckPair, ExpiredCertificateGivesTheDate) {
  Key key = ec_key();
  Cert cert = make_cert(dated(-86400 * 60, -86400), key.get());
  CertificateInfo info;
  const std::string reason = check_pair({pem(cert.get()), pem(key.get())}, now(), info);
  EXPECT_NE(reason.find("expired on " + info.not_after), std::string::npos) << reason;
  EXPECT_NE(reason.find("renew"), std::string::npos) << reason;
  EXPECT_EQ(reason.find('\n'), std::string::npos);
}

TEST(CheckPair, NotYetValidCertificateGivesTheDate) {
  Key key = ec_key();
  Cert cert = make_cert(dated(86400, 86400 * 60), key.get());
  CertificateInfo info;
  const std::string reason = check_pair({pem(cert.get()), pem(key.get())}, now(), info);
  EXPECT_NE(reason.find("not valid before " + info.not_before), std::string::npos) << reason;
}

TEST(CheckPair, ValidityBoundsAreInclusive) {
  Key key = ec_key();
  Cert cert = make_cert({}, key.get());
  CertificateInfo info;
  ASSERT_EQ(check_pair({pem(cert.get()), pem(key.get())}, now(), info), "");
  std::tm parts{};
  strptime(info.not_before.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  const std::int64_t start = timegm(&parts);
  strptime(info.not_after.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  const std::int64_t end = timegm(&parts);
  const CertKeyPair pair{pem(cert.get()), pem(key.get())};
  EXPECT_EQ(check_pair(pair, start, info), "");
  EXPECT_EQ(check_pair(pair, end, info), "");
  EXPECT_NE(check_pair(pair, start - 1, info), "");
  EXPECT_NE(check_pair(pair, end + 1, info), "");
}

TEST(CheckPair, MismatchedKeyIsRefused) {
  Key key = ec_key();
  Key other = ec_key();
  Cert cert = make_cert({}, key.get());
  CertificateInfo info;
  const std::string reason = check_pair({pem(cert.get()), pem(other.get())}, now(), info);
  EXPECT_NE(reason.find("does not match the certificate (CN=www.example.com)"),
            std::string::npos)
      << reason;
  // A key of another type does not match either.
  Key rsa = rsa_key();
  EXPECT_NE(check_pair({pem(cert.get()), pem(rsa.get())}, now(), info).find("does not match"),
            std::string::npos);
}

TEST(CheckPair, GarbageCertificatePem) {
  Key key = ec_key();
  CertificateInfo info;
  std::string reason = check_pair(
      {"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
       pem(key.get())},
      now(), info);
  EXPECT_NE(reason.find("malformed PEM"), std::string::npos) << reason;
  reason = check_pair({"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                       pem(key.get())},
                      now(), info);
  EXPECT_NE(reason.find("malformed PEM"), std::string::npos) << reason;
  reason = check_pair({"hello world\n", pem(key.get())}, now(), info);
  EXPECT_NE(reason.find("no PEM certificate"), std::string::npos) << reason;
  reason = check_pair({"", pem(key.get())}, now(), info);
  EXPECT_NE(reason.find("no PEM certificate"), std::string::npos) << reason;
}

TEST(CheckPair, KeyGivenAsTheCertificateSuggestsASwap) {
  Key key = ec_key();
  Cert cert = make_cert({}, key.get());
  CertificateInfo info;
  const std::string reason = check_pair({pem(key.get()), pem(cert.get())}, now(), info);
  EXPECT_NE(reason.find("swapped"), std::string::npos) << reason;
}

TEST(CheckPair, GarbageOrMissingKey) {
  Key key = ec_key();
  Cert cert = make_cert({}, key.get());
  CertificateInfo info;
  std::string reason = check_pair(
      {pem(cert.get()), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
      now(), info);
  EXPECT_NE(reason.find("key file is malformed PEM"), std::string::npos) << reason;
  reason = check_pair({pem(cert.get()), "nothing here"}, now(), info);
  EXPECT_NE(reason.find("no PEM private key"), std::string::npos) << reason;
  reason = check_pair({pem(cert.get()), pem(cert.get())}, now(), info);
  EXPECT_NE(reason.find("no PEM private key"), std::string::npos) << reason;
}

TEST(CheckPair, EncryptedKeysAreRefusedWithTheWayOut) {
  Key key = rsa_key();
  Cert cert = make_cert({}, key.get());
  CertificateInfo info;
  for (const std::string& encrypted :
       {encrypted_pem(key.get()), encrypted_traditional_pem(key.get())}) {
    const std::string reason = check_pair({pem(cert.get()), encrypted}, now(), info);
    EXPECT_NE(reason.find("encrypted"), std::string::npos) << reason;
    EXPECT_NE(reason.find("openssl pkey"), std::string::npos) << reason;
  }
}

TEST(CheckPair, SmallRsaAndOtherKeyTypesAreRefused) {
  Key small = rsa_key(1024);
  Cert cert = make_cert({}, small.get());
  CertificateInfo info;
  std::string reason = check_pair({pem(cert.get()), pem(small.get())}, now(), info);
  EXPECT_NE(reason.find("1024 bits"), std::string::npos) << reason;

  Key ed = ed25519_key();
  Key signer = ec_key();
  Cert ed_cert = make_cert({}, ed.get(), nullptr, signer.get());
  reason = check_pair({pem(ed_cert.get()), pem(ed.get())}, now(), info);
  EXPECT_NE(reason.find("Ed25519"), std::string::npos) << reason;
  EXPECT_NE(reason.find("RSA"), std::string::npos) << reason;
}

TEST(CheckPair, TheErrorQueueIsLeftEmpty) {
  Key key = ec_key();
  CertificateInfo info;
  check_pair({"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n", pem(key.get())},
             now(), info);
  check_pair({pem(make_cert({}, key.get()).get()), "-----BEGIN PRIVATE KEY-----\n!\n-----END "
                                                   "PRIVATE KEY-----\n"},
             now(), info);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(DescribeCertificate, IgnoresDatesAndKeys) {
  Key key = ec_key();
  Cert cert = make_cert(dated(-86400 * 60, -86400), key.get());
  CertificateInfo info;
  EXPECT_EQ(describe_certificate(pem(cert.get()), info), "");
  EXPECT_EQ(info.subject, "CN=www.example.com");
  EXPECT_NE(describe_certificate("garbage", info), "");
}

TEST(CheckCa, CountsTheBundle) {
  Key a = ec_key();
  Key b = rsa_key();
  const std::string bundle = pem(make_cert(named("CA one", true), a.get()).get()) +
                             pem(make_cert(named("CA two", true), b.get()).get());
  int count = 0;
  EXPECT_EQ(check_ca(bundle, count), "");
  EXPECT_EQ(count, 2);
}

TEST(CheckCa, RefusesGarbageAndEmptyBundles) {
  int count = 7;
  std::string reason = check_ca("", count);
  EXPECT_NE(reason.find("no PEM certificate"), std::string::npos) << reason;
  EXPECT_EQ(count, 0);
  Key a = ec_key();
  reason = check_ca(pem(make_cert(named("www.example.com", true), a.get()).get()) +
                        "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
                    count);
  EXPECT_NE(reason.find("malformed PEM"), std::string::npos) << reason;
}

}  // namespace
}  // namespace httpapi::tls
