// What an application sees of a request that arrived over TLS: the frame is encoded by the
// ipc encoder as the service does, then goes through the library's own code that fills
// httpapi_request_info (build_request) and, for httpapi_receive_into, lays it out in the
// caller's buffer (copied_size, copy_request).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "client/objects.hpp"
#include "ipc/messages.hpp"

namespace ipc = httpapi::ipc;
using httpapi::client::build_request;
using httpapi::client::copied_size;
using httpapi::client::copy_request;

namespace {

const std::string kSockaddr(ipc::kSockaddrSize, 'S');
const std::string kDer("\x30\x82\x02\x00\x00\x01\x02\xff", 8);
const std::string kBalancer(ipc::kSockaddrSize, 'B');

std::string_view text(httpapi_bytes b) { return {b.data ? b.data : "", b.length}; }

struct Sent {
  std::string headers;
  ipc::Request message;
  Sent() {
    ipc::append_header(headers, "Host", "shop.example");
    ipc::append_header(headers, "Accept", "a");
    ipc::append_header(headers, "Accept", "b");  // merged into known_headers: a second string
    message.request = 7;
    message.connection = 8;
    message.port = 443;
    message.local_address = kSockaddr;
    message.remote_address = kSockaddr;
    message.method = "GET";
    message.raw_url = "/app/x";
    message.full_url = "https://shop.example:443/app/x";
    message.host = "shop.example";
    message.path = "/app/x";
    message.headers = headers;
    message.body = "first body bytes";
  }
  void secure(bool with_certificate) {
    message.flags |= HTTPAPI_REQUEST_FLAG_SECURE;
    message.tls.protocol = "TLSv1.3";
    message.tls.cipher = "TLS_AES_256_GCM_SHA384";
    message.tls.sni = "shop.example";
    message.tls.alpn = "http/1.1";
    message.tls.resumed = true;
    if (!with_certificate) return;
    message.tls.client_certificate = true;
    message.tls.client_certificate_verified = true;
    message.tls.client_certificate_der = kDer;
    message.tls.client_certificate_subject = "CN=client1,O=Example";
    message.tls.client_certificate_issuer = "CN=Example CA,O=Example";
  }
  // Arrived through a PROXY header from the balancer kBalancer (docs/proxy-protocol.md).
  void proxied() {
    message.flags |= HTTPAPI_REQUEST_FLAG_PROXIED;
    message.proxy.proxied_by = kBalancer;
    message.proxy.authority = "www.example.com";
    message.proxy.ssl = true;
    message.proxy.ssl_client = 5;
    message.proxy.ssl_verify = 9;
    message.proxy.ssl_cn = "client1";
  }
};

// The request as the library files it when its frame arrives.
std::unique_ptr<httpapi_request> received(const ipc::Request& message) {
  auto r = std::make_unique<httpapi_request>();
  EXPECT_TRUE(ipc::encode(r->frame, message));
  EXPECT_TRUE(build_request(*r));
  return r;
}

// What copied_size must come to: the info, the TLS parts, the header array, the frame and
// the merged known headers.
std::size_t expected_size(const httpapi_request& r, std::size_t tls_parts) {
  std::size_t size = sizeof(httpapi_request_info) + tls_parts +
                     r.headers.size() * sizeof(httpapi_header) + r.frame.size();
  for (const std::string& m : r.merged) size += m.size();
  return size;
}

// A caller's buffer of exactly `size` bytes followed by a guard that must stay untouched.
class CallerBuffer {
 public:
  explicit CallerBuffer(std::size_t size)
      : size_(size),
        words_(std::make_unique<std::max_align_t[]>((size + kGuard) / sizeof(std::max_align_t) + 1)) {
    std::memset(bytes(), kFill, size_ + kGuard);
  }
  char* bytes() { return reinterpret_cast<char*>(words_.get()); }
  bool holds(const void* p, std::size_t length = 0) const {
    const char* start = reinterpret_cast<const char*>(words_.get());
    const char* at = static_cast<const char*>(p);
    return at >= start && at + length <= start + size_;
  }
  bool guard_intact() {
    for (std::size_t i = size_; i < size_ + kGuard; ++i) {
      if (static_cast<unsigned char>(bytes()[i]) != kFill) return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t kGuard = 64;
  static constexpr unsigned char kFill = 0xab;
  std::size_t size_;
  std::unique_ptr<std::max_align_t[]> words_;
};

}  // namespace

TEST(RequestTlsInfo, SecureRequestShowsEveryTlsField) {
  Sent sent;
  sent.secure(true);
  const auto r = received(sent.message);
  const httpapi_request_info& info = r->info;
  EXPECT_EQ(info.flags, HTTPAPI_REQUEST_FLAG_SECURE);
  EXPECT_EQ(text(info.url.full), "https://shop.example:443/app/x");
  ASSERT_NE(info.tls, nullptr);
  EXPECT_EQ(text(info.tls->protocol), "TLSv1.3");
  EXPECT_EQ(text(info.tls->cipher), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(text(info.tls->sni), "shop.example");
  EXPECT_EQ(text(info.tls->alpn), "http/1.1");
  EXPECT_EQ(info.tls->resumed, 1u);
  const httpapi_client_certificate* certificate = info.tls->client_certificate;
  ASSERT_NE(certificate, nullptr);
  EXPECT_EQ(text(certificate->der), kDer);
  EXPECT_EQ(text(certificate->subject), "CN=client1,O=Example");
  EXPECT_EQ(text(certificate->issuer), "CN=Example CA,O=Example");
  EXPECT_EQ(certificate->verified, 1u);
}

TEST(RequestTlsInfo, NoCertificateNoSniNoAlpn) {
  Sent sent;
  sent.secure(false);
  sent.message.tls.sni = "";
  sent.message.tls.alpn = "";
  sent.message.tls.resumed = false;
  const auto r = received(sent.message);
  ASSERT_NE(r->info.tls, nullptr);
  EXPECT_EQ(text(r->info.tls->protocol), "TLSv1.3");
  EXPECT_EQ(r->info.tls->sni.data, nullptr) << "an absent SNI is the NULL view";
  EXPECT_EQ(r->info.tls->sni.length, 0u);
  EXPECT_EQ(r->info.tls->alpn.data, nullptr);
  EXPECT_EQ(r->info.tls->resumed, 0u);
  EXPECT_EQ(r->info.tls->client_certificate, nullptr);
}

TEST(RequestTlsInfo, UnverifiedCertificateIsShownAsSuch) {
  Sent sent;
  sent.secure(true);
  sent.message.tls.client_certificate_verified = false;
  const auto r = received(sent.message);
  ASSERT_NE(r->info.tls->client_certificate, nullptr);
  EXPECT_EQ(r->info.tls->client_certificate->verified, 0u);
  EXPECT_EQ(text(r->info.tls->client_certificate->der), kDer);
}

TEST(RequestTlsInfo, PlainRequestHasNoTlsInfo) {
  Sent sent;
  const auto r = received(sent.message);
  EXPECT_EQ(r->info.flags & HTTPAPI_REQUEST_FLAG_SECURE, 0u);
  EXPECT_EQ(r->info.tls, nullptr);
}

TEST(RequestTlsInfo, MalformedTlsTailFailsTheRequest) {
  Sent sent;
  sent.secure(true);
  auto r = std::make_unique<httpapi_request>();
  ASSERT_TRUE(ipc::encode(r->frame, sent.message));
  // Make the frame end its fixed part before the issuer's reference: the tail is cut.
  const std::uint16_t fixed = static_cast<std::uint16_t>(
      static_cast<unsigned char>(r->frame[6]) | static_cast<unsigned char>(r->frame[7]) << 8);
  const std::uint16_t shorter = fixed - 8;
  r->frame[6] = static_cast<char>(shorter & 0xff);
  r->frame[7] = static_cast<char>(shorter >> 8);
  EXPECT_FALSE(build_request(*r));
}

// httpapi_receive_into: the TLS info and its certificate count in the size needed, and are
// laid out in the caller's buffer like everything else.
TEST(RequestTlsLayout, SizeCountsTheTlsParts) {
  Sent plain_sent;
  const auto plain = received(plain_sent.message);
  EXPECT_EQ(copied_size(*plain), expected_size(*plain, 0));
  ASSERT_EQ(plain->merged.size(), 1u) << "the test means to cover merged headers too";

  Sent no_cert_sent;
  no_cert_sent.secure(false);
  const auto no_cert = received(no_cert_sent.message);
  EXPECT_EQ(copied_size(*no_cert), expected_size(*no_cert, sizeof(httpapi_tls_info)));

  Sent cert_sent;
  cert_sent.secure(true);
  const auto cert = received(cert_sent.message);
  EXPECT_EQ(copied_size(*cert),
            expected_size(*cert, sizeof(httpapi_tls_info) + sizeof(httpapi_client_certificate)));
  // The frame itself carries the TLS bytes, so they are counted with it.
  EXPECT_GT(cert->frame.size(), no_cert->frame.size() + kDer.size());
}

TEST(RequestTlsLayout, EveryTlsViewPointsIntoTheCallersBuffer) {
  Sent sent;
  sent.secure(true);
  auto r = received(sent.message);
  const std::size_t size = copied_size(*r);
  CallerBuffer buffer(size);
  const httpapi_request_info* info = copy_request(*r, buffer.bytes());
  // The library drops its own copy after the layout (httpapi_receive_into); so does this test.
  std::memset(r->frame.data(), 0, r->frame.size());
  r.reset();
  EXPECT_TRUE(buffer.guard_intact()) << "nothing is written past the size reported";
  ASSERT_EQ(static_cast<const void*>(info), buffer.bytes());
  ASSERT_NE(info->tls, nullptr);
  ASSERT_TRUE(buffer.holds(info->tls, sizeof *info->tls));
  const httpapi_tls_info& tls = *info->tls;
  for (const httpapi_bytes& b : {tls.protocol, tls.cipher, tls.sni, tls.alpn}) {
    EXPECT_TRUE(buffer.holds(b.data, b.length)) << text(b);
  }
  EXPECT_EQ(text(tls.protocol), "TLSv1.3");
  EXPECT_EQ(text(tls.cipher), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(text(tls.sni), "shop.example");
  EXPECT_EQ(text(tls.alpn), "http/1.1");
  EXPECT_EQ(tls.resumed, 1u);
  ASSERT_NE(tls.client_certificate, nullptr);
  const httpapi_client_certificate& certificate = *tls.client_certificate;
  ASSERT_TRUE(buffer.holds(&certificate, sizeof certificate));
  for (const httpapi_bytes& b : {certificate.der, certificate.subject, certificate.issuer}) {
    EXPECT_TRUE(buffer.holds(b.data, b.length)) << text(b);
  }
  EXPECT_EQ(text(certificate.der), kDer);
  EXPECT_EQ(text(certificate.subject), "CN=client1,O=Example");
  EXPECT_EQ(text(certificate.issuer), "CN=Example CA,O=Example");
  EXPECT_EQ(certificate.verified, 1u);
  // The rest of the request still reads right next to it.
  EXPECT_EQ(text(info->url.full), "https://shop.example:443/app/x");
  EXPECT_EQ(text(info->known_headers[HTTPAPI_HEADER_ACCEPT]), "a, b");
  EXPECT_TRUE(buffer.holds(info->known_headers[HTTPAPI_HEADER_ACCEPT].data));
  ASSERT_EQ(info->header_count, 3u);
  EXPECT_TRUE(buffer.holds(info->headers, 3 * sizeof(httpapi_header)));
  EXPECT_EQ(text(info->headers[0].value), "shop.example");
  EXPECT_EQ(text(info->body), "first body bytes");
}

TEST(RequestTlsLayout, AbsentPartsStayAbsentInTheCopy) {
  Sent sent;
  sent.secure(false);
  sent.message.tls.sni = "";
  auto r = received(sent.message);
  CallerBuffer buffer(copied_size(*r));
  const httpapi_request_info* info = copy_request(*r, buffer.bytes());
  r.reset();
  EXPECT_TRUE(buffer.guard_intact());
  ASSERT_NE(info->tls, nullptr);
  EXPECT_TRUE(buffer.holds(info->tls, sizeof *info->tls));
  EXPECT_EQ(info->tls->sni.data, nullptr);
  EXPECT_EQ(info->tls->client_certificate, nullptr);
  EXPECT_EQ(text(info->tls->alpn), "http/1.1");

  Sent plain_sent;
  auto plain = received(plain_sent.message);
  CallerBuffer plain_buffer(copied_size(*plain));
  const httpapi_request_info* plain_info = copy_request(*plain, plain_buffer.bytes());
  EXPECT_TRUE(plain_buffer.guard_intact());
  EXPECT_EQ(plain_info->tls, nullptr);
}

// A request that came through a PROXY header: the balancer and the TLVs, absent ones as NULL
// views, in httpapi_request_info and in the caller's buffer.
TEST(RequestProxyInfo, ProxiedRequestShowsTheBalancerAndTlvs) {
  Sent sent;
  sent.proxied();
  const auto r = received(sent.message);
  const httpapi_request_info& info = r->info;
  EXPECT_EQ(info.flags, HTTPAPI_REQUEST_FLAG_PROXIED);
  EXPECT_EQ(info.tls, nullptr);
  ASSERT_NE(info.proxy, nullptr);
  EXPECT_EQ(std::memcmp(&info.proxy->proxied_by, kBalancer.data(), kBalancer.size()), 0);
  EXPECT_EQ(info.proxy->alpn.data, nullptr);
  EXPECT_EQ(text(info.proxy->authority), "www.example.com");
  EXPECT_EQ(info.proxy->ssl, 1u);
  EXPECT_EQ(info.proxy->ssl_client, 5u);
  EXPECT_EQ(info.proxy->ssl_verify, 9u);
  EXPECT_EQ(text(info.proxy->ssl_cn), "client1");
  EXPECT_EQ(info.proxy->ssl_version.data, nullptr);

  Sent plain_sent;
  EXPECT_EQ(received(plain_sent.message)->info.proxy, nullptr);
}

TEST(RequestProxyInfo, LaidOutInTheCallersBufferBesideTheTlsParts) {
  Sent sent;
  sent.secure(true);
  sent.proxied();
  auto r = received(sent.message);
  const std::size_t size = copied_size(*r);
  EXPECT_EQ(size, expected_size(*r, sizeof(httpapi_tls_info) +
                                        sizeof(httpapi_client_certificate) +
                                        sizeof(httpapi_proxy_info)));
  CallerBuffer buffer(size);
  const httpapi_request_info* info = copy_request(*r, buffer.bytes());
  std::memset(r->frame.data(), 0, r->frame.size());
  r.reset();
  EXPECT_TRUE(buffer.guard_intact());
  ASSERT_NE(info->proxy, nullptr);
  ASSERT_TRUE(buffer.holds(info->proxy, sizeof *info->proxy));
  EXPECT_TRUE(buffer.holds(info->proxy->authority.data, info->proxy->authority.length));
  EXPECT_EQ(text(info->proxy->authority), "www.example.com");
  EXPECT_EQ(text(info->proxy->ssl_cn), "client1");
  EXPECT_EQ(info->proxy->alpn.data, nullptr);
  EXPECT_EQ(std::memcmp(&info->proxy->proxied_by, kBalancer.data(), kBalancer.size()), 0);
  ASSERT_NE(info->tls, nullptr);
  EXPECT_EQ(text(info->tls->cipher), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(text(info->tls->client_certificate->der), kDer);
  EXPECT_EQ(text(info->body), "first body bytes");
}
