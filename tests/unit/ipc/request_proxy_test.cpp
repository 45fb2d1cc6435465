// The proxy tail of a request frame (ipc::RequestProxy, docs/protocol.md): it travels only
// with the proxied flag, after the TLS tail when both are there, round-trips, costs other
// requests nothing, and a truncated one is refused.
#include <gtest/gtest.h>

#include <string>

#include "httpapi/httpapi.h"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace ipc = httpapi::ipc;

static_assert(ipc::kRequestProxied == HTTPAPI_REQUEST_FLAG_PROXIED);

namespace {

const std::string kSockaddr(ipc::kSockaddrSize, 'A');
const std::string kBalancer(ipc::kSockaddrSize, 'B');

ipc::Request plain_request() {
  ipc::Request m;
  m.request = 31;
  m.connection = 32;
  m.port = 80;
  m.local_address = kSockaddr;
  m.remote_address = kSockaddr;
  m.method = "GET";
  m.raw_url = "/";
  m.full_url = "http://h:80/";
  m.host = "h";
  m.path = "/";
  return m;
}

ipc::RequestProxy full_proxy() {
  ipc::RequestProxy p;
  p.proxied_by = kBalancer;
  p.alpn = "h2";
  p.authority = "www.example.com";
  p.ssl = true;
  p.ssl_client = 7;
  p.ssl_verify = 0x01020304;
  p.ssl_version = "TLSv1.3";
  p.ssl_cn = "client1";
  p.ssl_cipher = "TLS_AES_128_GCM_SHA256";
  p.ssl_sig_alg = "RSA-SHA256";
  p.ssl_key_alg = "RSA2048";
  return p;
}

bool decodes(const std::string& bytes, ipc::Request& back) {
  ipc::Frame frame;
  std::size_t consumed = 0;
  if (ipc::next_frame(bytes, frame, consumed) != ipc::FrameStatus::complete) return false;
  return ipc::decode(frame, back);
}

TEST(RequestProxy, RoundTripsEveryField) {
  ipc::Request m = plain_request();
  m.flags = HTTPAPI_REQUEST_FLAG_PROXIED;
  m.proxy = full_proxy();
  std::string bytes;
  ASSERT_TRUE(ipc::encode(bytes, m));
  ipc::Request back;
  ASSERT_TRUE(decodes(bytes, back));
  EXPECT_EQ(back.proxy.proxied_by, kBalancer);
  EXPECT_EQ(back.proxy.alpn, "h2");
  EXPECT_EQ(back.proxy.authority, "www.example.com");
  EXPECT_TRUE(back.proxy.ssl);
  EXPECT_EQ(back.proxy.ssl_client, 7);
  EXPECT_EQ(back.proxy.ssl_verify, 0x01020304u);
  EXPECT_EQ(back.proxy.ssl_version, "TLSv1.3");
  EXPECT_EQ(back.proxy.ssl_cn, "client1");
  EXPECT_EQ(back.proxy.ssl_cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(back.proxy.ssl_sig_alg, "RSA-SHA256");
  EXPECT_EQ(back.proxy.ssl_key_alg, "RSA2048");
  EXPECT_EQ(back.method, "GET");
}

TEST(RequestProxy, AfterTheTlsTail) {
  ipc::Request m = plain_request();
  m.flags = HTTPAPI_REQUEST_FLAG_PROXIED | HTTPAPI_REQUEST_FLAG_SECURE;
  m.tls.protocol = "TLSv1.3";
  m.tls.cipher = "TLS_AES_256_GCM_SHA384";
  m.proxy = full_proxy();
  m.proxy.ssl = false;
  m.proxy.ssl_version = m.proxy.ssl_cn = m.proxy.ssl_cipher = {};
  m.proxy.ssl_sig_alg = m.proxy.ssl_key_alg = {};
  std::string bytes;
  ASSERT_TRUE(ipc::encode(bytes, m));
  ipc::Request back;
  ASSERT_TRUE(decodes(bytes, back));
  EXPECT_EQ(back.tls.cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(back.proxy.proxied_by, kBalancer);
  EXPECT_EQ(back.proxy.authority, "www.example.com");
  EXPECT_FALSE(back.proxy.ssl);
  EXPECT_TRUE(back.proxy.ssl_cn.empty());
}

TEST(RequestProxy, OtherRequestsPayNothing) {
  ipc::Request m = plain_request();
  std::string plain;
  ASSERT_TRUE(ipc::encode(plain, m));
  m.proxy = full_proxy();  // ignored without the flag
  std::string again;
  ASSERT_TRUE(ipc::encode(again, m));
  EXPECT_EQ(plain, again);
  ipc::Request back;
  ASSERT_TRUE(decodes(plain, back));
  EXPECT_TRUE(back.proxy.proxied_by.empty());
}

TEST(RequestProxy, SizeEstimateCoversTheTail) {
  ipc::Request m = plain_request();
  std::string plain;
  ASSERT_TRUE(ipc::encode(plain, m));
  m.flags = HTTPAPI_REQUEST_FLAG_PROXIED;
  m.proxy = full_proxy();
  std::string proxied;
  ASSERT_TRUE(ipc::encode(proxied, m));
  EXPECT_EQ(proxied.size() - plain.size(), ipc::proxy_tail_size(m.proxy));
  EXPECT_EQ(ipc::proxy_tail_size(ipc::RequestProxy{}), 0u);
}

TEST(RequestProxy, RefusedWithoutItsBalancerOrCut) {
  ipc::Request m = plain_request();
  m.flags = HTTPAPI_REQUEST_FLAG_PROXIED;
  std::string bytes;
  EXPECT_FALSE(ipc::encode(bytes, m));  // the flag without a balancer address
  // The flag on a frame without the tail: the fixed part ends too soon.
  ipc::Request plain = plain_request();
  std::string frame;
  ASSERT_TRUE(ipc::encode(frame, plain));
  const std::size_t flags_at = ipc::kHeaderSize + 16;
  frame[flags_at] = static_cast<char>(frame[flags_at] | HTTPAPI_REQUEST_FLAG_PROXIED);
  ipc::Request back;
  EXPECT_FALSE(decodes(frame, back));
}

}  // namespace
