// The PROXY header parser: every input runs whole, at every split point (the daemon's way:
// keep what arrived, call again with more) and byte by byte, each copy flush against a
// PROT_NONE page so a read past the end faults. Every run must agree with the whole one, and
// every incomplete answer must come before the header's end (its bytes are all header).
#include "proxy/header_parser.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "../../support/guarded_bytes.hpp"

namespace httpapi::proxy {
namespace {

using httpapi::test::Guarded;

std::string address_text(const sockaddr_storage& a) {
  char buffer[INET6_ADDRSTRLEN] = "";
  std::uint16_t port = 0;
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, buffer, sizeof buffer);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, buffer, sizeof buffer);
    port = ntohs(v6->sin6_port);
  } else {
    return "-";
  }
  return std::string(buffer) + " " + std::to_string(port);
}

// What a parse produced, copied out so runs can be compared.
struct Parsed {
  Status status = Status::incomplete;
  Error error = Error::none;
  std::size_t consumed = 0;
  int version = 0;
  bool proxied = false;
  std::string source, destination, alpn, authority;
  bool ssl = false;
  int ssl_client = 0;
  std::uint32_t ssl_verify = 0;
  std::string ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg, ssl_key_alg;
  bool views_inside = true;
  bool operator==(const Parsed&) const = default;
};

Parsed parse_once(std::string_view input, const Limits& limits = {}) {
  Guarded buf(input);
  Header h;
  const Result r = parse_header(buf.view(), limits, h);
  Parsed p;
  p.status = r.status;
  p.error = r.error;
  p.consumed = r.consumed;
  if (r.status != Status::complete) return p;
  p.version = h.version;
  p.proxied = h.proxied;
  if (h.proxied) {
    p.source = address_text(h.source);
    p.destination = address_text(h.destination);
  }
  const Tlvs& t = h.tlvs;
  p.alpn = t.alpn;
  p.authority = t.authority;
  p.ssl = t.ssl;
  p.ssl_client = t.ssl_client;
  p.ssl_verify = t.ssl_verify;
  p.ssl_version = t.ssl_version;
  p.ssl_cn = t.ssl_cn;
  p.ssl_cipher = t.ssl_cipher;
  p.ssl_sig_alg = t.ssl_sig_alg;
  p.ssl_key_alg = t.ssl_key_alg;
  for (std::string_view v : {t.alpn, t.authority, t.ssl_version, t.ssl_cn, t.ssl_cipher,
                             t.ssl_sig_alg, t.ssl_key_alg}) {
    p.views_inside = p.views_inside && buf.contains(v);
  }
  return p;
}

// Growing prefixes, as the daemon sees them: the answer of the first prefix that is not
// incomplete.
Parsed parse_in_steps(std::string_view input, const std::vector<std::size_t>& cuts,
                      const Limits& limits) {
  for (std::size_t cut : cuts) {
    Parsed p = parse_once(input.substr(0, cut), limits);
    if (p.status != Status::incomplete) return p;
  }
  return parse_once(input, limits);
}

// Whole, every split in two, byte by byte: all must agree. Returns the whole run's answer.
Parsed parse_all_ways(std::string_view input, const Limits& limits = {}) {
  const Parsed whole = parse_once(input, limits);
  EXPECT_TRUE(whole.views_inside);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    const Parsed p = parse_in_steps(input, {cut}, limits);
    EXPECT_EQ(p, whole) << "split at " << cut;
    if (!(p == whole)) break;
  }
  std::vector<std::size_t> bytewise;
  for (std::size_t i = 0; i < input.size(); ++i) bytewise.push_back(i);
  EXPECT_EQ(parse_in_steps(input, bytewise, limits), whole) << "byte by byte";
  // An incomplete answer means every byte given is header: never one for a prefix longer
  // than the complete header.
  if (whole.status == Status::complete) {
    for (std::size_t cut = 0; cut < whole.consumed; ++cut) {
      EXPECT_NE(parse_once(input.substr(0, cut), limits).status, Status::complete) << cut;
    }
  }
  return whole;
}

// ---- version 2 builders -------------------------------------------------------------------

const std::string kSignature{"\r\n\r\n\0\r\nQUIT\n", 12};

