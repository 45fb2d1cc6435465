// Request-head parser tests. Every input goes through parse_all_ways(): whole, split at
// every offset, byte by byte, each copy flush against a guard page.
#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace httpapi::http1 {
namespace {

using test::parse_all_ways;
using test::ParsedHead;

ParsedHead parse(std::string_view input, const Limits& limits = {}, std::size_t capacity = 64) {
  const test::Agreement a = parse_all_ways(input, limits, capacity);
  EXPECT_EQ(a.disagreement, "") << "input: " << testing::PrintToString(std::string(input));
  return a.whole;
}

Error error_of(std::string_view input, const Limits& limits = {}, std::size_t capacity = 64) {
  const ParsedHead p = parse(input, limits, capacity);
  if (p.status == Status::incomplete) return static_cast<Error>(255);  // never expected
  return p.error;
}

constexpr const char* kHost = "Host: example.com\r\n";

std::string get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\n" + kHost + std::string(extra) + "\r\n";
}

// ---- well-formed requests ------------------------------------------------------------

TEST(RequestParser, SimpleGet) {
  const std::string in = "GET /index.html?a=b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  const ParsedHead p = parse(in + "trailing body bytes");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.target, "/index.html?a=b");
  EXPECT_EQ(p.form, TargetForm::origin);
  EXPECT_EQ(p.major, 1);
  EXPECT_EQ(p.minor, 1);
  EXPECT_EQ(p.host, "example.com");
  ASSERT_EQ(p.fields.size(), 2u);
  EXPECT_EQ(p.fields[1].first, "Accept");
  EXPECT_EQ(p.fields[1].second, "*/*");
  EXPECT_EQ(p.framing, Framing::none);
  EXPECT_TRUE(p.keep_alive);
  EXPECT_FALSE(p.expect_continue);
  EXPECT_FALSE(p.upgrade);
  EXPECT_EQ(p.head_length, in.size());
  EXPECT_EQ(p.consumed, in.size());
}

TEST(RequestParser, IncompleteHeadAsksForMore) {
  for (std::string_view in : {"", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n",
                              "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"}) {
    EXPECT_EQ(parse(in).status, Status::incomplete) << in;
  }
}

TEST(RequestParser, BareLfLineEndingsAreAccepted) {
  const ParsedHead p = parse("GET / HTTP/1.1\nHost: a\nX: y\n\nbody");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.field("X"), "y");
  EXPECT_EQ(p.head_length, 29u);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n").ok());  // mixed
}

