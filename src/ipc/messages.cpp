#include "ipc/messages.hpp"

#include <cstring>

namespace httpapi::ipc {
namespace {

constexpr std::uint16_t raw(Type t) { return static_cast<std::uint16_t>(t); }

bool is(const Frame& f, Type t) { return f.type == raw(t); }

void append_u32(std::string& out, std::uint32_t v) {
  char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
               static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
  out.append(b, 4);
}

std::uint32_t load_u32(const char* p) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[3])) << 24;
}

}  // namespace

void append_header(std::string& list, std::string_view name, std::string_view value) {
  append_u32(list, static_cast<std::uint32_t>(name.size()));
  append_u32(list, static_cast<std::uint32_t>(value.size()));
  list.append(name);
  list.append(value);
}

bool HeaderListReader::next(std::string_view& name, std::string_view& value) {
  if (rest_.empty() || !ok_) return false;
  if (rest_.size() < 8) {
    ok_ = false;
    return false;
  }
  const std::uint32_t name_length = load_u32(rest_.data());
  const std::uint32_t value_length = load_u32(rest_.data() + 4);
  rest_.remove_prefix(8);
  if (name_length > rest_.size() || value_length > rest_.size() - name_length) {
    ok_ = false;
    return false;
  }
  name = rest_.substr(0, name_length);
  value = rest_.substr(name_length, value_length);
  rest_.remove_prefix(name_length + value_length);
  return true;
}

long count_headers(std::string_view list) {
  HeaderListReader reader(list);
  std::string_view name, value;
  long count = 0;
  while (reader.next(name, value)) ++count;
  return reader.ok() ? count : -1;
}

bool encode(std::string& out, const Hello& m) {
  FrameWriter w(out, raw(Type::hello), 0);
  w.u32(m.magic).u16(m.min_version).u16(m.max_version).u8(static_cast<std::uint8_t>(m.role));
  return w.finish();
}

bool decode(const Frame& f, Hello& m) {
  if (!is(f, Type::hello)) return false;
  FrameReader r(f);
  m.magic = r.u32();
  m.min_version = r.u16();
  m.max_version = r.u16();
  const std::uint8_t role = r.u8();
  if (role != static_cast<std::uint8_t>(Role::session) &&
      role != static_cast<std::uint8_t>(Role::queue) &&
      role != static_cast<std::uint8_t>(Role::admin)) {
    return false;
  }
  m.role = static_cast<Role>(role);
  return r.ok() && m.magic == kMagic;
}

bool encode(std::string& out, const HelloAck& m) {
  FrameWriter w(out, raw(Type::hello_ack), 0);
  w.u32(m.magic).u16(m.version).u32(m.status).u64(m.peer_id);
  return w.finish();
}

bool decode(const Frame& f, HelloAck& m) {
  if (!is(f, Type::hello_ack)) return false;
  FrameReader r(f);
  m.magic = r.u32();
  m.version = r.u16();
  m.status = r.u32();
  m.peer_id = r.u64();
  return r.ok() && m.magic == kMagic;
}

bool encode(std::string& out, const Result& m) {
  FrameWriter w(out, raw(Type::result), m.call);
  w.u32(m.status).u64(m.value).bytes(m.detail);
  return w.finish();
}