std::string be16(std::size_t v) {
  return {static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

std::string tlv(int type, std::string_view value) {
  return std::string(1, static_cast<char>(type)) + be16(value.size()) + std::string(value);
}

std::string v2(int version_command, int family, std::string_view body) {
  return kSignature + static_cast<char>(version_command) + static_cast<char>(family) +
         be16(body.size()) + std::string(body);
}

std::string inet_block() {  // 192.0.2.1:51000 -> 198.51.100.7:443
  return std::string("\xC0\x00\x02\x01\xC6\x33\x64\x07", 8) + be16(51000) + be16(443);
}

std::string inet6_block() {  // 2001:db8::1:51000 -> 2001:db8::2:8443
  std::string s(16, '\0');
  s[0] = '\x20'; s[1] = '\x01'; s[2] = '\x0d'; s[3] = '\xb8'; s[15] = '\x01';
  std::string d = s;
  d[15] = '\x02';
  return s + d + be16(51000) + be16(8443);
}

// ---- version 1 ----------------------------------------------------------------------------

TEST(ProxyV1, Tcp4WithTheStreamAfterIt) {
  const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\n";
  const Parsed p = parse_all_ways(header + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.consumed, header.size());
  EXPECT_EQ(p.version, 1);
  EXPECT_TRUE(p.proxied);
  EXPECT_EQ(p.source, "192.0.2.1 51000");
  EXPECT_EQ(p.destination, "198.51.100.7 443");
}

TEST(ProxyV1, Tcp6) {
  const Parsed p = parse_all_ways("PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n");
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.source, "2001:db8::1 0");
  EXPECT_EQ(p.destination, "2001:db8::2 65535");
}

TEST(ProxyV1, LongestTcp6LineIs104Bytes) {
  const std::string a = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string line = "PROXY TCP6 " + a + " " + a + " 65535 65535\r\n";
  EXPECT_EQ(line.size(), 104u);
  EXPECT_EQ(parse_all_ways(line).status, Status::complete);
}

TEST(ProxyV1, UnknownKeepsTheRealPeer) {
  for (const char* line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    const Parsed p = parse_all_ways(line);
    ASSERT_EQ(p.status, Status::complete) << line;
    EXPECT_FALSE(p.proxied);
    EXPECT_EQ(p.consumed, std::strlen(line));
  }
}

TEST(ProxyV1, MalformedLines) {
  for (const char* line : {
           "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\n",       // bare LF
           "PROXY TCP4 192.0.2.1 198.51.100.7 51000\r\n",         // a port missing
           "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443 9\r\n",   // a word too many
           "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443 \r\n",    // trailing space
           "PROXY TCP4  192.0.2.1 198.51.100.7 51000 443\r\n",    // double space
           "PROXY TCP4 2001:db8::1 198.51.100.7 51000 443\r\n",   // IPv6 in TCP4
           "PROXY TCP6 192.0.2.1 2001:db8::2 51000 443\r\n",      // IPv4 in TCP6
           "PROXY TCP4 192.0.2.256 198.51.100.7 51000 443\r\n",   // not an address
           "PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n",     // port too large
           "PROXY TCP4 192.0.2.1 198.51.100.7 -1 443\r\n",        // not a number
           "PROXY TCP4 192.0.2.1 198.51.100.7 123456 443\r\n",    // six digits
           "PROXY TCP5 192.0.2.1 198.51.100.7 51000 443\r\n",     // unknown protocol
           "PROXY \r\n",                                          // nothing
           "PROXY tcp4 192.0.2.1 198.51.100.7 51000 443\r\n",     // case matters
           "PROXY TCP4 192.0.2.1 198.51.100.7 51000 4\r43\r\n",   // CR inside
       }) {
    const Parsed p = parse_all_ways(line);
    EXPECT_EQ(p.status, Status::error) << line;
    EXPECT_EQ(p.error, Error::v1_malformed) << line;
  }
}

TEST(ProxyV1, NoLineEndWithin107BytesIsTooLong) {
  const std::string line = "PROXY UNKNOWN " + std::string(100, 'x') + "\r\n";
  const Parsed p = parse_all_ways(line);
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.error, Error::v1_too_long);
  // 107 bytes with the CRLF is the longest allowed.
  const std::string longest = "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), 107u);
  EXPECT_EQ(parse_all_ways(longest).status, Status::complete);
}