TEST(RequestParser, LeadingEmptyLinesAreIgnored) {
  const ParsedHead p = parse("\r\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.head_length, 5u + 27u);
}

TEST(RequestParser, ValuesAreTrimmedAndKeepInnerSpace) {
  const ParsedHead p = parse(get("/", "Qux: \t foo baz \t\r\nEmpty:\r\nE2:   \r\nRaw: \xA3\xC3\xA9?\r\n"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.field("Qux"), "foo baz");
  EXPECT_EQ(p.field("Empty"), "");
  EXPECT_EQ(p.field("E2"), "");
  EXPECT_EQ(p.field("Raw"), "\xA3\xC3\xA9?");  // obs-text passes through
}

TEST(RequestParser, RepeatedFieldsKeepArrivalOrder) {
  const ParsedHead p = parse(get("/", "A: 1\r\nB: 2\r\nA: 3\r\n"));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.fields.size(), 4u);
  EXPECT_EQ(p.fields[1], (std::pair<std::string, std::string>("A", "1")));
  EXPECT_EQ(p.fields[3], (std::pair<std::string, std::string>("A", "3")));
}

TEST(RequestParser, MethodsAreTokensKeptAsSent) {
  for (std::string_view m : {"get", "PATCH", "NOSUCH", "M-SEARCH", "xyzzy", "!#$%&'*+-.^_`|~"}) {
    const ParsedHead p = parse(std::string(m) + " / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(p.ok()) << m;
    EXPECT_EQ(p.method, m);
  }
}

TEST(RequestParser, Http10Defaults) {
  const ParsedHead p = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.minor, 0);
  EXPECT_EQ(p.host, "");
  EXPECT_FALSE(p.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nHost: \r\n\r\n").ok());  // empty Host: local address
}

TEST(RequestParser, ConnectionTokens) {
  EXPECT_FALSE(parse(get("/", "Connection: close\r\n")).keep_alive);
  EXPECT_FALSE(parse(get("/", "Connection: foo, CLOSE\r\n")).keep_alive);
  EXPECT_FALSE(parse(get("/", "Connection: keep-alive\r\nConnection: close\r\n")).keep_alive);
  EXPECT_TRUE(parse(get("/", "Connection: closed\r\n")).keep_alive);
  EXPECT_TRUE(parse(get("/", "Connection: ,,keep-alive,\r\n")).keep_alive);
}

TEST(RequestParser, Upgrade) {
  EXPECT_TRUE(parse(get("/", "Connection: Upgrade\r\nUpgrade: websocket\r\n")).upgrade);
  EXPECT_TRUE(parse(get("/", "Upgrade: h2c\r\nConnection: keep-alive, upgrade\r\n")).upgrade);
  EXPECT_FALSE(parse(get("/", "Upgrade: websocket\r\n")).upgrade);
  EXPECT_FALSE(parse(get("/", "Connection: upgrade\r\n")).upgrade);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n").upgrade);
}

TEST(RequestParser, ExpectContinue) {
  EXPECT_TRUE(parse(get("/", "Expect: 100-Continue\r\nContent-Length: 5\r\n")).expect_continue);
  EXPECT_FALSE(parse(get("/", "Expect: 200-ok\r\n")).expect_continue);  // ignored
  EXPECT_TRUE(parse(get("/", "Expect: 200-ok\r\n")).ok());
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
}

TEST(RequestParser, ContentLength) {
  ParsedHead p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0042\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.framing, Framing::content_length);
  EXPECT_EQ(p.content_length, 42u);
  p = parse("PUT / HTTP/1.1\r\nHost: a\r\ncontent-length: 1\r\nContent-Length: 01\r\n\r\n");
  ASSERT_TRUE(p.ok());  // identical duplicates are accepted (A040)
  EXPECT_EQ(p.content_length, 1u);
  p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.content_length, UINT64_MAX);
  EXPECT_TRUE(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").ok());
}

TEST(RequestParser, Chunked) {
  ParsedHead p = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.framing, Framing::chunked);
  EXPECT_TRUE(p.keep_alive);
  p = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,\r\n\r\n");
  EXPECT_EQ(p.framing, Framing::chunked);  // empty list elements are ignored
  p = parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p.keep_alive);  // RFC 9112 §6.1: close after a chunked HTTP/1.0 request
}

TEST(RequestParser, TargetForms) {
  ParsedHead p = parse("GET http://Example.COM:8080/a/b?q HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.form, TargetForm::absolute);
  EXPECT_EQ(p.host, "Example.COM:8080");  // the target's authority overrides Host
  p = parse("GET HTTPS://[::1]?x HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.host, "[::1]");
  p = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.form, TargetForm::asterisk);
  EXPECT_EQ(p.host, "a");
  p = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.form, TargetForm::authority);
  EXPECT_EQ(p.host, "example.com:443");
  EXPECT_TRUE(parse(get("/a\\b\"c\"{|}^`<>")).ok());  // VCHARs HTTP.sys accepts raw
}

TEST(RequestParser, ManyHeadersFitStorage) {
  std::string extra;
  for (int i = 0; i < 1000; ++i) extra += "custom" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  const test::Agreement a = parse_all_ways(get("/", extra), Limits{.max_request_bytes = 1 << 20}, 1001, 0);
  ASSERT_TRUE(a.whole.ok());
  EXPECT_EQ(a.whole.fields.size(), 1001u);
  EXPECT_EQ(a.whole.field("custom999"), "999");
}

TEST(RequestParser, LimitsAtTheirExactEdge) {
  Limits limits;
  limits.max_request_bytes = 64;
  limits.max_field_length = 20;
  // "X: " + 17 bytes = 20 bytes of field line: allowed; one more is too long.
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(17, 'v') + "\r\n\r\n";
  EXPECT_TRUE(parse(in, limits).ok());
  in = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(18, 'v') + "\r\n\r\n";
  EXPECT_EQ(error_of(in, limits), Error::field_too_long);
  // Exactly max_request_bytes of head is allowed; one more byte is not.
  in = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nZ: 3\r\nAAAAA: 1234567890\r\n\r\n";
  ASSERT_EQ(in.size(), 64u);
  EXPECT_TRUE(parse(in, limits).ok());
  in.insert(0, "\r\n");
  EXPECT_EQ(error_of(in, limits), Error::request_too_long);
}

