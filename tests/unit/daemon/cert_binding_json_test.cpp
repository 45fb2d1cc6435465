// The sslcert admin commands' JSON as a hand-made admin client could send it: the service
// checks every field itself, and show describes bindings without keys or PEM.
#include "daemon/control/cert_binding_json.hpp"

#include <ctime>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../tls/test_certificates.hpp"

namespace httpapi::daemon {
namespace {

using nlohmann::json;
namespace t = tls::testing;

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

class CertBindingJson : public ::testing::Test {
 protected:
  t::Key ec_key = t::ec_key();
  t::Key rsa_key = t::rsa_key();
  t::Cert ec_cert = t::make_cert(t::named("ec.example.com"), ec_key.get());
  t::Cert rsa_cert = t::make_cert(t::named("rsa.example.com"), rsa_key.get());

  json pair(X509* cert, EVP_PKEY* key) {
    return {{"certificate", t::pem(cert)}, {"key", t::pem(key)}};
  }
  json command() {
    return {{"command", "sslcert.add"},
            {"ipport", "[::0001]:8443"},
            {"certificates", json::array({pair(ec_cert.get(), ec_key.get())})}};
  }
  std::string refusal(const json& c) {
    tls::CertBinding binding;
    return binding_from_command(c, now(), binding);
  }
};

TEST_F(CertBindingJson, AWholeBindingIsRead) {
  json c = command();
  c["certificates"].push_back(pair(rsa_cert.get(), rsa_key.get()));
  c["client_cert"] = "request";
  c["ca"] = t::pem(ec_cert.get());
  c["min_tls"] = "1.3";
  c["disable_http2"] = true;
  c["disable_session_id"] = true;
  tls::CertBinding b;
  ASSERT_EQ(binding_from_command(c, now(), b), "");
  EXPECT_EQ(b.kind, tls::CertBinding::Kind::ip_port);
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 8443);
  ASSERT_EQ(b.certificates.size(), 2u);
  EXPECT_EQ(b.certificates[1].key_pem, t::pem(rsa_key.get()));
  EXPECT_EQ(b.client_cert, tls::ClientCertMode::request);
  EXPECT_EQ(b.min_tls, tls::MinTls::v1_3);
  EXPECT_TRUE(b.disable_http2);
  EXPECT_TRUE(b.disable_session_id);

  const json shown = describe_binding(b);
  EXPECT_EQ(shown["endpoint"], "[::1]:8443");
  EXPECT_EQ(shown["certificates"][0]["subject"], "CN=ec.example.com");
  EXPECT_EQ(shown["certificates"][1]["key_type"], "RSA 2048");
  EXPECT_EQ(shown["ca_certificates"], 1);
  const std::string text = shown.dump();
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(text.find("BEGIN CERTIFICATE"), std::string::npos);
}

TEST_F(CertBindingJson, DefaultsWhenOptionsAreAbsent) {
  tls::CertBinding b;
  ASSERT_EQ(binding_from_command(command(), now(), b), "");
  EXPECT_EQ(b.client_cert, tls::ClientCertMode::none);
  EXPECT_EQ(b.min_tls, tls::MinTls::v1_2);
  EXPECT_FALSE(b.disable_http2);
  EXPECT_EQ(b.ca_pem, "");
}

TEST_F(CertBindingJson, MistypedOrMissingFieldsAreRefused) {
  const auto refused = [&](json c, const std::string& why) {
    const std::string reason = refusal(c);
    EXPECT_NE(reason.find(why), std::string::npos) << c.dump().substr(0, 200) << ": " << reason;
  };
  json c = command();
  c.erase("ipport");
  refused(c, "exactly one of --ipport");
  c = command();
  c["hostnameport"] = "www.example.com:443";
  refused(c, "exactly one of --ipport");
  c = command();
  c["ipport"] = 443;
  refused(c, "exactly one of --ipport");
  c = command();
  c["certificates"] = "pem";
  refused(c, "one or two certificates");
  c["certificates"] = json::array();
  refused(c, "one or two certificates");
  c = command();
  c["certificates"] = json::array({1});
  refused(c, "\"certificate\" and \"key\"");
  c["certificates"] = json::array({{{"certificate", 1}, {"key", "x"}}});
  refused(c, "\"certificate\" and \"key\"");
  c = command();
  c["certificates"].push_back(c["certificates"][0]);
  c["certificates"].push_back(c["certificates"][0]);
  refused(c, "one or two certificates");
  c = command();
  c["client_cert"] = "always";
  refused(c, "none, request or require");
  c["client_cert"] = true;
  refused(c, "client_cert must be a string");
  c = command();
  c["client_cert"] = "require";
  refused(c, "--ca");
  c["ca"] = "garbage";
  refused(c, "CA file holds no PEM certificate");
  c = command();
  c["min_tls"] = 1.3;
  refused(c, "1.2 or 1.3");
  c["min_tls"] = "1.0";
  refused(c, "1.2 or 1.3");
  c = command();
  c["disable_http2"] = "yes";
  refused(c, "true or false");
}

TEST_F(CertBindingJson, CertificateChecksApply) {
  json c = command();
  c["certificates"][0]["key"] = t::pem(rsa_key.get());
  EXPECT_NE(refusal(c).find("does not match"), std::string::npos);
  c = command();
  t::Key other = t::ec_key();
  c["certificates"].push_back(pair(t::make_cert(t::named("b"), other.get()).get(), other.get()));
  EXPECT_NE(refusal(c).find("both certificates have ECDSA keys"), std::string::npos);
  c = command();
  c["certificates"].push_back({{"certificate", t::pem(rsa_cert.get())}, {"key", "nothing"}});
  EXPECT_EQ(refusal(c).rfind("second pair: ", 0), 0u) << refusal(c);
}

TEST_F(CertBindingJson, EndpointOfDeleteAndShow) {
  tls::CertBinding b;
  EXPECT_EQ(endpoint_from_command({{"hostnameport", "*.Example.com:443"}}, b), "");
  EXPECT_EQ(b.kind, tls::CertBinding::Kind::hostname_port);
  EXPECT_EQ(b.host, "*.example.com");
  EXPECT_NE(endpoint_from_command({{"hostnameport", "a.*.example.com:443"}}, b), "");
  EXPECT_NE(endpoint_from_command(json::object(), b), "");
}

}  // namespace
}  // namespace httpapi::daemon