TEST(ProxyV1, TruncatedIsIncomplete) {
  EXPECT_EQ(parse_once("PROXY TCP4 192.0.2.1 198.51").status, Status::incomplete);
  EXPECT_EQ(parse_once("PROX").status, Status::incomplete);
  EXPECT_EQ(parse_once("").status, Status::incomplete);
}

TEST(ProxyHeader, NeitherSignature) {
  for (const char* input : {"GET / HTTP/1.1\r\n\r\n", "POST / HTTP/1.1\r\n", "\x16\x03\x01",
                            "PRI * HTTP/2.0\r\n", "\r\n\r\nX"}) {
    const Parsed p = parse_all_ways(input);
    EXPECT_EQ(p.status, Status::error) << input;
    EXPECT_EQ(p.error, Error::not_proxy) << input;
  }
}

TEST(ProxyHeader, LooksLikeHeader) {
  EXPECT_EQ(looks_like_header(""), Looks::maybe);
  EXPECT_EQ(looks_like_header("PRO"), Looks::maybe);
  EXPECT_EQ(looks_like_header("PROXY "), Looks::yes);
  EXPECT_EQ(looks_like_header("PROXY TCP4"), Looks::yes);
  EXPECT_EQ(looks_like_header("POST / HTTP/1.1"), Looks::no);
  EXPECT_EQ(looks_like_header("PRI * HTTP/2.0"), Looks::no);
  EXPECT_EQ(looks_like_header("\x16\x03\x01\x02\x00"), Looks::no);
  EXPECT_EQ(looks_like_header(std::string_view("\r\n\r\n\0\r\n", 7)), Looks::maybe);
  EXPECT_EQ(looks_like_header(kSignature), Looks::yes);
  EXPECT_EQ(looks_like_header("\r\n\r\nGET"), Looks::no);
}

// ---- version 2 ----------------------------------------------------------------------------

TEST(ProxyV2, Inet) {
  const std::string header = v2(0x21, 0x11, inet_block());
  const Parsed p = parse_all_ways(header + "\x16\x03\x01");
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.consumed, header.size());
  EXPECT_EQ(p.version, 2);
  EXPECT_TRUE(p.proxied);
  EXPECT_EQ(p.source, "192.0.2.1 51000");
  EXPECT_EQ(p.destination, "198.51.100.7 443");
}

TEST(ProxyV2, Inet6) {
  const Parsed p = parse_all_ways(v2(0x21, 0x21, inet6_block()));
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.source, "2001:db8::1 51000");
  EXPECT_EQ(p.destination, "2001:db8::2 8443");
}

TEST(ProxyV2, TlvsAlpnAuthoritySsl) {
  const std::string ssl = std::string("\x07\x00\x00\x00\x00", 5) + tlv(0x21, "TLSv1.3") +
                          tlv(0x22, "client1") + tlv(0x23, "TLS_AES_128_GCM_SHA256") +
                          tlv(0x24, "RSA-SHA256") + tlv(0x25, "RSA2048");
  const std::string body = inet_block() + tlv(0x01, "h2") + tlv(0x04, "pad") +
                           tlv(0x02, "www.example.com") + tlv(0x20, ssl) + tlv(0xE0, "x");
  const Parsed p = parse_all_ways(v2(0x21, 0x11, body));
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.alpn, "h2");
  EXPECT_EQ(p.authority, "www.example.com");
  EXPECT_TRUE(p.ssl);
  EXPECT_EQ(p.ssl_client, 7);
  EXPECT_EQ(p.ssl_verify, 0u);
  EXPECT_EQ(p.ssl_version, "TLSv1.3");
  EXPECT_EQ(p.ssl_cn, "client1");
  EXPECT_EQ(p.ssl_cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(p.ssl_sig_alg, "RSA-SHA256");
  EXPECT_EQ(p.ssl_key_alg, "RSA2048");
}

