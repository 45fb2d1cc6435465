// The TLS tail of a request frame (ipc::RequestTls): it travels only with the secure flag,
// round-trips, costs a plain request nothing, is skipped by a reader that predates it, and
// a truncated or malformed one is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "httpapi/httpapi.h"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace ipc = httpapi::ipc;

static_assert(ipc::kRequestSecure == HTTPAPI_REQUEST_FLAG_SECURE);

namespace {

const std::string kSockaddr(ipc::kSockaddrSize, 'A');
const std::string kDer("\x30\x82\x01\x0a\x00\xff", 6);  // bytes, NULs included

ipc::Request plain_request() {
  ipc::Request m;
  m.request = 21;
  m.connection = 22;
  m.flags = HTTPAPI_REQUEST_FLAG_IP_ROUTED;
  m.port = 443;
  m.local_address = kSockaddr;
  m.remote_address = kSockaddr;
  m.method = "GET";
  m.raw_url = "/a?b";
  m.full_url = "https://shop.example:443/a?b";
  m.host = "shop.example";
  m.path = "/a";
  m.query = "b";
  return m;
}

ipc::RequestTls full_tls() {
  ipc::RequestTls tls;
  tls.protocol = "TLSv1.3";
  tls.cipher = "TLS_AES_128_GCM_SHA256";
  tls.sni = "shop.example";
  tls.alpn = "http/1.1";
  tls.resumed = true;
  tls.client_certificate = true;
  tls.client_certificate_verified = true;
  tls.client_certificate_der = kDer;
  tls.client_certificate_subject = "CN=client1,O=Example";
  tls.client_certificate_issuer = "CN=Example CA,O=Example";
  return tls;
}

ipc::Request secure_request(const ipc::RequestTls& tls) {
  ipc::Request m = plain_request();
  m.flags |= HTTPAPI_REQUEST_FLAG_SECURE;
  m.tls = tls;
  return m;
}

ipc::Frame only_frame(const std::string& bytes) {
  ipc::Frame frame;
  std::size_t consumed = 0;
  EXPECT_EQ(ipc::next_frame(bytes, frame, consumed), ipc::FrameStatus::complete);
  EXPECT_EQ(consumed, bytes.size());
  return frame;
}

bool decodes(const std::string& bytes, ipc::Request& back) {
  return ipc::decode(only_frame(bytes), back);
}

// A request frame written field by field as ipc::encode does, with `flags` and the TLS tail
// cut after `tail_fields` of its eight fields (bits, protocol, cipher, sni, alpn, DER,
// subject, issuer), so tests can make what the encoder never would.
std::string handmade(std::uint32_t flags, int tail_fields, std::uint32_t bits = 0,
                     std::string_view der = {}) {
  std::string out;
  ipc::FrameWriter w(out, 40, 21);
  w.u64(22).u64(0).u32(flags).u16(1).u16(1).u16(443).raw(kSockaddr).raw(kSockaddr);
  for (int i = 0; i < 9; ++i) w.bytes(i == 0 ? "GET" : "");
  const std::string_view fields[] = {"TLSv1.3", "TLS_AES_128_GCM_SHA256", "", "", der, "", ""};
  if (tail_fields > 0) w.u32(bits);
  for (int i = 1; i < tail_fields; ++i) w.bytes(fields[i - 1]);
  EXPECT_TRUE(w.finish());
  return out;
}

}  // namespace

TEST(RequestTls, RoundTripWithClientCertificate) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(full_tls())));
  ipc::Request back;
  ASSERT_TRUE(decodes(out, back));
  EXPECT_EQ(back.flags, HTTPAPI_REQUEST_FLAG_IP_ROUTED | HTTPAPI_REQUEST_FLAG_SECURE);
  EXPECT_EQ(back.full_url, "https://shop.example:443/a?b");
  EXPECT_EQ(back.tls.protocol, "TLSv1.3");
  EXPECT_EQ(back.tls.cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(back.tls.sni, "shop.example");
  EXPECT_EQ(back.tls.alpn, "http/1.1");
  EXPECT_TRUE(back.tls.resumed);
  EXPECT_TRUE(back.tls.client_certificate);
  EXPECT_TRUE(back.tls.client_certificate_verified);
  EXPECT_EQ(back.tls.client_certificate_der, kDer);
  EXPECT_EQ(back.tls.client_certificate_subject, "CN=client1,O=Example");
  EXPECT_EQ(back.tls.client_certificate_issuer, "CN=Example CA,O=Example");
}