// ---- one test per error mapping ------------------------------------------------------

struct ErrorCase {
  const char* name;
  std::string input;
  Error expected;
};

class RequestErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(RequestErrors, Maps) {
  EXPECT_EQ(error_of(GetParam().input), GetParam().expected) << GetParam().name;
}

std::string post(std::string_view extra) {
  return "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(extra) + "\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    All, RequestErrors,
    testing::Values(
        // request line
        ErrorCase{"garbage line", "foo\r\n", Error::bad_request},
        ErrorCase{"two words", "Two Spaces\r\n\r\n", Error::bad_request},
        ErrorCase{"extra spaces", "Lots Of Extra Spaces\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"http/0.9 line", "GET /\r\n\r\n", Error::bad_request},
        ErrorCase{"method separator", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_verb},
        ErrorCase{"method slash", "/ / HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_verb},
        ErrorCase{"method non-ascii", "G\xC3\xA9T / HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_verb},
        ErrorCase{"method tab", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_verb},
        ErrorCase{"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_verb},
        ErrorCase{"NUL in method", std::string("G\0T / HTTP/1.1\r\n\r\n", 18), Error::bad_request},
        ErrorCase{"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version 3 parts", "GET / HTTP/1.1.1\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version letters", "GET / HTTP/aaa\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version digits", "GET / 12345678\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version 0.1", "GET / HTTP/0.1\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version 10.0", "GET / HTTP/10.0\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"ICE", "GET / ICE/1.0\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", Error::version_not_supported},
        ErrorCase{"version 3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", Error::version_not_supported},
        ErrorCase{"version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", Error::version_not_supported},
        ErrorCase{"version 5.6", "GET / HTTP/5.6\r\n\r\n", Error::version_not_supported},
        // targets
        ErrorCase{"space in path", "GET /path with spaces HTTP/1.1\r\nHost: a\r\n\r\n", Error::bad_request},
        ErrorCase{"control in path", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"DEL in path", "GET /\x7F HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"latin-1 byte", "GET /\xE1 HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"raw utf-8", "GET /\xCE\xB4 HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"relative", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"asterisk on GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"authority on GET", "GET a.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"CONNECT origin", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"CONNECT no port", "CONNECT a.com HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"ftp scheme", "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"empty authority", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_url},
        ErrorCase{"bad absolute host", "GET http://a%20b/ HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_hostname},
        ErrorCase{"absolute bad port", "GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n", Error::invalid_hostname},
        // header lines
        ErrorCase{"no colon", get("/", "NoValue\r\n"), Error::invalid_header},
        ErrorCase{"empty name", get("/", ": v\r\n"), Error::invalid_header},
        ErrorCase{"colon only", get("/", ":\r\n"), Error::invalid_header},
        ErrorCase{"space before colon", get("/", "Foo : v\r\n"), Error::invalid_header},
        ErrorCase{"separator in name", get("/", "Fo@: v\r\n"), Error::invalid_header},
        ErrorCase{"non-ascii name", get("/", "F\xC3\xA9: v\r\n"), Error::invalid_header},
        ErrorCase{"NUL name", get("/", std::string("\0:value\r\n", 9)), Error::bad_request},
        ErrorCase{"NUL value", get("/", std::string("X: \xA3\0a\r\n", 9)), Error::bad_request},
        ErrorCase{"bare CR value", get("/", "X: a\rb\r\n"), Error::bad_request},
        ErrorCase{"bare CR name", get("/", "Content\rLength: 3\r\n"), Error::bad_request},
        ErrorCase{"bare CR request line", "GET / HTTP/1.1\rX: 1\r\n\r\n", Error::bad_request},
        ErrorCase{"CR before blank", "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", Error::bad_request},
        ErrorCase{"control in value", get("/", "X: a\x0C" "b\r\n"), Error::bad_request},
        ErrorCase{"DEL in value", get("/", "X: a\x7F\r\n"), Error::bad_request},
        ErrorCase{"obs-fold", get("/", "X: a\r\n b\r\n"), Error::bad_request},
        ErrorCase{"obs-fold tab", get("/", "X: a\r\n\tb\r\n"), Error::bad_request},
        ErrorCase{"space after request line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", Error::bad_request},
        // Host
        ErrorCase{"missing host", "GET / HTTP/1.1\r\n\r\n", Error::bad_request},
        ErrorCase{"duplicate host", get("/", "host: example.com\r\n"), Error::bad_request},
        ErrorCase{"duplicate host 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", Error::bad_request},
        ErrorCase{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", Error::invalid_hostname},
        ErrorCase{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Error::invalid_hostname},
        ErrorCase{"host bad port", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", Error::invalid_hostname},
        ErrorCase{"host empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", Error::invalid_hostname},
        ErrorCase{"host bare ipv6", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", Error::invalid_hostname},
        ErrorCase{"host bad ipv6", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", Error::invalid_hostname},
        ErrorCase{"host userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", Error::invalid_hostname},
        // framing
        ErrorCase{"CL negative", post("Content-Length: -10\r\n"), Error::bad_request},
        ErrorCase{"CL plus", post("Content-Length: +5\r\n"), Error::bad_request},
        ErrorCase{"CL hex", post("Content-Length: 0x5\r\n"), Error::bad_request},
        ErrorCase{"CL inner space", post("Content-Length: 4 2\r\n"), Error::bad_request},
        ErrorCase{"CL list", post("Content-Length: 5, 5\r\n"), Error::bad_request},
        ErrorCase{"CL empty", post("Content-Length:\r\n"), Error::bad_request},
        ErrorCase{"CL overflow", post("Content-Length: 18446744073709551616\r\n"), Error::bad_request},
        ErrorCase{"CL huge", post("Content-Length: 1000000000000000000000\r\n"), Error::bad_request},
        ErrorCase{"CL differing", post("Content-Length: 1\r\nContent-Length: 2\r\n"), Error::bad_request},
        ErrorCase{"CL and TE", post("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n"), Error::bad_request},
        ErrorCase{"TE and CL", post("Transfer-Encoding: chunked\r\nContent-Length: 1\r\n"), Error::bad_request},
        ErrorCase{"TE identity and CL", post("Transfer-Encoding: identity\r\nContent-Length: 1\r\n"), Error::bad_request},
        ErrorCase{"TE empty", post("Transfer-Encoding:\r\n"), Error::bad_request},
        ErrorCase{"TE chunked twice", post("Transfer-Encoding: chunked, chunked\r\n"), Error::bad_request},
        ErrorCase{"TE chunked two lines", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), Error::bad_request},
        ErrorCase{"TE gzip chunked", post("Transfer-Encoding: gzip, chunked\r\n"), Error::not_implemented},
        ErrorCase{"TE gzip then chunked lines", post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), Error::not_implemented},
        ErrorCase{"TE chunked gzip", post("Transfer-Encoding: chunked, gzip\r\n"), Error::not_implemented},
        ErrorCase{"TE identity", post("Transfer-Encoding: identity\r\n"), Error::not_implemented},
        ErrorCase{"TE garbage", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: garbage\r\n\r\n", Error::not_implemented},
        ErrorCase{"TE chunkedchunked", post("Transfer-Encoding: chunkedchunked\r\n"), Error::not_implemented},
        ErrorCase{"TE with params", post("Transfer-Encoding: chunked;x=1\r\n"), Error::not_implemented},
        ErrorCase{"POST no length", post(""), Error::length_required},
        ErrorCase{"PUT no length", "PUT / HTTP/1.1\r\nHost: a\r\n\r\n", Error::length_required},
        ErrorCase{"PUT 1.0 no length", "PUT / HTTP/1.0\r\n\r\n", Error::length_required}),
    [](const testing::TestParamInfo<ErrorCase>& param) {
      std::string name;
      for (const char* c = param.param.name; *c; ++c) name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
      return name;
    });

TEST(RequestParser, EntityTooLarge) {
  Limits limits;
  limits.max_body_bytes = 10;
  EXPECT_TRUE(parse(post("Content-Length: 10\r\n"), limits).ok());
  EXPECT_EQ(error_of(post("Content-Length: 11\r\n"), limits), Error::entity_too_large);
}

TEST(RequestParser, RequestTooLong) {
  // Default limits: 16 KiB of head. A head that never ends fails once it holds more.
  const std::string in = get("/", "Cookie: " + std::string(8000, 'c') + "\r\nX: " + std::string(8500, 'x') + "\r\n");
  EXPECT_EQ(error_of(in), Error::request_too_long);
  EXPECT_EQ(parse(in.substr(0, 16384)).status, Status::incomplete);
  EXPECT_EQ(error_of(in.substr(0, 16385)), Error::request_too_long);
  // Leading empty lines count.
  EXPECT_EQ(error_of(std::string(16385, '\n')), Error::request_too_long);
}

TEST(RequestParser, UnlimitedLimitsDoNotWrap) {
  Limits limits;
  limits.max_request_bytes = SIZE_MAX;
  limits.max_field_length = SIZE_MAX;
  EXPECT_TRUE(parse(get("/a", "X: y\r\n"), limits).ok());
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX: y", limits).status, Status::incomplete);
}

TEST(RequestParser, TooManyFieldsForStorage) {
  EXPECT_TRUE(parse(get("/", "A: 1\r\nB: 2\r\n"), {}, 3).ok());
  EXPECT_EQ(error_of(get("/", "A: 1\r\nB: 2\r\nC: 3\r\n"), {}, 3), Error::request_too_long);
  EXPECT_EQ(error_of(get("/"), {}, 0), Error::request_too_long);
}

TEST(RequestParser, FieldTooLong) {
  Limits limits;
  limits.max_field_length = 100;
  EXPECT_EQ(error_of(get("/", "X: " + std::string(98, 'a') + "\r\n"), limits), Error::field_too_long);
  EXPECT_TRUE(parse(get("/", "X: " + std::string(97, 'a') + "\r\n"), limits).ok());
  // Detected before the line ends.
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nX: " + std::string(200, 'a'), limits), Error::field_too_long);
}

TEST(RequestParser, UrlTooLong) {
  Limits limits;
  limits.max_field_length = 100;
  limits.max_request_bytes = 300;
  EXPECT_EQ(error_of(get("/" + std::string(100, 'a')), limits), Error::url_too_long);
  EXPECT_TRUE(parse(get("/" + std::string(99, 'a')), limits).ok());
  // A target longer than the whole head limit: still a URL problem, even unterminated.
  EXPECT_EQ(error_of("GET /" + std::string(400, 'a'), limits), Error::url_too_long);
  EXPECT_EQ(error_of("GET /" + std::string(90, 'a') + " HTTP/1.1\r\nX: " + std::string(400, 'b'), limits),
            Error::field_too_long);
}

TEST(RequestParser, NulAnywhereIsBadRequest) {
  const std::string base = get("/a", "X-Long: abcdef\r\n");
  for (std::size_t i = 0; i + 4 < base.size(); ++i) {
    if (base[i] == '\r' || base[i] == '\n') continue;
    std::string in = base;
    in[i] = '\0';
    const Error e = error_of(in);
    EXPECT_TRUE(e == Error::bad_request) << "NUL at " << i << " gave " << static_cast<int>(e);
  }
}

TEST(RequestParser, ScannerResetsWhenMisused) {
  // A scanner left over from a longer buffer must not read out of bounds.
  HeadScanner scanner;
  scanner.scanned = 1000;
  test::Guarded buf("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Field fields[4];
  RequestHead head;
  EXPECT_EQ(parse_request_head(buf.view(), {}, fields, head, scanner).status, Status::complete);
}

TEST(RequestParser, PipelinedRequestsParseOneAtATime) {
  const std::string first = get("/1");
  const std::string second = get("/2");
  const std::string both = first + second;
  HeadScanner scanner;
  Field fields[8];
  RequestHead head;
  HeadResult r = parse_request_head(both, {}, fields, head, scanner);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(head.target, "/1");
  scanner = {};
  r = parse_request_head(std::string_view(both).substr(r.consumed), {}, fields, head, scanner);
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(head.target, "/2");
}

}  // namespace
}  // namespace httpapi::http1
