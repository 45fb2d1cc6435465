// httpapi.hpp: a header-only C++20 wrapper over <httpapi/httpapi.h> with RAII handles.
//
// Nothing here throws: fallible calls return httpapi_error, or Result<T> for factories,
// and both are [[nodiscard]]: an error is handled or dropped on purpose ((void) or
// std::ignore), never lost by accident.
// Handles are move-only and close themselves. The threading and lifetime rules are those
// of the C API (httpapi.h): a request must be released before its queue is closed.
#ifndef HTTPAPI_HTTPAPI_HPP
#define HTTPAPI_HTTPAPI_HPP

#include <httpapi/httpapi.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace httpapi {

inline std::string_view view(httpapi_bytes b) { return {b.data ? b.data : "", b.length}; }

// A value or the error that prevented it.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                // NOLINT: implicit on purpose
  Result(httpapi_error error) : error_(error) {}               // NOLINT
  explicit operator bool() const noexcept { return value_.has_value(); }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  httpapi_error error() const noexcept { return error_; }
  const char* name() const noexcept { return httpapi_error_name(error_); }
  const char* what() const noexcept { return httpapi_strerror(error_); }

 private:
  std::optional<T> value_;
  httpapi_error error_ = HTTPAPI_OK;
};

// Owns one httpapi_initialize() reference for its lifetime.
class Runtime {
 public:
  Runtime() : error_(httpapi_initialize(HTTPAPI_VERSION_1, 0)) {}
  ~Runtime() {
    if (error_ == HTTPAPI_OK) httpapi_terminate();
  }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  httpapi_error error() const noexcept { return error_; }

 private:
  httpapi_error error_;
};

namespace detail {
// A move-only owner of a C handle with its close function.
template <typename H, void (*Close)(H*)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(H* h) : h_(h) {}
  Handle(Handle&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~Handle() { reset(); }
  void reset() {
    if (h_) Close(h_);
    h_ = nullptr;
  }
  H* get() const noexcept { return h_; }

 private:
  H* h_ = nullptr;
};
}  // namespace detail

// Body chunks for Request::respond_chunks.
namespace chunks {
inline httpapi_data_chunk memory(std::string_view bytes) {
  return {HTTPAPI_CHUNK_MEMORY, bytes.data(), -1, nullptr, 0, bytes.size()};
}
inline httpapi_data_chunk file(int fd, std::uint64_t offset = 0,
                               std::uint64_t length = HTTPAPI_TO_EOF) {
  return {HTTPAPI_CHUNK_FILE, nullptr, fd, nullptr, offset, length};
}
inline httpapi_data_chunk fragment(const char* name, std::uint64_t offset = 0,
                                   std::uint64_t length = HTTPAPI_TO_EOF) {
  return {HTTPAPI_CHUNK_FRAGMENT, nullptr, -1, name, offset, length};
}
}  // namespace chunks

class Queue {
 public:
  // Anonymous queue when `name` is empty.
  static Result<Queue> create(std::string_view name = {}, std::uint32_t flags = 0) {
    std::string n(name);
    httpapi_queue* q = nullptr;
    if (auto e = httpapi_queue_create(n.empty() ? nullptr : n.c_str(), flags, &q)) return e;
    return Queue(q);
  }
  httpapi_queue* get() const noexcept { return h_.get(); }
  int fd() const noexcept { return httpapi_queue_fd(h_.get()); }
  [[nodiscard]] httpapi_error set_receive_window(std::uint32_t requests) {
    return httpapi_queue_set_receive_window(h_.get(), requests);
  }
  [[nodiscard]] httpapi_error set_property(httpapi_queue_property property,
                                           std::uint64_t value) {
    return httpapi_queue_set_property(h_.get(), property, value);
  }
  [[nodiscard]] httpapi_error allow_user(std::uint32_t uid) {
    return httpapi_queue_allow(h_.get(), HTTPAPI_PRINCIPAL_USER, uid);
  }
  [[nodiscard]] httpapi_error allow_group(std::uint32_t gid) {
    return httpapi_queue_allow(h_.get(), HTTPAPI_PRINCIPAL_GROUP, gid);
  }
  // Ends the queue for every handle (creator only): see httpapi_queue_shutdown.
  [[nodiscard]] httpapi_error shutdown() { return httpapi_queue_shutdown(h_.get()); }
  // The fragment cache (docs/cache.md): store bytes under a URL-shaped name of this queue.
  [[nodiscard]] httpapi_error add_fragment(const std::string& name, std::string_view bytes,
                                           const httpapi_cache_policy* policy = nullptr) {
    return httpapi_add_fragment(h_.get(), name.c_str(), bytes.data(), bytes.size(), policy);
  }

 private:
  explicit Queue(httpapi_queue* q) : h_(q) {}
  detail::Handle<httpapi_queue, httpapi_queue_close> h_;
};

