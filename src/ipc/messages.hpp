// The messages of the service <-> library protocol, version 6 (docs/protocol.md).
// Each message has a typed struct, an encoder that appends a frame to a buffer, and a
// decoder that validates a frame completely before anything uses it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/frame.hpp"

namespace httpapi::ipc {

enum class Type : std::uint16_t {
  // both directions
  hello = 1,
  hello_ack = 2,
  result = 3,  // the answer to a call; tag = the call's tag
  // library -> service, on a session connection
  create_group = 10,
  close_group = 11,
  add_url = 12,
  remove_url = 13,
  bind_group = 14,
  group_property = 15,  // set a URL group property (timeouts, limits)
  group_logging = 16,   // set or clear a URL group's access log
  // library/httpcfg -> service, on an admin connection: one JSON command (docs/protocol.md)
  admin = 30,
  // library -> service, on a queue connection
  create_queue = 20,
  receive = 21,        // receive credits
  read_body = 22,      // tag = request id
  send_response = 23,  // tag = request id
  send_body = 24,      // tag = request id
  cancel = 25,         // tag = request id
  queue_allow = 26,    // let another user or group open this named queue
  queue_property = 27, // set a queue property
  shutdown_queue = 28, // end the queue for every handle (its creator only)
  decline = 29,        // tag = request id; handed over, never received: answer it 503
  send_trailers = 31,  // tag = request id; ends the response
  flush_cache = 32,    // remove response-cache entries under a URL prefix
  add_fragment = 33,   // store a named fragment in the fragment cache
  read_fragment = 34,  // read a fragment back; the Result's detail carries the bytes
  seen = 35,           // tag = request id; handed to application code (version 2)
  seen_counter = 36,   // one descriptor: the counter that replaces `seen` (version 3)
  log_data = 37,       // tag = request id; what the access log takes from the application
  // library -> service, on any connection (version 5)
  frame_ring = 38,     // one descriptor: the shared ring later frames may travel in
  wake = 39,           // nothing: the ring has frames for a service that asked to be woken
                       // (version 6: also service -> library, for a library that asked)
  // library -> service, on a queue connection (version 6)
  library_ring = 44,   // one descriptor: the shared ring the service's later frames may travel in
  // service -> library, on a queue connection
  request = 40,       // tag = request id
  body = 41,          // tag = request id; answers read_body
  request_gone = 42,  // tag = request id; the client connection closed
  queue_shutdown = 43,  // tag = queue id; the queue was shut down, receives end
};

enum class Role : std::uint8_t { session = 1, queue = 2, admin = 3 };

struct Hello {
  std::uint32_t magic = kMagic;
  std::uint16_t min_version = kProtocolVersion;
  std::uint16_t max_version = kProtocolVersion;
  Role role = Role::session;
};

struct HelloAck {
  std::uint32_t magic = kMagic;
  std::uint16_t version = kProtocolVersion;
  std::uint32_t status = 0;  // httpapi_error
  std::uint64_t peer_id = 0;
};

struct Result {
  std::uint64_t call = 0;    // tag of the call answered
  std::uint32_t status = 0;  // httpapi_error
  std::uint64_t value = 0;   // e.g. the queue id of create_queue
  std::string_view detail;   // one line for logs and tools; may be empty
};

struct GroupCall {  // create_group, close_group
  std::uint64_t call = 0;
  std::uint64_t group = 0;
};

struct UrlCall {  // add_url, remove_url
  std::uint64_t call = 0;
  std::uint64_t group = 0;
  std::uint64_t context = 0;  // add_url only
  std::string_view prefix;
};

struct BindGroup {
  std::uint64_t call = 0;
  std::uint64_t group = 0;
  std::uint64_t queue = 0;  // service queue id from create_queue's result
};

struct GroupProperty {
  std::uint64_t call = 0;
  std::uint64_t group = 0;
  std::uint32_t property = 0;  // httpapi_url_group_property
  std::uint64_t value = 0;
};

// httpapi_url_group_set_logging: format 0 turns the group's log off.
struct GroupLogging {
  std::uint64_t call = 0;
  std::uint64_t group = 0;
  std::uint32_t format = 0;    // httpapi_log_format
  std::uint32_t rollover = 0;  // httpapi_log_rollover
  std::uint32_t flags = 0;     // HTTPAPI_LOG_FLAG_*
  std::uint64_t rollover_size = 0;
  std::uint64_t fields = 0;    // HTTPAPI_LOG_FIELD_*
  std::string_view name;
};

struct CreateQueue {
  std::uint64_t call = 0;
  std::uint32_t flags = 0;  // HTTPAPI_QUEUE_FLAG_*
  std::string_view name;
};

// An administration command as JSON; answered by a Result whose detail is JSON on success
// (for the show commands) or the one-line reason on failure.
struct AdminCall {
  std::uint64_t call = 0;
  std::string_view json;
};

struct Receive {
  std::uint32_t credits = 0;
};

struct QueueProperty {
  std::uint64_t call = 0;
  std::uint32_t property = 0;  // httpapi_queue_property
  std::uint64_t value = 0;
};

struct QueueAllow {
  std::uint64_t call = 0;
  std::uint32_t kind = 0;  // HTTPAPI_PRINCIPAL_USER or HTTPAPI_PRINCIPAL_GROUP
  std::uint32_t id = 0;    // uid or gid
};

struct FlushCache {
  std::uint64_t call = 0;
  std::uint32_t flags = 0;  // HTTPAPI_FLUSH_FLAG_*
  std::string_view prefix;
};

struct AddFragment {
  std::uint64_t call = 0;
  std::uint16_t cache_kind = 0;  // httpapi_cache_policy_kind
  std::uint32_t cache_seconds = 0;
  std::string_view name;
  std::string_view data;
};

struct ReadFragment {
  std::uint64_t call = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // UINT64_MAX: to the end
  std::string_view name;
};

struct ReadBody {
  std::uint64_t request = 0;
  std::uint32_t max_bytes = 0;
};

// Headers travel as one variable field: repeated {u32 name length, u32 value length,
// name bytes, value bytes}.
void append_header(std::string& list, std::string_view name, std::string_view value);

class HeaderListReader {
 public:
  explicit HeaderListReader(std::string_view list) : rest_(list) {}
  // Returns false at the end or on malformed input (then ok() is false).
  bool next(std::string_view& name, std::string_view& value);
  bool ok() const noexcept { return ok_; }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

// Returns the number of headers, or -1 when the list is malformed.
long count_headers(std::string_view list);

struct SendResponse {
  std::uint64_t request = 0;
  std::uint32_t flags = 0;  // HTTPAPI_SEND_FLAG_*
  std::uint16_t status = 0;
  std::uint16_t cache_kind = 0;     // httpapi_cache_policy_kind
  std::uint32_t cache_seconds = 0;  // time to live, for HTTPAPI_CACHE_TIME_TO_LIVE
  std::string_view reason;
  std::string_view headers;  // header list
  std::string_view body;
};

struct SendBody {
  std::uint64_t request = 0;
  std::uint32_t flags = 0;
  std::string_view data;
};

struct SendTrailers {
  std::uint64_t request = 0;
  std::string_view trailers;  // header list
};

// The fields of a request's access-log line only the application knows (HTTP.sys's
// HTTP_LOG_FIELDS_DATA): they travel before the response's last piece.
struct LogData {
  std::uint64_t request = 0;
  std::uint32_t substatus = 0;
  std::string_view username;  // empty: none
};

struct Cancel {
  std::uint64_t request = 0;
};

struct ShutdownQueue {
  std::uint64_t call = 0;
};

struct Decline {
  std::uint64_t request = 0;
};

// The library is about to hand this delivered request to application code: from now on,
// if the process dies, the request is answered 503 rather than given to another worker.
struct Seen {
  std::uint64_t request = 0;
};

// From now on the library counts the requests it hands to application code in the shared
// page that travels with this frame (ipc/seen_counter.hpp) instead of writing `seen`.
struct SeenCounterFrame {};

// From now on the library may write frames into the shared ring that travels with this
// frame (ipc/frame_ring.hpp) instead of the socket.
struct FrameRingFrame {};
// Sent only to wake the service (or, version 6, the library): what to read is in the ring.
struct Wake {};

// From now on the service may write its frames to this queue connection into the shared
// ring that travels with this frame (ipc/frame_ring.hpp, the roles reversed) instead of the
// socket.
struct LibraryRingFrame {};

struct QueueShutdown {
  std::uint64_t queue = 0;
};

inline constexpr std::size_t kSockaddrSize = 128;  // sizeof(sockaddr_storage) on Linux

// What the TLS handshake of a request's connection settled (tls::SessionInfo, as views). A
// request frame carries it only with HTTPAPI_REQUEST_FLAG_SECURE, as a tail of the fixed
// part, so a plain request pays nothing for it and a reader that predates it skips it
// (docs/protocol.md).
struct RequestTls {
  std::string_view protocol;  // "TLSv1.3"; never empty
  std::string_view cipher;    // "TLS_AES_128_GCM_SHA256"; never empty
  std::string_view sni;       // empty when the client named no server
  std::string_view alpn;      // empty when no protocol was agreed
  bool resumed = false;
  bool client_certificate = false;  // the client sent one: the next four say what
  bool client_certificate_verified = false;
  std::string_view client_certificate_der;  // never empty when sent
  std::string_view client_certificate_subject;
  std::string_view client_certificate_issuer;
};
// RequestTls's booleans in the frame: one u32 of these bits. Unknown bits are ignored, so a
// later revision may add some.
inline constexpr std::uint32_t kTlsResumed = 1;
inline constexpr std::uint32_t kTlsClientCertificate = 2;
inline constexpr std::uint32_t kTlsClientCertificateVerified = 4;

// What a PROXY header told about a request's connection (docs/proxy-protocol.md): the
// balancer's address (the connection's real peer; the request's remote address is then the
// client's, as the header said) and the version 2 TLVs shown to applications. A request
// frame carries it only with kRequestProxied, after the TLS tail, so a plain request pays
// nothing and a reader that predates it skips it.
struct RequestProxy {
  std::string_view proxied_by;  // kSockaddrSize bytes
  std::string_view alpn, authority;  // empty when absent
  bool ssl = false;                  // PP2_TYPE_SSL was sent: the next fields say what
  std::uint8_t ssl_client = 0;
  std::uint32_t ssl_verify = 0;
  std::string_view ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg, ssl_key_alg;
};
// HTTPAPI_REQUEST_FLAG_PROXIED, which says the frame carries a RequestProxy.
inline constexpr std::uint32_t kRequestProxied = 0x10;

// HTTPAPI_REQUEST_FLAG_SECURE, which says the frame carries a RequestTls. The public header is
// not seen here; the service and the library, which see both, check they agree.
inline constexpr std::uint32_t kRequestSecure = 0x4;

struct Request {
  std::uint64_t request = 0;
  std::uint64_t connection = 0;
  std::uint64_t url_context = 0;
  std::uint32_t flags = 0;  // HTTPAPI_REQUEST_FLAG_*
  std::uint16_t version_major = 1;
  std::uint16_t version_minor = 1;
  std::uint16_t port = 0;
  std::string_view local_address;   // kSockaddrSize bytes
  std::string_view remote_address;  // kSockaddrSize bytes
  std::string_view method, raw_url, full_url, host, path, query;
  std::string_view headers;   // header list
  std::string_view body;      // first body bytes
  std::string_view trailers;  // header list; set when the whole chunked body came along
  RequestTls tls;  // written and read only when flags has kRequestSecure
  RequestProxy proxy;  // written and read only when flags has kRequestProxied
};

// A request flag that is never public (the library clears it): other requests were waiting in
// the queue when the service handed this one over. Version 2 only; the library's adaptive
// receive window grows on it.
inline constexpr std::uint32_t kRequestBacklog = 1u << 31;
// Sets or clears kRequestBacklog in an encoded request frame (one the service made).
void mark_backlog(std::string& frame, bool backlog);
// The bytes a RequestTls adds to a request frame (0 for a plain request, whose is empty), to
// size the frame before encoding it.
std::size_t tls_tail_size(const RequestTls& tls);
// The bytes a RequestProxy adds to a request frame, to size the frame before encoding it.
std::size_t proxy_tail_size(const RequestProxy& proxy);

struct Body {
  std::uint64_t request = 0;
  std::uint32_t flags = 0;  // kBodyEnd, kBodyGone
  std::string_view data;
  std::string_view trailers;  // header list; with kBodyEnd after a chunked body
};
inline constexpr std::uint32_t kBodyEnd = 1;   // no more body after data
inline constexpr std::uint32_t kBodyGone = 2;  // the client left before the body ended

struct RequestGone {
  std::uint64_t request = 0;
};

// Encoders append one frame to `out`; false when it would exceed the protocol limits
// (nothing is appended then).
bool encode(std::string& out, const Hello& m);
bool encode(std::string& out, const HelloAck& m);
bool encode(std::string& out, const Result& m);
bool encode(std::string& out, Type type, const GroupCall& m);
bool encode(std::string& out, Type type, const UrlCall& m);
bool encode(std::string& out, const BindGroup& m);
bool encode(std::string& out, const GroupProperty& m);
bool encode(std::string& out, const GroupLogging& m);
bool encode(std::string& out, const CreateQueue& m);
bool encode(std::string& out, const AdminCall& m);
bool encode(std::string& out, const Receive& m);
bool encode(std::string& out, const QueueAllow& m);
bool encode(std::string& out, const QueueProperty& m);
bool encode(std::string& out, const FlushCache& m);
bool encode(std::string& out, const AddFragment& m);
bool encode(std::string& out, const ReadFragment& m);
bool encode(std::string& out, const ReadBody& m);
bool encode(std::string& out, const SendResponse& m);
bool encode(std::string& out, const SendBody& m);
bool encode(std::string& out, const SendTrailers& m);
bool encode(std::string& out, const LogData& m);
bool encode(std::string& out, const Cancel& m);
bool encode(std::string& out, const Request& m);
bool encode(std::string& out, const Body& m);
bool encode(std::string& out, const RequestGone& m);
bool encode(std::string& out, const ShutdownQueue& m);
bool encode(std::string& out, const Decline& m);
bool encode(std::string& out, const Seen& m);
bool encode(std::string& out, const SeenCounterFrame& m);
bool encode(std::string& out, const FrameRingFrame& m);
bool encode(std::string& out, const Wake& m);
bool encode(std::string& out, const LibraryRingFrame& m);
bool encode(std::string& out, const QueueShutdown& m);

// Decoders check the frame type, the fixed part and every reference; false on anything
// malformed. Views point into the frame.
bool decode(const Frame& f, Hello& m);
bool decode(const Frame& f, HelloAck& m);
bool decode(const Frame& f, Result& m);
bool decode(const Frame& f, GroupCall& m);  // create_group or close_group
bool decode(const Frame& f, UrlCall& m);    // add_url or remove_url
bool decode(const Frame& f, BindGroup& m);
bool decode(const Frame& f, GroupProperty& m);
bool decode(const Frame& f, GroupLogging& m);
bool decode(const Frame& f, CreateQueue& m);
bool decode(const Frame& f, AdminCall& m);
bool decode(const Frame& f, Receive& m);
bool decode(const Frame& f, QueueAllow& m);
bool decode(const Frame& f, QueueProperty& m);
bool decode(const Frame& f, FlushCache& m);
bool decode(const Frame& f, AddFragment& m);
bool decode(const Frame& f, ReadFragment& m);
bool decode(const Frame& f, ReadBody& m);
bool decode(const Frame& f, SendResponse& m);
bool decode(const Frame& f, SendBody& m);
bool decode(const Frame& f, SendTrailers& m);
bool decode(const Frame& f, LogData& m);
bool decode(const Frame& f, Cancel& m);
bool decode(const Frame& f, Request& m);
bool decode(const Frame& f, Body& m);
bool decode(const Frame& f, RequestGone& m);
bool decode(const Frame& f, ShutdownQueue& m);
bool decode(const Frame& f, Decline& m);
bool decode(const Frame& f, Seen& m);
bool decode(const Frame& f, SeenCounterFrame& m);
bool decode(const Frame& f, FrameRingFrame& m);
bool decode(const Frame& f, Wake& m);
bool decode(const Frame& f, LibraryRingFrame& m);
bool decode(const Frame& f, QueueShutdown& m);

}  // namespace httpapi::ipc
