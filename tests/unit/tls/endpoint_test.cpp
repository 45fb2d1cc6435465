// Endpoint text of certificate bindings: the accepted forms, their canonical form, and the
// refusals with their reasons.
#include "tls/endpoint.hpp"

#include <gtest/gtest.h>

namespace httpapi::tls {
namespace {

using Kind = CertBinding::Kind;

struct Parsed {
  std::string error;
  std::string host;
  std::uint16_t port = 0;
};

Parsed parse(std::string_view text, Kind kind) {
  Parsed out;
  out.error = parse_endpoint(text, kind, out.host, out.port);
  return out;
}

TEST(Endpoint, IpPortForms) {
  EXPECT_EQ(parse("0.0.0.0:443", Kind::ip_port).host, "0.0.0.0");
  EXPECT_EQ(parse("0.0.0.0:443", Kind::ip_port).port, 443);
  EXPECT_EQ(parse("[::]:8443", Kind::ip_port).host, "::");
  EXPECT_EQ(parse("127.0.0.1:1", Kind::ip_port).host, "127.0.0.1");
  EXPECT_EQ(parse("[::0001]:65535", Kind::ip_port).host, "::1");
  EXPECT_EQ(parse("[::0001]:65535", Kind::ip_port).port, 65535);
  EXPECT_EQ(parse("[2001:DB8::1]:443", Kind::ip_port).host, "2001:db8::1");
  EXPECT_EQ(parse("[::ffff:1.2.3.4]:443", Kind::ip_port).host, "::ffff:1.2.3.4");
}

TEST(Endpoint, IpPortRefusals) {
  EXPECT_NE(parse("::1:443", Kind::ip_port).error.find("without brackets"), std::string::npos);
  EXPECT_NE(parse("0.0.0.0", Kind::ip_port).error.find("no port"), std::string::npos);
  EXPECT_NE(parse("0.0.0.0:", Kind::ip_port).error.find("no port"), std::string::npos);
  EXPECT_NE(parse("0.0.0.0:0", Kind::ip_port).error.find("not a port"), std::string::npos);
  EXPECT_NE(parse("0.0.0.0:65536", Kind::ip_port).error.find("not a port"), std::string::npos);
  EXPECT_NE(parse("0.0.0.0:44x", Kind::ip_port).error.find("not a port"), std::string::npos);
  EXPECT_NE(parse("0.0.0.0:-1", Kind::ip_port).error.find("not a port"), std::string::npos);
  EXPECT_NE(parse("www.example.com:443", Kind::ip_port).error.find("--hostnameport"),
            std::string::npos);
  EXPECT_NE(parse("[1.2.3.4]:443", Kind::ip_port).error, "");
  EXPECT_NE(parse("256.1.1.1:443", Kind::ip_port).error, "");
  EXPECT_NE(parse(":443", Kind::ip_port).error, "");
}

TEST(Endpoint, HostnameForms) {
  Parsed p = parse("WWW.Example.COM:443", Kind::hostname_port);
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.host, "www.example.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(parse("*.Example.com:8443", Kind::hostname_port).host, "*.example.com");
  EXPECT_EQ(parse("localhost:443", Kind::hostname_port).host, "localhost");
  EXPECT_EQ(parse("a-b.c1.example:443", Kind::hostname_port).host, "a-b.c1.example");
  EXPECT_EQ(parse(std::string(63, 'a') + ".com:443", Kind::hostname_port).error, "");
}

TEST(Endpoint, HostnameRefusals) {
  const auto refused = [](std::string_view text, std::string_view why) {
    const Parsed p = parse(text, Kind::hostname_port);
    EXPECT_NE(p.error.find(why), std::string::npos) << text << ": " << p.error;
  };
  refused("a.*.example.com:443", "whole first label");
  refused("w*.example.com:443", "whole first label");
  refused("*example.com:443", "whole first label");
  refused("*.com:443", "at least two labels");
  refused("*:443", "at least two labels");
  refused("example..com:443", "empty label");
  refused("example.com.:443", "empty label");
  refused(".example.com:443", "empty label");
  refused("-a.example.com:443", "'-'");
  refused("a-.example.com:443", "'-'");
  refused("ex_ample.com:443", "only letters");
  refused("exämple.com:443", "only letters");
  refused(std::string(64, 'a') + ".com:443", "63");
  refused(std::string(250, 'a') + ".com:443", "253");
  refused("1.2.3.4:443", "--ipport");
  refused(":443", "empty");
  refused("example.com", "no port");
}

TEST(Endpoint, TextBracketsIpv6Only) {
  CertBinding b;
  b.host = "::";
  b.port = 443;
  EXPECT_EQ(endpoint_text(b), "[::]:443");
  b.host = "0.0.0.0";
  EXPECT_EQ(endpoint_text(b), "0.0.0.0:443");
  b.kind = Kind::hostname_port;
  b.host = "*.example.com";
  b.port = 8443;
  EXPECT_EQ(endpoint_text(b), "*.example.com:8443");
  EXPECT_TRUE(is_any_address("::"));
  EXPECT_TRUE(is_any_address("0.0.0.0"));
  EXPECT_FALSE(is_any_address("::1"));
}

}  // namespace
}  // namespace httpapi::tls