class UrlGroup {
 public:
  [[nodiscard]] httpapi_error add(const std::string& prefix, std::uint64_t context) {
    return httpapi_url_add(h_.get(), prefix.c_str(), context);
  }
  [[nodiscard]] httpapi_error remove(const std::string& prefix) {
    return httpapi_url_remove(h_.get(), prefix.c_str());
  }
  [[nodiscard]] httpapi_error bind(const Queue& queue) {
    return httpapi_url_group_bind(h_.get(), queue.get());
  }
  [[nodiscard]] httpapi_error set_property(httpapi_url_group_property property,
                                           std::uint64_t value) {
    return httpapi_url_group_set_property(h_.get(), property, value);
  }
  // The group's access log (httpapi_url_group_set_logging); nullptr turns it off.
  [[nodiscard]] httpapi_error set_logging(const httpapi_logging_info* info) {
    return httpapi_url_group_set_logging(h_.get(), info);
  }

 private:
  friend class Session;
  explicit UrlGroup(httpapi_url_group* g) : h_(g) {}
  detail::Handle<httpapi_url_group, httpapi_url_group_close> h_;
};

class Session {
 public:
  static Result<Session> create() {
    httpapi_session* s = nullptr;
    if (auto e = httpapi_session_create(&s)) return e;
    return Session(s);
  }
  Result<UrlGroup> create_url_group() {
    httpapi_url_group* g = nullptr;
    if (auto e = httpapi_url_group_create(h_.get(), &g)) return e;
    return UrlGroup(g);
  }

 private:
  explicit Session(httpapi_session* s) : h_(s) {}
  detail::Handle<httpapi_session, httpapi_session_close> h_;
};

struct Header {
  std::string_view name;
  std::string_view value;
};

class Request {
 public:
  // Waits for the next request (timeout_ms < 0: forever, 0: never).
  static Result<Request> receive(Queue& queue, int timeout_ms = -1) {
    httpapi_request* r = nullptr;
    if (auto e = httpapi_receive(queue.get(), timeout_ms, &r)) return e;
    return Request(r);
  }
  // Receives into `buffer` (aligned for httpapi_request_info); see httpapi_receive_into.
  // On MORE_DATA, `needed` holds the size that the same request needs on the next call.
  static Result<Request> receive_into(Queue& queue, std::span<std::byte> buffer,
                                      std::size_t& needed, int timeout_ms = -1) {
    httpapi_request* r = nullptr;
    if (auto e = httpapi_receive_into(queue.get(), timeout_ms, buffer.data(), buffer.size(),
                                      &needed, &r)) {
      return e;
    }
    return Request(r);
  }

  const httpapi_request_info& info() const { return *httpapi_request_get_info(h_.get()); }
  std::string_view method() const { return view(info().method); }
  std::string_view raw_url() const { return view(info().raw_url); }
  std::string_view path() const { return view(info().url.path); }
  std::string_view query() const { return view(info().url.query); }
  std::uint64_t url_context() const { return info().url_context; }
  // Arrived over TLS (HTTPAPI_REQUEST_FLAG_SECURE).
  bool secure() const { return (info().flags & HTTPAPI_REQUEST_FLAG_SECURE) != 0; }
  // What the TLS handshake settled, client certificate included; nullptr unless secure().
  const httpapi_tls_info* tls() const { return info().tls; }
  // What a PROXY header said beyond the client's address (the balancer, v2 TLVs); nullptr
  // unless the request arrived through one (HTTPAPI_REQUEST_FLAG_PROXIED).
  const httpapi_proxy_info* proxy() const { return info().proxy; }