TEST(ProxyV2, SslVerifyIsBigEndian) {
  const std::string ssl = std::string("\x01\x00\x00\x01\x02", 5);
  const Parsed p = parse_all_ways(v2(0x21, 0x11, inet_block() + tlv(0x20, ssl)));
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.ssl_verify, 0x102u);
  EXPECT_TRUE(p.ssl_version.empty());
}

TEST(ProxyV2, LocalKeepsTheRealPeerWhateverItsBlockSays) {
  for (int family : {0x00, 0x11, 0x21, 0x31, 0x12, 0xFF}) {
    const Parsed p = parse_all_ways(v2(0x20, family, "anything"));
    ASSERT_EQ(p.status, Status::complete) << family;
    EXPECT_FALSE(p.proxied);
    EXPECT_EQ(p.consumed, 16u + 8u);
  }
  EXPECT_EQ(parse_all_ways(v2(0x20, 0x00, "")).status, Status::complete);
}

TEST(ProxyV2, ProxyWithUnspecifiedFamilyKeepsTheRealPeer) {
  const Parsed p = parse_all_ways(v2(0x21, 0x00, ""));
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_FALSE(p.proxied);
}

TEST(ProxyV2, BadVersionCommandFamily) {
  EXPECT_EQ(parse_all_ways(v2(0x11, 0x11, inet_block())).error, Error::v2_version);
  EXPECT_EQ(parse_all_ways(v2(0x31, 0x11, inet_block())).error, Error::v2_version);
  EXPECT_EQ(parse_all_ways(v2(0x22, 0x11, inet_block())).error, Error::v2_command);
  EXPECT_EQ(parse_all_ways(v2(0x2F, 0x11, inet_block())).error, Error::v2_command);
  for (int family : {0x12, 0x22, 0x31, 0x32, 0x41, 0x10, 0x13}) {
    EXPECT_EQ(parse_all_ways(v2(0x21, family, inet6_block())).error, Error::v2_unsupported)
        << family;
  }
}

TEST(ProxyV2, LengthsThatLie) {
  // Shorter than the address block the family needs.
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x11, inet_block().substr(0, 11))).error, Error::v2_length);
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x21, inet_block())).error, Error::v2_length);
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x11, "")).error, Error::v2_length);
  // A TLV longer than what is left, a TLV cut in its own header, an SSL TLV too short for its
  // fixed part, an SSL sub-TLV longer than its parent.
  std::string liar = tlv(0x01, "h2");
  liar[2] = 9;
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x11, inet_block() + liar)).error, Error::v2_tlv);
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x11, inet_block() + "\x01\x00")).error, Error::v2_tlv);
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x11, inet_block() + tlv(0x20, "1234"))).error,
            Error::v2_tlv);
  std::string sub = tlv(0x21, "TLSv1.3");
  sub[2] = 40;
  EXPECT_EQ(parse_all_ways(v2(0x21, 0x11, inet_block() +
                                              tlv(0x20, std::string(5, '\0') + sub)))
                .error,
            Error::v2_tlv);
  // A length longer than what was sent is only incomplete: the connection's header_wait (or
  // the peer's end) decides.
  std::string longer = v2(0x21, 0x11, inet_block());
  longer[15] = 40;
  EXPECT_EQ(parse_once(longer).status, Status::incomplete);
}

TEST(ProxyV2, LimitIsAParameter) {
  const std::string header = v2(0x21, 0x11, inet_block() + tlv(0x04, std::string(100, 'p')));
  EXPECT_EQ(parse_all_ways(header, Limits{header.size()}).status, Status::complete);
  EXPECT_EQ(parse_all_ways(header, Limits{header.size() - 1}).error, Error::too_long);
  // Known from the fixed part alone: refused before the rest arrives.
  EXPECT_EQ(parse_once(header.substr(0, 16), Limits{header.size() - 1}).error, Error::too_long);
  std::string huge = v2(0x21, 0x11, inet_block());
  huge[14] = '\xFF';
  huge[15] = '\xFF';
  EXPECT_EQ(parse_once(huge).error, Error::too_long);
}

TEST(ProxyHeader, ErrorNames) {
  EXPECT_EQ(error_name(Error::v2_length), "v2_length");
  EXPECT_EQ(error_name(Error::not_proxy), "not_proxy");
}

}  // namespace
}  // namespace httpapi::proxy
