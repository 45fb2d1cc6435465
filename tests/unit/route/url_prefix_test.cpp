// parse_url_prefix: every rejection class, canonical forms, and idempotence.
#include "route/url_prefix.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace httpapi::route {
namespace {

const char* name(PrefixError e) {
  switch (e) {
    case PrefixError::none: return "none";
    case PrefixError::bad_scheme: return "bad_scheme";
    case PrefixError::bad_host: return "bad_host";
    case PrefixError::bad_port: return "bad_port";
    case PrefixError::bad_path: return "bad_path";
  }
  return "?";
}

struct BadCase {
  std::string text;
  PrefixError error;
};

std::vector<BadCase> bad_cases() {
  using E = PrefixError;
  return {
      // scheme: exactly lowercase http/https followed by "://"
      {"", E::bad_scheme},
      {"junk", E::bad_scheme},
      {"\x01\xff garbage", E::bad_scheme},
      {"HTTP://+:80/", E::bad_scheme},
      {"Http://+:80/", E::bad_scheme},
      {"HTTPS://+:443/", E::bad_scheme},
      {"ftp://+:80/", E::bad_scheme},
      {"http:/+:80/", E::bad_scheme},
      {"http//+:80/", E::bad_scheme},
      {" http://+:80/", E::bad_scheme},
      {"localhost:50000", E::bad_scheme},   // B008
      {"localhost:50000/", E::bad_scheme},  // B008
      {"httpx://+:80/", E::bad_scheme},
      // host
      {"http://:80/", E::bad_host},
      {"http://0.0.0.0:80/", E::bad_host},
      {"http://0.0.0.0/", E::bad_host},  // B016: host is checked before the port
      {"http://[::]:80/", E::bad_host},
      {"http://[::]/", E::bad_host},
      {"http://[0:0:0:0:0:0:0:0]:80/", E::bad_host},
      {"http://[::ffff:0.0.0.0]:80/", E::bad_host},
      {"http://[::1:80/", E::bad_host},
      {"http://[zz::1]:80/", E::bad_host},
      {"http://[]:80/", E::bad_host},
      {"http://[]/", E::bad_host},
      {"http://[::1%2]:80/", E::bad_host},
      {"http://[::1%25eth0]:80/", E::bad_host},
      {"http://[::1]x:80/", E::bad_host},
      {"http://[1.2.3.4]:80/", E::bad_host},
      {"http://[1:2:3:4:5:6:7:8:9]:80/", E::bad_host},
      {"http://::1:80/", E::bad_host},
      {"http://192.:80/", E::bad_host},
      {"http://192./", E::bad_host},
      {"http://.:80/", E::bad_host},
      {"http://./", E::bad_host},
      {"http://\\:80/", E::bad_host},
      {"http://\\/", E::bad_host},
      {"http://a..b:80/", E::bad_host},
      {"http://.a:80/", E::bad_host},
      {"http://host.:80/", E::bad_host},
      {"http://-a:80/", E::bad_host},
      {"http://a-:80/", E::bad_host},
      {"http://a b:80/", E::bad_host},
      {"http://user@host:80/", E::bad_host},
      {"http://++:80/", E::bad_host},
      {"http://+*:80/", E::bad_host},
      {"http://1.2.3:80/", E::bad_host},
      {"http://01.2.3.4:80/", E::bad_host},
      {"http://1.2.3.04:80/", E::bad_host},
      {"http://256.1.1.1:80/", E::bad_host},
      {"http://1.2.3.4.5:80/", E::bad_host},
      {"http://123:80/", E::bad_host},
      {"http://0x7f.0.0.1:80/", E::bad_host},
      {"http://caf\xc3\xa9.example:80/", E::bad_host},
      {"http://" + std::string(64, 'a') + ":80/", E::bad_host},
      {"http://" + std::string(254, 'a') + ":80/", E::bad_host},
      {"http://" + std::string(256, 'a') + "/", E::bad_host},
      // port
      {"http://+/", E::bad_port},
      {"http://localhost/", E::bad_port},  // B008
      {"http://localhost", E::bad_port},
      {"http://+:/", E::bad_port},
      {"http://localhost:/", E::bad_port},  // B008
      {"http://+:080/", E::bad_port},
      {"http://+:0/", E::bad_port},
      {"http://localhost:0/", E::bad_port},  // B008
      {"http://+:00/", E::bad_port},
      {"http://+:65536/", E::bad_port},
      {"http://+:99999/", E::bad_port},
      {"http://+:123456/", E::bad_port},
      {"http://+:-1/", E::bad_port},
      {"http://+:+80/", E::bad_port},
      {"http://+:trash/", E::bad_port},
      {"http://+:8 0/", E::bad_port},
      {"http://+:80:81/", E::bad_port},
      {"http://+:0x50/", E::bad_port},
      {"http://[::1]/", E::bad_port},
      {"http://[::1]:/", E::bad_port},
      {"http://+:80?x/", E::bad_port},
      // path
      {"http://+:80", E::bad_path},
      {"http://localhost:50000", E::bad_path},  // B008
      {"http://+:80/a", E::bad_path},
      {"http://+:80/a/b", E::bad_path},
      {"http://+:80/a/?x", E::bad_path},
      {"http://localhost:80/barfoo?a=b", E::bad_path},  // B009
      {"http://+:80/a/#x", E::bad_path},
      {"http://+:80/?/", E::bad_path},
      {"http://+:80/a b/", E::bad_path},
      {"http://+:80/a\tb/", E::bad_path},
      {"http://+:80/a\x7f/", E::bad_path},
      {"http://+:80/a\r\n/", E::bad_path},
      {std::string("http://+:80/a\0b/", 16), E::bad_path},
      {"http://+:80/invalid%path/", E::bad_path},
      {"http://+:80/a%2f/", E::bad_path},
      {"http://+:80/a\\b/", E::bad_path},
      {"http://+:80//", E::bad_path},
      {"http://+:80/a//b/", E::bad_path},  // B017
      {"http://+:80/./", E::bad_path},
      {"http://+:80/a/../", E::bad_path},
      {"http://+:80/a/./b/", E::bad_path},
      {"http://+:80/\xff/", E::bad_path},
      {"http://+:80/\xc3/", E::bad_path},          // truncated sequence
      {"http://+:80/\xc0\xaf/", E::bad_path},      // overlong '/'
      {"http://+:80/\xe0\x80\xaf/", E::bad_path},  // overlong '/'
      {"http://+:80/\xed\xa0\x80/", E::bad_path},  // surrogate
      {"http://+:80/\xf4\x90\x80\x80/", E::bad_path},  // > U+10FFFF
  };
}

TEST(UrlPrefixParse, RejectsEachBadPrefixWithItsError) {
  for (const BadCase& c : bad_cases()) {
    UrlPrefix out;
    out.text = "untouched";
    const PrefixError got = parse_url_prefix(c.text, out);
    EXPECT_EQ(got, c.error) << "prefix \"" << c.text << "\": got " << name(got) << ", want "
                            << name(c.error);
    EXPECT_EQ(out.text, "untouched") << "output modified on failure for \"" << c.text << "\"";
  }
}

TEST(UrlPrefixParse, EveryErrorKindIsCovered) {
  std::set<PrefixError> seen;
  for (const BadCase& c : bad_cases()) seen.insert(c.error);
  EXPECT_EQ(seen.size(), 4u);
}

struct GoodCase {
  std::string text;
  std::string canonical;
  bool secure;
  HostKind kind;
  std::string host;
  std::uint16_t port;
  std::string path;
};

std::vector<GoodCase> good_cases() {
  using K = HostKind;
  const std::string long_label(63, 'a');
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters
  const std::string long_host =
      long_label + "." + long_label + "." + long_label + "." + std::string(61, 'b');
  return {
      {"http://+:80/", "http://+:80/", false, K::strong_wildcard, "+", 80, "/"},
      {"https://*:443/", "https://*:443/", true, K::weak_wildcard, "*", 443, "/"},
      {"http://+:1/", "http://+:1/", false, K::strong_wildcard, "+", 1, "/"},
      {"http://+:65535/", "http://+:65535/", false, K::strong_wildcard, "+", 65535, "/"},
      {"http://LocalHost:8080/App/", "http://localhost:8080/app/", false, K::explicit_name,
       "localhost", 8080, "/app/"},
      {"http://www.adatum.com:80/dir/sna/", "http://www.adatum.com:80/dir/sna/", false,
       K::explicit_name, "www.adatum.com", 80, "/dir/sna/"},
      {"https://Shop.Example:443/Cart/Items/", "https://shop.example:443/cart/items/", true,
       K::explicit_name, "shop.example", 443, "/cart/items/"},
      {"http://my_host:80/", "http://my_host:80/", false, K::explicit_name, "my_host", 80, "/"},
      {"http://xn--caf-dma.example:80/", "http://xn--caf-dma.example:80/", false,
       K::explicit_name, "xn--caf-dma.example", 80, "/"},
      {"http://a.b-c.d1:80/", "http://a.b-c.d1:80/", false, K::explicit_name, "a.b-c.d1", 80,
       "/"},
      {"http://" + long_host + ":80/", "http://" + long_host + ":80/", false, K::explicit_name,
       long_host, 80, "/"},
      {"http://127.0.0.1:80/", "http://127.0.0.1:80/", false, K::ip_literal, "127.0.0.1", 80,
       "/"},
      {"http://0.0.0.1:80/", "http://0.0.0.1:80/", false, K::ip_literal, "0.0.0.1", 80, "/"},
      {"http://255.255.255.255:80/", "http://255.255.255.255:80/", false, K::ip_literal,
       "255.255.255.255", 80, "/"},
      {"http://[::1]:80/", "http://[::1]:80/", false, K::ip_literal, "::1", 80, "/"},
      {"http://[FE80:0:0:0:0:0:0:1]:80/X/", "http://[fe80::1]:80/x/", false, K::ip_literal,
       "fe80::1", 80, "/x/"},
      {"https://[2001:DB8:0::1]:8443/", "https://[2001:db8::1]:8443/", true, K::ip_literal,
       "2001:db8::1", 8443, "/"},
      {"http://[::FFFF:1.2.3.4]:80/", "http://1.2.3.4:80/", false, K::ip_literal, "1.2.3.4",
       80, "/"},
      {"http://[::ffff:7f00:1]:80/", "http://127.0.0.1:80/", false, K::ip_literal, "127.0.0.1",
       80, "/"},
      {"http://+:80/a.b/c-d_e~/", "http://+:80/a.b/c-d_e~/", false, K::strong_wildcard, "+",
       80, "/a.b/c-d_e~/"},
      {"http://+:80/..a/.well-known/", "http://+:80/..a/.well-known/", false,
       K::strong_wildcard, "+", 80, "/..a/.well-known/"},
      {"http://+:80/Caf\xc3\xa9/", "http://+:80/caf\xc3\xa9/", false, K::strong_wildcard, "+",
       80, "/caf\xc3\xa9/"},
      {"http://+:80/\xf0\x9f\x98\x80/", "http://+:80/\xf0\x9f\x98\x80/", false,
       K::strong_wildcard, "+", 80, "/\xf0\x9f\x98\x80/"},
      {"http://+:80/Temporary_Listen_Addresses/", "http://+:80/temporary_listen_addresses/",
       false, K::strong_wildcard, "+", 80, "/temporary_listen_addresses/"},
  };
}

TEST(UrlPrefixParse, AcceptsGoodPrefixesInCanonicalForm) {
  for (const GoodCase& c : good_cases()) {
    UrlPrefix p;
    ASSERT_EQ(parse_url_prefix(c.text, p), PrefixError::none) << c.text;
    EXPECT_EQ(p.text, c.canonical) << c.text;
    EXPECT_EQ(p.secure, c.secure) << c.text;
    EXPECT_EQ(p.host_kind, c.kind) << c.text;
    EXPECT_EQ(p.host, c.host) << c.text;
    EXPECT_EQ(p.port, c.port) << c.text;
    EXPECT_EQ(p.path, c.path) << c.text;
  }
}

TEST(UrlPrefixParse, CanonicalTextIsAFixedPoint) {
  for (const GoodCase& c : good_cases()) {
    UrlPrefix first;
    UrlPrefix second;
    ASSERT_EQ(parse_url_prefix(c.text, first), PrefixError::none) << c.text;
    ASSERT_EQ(parse_url_prefix(first.text, second), PrefixError::none) << first.text;
    EXPECT_EQ(second.text, first.text);
    EXPECT_EQ(second.host, first.host);
    EXPECT_EQ(second.host_kind, first.host_kind);
    EXPECT_EQ(second.path, first.path);
    EXPECT_EQ(second.port, first.port);
    EXPECT_EQ(second.secure, first.secure);
  }
}

TEST(UrlPrefixParse, DescribeNamesEveryError) {
  std::set<std::string_view> texts;
  for (PrefixError e : {PrefixError::none, PrefixError::bad_scheme, PrefixError::bad_host,
                        PrefixError::bad_port, PrefixError::bad_path}) {
    EXPECT_FALSE(describe(e).empty());
    texts.insert(describe(e));
  }
  EXPECT_EQ(texts.size(), 5u);
}

}  // namespace
}  // namespace httpapi::route