TEST(RequestTls, RoundTripWithoutClientCertificateSniOrAlpn) {
  ipc::RequestTls tls;
  tls.protocol = "TLSv1.2";
  tls.cipher = "ECDHE-ECDSA-AES128-GCM-SHA256";
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(tls)));
  ipc::Request back;
  ASSERT_TRUE(decodes(out, back));
  EXPECT_EQ(back.tls.protocol, "TLSv1.2");
  EXPECT_EQ(back.tls.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_TRUE(back.tls.sni.empty());
  EXPECT_TRUE(back.tls.alpn.empty());
  EXPECT_FALSE(back.tls.resumed);
  EXPECT_FALSE(back.tls.client_certificate);
  EXPECT_FALSE(back.tls.client_certificate_verified);
  EXPECT_TRUE(back.tls.client_certificate_der.empty());
}

TEST(RequestTls, UnverifiedCertificateSaysSo) {
  ipc::RequestTls tls = full_tls();
  tls.client_certificate_verified = false;
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(tls)));
  ipc::Request back;
  ASSERT_TRUE(decodes(out, back));
  EXPECT_TRUE(back.tls.client_certificate);
  EXPECT_FALSE(back.tls.client_certificate_verified);
  EXPECT_EQ(back.tls.client_certificate_der, kDer);
}

// Without the secure flag the TLS fields are neither written nor read: a plain request's
// frame is exactly what it was before TLS existed.
TEST(RequestTls, PlainRequestCarriesNoTail) {
  ipc::Request with_fields = plain_request();
  with_fields.tls = full_tls();
  std::string plain, ignored;
  ASSERT_TRUE(ipc::encode(plain, plain_request()));
  ASSERT_TRUE(ipc::encode(ignored, with_fields));
  EXPECT_EQ(plain, ignored);
  const ipc::Frame frame = only_frame(plain);
  EXPECT_EQ(frame.fixed.size(), 8u + 8 + 4 + 2 + 2 + 2 + 2 * ipc::kSockaddrSize + 9 * 8);
  ipc::Request back;
  back.tls = full_tls();  // decode clears what an earlier request left
  ASSERT_TRUE(decodes(plain, back));
  EXPECT_TRUE(back.tls.protocol.empty());
  EXPECT_FALSE(back.tls.client_certificate);
}

// A reader that predates the tail sees a secure request as a plain one with a longer fixed
// part, which the framing rules let it skip: here the flag is cleared in the frame.
TEST(RequestTls, ReaderThatDoesNotAskForTheTailSkipsIt) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(full_tls())));
  constexpr std::size_t flags_at = ipc::kHeaderSize + 16;
  ASSERT_EQ(static_cast<unsigned char>(out[flags_at]),
            HTTPAPI_REQUEST_FLAG_IP_ROUTED | HTTPAPI_REQUEST_FLAG_SECURE);
  out[flags_at] = static_cast<char>(HTTPAPI_REQUEST_FLAG_IP_ROUTED);
  ipc::Request back;
  ASSERT_TRUE(decodes(out, back));
  EXPECT_EQ(back.method, "GET");
  EXPECT_EQ(back.full_url, "https://shop.example:443/a?b");
  EXPECT_TRUE(back.tls.protocol.empty());
}

TEST(RequestTls, BacklogMarkLeavesTheTailAlone) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(full_tls())));
  ipc::mark_backlog(out, true);
  ipc::Request back;
  ASSERT_TRUE(decodes(out, back));
  EXPECT_EQ(back.flags & ~ipc::kRequestBacklog,
            HTTPAPI_REQUEST_FLAG_IP_ROUTED | HTTPAPI_REQUEST_FLAG_SECURE);
  EXPECT_EQ(back.tls.client_certificate_der, kDer);
}

