// Which addresses a port binds, from its registrations and the IP listen list
// (daemon/control/bind_plan.hpp, docs/listening.md).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/control/bind_plan.hpp"
#include "route/url_prefix.hpp"

namespace d = httpapi::daemon;
namespace route = httpapi::route;

namespace {

std::vector<route::UrlPrefix> prefixes(const std::vector<std::string>& texts) {
  std::vector<route::UrlPrefix> out;
  for (const std::string& text : texts) {
    route::UrlPrefix prefix;
    EXPECT_EQ(route::parse_url_prefix(text, prefix), route::PrefixError::none) << text;
    out.push_back(prefix);
  }
  return out;
}

std::vector<std::string> addresses(const d::BindPlan& plan) {
  std::vector<std::string> out;
  for (const d::BindAddress& bind : plan.addresses) out.push_back(bind.address);
  return out;
}

d::BindPlan plan(const std::vector<std::string>& texts,
                 const std::vector<std::string>& listen_list = {}) {
  return d::plan_binding(prefixes(texts), listen_list);
}

using Strings = std::vector<std::string>;

}  // namespace

TEST(BindPlan, IpLiteralsOnlyBindExactlyThoseAddresses) {
  const d::BindPlan p = plan({"http://127.0.0.2:8080/a/", "http://[::1]:8080/",
                              "http://127.0.0.3:8080/", "http://127.0.0.2:8080/b/"});
  EXPECT_TRUE(p.exact);
  EXPECT_EQ(addresses(p), (Strings{"127.0.0.2", "127.0.0.3", "::1"}));
  EXPECT_EQ(p.addresses[0].registrations,
            (Strings{"http://127.0.0.2:8080/a/", "http://127.0.0.2:8080/b/"}));
  EXPECT_NE(p.addresses[0].why.find("http://127.0.0.2:8080/b/"), std::string::npos);
  EXPECT_TRUE(p.wide.empty());
  EXPECT_TRUE(p.unbound.empty());
}

TEST(BindPlan, TheListenListDoesNotWidenAPortOfLiteralsOnly) {
  const d::BindPlan p = plan({"http://127.0.0.2:8080/"}, {"127.0.0.1", "::"});
  EXPECT_TRUE(p.exact);
  EXPECT_EQ(addresses(p), (Strings{"127.0.0.2"}));
}

TEST(BindPlan, MappedIpv6LiteralIsTheIpv4Address) {
  const d::BindPlan p = plan({"http://[::ffff:127.0.0.2]:8080/", "http://127.0.0.2:8080/x/"});
  EXPECT_EQ(addresses(p), (Strings{"127.0.0.2"}));
}

TEST(BindPlan, EveryWideHostKindNeedsTheListenList) {
  for (const char* wide : {"http://+:8080/", "http://*:8080/", "http://shop.example:8080/",
                           "http://localhost:8080/"}) {
    const d::BindPlan p = plan({"http://127.0.0.2:8080/", wide});
    EXPECT_FALSE(p.exact) << wide;
    EXPECT_EQ(p.wide, (Strings{wide}));
    // Every address (the empty list), and the literal on its own socket besides.
    EXPECT_EQ(addresses(p), (Strings{"", "127.0.0.2"})) << wide;
    EXPECT_NE(p.why.find(wide), std::string::npos) << p.why;
    EXPECT_NE(p.why.find("empty"), std::string::npos) << p.why;
  }
}

TEST(BindPlan, WideRegistrationAloneBindsEveryAddress) {
  const d::BindPlan p = plan({"https://+:8443/"});
  EXPECT_EQ(addresses(p), (Strings{""}));
  EXPECT_TRUE(p.addresses[0].registrations.empty());
}

TEST(BindPlan, ListenListSteersTheWideCase) {
  const d::BindPlan p = plan({"http://+:8080/", "http://127.0.0.1:8080/x/",
                              "http://127.0.0.2:8080/", "http://[::1]:8080/"},
                             {"127.0.0.1", "::1", "127.0.0.1"});
  EXPECT_FALSE(p.exact);
  // 127.0.0.1 and ::1 are in the list (and named by literals), 127.0.0.2 is not: unbound.
  EXPECT_EQ(addresses(p), (Strings{"127.0.0.1", "::1"}));
  EXPECT_EQ(p.addresses[0].registrations, (Strings{"http://127.0.0.1:8080/x/"}));
  EXPECT_NE(p.addresses[0].why.find("IP listen list"), std::string::npos);
  EXPECT_NE(p.addresses[0].why.find("http://127.0.0.1:8080/x/"), std::string::npos);
  EXPECT_EQ(p.unbound, (Strings{"http://127.0.0.2:8080/"}));
}

TEST(BindPlan, FamilyWildcardsOfTheListenListReachTheirFamilyOnly) {
  const d::BindPlan v4 = plan({"http://+:80/", "http://127.0.0.2:80/", "http://[::1]:80/"},
                              {"0.0.0.0"});
  EXPECT_EQ(addresses(v4), (Strings{"0.0.0.0", "127.0.0.2"}));
  EXPECT_EQ(v4.unbound, (Strings{"http://[::1]:80/"}));
  const d::BindPlan v6 = plan({"http://+:80/", "http://127.0.0.2:80/", "http://[::1]:80/"},
                              {"::"});
  EXPECT_EQ(addresses(v6), (Strings{"::", "::1"}));
  EXPECT_EQ(v6.unbound, (Strings{"http://127.0.0.2:80/"}));
}

TEST(BindPlan, ManyWideRegistrationsAreCountedInTheReason) {
  const d::BindPlan p = plan({"http://+:80/a/", "http://*:80/", "http://x.example:80/"});
  EXPECT_EQ(p.wide.size(), 3u);
  EXPECT_NE(p.why.find("http://+:80/a/ and 2 more need"), std::string::npos) << p.why;
}

TEST(BindPlan, Reaches) {
  EXPECT_TRUE(d::reaches("", "127.0.0.2"));
  EXPECT_TRUE(d::reaches("", "::1"));
  EXPECT_TRUE(d::reaches("0.0.0.0", "127.0.0.2"));
  EXPECT_FALSE(d::reaches("0.0.0.0", "::1"));
  EXPECT_TRUE(d::reaches("::", "::1"));
  EXPECT_FALSE(d::reaches("::", "127.0.0.2"));
  EXPECT_TRUE(d::reaches("127.0.0.2", "127.0.0.2"));
  EXPECT_FALSE(d::reaches("127.0.0.2", "127.0.0.3"));
  EXPECT_FALSE(d::reaches("127.0.0.2", ""));
}

TEST(BindPlan, AddressText) {
  EXPECT_EQ(d::bind_address_text("", 80), "*:80");
  EXPECT_EQ(d::bind_address_text("127.0.0.2", 8080), "127.0.0.2:8080");
  EXPECT_EQ(d::bind_address_text("::1", 8080), "[::1]:8080");
  EXPECT_EQ(d::bind_address_text("::", 443), "[::]:443");
}
