// Cooked-URL tests: the table in docs/urls.md, plus the HTTP.sys cases A015-A023.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http1/url_cooker.hpp"
#include "test_support.hpp"

namespace httpapi::http1 {
namespace {

struct Cooked {
  Error error = Error::none;
  std::string full, host, path, query;
  std::uint16_t port = 0;
};

// Cooks into a buffer of exactly cooked_url_capacity() bytes that ends at a guard page, and
// checks every view lies inside it.
Cooked cook(std::string_view target, TargetForm form = TargetForm::origin,
            std::string_view host = "Example.com", const Limits& limits = {},
            std::string_view local = "10.0.0.1", bool secure = false) {
  const std::size_t capacity = cooked_url_capacity(target, host);
  test::Guarded buf(std::string(capacity, '\xEE'));
  test::Guarded target_buf(target);
  std::span<char> out(const_cast<char*>(buf.view().data()), capacity);
  CookedUrl url;
  Cooked c;
  c.error = cook_url(target_buf.view(), form, host, local, 8080, secure, limits, out, url);
  if (c.error != Error::none) return c;
  EXPECT_TRUE(buf.contains(url.full) && buf.contains(url.host) && buf.contains(url.path) &&
              buf.contains(url.query));
  EXPECT_EQ(url.full.data(), buf.view().data());
  c.full = url.full;
  c.host = url.host;
  c.path = url.path;
  c.query = url.query;
  c.port = url.port;
  return c;
}

Error error_of(std::string_view target, TargetForm form = TargetForm::origin,
               std::string_view host = "example.com") {
  return cook(target, form, host).error;
}

TEST(UrlCooker, FullUrl) {
  const Cooked c = cook("/a/b?x=%41&y");
  ASSERT_EQ(c.error, Error::none);
  EXPECT_EQ(c.full, "http://example.com:8080/a/b?x=%41&y");
  EXPECT_EQ(c.host, "example.com");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.path, "/a/b");
  EXPECT_EQ(c.query, "x=%41&y");
  EXPECT_EQ(cook("/", TargetForm::origin, "h", {}, "", true).full, "https://h:8080/");
  EXPECT_EQ(cook("/a?").full, "http://example.com:8080/a?");
  EXPECT_EQ(cook("/a?").query, "");
}

// The docs/urls.md table, row by row.
struct Row {
  const char* raw;
  const char* path;  // nullptr: rejected with `error`
  Error error = Error::none;
};

TEST(UrlCooker, DocumentedTable) {
  const Row rows[] = {
      {"/", "/"},
      {"/a/b/c", "/a/b/c"},
      {"//a/b//c", "/a/b/c"},
      {"/a/b/", "/a/b/"},
      {"/a//", "/a/"},
      {"/baSe\\ball", "/baSe/ball"},
      {"/base%2fball", "/base/ball"},
      {"/base%5Cball", "/base/ball"},
      {"/a/./b", "/a/b"},
      {"/a/b/.", "/a/b/"},
      {"/a/b/..", "/a/"},
      {"/a/d/../b/c", "/a/b/c"},
      {"/base/call//../ball", "/base/ball"},
      {"/base/call/.%2e/ball", "/base/ball"},
      {"/RootTest/SubDir1\\SubDir2/../../SubDir5/SubDir6", "/RootTest/SubDir5/SubDir6"},
      {"/..", "/"},
      {"/../../a", "/a"},
      {"/a/../..", "/"},
      {"/.../a", "/.../a"},
      {"/..a/b", "/..a/b"},
      {"/%252F", "/%2F"},
      {"/%20x", "/ x"},
      {"/%D0%A4", "/\xD0\xA4"},
      {"/%d0%a4", "/\xD0\xA4"},
      {"/%F0%90%80%80", "/\xF0\x90\x80\x80"},
      {"/%C3%84ra%20Benetton", "/\xC3\x84ra Benetton"},
      {"/a+b", "/a+b"},
      {"/%", nullptr, Error::invalid_url},
      {"/path%", nullptr, Error::invalid_url},
      {"/%4", nullptr, Error::invalid_url},
      {"/%zz", nullptr, Error::invalid_url},
      {"/%%32", nullptr, Error::invalid_url},
      {"/%u0041", nullptr, Error::invalid_url},
      {"/%00", nullptr, Error::invalid_url},
      {"/%0A", nullptr, Error::invalid_url},
      {"/%1F", nullptr, Error::invalid_url},
      {"/%7F", nullptr, Error::invalid_url},
      {"/%C0%A4", nullptr, Error::invalid_url},        // overlong
      {"/%E0%80%AF", nullptr, Error::invalid_url},     // overlong
      {"/%F0%8F%8F%BF", nullptr, Error::invalid_url},  // overlong
      {"/%ED%A0%80", nullptr, Error::invalid_url},     // surrogate
      {"/%F4%90%80%80", nullptr, Error::invalid_url},  // above U+10FFFF
      {"/%FF", nullptr, Error::invalid_url},
      {"/%C3", nullptr, Error::invalid_url},           // truncated sequence
      {"/%80", nullptr, Error::invalid_url},           // lone continuation
      {"/a#frag", nullptr, Error::invalid_url},
      {"/a b", nullptr, Error::invalid_url},
      {"/\xC3\xA4", nullptr, Error::invalid_url},      // raw non-ASCII
      {"a/b", nullptr, Error::invalid_url},
  };
  for (const Row& row : rows) {
    const Cooked c = cook(row.raw);
    if (row.path != nullptr) {
      EXPECT_EQ(c.error, Error::none) << row.raw;
      EXPECT_EQ(c.path, row.path) << row.raw;
    } else {
      EXPECT_EQ(c.error, row.error) << row.raw;
    }
  }
}

TEST(UrlCooker, EscapedControlsAllRejected) {
  for (int b = 0; b < 0x20; ++b) {
    char raw[8];
    std::snprintf(raw, sizeof raw, "/%%%02X", b);
    EXPECT_EQ(error_of(raw), Error::invalid_url) << raw;
  }
}

TEST(UrlCooker, EveryPrintableEscapeDecodes) {
  std::string raw = "/x";
  std::string expected = "/x";
  for (int b = 0x20; b < 0x7F; ++b) {
    char esc[4];
    std::snprintf(esc, sizeof esc, "%%%02X", b);
    raw += esc;
    expected += (b == '\\' ? '/' : static_cast<char>(b));
  }
  const Cooked c = cook(raw);
  ASSERT_EQ(c.error, Error::none);
  // '/', '\\' and '.' are separators/dots once decoded; the rest are literal.
  EXPECT_EQ(c.path.find('\\'), std::string::npos);
  EXPECT_NE(c.path.find("!\"#$%&'()*+,-."), std::string::npos);
}

TEST(UrlCooker, AbsoluteForm) {
  Cooked c = cook("http://WWW.Example.COM:81/A%2Fb?q#", TargetForm::absolute);
  EXPECT_EQ(c.error, Error::invalid_url);  // fragment
  c = cook("http://WWW.Example.COM:81/A%2Fb?q", TargetForm::absolute, "ignored.host");
  ASSERT_EQ(c.error, Error::none);
  EXPECT_EQ(c.host, "www.example.com");
  EXPECT_EQ(c.path, "/A/b");
  EXPECT_EQ(c.query, "q");
  EXPECT_EQ(c.full, "http://www.example.com:8080/A/b?q");  // port: the local one
  c = cook("https://h", TargetForm::absolute);
  EXPECT_EQ(c.path, "/");
  c = cook("http://h?x=1", TargetForm::absolute);
  EXPECT_EQ(c.path, "/");
  EXPECT_EQ(c.query, "x=1");
  EXPECT_EQ(error_of("http://a b/", TargetForm::absolute), Error::invalid_url);
  EXPECT_EQ(error_of("http://a_b.c%/", TargetForm::absolute), Error::invalid_hostname);
  EXPECT_EQ(error_of("http:///x", TargetForm::absolute), Error::invalid_hostname);
  EXPECT_EQ(error_of("/x", TargetForm::absolute), Error::invalid_url);
}

TEST(UrlCooker, OtherForms) {
  Cooked c = cook("*", TargetForm::asterisk);
  ASSERT_EQ(c.error, Error::none);
  EXPECT_EQ(c.path, "/");
  EXPECT_EQ(c.full, "http://example.com:8080/");
  c = cook("Proxy.example:443", TargetForm::authority);
  ASSERT_EQ(c.error, Error::none);
  EXPECT_EQ(c.host, "proxy.example");
  EXPECT_EQ(c.path, "/");
  EXPECT_EQ(error_of("/x", TargetForm::asterisk), Error::invalid_url);
}

TEST(UrlCooker, Hosts) {
  struct HostRow {
    const char* host;
    const char* cooked;  // nullptr: invalid_hostname
  };
  const HostRow rows[] = {
      {"Example.COM", "example.com"},
      {"example.com:80", "example.com"},
      {"a_b-c.d", "a_b-c.d"},
      {"127.0.0.1:9", "127.0.0.1"},
      {"[::1]", "[::1]"},
      {"[FE80::1]:443", "[fe80::1]"},
      {"[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]"},
      {"[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6:7:8]"},
      {"[1:2:3:4:5:6:7:8:9]", nullptr},
      {"[1::2::3]", nullptr},
      {"[::1", nullptr},
      {"[::1]x", nullptr},
      {"[fe80::1%eth0]", nullptr},
      {"::1", nullptr},
      {"a/b", nullptr},
      {"a b", nullptr},
      {"u@h", nullptr},
      {"h:", nullptr},
      {"h:65536", nullptr},
      {"h:123456", nullptr},
      {"h:8a", nullptr},
      {":80", nullptr},
      {"h\xC3\xA9", nullptr},
  };
  for (const HostRow& row : rows) {
    const Cooked c = cook("/", TargetForm::origin, row.host);
    if (row.cooked != nullptr) {
      EXPECT_EQ(c.error, Error::none) << row.host;
      EXPECT_EQ(c.host, row.cooked) << row.host;
    } else {
      EXPECT_EQ(c.error, Error::invalid_hostname) << row.host;
    }
  }
  EXPECT_EQ(cook("/", TargetForm::origin, std::string(256, 'a')).error, Error::invalid_hostname);
}

TEST(UrlCooker, EmptyHostUsesLocalAddress) {
  Cooked c = cook("/x", TargetForm::origin, "", {}, "192.168.1.2");
  ASSERT_EQ(c.error, Error::none);
  EXPECT_EQ(c.full, "http://192.168.1.2:8080/x");
  c = cook("/x", TargetForm::origin, "", {}, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
  ASSERT_EQ(c.error, Error::none);  // the longest IPv6 text fits cooked_url_capacity
  EXPECT_EQ(c.host, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]");
  EXPECT_EQ(cook("/x", TargetForm::origin, "", {}, "[::1]").host, "[::1]");
  EXPECT_EQ(cook("/x", TargetForm::origin, "", {}, "").error, Error::invalid_hostname);
}

TEST(UrlCooker, SegmentLimits) {
  Limits limits;
  limits.url_segment_max_length = 4;
  limits.url_segment_max_count = 3;
  EXPECT_EQ(cook("/abcd/efgh/ijkl/", TargetForm::origin, "h", limits).error, Error::none);
  EXPECT_EQ(cook("/abcde", TargetForm::origin, "h", limits).error, Error::url_too_long);
  EXPECT_EQ(cook("/a/b/c/d", TargetForm::origin, "h", limits).error, Error::url_too_long);
  // Limits apply to the canonical path: removed segments and collapsed slashes don't count.
  EXPECT_EQ(cook("/a/b/c/d/..//", TargetForm::origin, "h", limits).error, Error::none);
  EXPECT_EQ(cook("/abcdefgh/../a", TargetForm::origin, "h", limits).error, Error::none);
  // Length counts characters: four 2-byte characters are four.
  EXPECT_EQ(cook("/%C3%A4%C3%A4%C3%A4%C3%A4", TargetForm::origin, "h", limits).error, Error::none);
  limits.url_segment_max_length = 0;
  limits.url_segment_max_count = 0;  // unlimited
  EXPECT_EQ(cook("/" + std::string(5000, 'a') + "/b/c/d/e", TargetForm::origin, "h", limits).error,
            Error::none);
  // Defaults: 260 characters, 255 segments.
  EXPECT_EQ(error_of("/" + std::string(260, 'a')), Error::none);
  EXPECT_EQ(error_of("/" + std::string(261, 'a')), Error::url_too_long);
  std::string many;
  for (int i = 0; i < 255; ++i) many += "/s";
  EXPECT_EQ(error_of(many), Error::none);
  EXPECT_EQ(error_of(many + "/s"), Error::url_too_long);
}

TEST(UrlCooker, NeverWritesPastOut) {
  const std::string target = "/a/b?c";
  for (std::size_t size = 0; size < cooked_url_capacity(target, "host"); ++size) {
    test::Guarded buf(std::string(size, '\0'));
    std::span<char> out(const_cast<char*>(buf.view().data()), size);
    CookedUrl url;
    const Error e = cook_url(target, TargetForm::origin, "host", "", 80, false, {}, out, url);
    const std::size_t needed = std::string_view("http://host:80/a/b?c").size();
    EXPECT_EQ(e, size >= needed ? Error::none : Error::invalid_url) << size;
  }
}

}  // namespace
}  // namespace httpapi::http1
