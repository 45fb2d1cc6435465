// select_binding: HTTP.sys's order (exact SNI, wildcard SNI, ip:port, any address), the
// one-label wildcard rule of RFC 6125, ports kept apart, IPv4-mapped local addresses, and
// every step falling through to the next when it has no match.
#include "tls/binding_selector.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace httpapi::tls {
namespace {

using Kind = CertBinding::Kind;

CertBinding ip(std::string host, std::uint16_t port) {
  CertBinding b;
  b.kind = Kind::ip_port;
  b.host = std::move(host);
  b.port = port;
  return b;
}

CertBinding name(std::string host, std::uint16_t port) {
  CertBinding b = ip(std::move(host), port);
  b.kind = Kind::hostname_port;
  return b;
}

// The endpoint text of the selected binding ("none" when nothing matched), for readable
// failures.
std::string pick(const std::vector<CertBinding>& bindings, std::string_view sni,
                 std::string_view local, std::uint16_t port) {
  const CertBinding* b = select_binding(bindings, sni, local, port);
  if (!b) return "none";
  return (b->kind == Kind::ip_port ? "ip " : "name ") + b->host + ":" + std::to_string(b->port);
}

TEST(SelectBinding, EmptyListMatchesNothing) {
  EXPECT_EQ(pick({}, "www.example.com", "127.0.0.1", 443), "none");
}

TEST(SelectBinding, FullOrderFallsThroughStepByStep) {
  std::vector<CertBinding> all{ip("0.0.0.0", 443), ip("::", 443), ip("127.0.0.1", 443),
                               name("*.example.com", 443), name("www.example.com", 443)};
  // 1. exact name
  EXPECT_EQ(pick(all, "www.example.com", "127.0.0.1", 443), "name www.example.com:443");
  // 2. wildcard
  EXPECT_EQ(pick(all, "api.example.com", "127.0.0.1", 443), "name *.example.com:443");
  // 3. ip:port when no name matches
  EXPECT_EQ(pick(all, "other.test", "127.0.0.1", 443), "ip 127.0.0.1:443");
  EXPECT_EQ(pick(all, "", "127.0.0.1", 443), "ip 127.0.0.1:443");
  // 4. any address
  EXPECT_EQ(pick(all, "other.test", "10.0.0.5", 443), "ip 0.0.0.0:443");
  EXPECT_EQ(pick(all, "other.test", "::1", 443), "ip :::443");
}

TEST(SelectBinding, ListOrderDoesNotMatter) {
  std::vector<CertBinding> all{name("www.example.com", 443), name("*.example.com", 443),
                               ip("127.0.0.1", 443), ip("::", 443), ip("0.0.0.0", 443)};
  EXPECT_EQ(pick(all, "www.example.com", "127.0.0.1", 443), "name www.example.com:443");
  EXPECT_EQ(pick(all, "api.example.com", "127.0.0.1", 443), "name *.example.com:443");
  EXPECT_EQ(pick(all, "", "127.0.0.1", 443), "ip 127.0.0.1:443");
  EXPECT_EQ(pick(all, "", "10.1.1.1", 443), "ip 0.0.0.0:443");
}

TEST(SelectBinding, SniIsCaseInsensitiveAndMayEndWithADot) {
  std::vector<CertBinding> all{name("www.example.com", 443), name("*.example.org", 443)};
  EXPECT_EQ(pick(all, "WWW.Example.COM", "127.0.0.1", 443), "name www.example.com:443");
  EXPECT_EQ(pick(all, "www.example.com.", "127.0.0.1", 443), "name www.example.com:443");
  EXPECT_EQ(pick(all, "A.EXAMPLE.ORG", "127.0.0.1", 443), "name *.example.org:443");
}

TEST(SelectBinding, WildcardCoversExactlyOneLabel) {
  std::vector<CertBinding> all{name("*.example.com", 443)};
  EXPECT_EQ(pick(all, "a.example.com", "127.0.0.1", 443), "name *.example.com:443");
  EXPECT_EQ(pick(all, "a-b.example.com", "127.0.0.1", 443), "name *.example.com:443");
  EXPECT_EQ(pick(all, "example.com", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, ".example.com", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, "a.b.example.com", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, "aexample.com", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, "a.example.com.evil", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, "a.notexample.com", "127.0.0.1", 443), "none");
}

TEST(SelectBinding, WildcardBindingIsNotAnExactMatchForTheStarName) {
  // A client sending the literal "*.example.com" as SNI gets the wildcard only through the
  // wildcard rule, which needs one real label: no match.
  std::vector<CertBinding> all{name("*.example.com", 443)};
  EXPECT_EQ(pick(all, "*.example.com", "127.0.0.1", 443), "none");
}

TEST(SelectBinding, ExactBeatsWildcardWhateverTheOrder) {
  std::vector<CertBinding> all{name("*.example.com", 443), name("api.example.com", 443)};
  EXPECT_EQ(pick(all, "api.example.com", "127.0.0.1", 443), "name api.example.com:443");
  EXPECT_EQ(pick(all, "www.example.com", "127.0.0.1", 443), "name *.example.com:443");
}

TEST(SelectBinding, PortsAreKeptApart) {
  std::vector<CertBinding> all{name("www.example.com", 8443), name("*.example.com", 8443),
                               ip("127.0.0.1", 8443), ip("0.0.0.0", 8443)};
  EXPECT_EQ(pick(all, "www.example.com", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, "a.example.com", "127.0.0.1", 443), "none");
  EXPECT_EQ(pick(all, "", "10.0.0.1", 443), "none");
  all.push_back(ip("0.0.0.0", 443));
  EXPECT_EQ(pick(all, "www.example.com", "127.0.0.1", 443), "ip 0.0.0.0:443");
  EXPECT_EQ(pick(all, "www.example.com", "127.0.0.1", 8443), "name www.example.com:8443");
}

TEST(SelectBinding, NoSniSkipsTheNameBindings) {
  std::vector<CertBinding> all{name("www.example.com", 443), name("*.example.com", 443)};
  EXPECT_EQ(pick(all, "", "127.0.0.1", 443), "none");
}

TEST(SelectBinding, IpBindingMatchesOnlyItsAddress) {
  std::vector<CertBinding> all{ip("127.0.0.1", 443), ip("::1", 443)};
  EXPECT_EQ(pick(all, "", "127.0.0.1", 443), "ip 127.0.0.1:443");
  EXPECT_EQ(pick(all, "", "127.0.0.2", 443), "none");
  EXPECT_EQ(pick(all, "", "::1", 443), "ip ::1:443");
  EXPECT_EQ(pick(all, "", "[::1]", 443), "ip ::1:443");
  EXPECT_EQ(pick(all, "", "0:0:0:0:0:0:0:1", 443), "ip ::1:443");
  EXPECT_EQ(pick(all, "", "::2", 443), "none");
}

TEST(SelectBinding, Ipv4MappedLocalAddressCountsAsIpv4) {
  std::vector<CertBinding> all{ip("1.2.3.4", 443)};
  EXPECT_EQ(pick(all, "", "::ffff:1.2.3.4", 443), "ip 1.2.3.4:443");
  EXPECT_EQ(pick(all, "", "[::ffff:1.2.3.4]", 443), "ip 1.2.3.4:443");
  EXPECT_EQ(pick(all, "", "::ffff:1.2.3.5", 443), "none");
  // ...and prefers the IPv4 any-address binding.
  all = {ip("::", 443), ip("0.0.0.0", 443)};
  EXPECT_EQ(pick(all, "", "::ffff:1.2.3.4", 443), "ip 0.0.0.0:443");
}

TEST(SelectBinding, AnyAddressPrefersTheOwnFamilyThenTheOther) {
  std::vector<CertBinding> both{ip("::", 443), ip("0.0.0.0", 443)};
  EXPECT_EQ(pick(both, "", "10.0.0.1", 443), "ip 0.0.0.0:443");
  EXPECT_EQ(pick(both, "", "fe80::1", 443), "ip :::443");
  std::vector<CertBinding> v4{ip("0.0.0.0", 443)};
  EXPECT_EQ(pick(v4, "", "fe80::1", 443), "ip 0.0.0.0:443");
  std::vector<CertBinding> v6{ip("::", 443)};
  EXPECT_EQ(pick(v6, "", "10.0.0.1", 443), "ip :::443");
}

TEST(SelectBinding, AnUnparsableLocalAddressStillGetsTheAnyBinding) {
  std::vector<CertBinding> all{ip("127.0.0.1", 443), ip("0.0.0.0", 443)};
  EXPECT_EQ(pick(all, "", "", 443), "ip 0.0.0.0:443");
  EXPECT_EQ(pick(all, "", "not an address", 443), "ip 0.0.0.0:443");
}

TEST(SelectBinding, AnyLocalAddressIsNotAnIpMatch) {
  // A socket's local address is never 0.0.0.0 in practice; if one is passed, only the
  // any-address binding answers it.
  std::vector<CertBinding> all{ip("127.0.0.1", 443)};
  EXPECT_EQ(pick(all, "", "0.0.0.0", 443), "none");
}

}  // namespace
}  // namespace httpapi::tls