TEST(RequestTls, HandmadeFrameMatchesTheEncoder) {
  // The test's own writer must agree with the encoder, or the refusals below prove nothing.
  ipc::RequestTls tls;
  tls.protocol = "TLSv1.3";
  tls.cipher = "TLS_AES_128_GCM_SHA256";
  ipc::Request m = secure_request(tls);
  m.flags = HTTPAPI_REQUEST_FLAG_SECURE;
  m.port = 443;
  m.url_context = 0;
  m.raw_url = m.full_url = m.host = m.path = m.query = "";
  std::string encoded;
  ASSERT_TRUE(ipc::encode(encoded, m));
  EXPECT_EQ(handmade(HTTPAPI_REQUEST_FLAG_SECURE, 8), encoded);
}

TEST(RequestTls, SecureFlagWithoutTailIsRejected) {
  ipc::Request back;
  EXPECT_TRUE(decodes(handmade(0, 0), back));
  EXPECT_FALSE(decodes(handmade(HTTPAPI_REQUEST_FLAG_SECURE, 0), back));
}

TEST(RequestTls, TruncatedTailIsRejectedAtEveryField) {
  ipc::Request back;
  for (int fields = 1; fields < 8; ++fields) {
    SCOPED_TRACE(fields);
    EXPECT_FALSE(decodes(handmade(HTTPAPI_REQUEST_FLAG_SECURE, fields), back));
  }
  EXPECT_TRUE(decodes(handmade(HTTPAPI_REQUEST_FLAG_SECURE, 8), back));
}

// Cutting the frame itself anywhere inside the tail leaves an incomplete frame, and a frame
// whose announced fixed part ends inside the tail is refused.
TEST(RequestTls, FixedPartEndingInsideTheTailIsRejected) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(full_tls())));
  const ipc::Frame whole = only_frame(out);
  const std::size_t base = whole.fixed.size() - 4 - 7 * 8;
  for (std::size_t cut = base; cut < whole.fixed.size(); cut += 4) {
    SCOPED_TRACE(cut);
    ipc::Frame shorter = whole;
    shorter.fixed = whole.fixed.substr(0, cut);
    ipc::Request back;
    EXPECT_FALSE(ipc::decode(shorter, back));
  }
}

TEST(RequestTls, ReferenceOutsideTheVariableAreaIsRejected) {
  std::string out;
  ASSERT_TRUE(ipc::encode(out, secure_request(full_tls())));
  const ipc::Frame frame = only_frame(out);
  // The issuer's reference is the last 8 bytes of the fixed part: {u32 offset, u32 length}.
  const std::size_t length_at = ipc::kHeaderSize + frame.fixed.size() - 4;
  const std::uint32_t too_long = static_cast<std::uint32_t>(frame.variable.size()) + 1;
  std::memcpy(out.data() + length_at, &too_long, 4);  // little-endian host, as the frame
  ipc::Request back;
  EXPECT_FALSE(decodes(out, back));
}

TEST(RequestTls, InconsistentTailIsRejected) {
  ipc::Request back;
  const std::uint32_t secure = HTTPAPI_REQUEST_FLAG_SECURE;
  // verified, but no certificate
  EXPECT_FALSE(decodes(handmade(secure, 8, ipc::kTlsClientCertificateVerified), back));
  // a certificate without bytes
  EXPECT_FALSE(decodes(handmade(secure, 8, ipc::kTlsClientCertificate), back));
  // certificate bytes without the certificate bit
  EXPECT_FALSE(decodes(handmade(secure, 8, 0, kDer), back));
  EXPECT_TRUE(decodes(handmade(secure, 8, ipc::kTlsClientCertificate, kDer), back));
  // bits a later revision may define are ignored
  EXPECT_TRUE(decodes(handmade(secure, 8, 0x100), back));
}

TEST(RequestTls, EncoderRefusesWhatTheDecoderWould) {
  ipc::RequestTls no_protocol = full_tls();
  no_protocol.protocol = "";
  ipc::RequestTls no_cipher = full_tls();
  no_cipher.cipher = "";
  ipc::RequestTls empty_certificate = full_tls();
  empty_certificate.client_certificate_der = "";
  ipc::RequestTls stray_subject;
  stray_subject.protocol = "TLSv1.3";
  stray_subject.cipher = "TLS_AES_256_GCM_SHA384";
  stray_subject.client_certificate_subject = "CN=x";
  for (const ipc::RequestTls& tls : {no_protocol, no_cipher, empty_certificate, stray_subject}) {
    std::string out;
    EXPECT_FALSE(ipc::encode(out, secure_request(tls)));
    EXPECT_TRUE(out.empty());
  }
}