  // The first header with this name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const {
    const auto& i = info();
    for (std::size_t k = 0; k < i.header_count; ++k) {
      if (equal_nocase(view(i.headers[k].name), name)) return view(i.headers[k].value);
    }
    return std::nullopt;
  }

  // Reads the whole body (the inline part and the rest) into a string.
  Result<std::string> read_body(int timeout_ms = -1) {
    std::string body(view(info().body));
    char buffer[64 * 1024];
    for (;;) {
      std::size_t n = 0;
      const httpapi_error e = httpapi_read_body(h_.get(), buffer, sizeof buffer, &n, timeout_ms);
      if (e == HTTPAPI_ERROR_END_OF_BODY) return body;
      if (e != HTTPAPI_OK) return e;
      body.append(buffer, n);
    }
  }

  // Trailer fields of a chunked body, once the body has been read to its end.
  std::span<const httpapi_header> trailers() const {
    std::size_t count = 0;
    const httpapi_header* fields = httpapi_request_trailers(h_.get(), &count);
    return {fields, count};
  }

  // Sends a complete response in one call.
  [[nodiscard]] httpapi_error respond(std::uint16_t status,
                                      std::initializer_list<Header> headers,
                                      std::string_view body, std::uint32_t flags = 0) {
    return start(status, std::span<const Header>(headers.begin(), headers.size()), body, flags);
  }
  [[nodiscard]] httpapi_error respond(std::uint16_t status, std::span<const Header> headers,
                                      std::string_view body, std::uint32_t flags = 0) {
    return start(status, headers, body, flags);
  }
  // A complete response httpapid may keep and answer again itself (docs/cache.md).
  [[nodiscard]] httpapi_error respond_cacheable(std::uint16_t status,
                                                std::initializer_list<Header> headers,
                                                std::string_view body,
                                                httpapi_cache_policy policy,
                                                std::uint32_t flags = 0) {
    return start(status, std::span<const Header>(headers.begin(), headers.size()), body, flags,
                 &policy);
  }
  // A complete response whose body is `chunks` (memory, file descriptors, fragments; see
  // httpapi_send_response_chunks). E.g. a file: chunks::file(fd) with PROCESS_RANGES.
  [[nodiscard]] httpapi_error respond_chunks(std::uint16_t status,
                                             std::initializer_list<Header> headers,
                                             std::span<const httpapi_data_chunk> chunks,
                                             std::uint32_t flags = 0,
                                             const httpapi_cache_policy* policy = nullptr) {
    const CHeaders c_headers(std::span<const Header>(headers.begin(), headers.size()));
    httpapi_response response{};
    response.status = status;
    response.headers = c_headers.data();
    response.header_count = c_headers.size();
    return httpapi_send_response_chunks(h_.get(), &response, chunks.data(), chunks.size(),
                                        flags, policy);
  }
  // Streams: begin() then any number of write(), then end().
  [[nodiscard]] httpapi_error begin(std::uint16_t status, std::initializer_list<Header> headers) {
    return start(status, std::span<const Header>(headers.begin(), headers.size()), {},
                 HTTPAPI_SEND_FLAG_MORE_DATA);
  }
  [[nodiscard]] httpapi_error write(std::string_view data) {
    return httpapi_send_body(h_.get(), data.data(), data.size(), HTTPAPI_SEND_FLAG_MORE_DATA);
  }
  [[nodiscard]] httpapi_error end(std::string_view data = {}) {
    return httpapi_send_body(h_.get(), data.data(), data.size(), 0);
  }
  // Ends a stream with trailer fields (docs/responses.md says when they reach the client).
  [[nodiscard]] httpapi_error end_with_trailers(std::initializer_list<Header> trailers) {
    return end_with_trailers(std::span<const Header>(trailers.begin(), trailers.size()));
  }
  [[nodiscard]] httpapi_error end_with_trailers(std::span<const Header> trailers) {
    const CHeaders c_trailers(trailers);
    return httpapi_send_trailers(h_.get(), c_trailers.data(), c_trailers.size());
  }
  // An interim response (100-199 but 101), e.g. 103 Early Hints; the final one follows.
  [[nodiscard]] httpapi_error inform(std::uint16_t status, std::initializer_list<Header> headers) {
    return start(status, std::span<const Header>(headers.begin(), headers.size()), {}, 0);
  }
  [[nodiscard]] httpapi_error cancel() { return httpapi_cancel(h_.get()); }
  // The access log's sub-status and user name for this request ("" = none); before the
  // response ends (httpapi_request_set_log_data).
  [[nodiscard]] httpapi_error set_log_data(std::uint32_t substatus, const std::string& username) {
    const httpapi_log_data data{substatus, username.c_str()};
    return httpapi_request_set_log_data(h_.get(), &data);
  }
  // OK once the client left; TIMEOUT / WOULD_BLOCK while it is there. Another thread may
  // wait here while this one streams: see httpapi_wait_for_disconnect.
  [[nodiscard]] httpapi_error wait_for_disconnect(int timeout_ms = -1) {
    return httpapi_wait_for_disconnect(h_.get(), timeout_ms);
  }

 private:
  explicit Request(httpapi_request* r) : h_(r) {}

  static bool equal_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
      const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] + 32) : b[i];
      if (x != y) return false;
    }
    return true;
  }

  // Fields as the C API takes them: in place for the usual few, so a response costs no
  // allocation here, and in a vector when there are more.
  class CHeaders {
   public:
    explicit CHeaders(std::span<const Header> headers) : size_(headers.size()) {
      if (size_ > kInPlace) more_.resize(size_);
      httpapi_header* out = size_ > kInPlace ? more_.data() : in_place_;
      for (std::size_t i = 0; i < size_; ++i) {
        const Header& h = headers[i];
        out[i] = {{h.name.data(), h.name.size()}, {h.value.data(), h.value.size()}};
      }
    }
    CHeaders(const CHeaders&) = delete;
    CHeaders& operator=(const CHeaders&) = delete;
    const httpapi_header* data() const { return size_ > kInPlace ? more_.data() : in_place_; }
    std::size_t size() const { return size_; }

   private:
    static constexpr std::size_t kInPlace = 16;
    std::size_t size_;
    httpapi_header in_place_[kInPlace];
    std::vector<httpapi_header> more_;
  };

  [[nodiscard]] httpapi_error start(std::uint16_t status, std::span<const Header> headers,
                                    std::string_view body, std::uint32_t flags,
                                    const httpapi_cache_policy* policy = nullptr) {
    const CHeaders c_headers(headers);
    httpapi_response response{};
    response.status = status;
    response.headers = c_headers.data();
    response.header_count = c_headers.size();
    response.body = body.data();
    response.body_length = body.size();
    return httpapi_send_cacheable_response(h_.get(), &response, flags, policy);
  }

  detail::Handle<httpapi_request, httpapi_request_release> h_;
};

}  // namespace httpapi

#endif  // HTTPAPI_HTTPAPI_HPP