bool decode(const Frame& f, Result& m) {
  if (!is(f, Type::result)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.status = r.u32();
  m.value = r.u64();
  m.detail = r.bytes();
  return r.ok();
}

bool encode(std::string& out, Type type, const GroupCall& m) {
  FrameWriter w(out, raw(type), m.call);
  w.u64(m.group);
  return w.finish();
}

bool decode(const Frame& f, GroupCall& m) {
  if (!is(f, Type::create_group) && !is(f, Type::close_group)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.group = r.u64();
  return r.ok();
}

bool encode(std::string& out, Type type, const UrlCall& m) {
  FrameWriter w(out, raw(type), m.call);
  w.u64(m.group).u64(m.context).bytes(m.prefix);
  return w.finish();
}

bool decode(const Frame& f, UrlCall& m) {
  if (!is(f, Type::add_url) && !is(f, Type::remove_url)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.group = r.u64();
  m.context = r.u64();
  m.prefix = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const BindGroup& m) {
  FrameWriter w(out, raw(Type::bind_group), m.call);
  w.u64(m.group).u64(m.queue);
  return w.finish();
}

bool decode(const Frame& f, BindGroup& m) {
  if (!is(f, Type::bind_group)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.group = r.u64();
  m.queue = r.u64();
  return r.ok();
}

bool encode(std::string& out, const GroupProperty& m) {
  FrameWriter w(out, raw(Type::group_property), m.call);
  w.u64(m.group).u32(m.property).u64(m.value);
  return w.finish();
}

bool decode(const Frame& f, GroupProperty& m) {
  if (!is(f, Type::group_property)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.group = r.u64();
  m.property = r.u32();
  m.value = r.u64();
  return r.ok();
}

bool encode(std::string& out, const GroupLogging& m) {
  FrameWriter w(out, raw(Type::group_logging), m.call);
  w.u64(m.group).u32(m.format).u32(m.rollover).u32(m.flags).u64(m.rollover_size).u64(m.fields);
  w.bytes(m.name);
  return w.finish();
}

bool decode(const Frame& f, GroupLogging& m) {
  if (!is(f, Type::group_logging)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.group = r.u64();
  m.format = r.u32();
  m.rollover = r.u32();
  m.flags = r.u32();
  m.rollover_size = r.u64();
  m.fields = r.u64();
  m.name = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const CreateQueue& m) {
  FrameWriter w(out, raw(Type::create_queue), m.call);
  w.u32(m.flags).bytes(m.name);
  return w.finish();
}

bool decode(const Frame& f, CreateQueue& m) {
  if (!is(f, Type::create_queue)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.flags = r.u32();
  m.name = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const AdminCall& m) {
  FrameWriter w(out, raw(Type::admin), m.call);
  w.bytes(m.json);
  return w.finish();
}

bool decode(const Frame& f, AdminCall& m) {
  if (!is(f, Type::admin)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.json = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const Receive& m) {
  FrameWriter w(out, raw(Type::receive), 0);
  w.u32(m.credits);
  return w.finish();
}

bool decode(const Frame& f, Receive& m) {
  if (!is(f, Type::receive)) return false;
  FrameReader r(f);
  m.credits = r.u32();
  return r.ok();
}

bool encode(std::string& out, const QueueAllow& m) {
  FrameWriter w(out, raw(Type::queue_allow), m.call);
  w.u32(m.kind).u32(m.id);
  return w.finish();
}

bool decode(const Frame& f, QueueAllow& m) {
  if (!is(f, Type::queue_allow)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.kind = r.u32();
  m.id = r.u32();
  return r.ok();
}

bool encode(std::string& out, const QueueProperty& m) {
  FrameWriter w(out, raw(Type::queue_property), m.call);
  w.u32(m.property).u64(m.value);
  return w.finish();
}

bool decode(const Frame& f, QueueProperty& m) {
  if (!is(f, Type::queue_property)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.property = r.u32();
  m.value = r.u64();
  return r.ok();
}

bool encode(std::string& out, const ReadBody& m) {
  FrameWriter w(out, raw(Type::read_body), m.request);
  w.u32(m.max_bytes);
  return w.finish();
}

bool decode(const Frame& f, ReadBody& m) {
  if (!is(f, Type::read_body)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.max_bytes = r.u32();
  return r.ok();
}

bool encode(std::string& out, const SendResponse& m) {
  FrameWriter w(out, raw(Type::send_response), m.request);
  w.u32(m.flags).u16(m.status).u16(m.cache_kind).u32(m.cache_seconds);
  w.bytes(m.reason).bytes(m.headers).bytes(m.body);
  return w.finish();
}

bool decode(const Frame& f, SendResponse& m) {
  if (!is(f, Type::send_response)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.flags = r.u32();
  m.status = r.u16();
  m.cache_kind = r.u16();
  m.cache_seconds = r.u32();
  m.reason = r.bytes();
  m.headers = r.bytes();
  m.body = r.bytes();
  return r.ok() && count_headers(m.headers) >= 0;
}

bool encode(std::string& out, const SendBody& m) {
  FrameWriter w(out, raw(Type::send_body), m.request);
  w.u32(m.flags).bytes(m.data);
  return w.finish();
}

bool decode(const Frame& f, SendBody& m) {
  if (!is(f, Type::send_body)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.flags = r.u32();
  m.data = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const FlushCache& m) {
  FrameWriter w(out, raw(Type::flush_cache), m.call);
  w.u32(m.flags).bytes(m.prefix);
  return w.finish();
}

bool decode(const Frame& f, FlushCache& m) {
  if (!is(f, Type::flush_cache)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.flags = r.u32();
  m.prefix = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const AddFragment& m) {
  FrameWriter w(out, raw(Type::add_fragment), m.call);
  w.u16(m.cache_kind).u32(m.cache_seconds).bytes(m.name).bytes(m.data);
  return w.finish();
}

bool decode(const Frame& f, AddFragment& m) {
  if (!is(f, Type::add_fragment)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.cache_kind = r.u16();
  m.cache_seconds = r.u32();
  m.name = r.bytes();
  m.data = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const ReadFragment& m) {
  FrameWriter w(out, raw(Type::read_fragment), m.call);
  w.u64(m.offset).u64(m.length).bytes(m.name);
  return w.finish();
}

bool decode(const Frame& f, ReadFragment& m) {
  if (!is(f, Type::read_fragment)) return false;
  FrameReader r(f);
  m.call = f.tag;
  m.offset = r.u64();
  m.length = r.u64();
  m.name = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const SendTrailers& m) {
  FrameWriter w(out, raw(Type::send_trailers), m.request);
  w.bytes(m.trailers);
  return w.finish();
}

bool decode(const Frame& f, SendTrailers& m) {
  if (!is(f, Type::send_trailers)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.trailers = r.bytes();
  return r.ok() && count_headers(m.trailers) >= 0;
}

bool encode(std::string& out, const LogData& m) {
  FrameWriter w(out, raw(Type::log_data), m.request);
  w.u32(m.substatus).bytes(m.username);
  return w.finish();
}

bool decode(const Frame& f, LogData& m) {
  if (!is(f, Type::log_data)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.substatus = r.u32();
  m.username = r.bytes();
  return r.ok();
}

bool encode(std::string& out, const Cancel& m) {
  FrameWriter w(out, raw(Type::cancel), m.request);
  return w.finish();
}

bool decode(const Frame& f, Cancel& m) {
  if (!is(f, Type::cancel)) return false;
  m.request = f.tag;
  return true;
}

namespace {

// The TLS tail of a secure request's fixed part: u32 bits (kTls*), then protocol, cipher,
// sni, alpn, and the client certificate's DER, subject and issuer (empty when none was sent).
void write_tls(FrameWriter& w, const RequestTls& tls) {
  const std::uint32_t bits = (tls.resumed ? kTlsResumed : 0u) |
                             (tls.client_certificate ? kTlsClientCertificate : 0u) |
                             (tls.client_certificate_verified ? kTlsClientCertificateVerified : 0u);
  w.u32(bits).bytes(tls.protocol).bytes(tls.cipher).bytes(tls.sni).bytes(tls.alpn);
  w.bytes(tls.client_certificate_der).bytes(tls.client_certificate_subject);
  w.bytes(tls.client_certificate_issuer);
}

}  // namespace

// The u32 of bits, and seven byte strings, each an 8-byte reference plus its bytes.
std::size_t tls_tail_size(const RequestTls& tls) {
  if (tls.protocol.empty()) return 0;
  return 4 + 7 * 8 + tls.protocol.size() + tls.cipher.size() + tls.sni.size() +
         tls.alpn.size() + tls.client_certificate_der.size() +
         tls.client_certificate_subject.size() + tls.client_certificate_issuer.size();
}

namespace {

// A session always settled a protocol and a cipher; certificate fields come only with a
// certificate, and a sent certificate has bytes.
bool valid_tls(const RequestTls& tls) {
  if (tls.protocol.empty() || tls.cipher.empty()) return false;
  if (tls.client_certificate) return !tls.client_certificate_der.empty();
  return !tls.client_certificate_verified && tls.client_certificate_der.empty() &&
         tls.client_certificate_subject.empty() && tls.client_certificate_issuer.empty();
}

bool read_tls(FrameReader& r, RequestTls& tls) {
  const std::uint32_t bits = r.u32();
  tls.resumed = bits & kTlsResumed;
  tls.client_certificate = bits & kTlsClientCertificate;
  tls.client_certificate_verified = bits & kTlsClientCertificateVerified;
  tls.protocol = r.bytes();
  tls.cipher = r.bytes();
  tls.sni = r.bytes();
  tls.alpn = r.bytes();
  tls.client_certificate_der = r.bytes();
  tls.client_certificate_subject = r.bytes();
  tls.client_certificate_issuer = r.bytes();
  return r.ok() && valid_tls(tls);
}

}  // namespace

// The proxy tail: u32 bits (kProxySsl, and the SSL client byte in bits 8-15), u32 verify
// result, the balancer's sockaddr, then alpn, authority and the five SSL strings.
constexpr std::uint32_t kProxySsl = 1;

std::size_t proxy_tail_size(const RequestProxy& p) {
  if (p.proxied_by.empty()) return 0;
  return 8 + kSockaddrSize + 7 * 8 + p.alpn.size() + p.authority.size() + p.ssl_version.size() +
         p.ssl_cn.size() + p.ssl_cipher.size() + p.ssl_sig_alg.size() + p.ssl_key_alg.size();
}

namespace {

void write_proxy(FrameWriter& w, const RequestProxy& p) {
  const std::uint32_t bits = (p.ssl ? kProxySsl : 0u) | static_cast<std::uint32_t>(p.ssl_client) << 8;
  w.u32(bits).u32(p.ssl_verify).raw(p.proxied_by);
  w.bytes(p.alpn).bytes(p.authority).bytes(p.ssl_version).bytes(p.ssl_cn).bytes(p.ssl_cipher);
  w.bytes(p.ssl_sig_alg).bytes(p.ssl_key_alg);
}

bool read_proxy(FrameReader& r, RequestProxy& p) {
  const std::uint32_t bits = r.u32();
  p.ssl = bits & kProxySsl;
  p.ssl_client = static_cast<std::uint8_t>(bits >> 8);
  p.ssl_verify = r.u32();
  p.proxied_by = r.raw(kSockaddrSize);
  p.alpn = r.bytes();
  p.authority = r.bytes();
  p.ssl_version = r.bytes();
  p.ssl_cn = r.bytes();
  p.ssl_cipher = r.bytes();
  p.ssl_sig_alg = r.bytes();
  p.ssl_key_alg = r.bytes();
  return r.ok() && p.proxied_by.size() == kSockaddrSize;
}

}  // namespace

bool encode(std::string& out, const Request& m) {
  if (m.local_address.size() != kSockaddrSize || m.remote_address.size() != kSockaddrSize) {
    return false;
  }
  const bool proxied = m.flags & kRequestProxied;
  if (proxied && m.proxy.proxied_by.size() != kSockaddrSize) return false;
  const bool secure = m.flags & kRequestSecure;
  if (secure && !valid_tls(m.tls)) return false;
  FrameWriter w(out, raw(Type::request), m.request);
  w.u64(m.connection).u64(m.url_context).u32(m.flags);
  w.u16(m.version_major).u16(m.version_minor).u16(m.port);
  w.raw(m.local_address).raw(m.remote_address);
  w.bytes(m.method).bytes(m.raw_url).bytes(m.full_url).bytes(m.host).bytes(m.path);
  w.bytes(m.query).bytes(m.headers).bytes(m.body).bytes(m.trailers);
  if (secure) write_tls(w, m.tls);
  if (proxied) write_proxy(w, m.proxy);
  return w.finish();
}

bool decode(const Frame& f, Request& m) {
  if (!is(f, Type::request)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.connection = r.u64();
  m.url_context = r.u64();
  m.flags = r.u32();
  m.version_major = r.u16();
  m.version_minor = r.u16();
  m.port = r.u16();
  m.local_address = r.raw(kSockaddrSize);
  m.remote_address = r.raw(kSockaddrSize);
  m.method = r.bytes();
  m.raw_url = r.bytes();
  m.full_url = r.bytes();
  m.host = r.bytes();
  m.path = r.bytes();
  m.query = r.bytes();
  m.headers = r.bytes();
  m.body = r.bytes();
  m.trailers = r.bytes();
  m.tls = {};
  if ((m.flags & kRequestSecure) && !read_tls(r, m.tls)) return false;
  m.proxy = {};
  if ((m.flags & kRequestProxied) && !read_proxy(r, m.proxy)) return false;
  return r.ok() && count_headers(m.headers) >= 0 && count_headers(m.trailers) >= 0;
}

// The flags follow the header and two u64 fields (connection, url_context); bit 31 is the
// high bit of their last byte (little-endian).
void mark_backlog(std::string& frame, bool backlog) {
  static_assert(kRequestBacklog == 1u << 31);
  constexpr std::size_t high_byte = kHeaderSize + 16 + 3;
  if (frame.size() <= high_byte) return;
  const auto bits = static_cast<unsigned char>(frame[high_byte]);
  frame[high_byte] = static_cast<char>(backlog ? bits | 0x80u : bits & 0x7fu);
}

bool encode(std::string& out, const Body& m) {
  FrameWriter w(out, raw(Type::body), m.request);
  w.u32(m.flags).bytes(m.data).bytes(m.trailers);
  return w.finish();
}

bool decode(const Frame& f, Body& m) {
  if (!is(f, Type::body)) return false;
  FrameReader r(f);
  m.request = f.tag;
  m.flags = r.u32();
  m.data = r.bytes();
  m.trailers = r.bytes();
  return r.ok() && count_headers(m.trailers) >= 0;
}

bool encode(std::string& out, const RequestGone& m) {
  FrameWriter w(out, raw(Type::request_gone), m.request);
  return w.finish();
}

bool decode(const Frame& f, RequestGone& m) {
  if (!is(f, Type::request_gone)) return false;
  m.request = f.tag;
  return true;
}

// Messages that are only a tag.
bool encode(std::string& out, const ShutdownQueue& m) {
  return FrameWriter(out, raw(Type::shutdown_queue), m.call).finish();
}

bool decode(const Frame& f, ShutdownQueue& m) {
  m.call = f.tag;
  return is(f, Type::shutdown_queue);
}

bool encode(std::string& out, const Decline& m) {
  return FrameWriter(out, raw(Type::decline), m.request).finish();
}

bool decode(const Frame& f, Decline& m) {
  m.request = f.tag;
  return is(f, Type::decline);
}

bool encode(std::string& out, const Seen& m) {
  return FrameWriter(out, raw(Type::seen), m.request).finish();
}

bool decode(const Frame& f, Seen& m) {
  m.request = f.tag;
  return is(f, Type::seen);
}

bool encode(std::string& out, const SeenCounterFrame&) {
  return FrameWriter(out, raw(Type::seen_counter), 0).finish();
}

bool decode(const Frame& f, SeenCounterFrame&) { return is(f, Type::seen_counter); }

bool encode(std::string& out, const FrameRingFrame&) {
  return FrameWriter(out, raw(Type::frame_ring), 0).finish();
}

bool decode(const Frame& f, FrameRingFrame&) { return is(f, Type::frame_ring); }

bool encode(std::string& out, const Wake&) { return FrameWriter(out, raw(Type::wake), 0).finish(); }

bool decode(const Frame& f, Wake&) { return is(f, Type::wake); }

bool encode(std::string& out, const LibraryRingFrame&) {
  return FrameWriter(out, raw(Type::library_ring), 0).finish();
}

bool decode(const Frame& f, LibraryRingFrame&) { return is(f, Type::library_ring); }

bool encode(std::string& out, const QueueShutdown& m) {
  return FrameWriter(out, raw(Type::queue_shutdown), m.queue).finish();
}

bool decode(const Frame& f, QueueShutdown& m) {
  m.queue = f.tag;
  return is(f, Type::queue_shutdown);
}

}  // namespace httpapi::ipc
