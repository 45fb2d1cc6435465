// PrefixTable: the reference routing examples, bucket precedence, longest path, the
// no_host / no_path split, IP-literal routing, and table maintenance.
#include "route/prefix_table.hpp"

#include <gtest/gtest.h>

#include <string>

namespace httpapi::route {
namespace {

class PrefixTableTest : public ::testing::Test {
 protected:
  // Registers `text` routing to `queue`; fails the test if it is not added.
  void add(std::string_view text, std::uint64_t queue, std::uint64_t group = 1) {
    UrlPrefix p;
    ASSERT_EQ(parse_url_prefix(text, p), PrefixError::none) << text;
    ASSERT_EQ(table.add(p, Target{queue, queue * 100, group}), PrefixTable::AddResult::added)
        << text;
  }

  PrefixTable::AddResult try_add(std::string_view text, std::uint64_t queue = 99) {
    UrlPrefix p;
    EXPECT_EQ(parse_url_prefix(text, p), PrefixError::none) << text;
    return table.add(p, Target{queue, 0, 1});
  }

  struct Request {
    std::string host = "localhost";
    std::string path = "/";
    std::uint16_t port = 80;
    bool secure = false;
    std::string local_ip = "127.0.0.1";
  };

  Match route(const Request& r) const {
    return table.match(r.secure, r.port, r.host, r.local_ip, r.path);
  }

  // The winning prefix's text, or "no_host" / "no_path".
  std::string winner(const Request& r) const {
    const Match m = route(r);
    switch (m.kind) {
      case MatchKind::found: return std::string(m.prefix);
      case MatchKind::no_host: return "no_host";
      case MatchKind::no_path: return "no_path";
    }
    return "?";
  }
  std::string winner(std::string host, std::string path, std::uint16_t port = 80) const {
    return winner(Request{std::move(host), std::move(path), port});
  }
  std::uint64_t queue(std::string host, std::string path, std::uint16_t port = 80) const {
    const Match m = route(Request{std::move(host), std::move(path), port});
    return m.kind == MatchKind::found ? m.target.queue_id : 0;
  }

  PrefixTable table;
};

// httpsys-features §3.2, first example: one explicit host, two paths.
TEST_F(PrefixTableTest, AdatumLongestPathWithinOneHost) {
  add("http://www.adatum.com:80/", 1);
  add("http://www.adatum.com:80/dir/sna/", 2);
  EXPECT_EQ(queue("www.adatum.com", "/default.htm"), 1u);
  EXPECT_EQ(queue("www.adatum.com", "/dir/sna/snadefault.htm"), 2u);
  EXPECT_EQ(queue("www.adatum.com", "/dir/app.htm"), 1u);
}

// httpsys-features §3.2, second example: + outranks the explicit host, which outranks *.
TEST_F(PrefixTableTest, AdatumAcrossBuckets) {
  add("http://+:80/vroot/", 1);
  add("http://adatum.com:80/", 2);
  add("http://*:80/", 3);
  EXPECT_EQ(queue("adatum.com", "/vroot/subdir/file.htm"), 1u);
  EXPECT_EQ(queue("adatum.com", "/default.htm"), 2u);
  EXPECT_EQ(queue("otheradatum.com", "/file.htm"), 3u);
}

// A001: nested prefixes on two queues.
TEST_F(PrefixTableTest, A001NestedPrefixes) {
  add("http://localhost:8080/", 1);
  add("http://localhost:8080/foobar/foo/", 2);
  EXPECT_EQ(queue("localhost", "/foobar", 8080), 1u);
  EXPECT_EQ(queue("localhost", "/foobar/foo/bar", 8080), 2u);
  EXPECT_EQ(queue("localhost", "/foobar/foo", 8080), 2u);
}

// A002: five prefixes on one host; longest match.
TEST_F(PrefixTableTest, A002LongestMatch) {
  for (const char* path : {"/", "/11/", "/2/3/", "/2/", "/11/2/"}) {
    add(std::string("http://localhost:8080") + path, 1);
  }
  const std::pair<const char*, const char*> cases[] = {
      {"/", "/"},           {"/random", "/"},     {"/11", "/11/"},    {"/11/", "/11/"},
      {"/11/random", "/11/"}, {"/2", "/2/"},      {"/2/", "/2/"},     {"/2/random", "/2/"},
      {"/2/3", "/2/3/"},    {"/2/3/", "/2/3/"},   {"/2/3/random", "/2/3/"},
      {"/11/2", "/11/2/"},  {"/112", "/"},        {"/2/34", "/2/"},
  };
  for (const auto& [path, prefix] : cases) {
    EXPECT_EQ(winner("localhost", path, 8080), std::string("http://localhost:8080") + prefix)
        << path;
  }
}

// A003
TEST_F(PrefixTableTest, A003LongestPathSplitting) {
  add("http://localhost:8080/basepath/", 1);
  add("http://localhost:8080/basepath/secondTier/", 2);
  EXPECT_EQ(queue("localhost", "/basepath/secondTier/path/thing", 8080), 2u);
  EXPECT_EQ(queue("localhost", "/basepath/secondtier", 8080), 2u);
  EXPECT_EQ(queue("localhost", "/basepath/second", 8080), 1u);
}

// A004: case-insensitive, and "/base" reaches "/base/".
TEST_F(PrefixTableTest, A004CaseAndMissingTrailingSlash) {
  add("http://localhost:8080/base/", 1);
  add("http://localhost:8080/basepath/", 2);
  EXPECT_EQ(queue("localhost", "/baSe", 8080), 1u);
  EXPECT_EQ(queue("localhost", "/BASE/Thing", 8080), 1u);
  EXPECT_EQ(queue("localhost", "/basepath", 8080), 2u);
}

// A005 / A006: the host matches, no path does -> 404.
TEST_F(PrefixTableTest, A005A006NoPathIsNotFound) {
  add("http://localhost:8080/0123456789abcdef0123456789abcdef/", 1);
  EXPECT_EQ(winner("localhost", "/something/0123456789abcdef0123456789abcdef/", 8080), "no_path");
  EXPECT_EQ(winner("localhost", "/", 8080), "no_path");  // "/{GUID}/../" cooked
}

// A007: hot add, then hot remove falls back to "/".
TEST_F(PrefixTableTest, A007HotAddAndRemove) {
  add("http://localhost:8080/", 1);
  add("http://localhost:8080/pathbase/", 2);
  EXPECT_EQ(queue("localhost", "/pathbase/", 8080), 2u);
  EXPECT_TRUE(table.remove("http://localhost:8080/pathbase/"));
  EXPECT_EQ(queue("localhost", "/pathbase/", 8080), 1u);
}

// A008: one queue on several ports.
TEST_F(PrefixTableTest, A008SeveralPorts) {
  for (std::uint16_t port = 9001; port <= 9004; ++port) {
    add("http://localhost:" + std::to_string(port) + "/", 7);
  }
  for (std::uint16_t port = 9001; port <= 9004; ++port) {
    EXPECT_EQ(queue("localhost", "/foobar", port), 7u) << port;
  }
  EXPECT_EQ(winner("localhost", "/foobar", 9005), "no_host");
}

// A009: + takes any host.
TEST_F(PrefixTableTest, A009StrongWildcardTakesAnyHost) {
  add("http://+:8080/", 1);
  EXPECT_EQ(queue("localhost", "/foobar", 8080), 1u);
  EXPECT_EQ(queue("anything.example", "/", 8080), 1u);
  EXPECT_EQ(queue("[::1]", "/x", 8080), 1u);
}

// A012 / A014: an empty path and "*" route as "/".
TEST_F(PrefixTableTest, EmptyAndAsteriskPathsRouteAsRoot) {
  add("http://localhost:8080/", 1);
  add("http://localhost:8080/a/", 2);
  EXPECT_EQ(queue("localhost", "", 8080), 1u);
  EXPECT_EQ(queue("localhost", "*", 8080), 1u);
}

TEST_F(PrefixTableTest, BucketPrecedenceForTheSamePath) {
  add("http://+:80/", 1);
  add("http://shop.example:80/", 2);
  add("http://127.0.0.1:80/", 3);
  add("http://*:80/", 4);
  EXPECT_EQ(queue("shop.example", "/x"), 1u);
  ASSERT_TRUE(table.remove("http://+:80/"));
  EXPECT_EQ(queue("shop.example", "/x"), 2u);
  EXPECT_EQ(queue("other.example", "/x"), 3u);  // arrived on 127.0.0.1
  EXPECT_EQ(winner(Request{"other.example", "/x", 80, false, "10.0.0.1"}), "http://*:80/");
}

TEST_F(PrefixTableTest, LongerPathInLowerBucketLosesToHigherBucket) {
  add("http://+:80/", 1);
  add("http://shop.example:80/a/b/c/", 2);
  EXPECT_EQ(queue("shop.example", "/a/b/c/d"), 1u);
}

// A bucket that matches the host but none of whose paths match does not stop the search.
TEST_F(PrefixTableTest, HostMatchWithoutPathFallsThroughToLowerBuckets) {
  add("http://shop:80/a/", 1);
  add("http://*:80/", 2);
  EXPECT_EQ(queue("shop", "/b"), 2u);
  EXPECT_EQ(queue("shop", "/a/x"), 1u);

  add("http://+:80/z/", 3);
  add("http://10.1.1.1:80/y/", 4);
  EXPECT_EQ(queue("shop", "/z/1"), 3u);
  EXPECT_EQ(queue("shop", "/b"), 2u);
  EXPECT_EQ(winner(Request{"shop", "/y/", 80, false, "10.1.1.1"}), "http://10.1.1.1:80/y/");
}

TEST_F(PrefixTableTest, NoHostVersusNoPath) {
  add("http://shop.example:80/a/", 1);
  EXPECT_EQ(winner("other.example", "/a/"), "no_host");
  EXPECT_EQ(winner("shop.example", "/b/"), "no_path");
  EXPECT_EQ(winner("shop.example", "/a/", 81), "no_host");  // nothing on the port

  add("http://*:80/c/", 2);
  EXPECT_EQ(winner("other.example", "/a/"), "no_path");  // '*' always matches the host

  PrefixTable strong_only;
  UrlPrefix p;
  ASSERT_EQ(parse_url_prefix("http://+:80/c/", p), PrefixError::none);
  strong_only.add(p, {});
  EXPECT_EQ(strong_only.match(false, 80, "x", "1.2.3.4", "/d").kind, MatchKind::no_path);

  PrefixTable ip_only;
  ASSERT_EQ(parse_url_prefix("http://1.2.3.4:80/c/", p), PrefixError::none);
  ip_only.add(p, {});
  EXPECT_EQ(ip_only.match(false, 80, "x", "1.2.3.4", "/d").kind, MatchKind::no_path);
  EXPECT_EQ(ip_only.match(false, 80, "x", "1.2.3.5", "/c/").kind, MatchKind::no_host);
}

TEST_F(PrefixTableTest, EmptyTableIsNoHost) {
  EXPECT_EQ(winner("localhost", "/"), "no_host");
  EXPECT_FALSE(table.has_port(80));
  EXPECT_TRUE(table.ports().empty());
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(PrefixTableTest, TrailingSlashRule) {
  add("http://+:80/app/", 1);
  EXPECT_EQ(winner("h", "/app"), "http://+:80/app/");
  EXPECT_EQ(winner("h", "/app/"), "http://+:80/app/");
  EXPECT_EQ(winner("h", "/app/x"), "http://+:80/app/");
  EXPECT_EQ(winner("h", "/APP"), "http://+:80/app/");
  EXPECT_EQ(winner("h", "/appx"), "no_path");
  EXPECT_EQ(winner("h", "/ap"), "no_path");
  EXPECT_EQ(winner("h", "/"), "no_path");
  EXPECT_EQ(winner("h", "/x/app/"), "no_path");
}

TEST_F(PrefixTableTest, CaseInsensitiveHostAndPath) {
  add("http://Shop.Example:80/Cart/", 1);
  EXPECT_EQ(queue("shop.example", "/cart/1"), 1u);
  EXPECT_EQ(queue("SHOP.EXAMPLE", "/CART"), 1u);
  EXPECT_EQ(queue("Shop.Example", "/cArT/x"), 1u);
}

TEST_F(PrefixTableTest, NonAsciiPathsCompareBytewise) {
  add("http://+:80/caf\xc3\xa9/", 1);
  EXPECT_EQ(queue("h", "/CAF\xc3\xa9/menu"), 1u);
  EXPECT_EQ(queue("h", "/caf\xc3\x89/menu"), 0u);  // no Unicode case folding
}

TEST_F(PrefixTableTest, IpLiteralMatchesTheLocalAddress) {
  add("http://127.0.0.1:80/", 1);
  Match m = route(Request{"whatever.example", "/x", 80, false, "127.0.0.1"});
  ASSERT_EQ(m.kind, MatchKind::found);
  EXPECT_EQ(m.target.queue_id, 1u);
  EXPECT_TRUE(m.ip_routed);
  EXPECT_EQ(m.prefix, "http://127.0.0.1:80/");

  // A dual-stack socket reports the IPv4 address mapped into IPv6.
  EXPECT_EQ(route(Request{"h", "/", 80, false, "::ffff:127.0.0.1"}).kind, MatchKind::found);
  // The Host header does not select an IP literal; the local address does.
  EXPECT_EQ(route(Request{"127.0.0.1", "/", 80, false, "10.0.0.1"}).kind, MatchKind::no_host);
  EXPECT_EQ(route(Request{"h", "/", 80, false, ""}).kind, MatchKind::no_host);
  EXPECT_EQ(route(Request{"h", "/", 80, false, "garbage"}).kind, MatchKind::no_host);
}

TEST_F(PrefixTableTest, IpLiteralIpv6) {
  add("http://[::1]:80/v6/", 1);
  add("http://[fe80::1]:80/", 2);
  add("http://[::ffff:10.0.0.2]:80/", 3);  // stored as 10.0.0.2
  Match m = route(Request{"[::1]", "/v6/a", 80, false, "::1"});
  ASSERT_EQ(m.kind, MatchKind::found);
  EXPECT_TRUE(m.ip_routed);
  EXPECT_EQ(m.prefix, "http://[::1]:80/v6/");
  EXPECT_EQ(route(Request{"h", "/v6/", 80, false, "0:0:0:0:0:0:0:1"}).target.queue_id, 1u);
  EXPECT_EQ(route(Request{"h", "/v6/", 80, false, "[::1]"}).target.queue_id, 1u);
  EXPECT_EQ(route(Request{"h", "/", 80, false, "fe80::1%eth0"}).target.queue_id, 2u);
  EXPECT_EQ(route(Request{"h", "/", 80, false, "10.0.0.2"}).target.queue_id, 3u);
  EXPECT_EQ(route(Request{"h", "/", 80, false, "::ffff:10.0.0.2"}).target.queue_id, 3u);
  // "[::1]" in the Host header, connection on 127.0.0.1: the [::1] prefix does not apply.
  EXPECT_EQ(route(Request{"[::1]", "/v6/", 80, false, "127.0.0.1"}).kind, MatchKind::no_host);
  EXPECT_EQ(route(Request{"h", "/", 80, false, "::1"}).kind, MatchKind::no_path);
}

TEST_F(PrefixTableTest, ExplicitNameNeverMatchesAnIpHost) {
  add("http://localhost:80/", 1);
  EXPECT_EQ(winner("127.0.0.1", "/"), "no_host");
  EXPECT_EQ(winner("[::1]", "/"), "no_host");
  EXPECT_EQ(winner("localhost", "/"), "http://localhost:80/");
}

TEST_F(PrefixTableTest, IpRoutedOnlyForTheIpBucket) {
  add("http://+:80/a/", 1);
  add("http://h:80/b/", 2);
  add("http://127.0.0.1:80/c/", 3);
  add("http://*:80/d/", 4);
  for (const char* path : {"/a/", "/b/", "/d/"}) {
    const Match m = route(Request{"h", path, 80, false, "127.0.0.1"});
    ASSERT_EQ(m.kind, MatchKind::found) << path;
    EXPECT_FALSE(m.ip_routed) << path;
  }
  EXPECT_TRUE(route(Request{"h", "/c/", 80, false, "127.0.0.1"}).ip_routed);
}

TEST_F(PrefixTableTest, PortsAreSeparate) {
  add("http://+:80/a/", 1);
  add("http://+:81/b/", 2);
  EXPECT_EQ(queue("h", "/a/", 80), 1u);
  EXPECT_EQ(winner("h", "/b/", 80), "no_path");
  EXPECT_EQ(queue("h", "/b/", 81), 2u);
  EXPECT_EQ(winner("h", "/a/", 81), "no_path");
}

TEST_F(PrefixTableTest, SchemesAreSeparate) {
  add("https://+:443/", 1);
  add("http://+:80/", 2);
  EXPECT_EQ(route(Request{"h", "/", 443, true}).target.queue_id, 1u);
  EXPECT_EQ(route(Request{"h", "/", 443, false}).kind, MatchKind::no_host);
  EXPECT_EQ(route(Request{"h", "/", 80, true}).kind, MatchKind::no_host);
  EXPECT_EQ(route(Request{"h", "/", 80, false}).target.queue_id, 2u);
}

TEST_F(PrefixTableTest, AlreadyExists) {
  add("http://localhost:80/barfoo/", 1);
  EXPECT_EQ(try_add("http://localhost:80/barfoo/"), PrefixTable::AddResult::already_exists);
  EXPECT_EQ(try_add("http://LOCALHOST:80/BarFoo/"), PrefixTable::AddResult::already_exists);
  add("http://1.2.3.4:80/", 2);
  EXPECT_EQ(try_add("http://[::ffff:1.2.3.4]:80/"), PrefixTable::AddResult::already_exists);
  add("http://[::1]:80/", 3);
  EXPECT_EQ(try_add("http://[0::1]:80/"), PrefixTable::AddResult::already_exists);
  add("http://+:80/x/", 4);
  EXPECT_EQ(try_add("http://+:80/x/"), PrefixTable::AddResult::already_exists);
  add("http://*:80/x/", 5);
  EXPECT_EQ(try_add("http://*:80/x/"), PrefixTable::AddResult::already_exists);
  EXPECT_EQ(table.size(), 5u);
}

// Buckets are independent: the same path may be registered under each host category.
TEST_F(PrefixTableTest, SamePathInDifferentBucketsCoexists) {
  add("http://www.adatum.com:80/vroot/", 1);
  add("http://+:80/vroot/", 2);
  add("http://*:80/vroot/", 3);
  add("http://10.0.0.1:80/vroot/", 4);
  add("http://other.adatum.com:80/vroot/", 5);
  add("http://+:81/vroot/", 6);
  EXPECT_EQ(table.size(), 6u);
}

TEST_F(PrefixTableTest, SchemeConflictLeavesTableUnchanged) {
  add("http://+:8443/a/", 1);
  EXPECT_EQ(try_add("https://+:8443/b/"), PrefixTable::AddResult::scheme_conflict);
  EXPECT_EQ(try_add("https://host:8443/"), PrefixTable::AddResult::scheme_conflict);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(route(Request{"h", "/b/", 8443, true}).kind, MatchKind::no_host);
  // Once the port is empty it may change scheme.
  ASSERT_TRUE(table.remove("http://+:8443/a/"));
  EXPECT_EQ(try_add("https://+:8443/b/"), PrefixTable::AddResult::added);
  EXPECT_EQ(try_add("http://+:8443/a/"), PrefixTable::AddResult::scheme_conflict);
}

TEST_F(PrefixTableTest, RemoveByText) {
  add("http://a:80/", 1);
  add("http://b:80/", 2);
  add("http://c:80/", 3);
  EXPECT_TRUE(table.remove("http://a:80/"));
  EXPECT_FALSE(table.remove("http://a:80/"));  // B015: second remove fails
  EXPECT_FALSE(table.remove("http://zz:80/"));
  EXPECT_FALSE(table.remove("not a prefix"));
  EXPECT_EQ(winner("a", "/"), "no_host");
  // Later entries moved down in entries_; the index must follow.
  EXPECT_EQ(queue("b", "/"), 2u);
  EXPECT_EQ(queue("c", "/"), 3u);
  // A non-canonical spelling of a registered prefix removes it too.
  EXPECT_TRUE(table.remove("http://B:80/"));
  EXPECT_EQ(winner("b", "/"), "no_host");
  EXPECT_EQ(table.size(), 1u);
  ASSERT_EQ(table.entries().size(), 1u);
  EXPECT_EQ(table.entries()[0].prefix.text, "http://c:80/");
}

TEST_F(PrefixTableTest, RemoveGroup) {
  add("http://+:80/a/", 1, /*group=*/10);
  add("http://+:81/b/", 2, /*group=*/20);
  add("http://x:80/c/", 3, /*group=*/10);
  add("http://*:82/", 4, /*group=*/10);
  EXPECT_EQ(table.remove_group(10), 3u);
  EXPECT_EQ(table.remove_group(10), 0u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_FALSE(table.has_port(80));
  EXPECT_TRUE(table.has_port(81));
  EXPECT_FALSE(table.has_port(82));
  EXPECT_EQ(table.ports(), std::vector<std::uint16_t>{81});
  EXPECT_EQ(winner("x", "/c/"), "no_host");
  EXPECT_EQ(queue("x", "/b/", 81), 2u);
}

TEST_F(PrefixTableTest, B019ReRegistrationAfterRemoval) {
  add("http://localhost:8080/", 1, 5);
  EXPECT_EQ(table.remove_group(5), 1u);
  add("http://localhost:8080/", 2, 6);
  EXPECT_EQ(queue("localhost", "/", 8080), 2u);
}

TEST_F(PrefixTableTest, PortsAreListedInOrderAndEntriesInRegistrationOrder) {
  add("http://+:90/", 1);
  add("http://+:80/", 2);
  add("http://+:85/", 3);
  add("http://+:80/x/", 4);
  EXPECT_EQ(table.ports(), (std::vector<std::uint16_t>{80, 85, 90}));
  ASSERT_EQ(table.entries().size(), 4u);
  EXPECT_EQ(table.entries()[0].prefix.text, "http://+:90/");
  EXPECT_EQ(table.entries()[3].target.queue_id, 4u);
  EXPECT_EQ(table.entries()[3].target.url_context, 400u);
}

TEST_F(PrefixTableTest, TargetCarriesContextAndGroup) {
  add("http://+:80/", 3, 44);
  const Match m = route(Request{"h", "/"});
  EXPECT_EQ(m.target.queue_id, 3u);
  EXPECT_EQ(m.target.url_context, 300u);
  EXPECT_EQ(m.target.group_id, 44u);
}

TEST_F(PrefixTableTest, ManyPrefixes) {
  // 3000 prefixes over 30 hosts and the wildcard buckets.
  for (int h = 0; h < 30; ++h) {
    for (int p = 0; p < 50; ++p) {
      add("http://host" + std::to_string(h) + ".example:80/app" + std::to_string(p) + "/v/",
          static_cast<std::uint64_t>(h * 1000 + p + 1));
    }
  }
  for (int p = 0; p < 1500; ++p) {
    add("http://+:80/s" + std::to_string(p) + "/", static_cast<std::uint64_t>(100000 + p));
  }
  EXPECT_EQ(table.size(), 3000u);
  EXPECT_EQ(queue("host7.example", "/app42/v/index.html"), 7043u);
  EXPECT_EQ(queue("host7.example", "/s1499/x"), 101499u);
  EXPECT_EQ(winner("host7.example", "/app42/w"), "no_path");
  EXPECT_EQ(winner("host99.example", "/app42/v/"), "no_path");  // '+' has entries
}

}  // namespace
}  // namespace httpapi::route
