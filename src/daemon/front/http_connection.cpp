#include "daemon/front/http_connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <initializer_list>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "daemon/cache/cache_rules.hpp"
#include "daemon/front/http_date.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/service.hpp"
#include "daemon/loop/socket_address.hpp"
#include "http1/reason_phrase.hpp"
#include "http1/response_head.hpp"
#include "http1/url_cooker.hpp"
#include "httpapi/httpapi.h"
#include "ipc/body_chunks.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// Unconsumed input held per connection; past this the socket is not read until the request
// in progress (or the application reading its body) consumes some. TCP pushes back on the
// client from there.
constexpr std::size_t kMaxBuffered = 256 * 1024;
constexpr std::size_t kMaxFields = 256;
constexpr std::uint64_t kLingerMs = 2000;
// An idle keep-alive connection gives its buffers back after this long (release_idle_buffers).
constexpr std::uint64_t kReleaseIdleMs = 1000;
// Response bytes queued for a slow client before the application is asked to pause, and
// the level at which it may resume.
constexpr std::size_t kOutputHighWater = 1024 * 1024;
constexpr std::size_t kOutputLowWater = 256 * 1024;
// File ranges queued before the application is asked to pause: each holds a descriptor.
constexpr std::size_t kMaxQueuedFiles = 64;
// The most one write or sendfile call is asked to take.
constexpr std::size_t kMaxWrite = 4 * 1024 * 1024;

// Trailers follow the rules of the head's fields (http1::valid_response_field).
bool valid_fields(std::string_view list) {
  ipc::HeaderListReader reader(list);
  std::string_view name, value;
  while (reader.next(name, value)) {
    if (!http1::valid_response_field(name, value)) return false;
  }
  return reader.ok();
}

}  // namespace

HttpConnection::HttpConnection(IoWorker& worker, std::unique_ptr<Transport> transport,
                               std::uint64_t id, const sockaddr_storage& local,
                               const sockaddr_storage& remote)
    : worker_(worker), transport_(std::move(transport)), id_(id), local_(local), remote_(remote),
      local_ip_(ip_text(local)), remote_ip_(ip_text(remote)), local_port_(port_of(local)) {
  last_activity_ = monotonic_ms();
  head_started_ = last_activity_;
  interest_ = EPOLLIN | EPOLLRDHUP;
  worker_.loop().watch(transport_->descriptor(), interest_,
                       [this](std::uint32_t events) { on_events(events); });
}

HttpConnection::~HttpConnection() {
  if (transport_->descriptor() >= 0) worker_.loop().unwatch(transport_->descriptor());
  if (bandwidth_timer_ >= 0) {
    worker_.loop().unwatch(bandwidth_timer_);
    ::close(bandwidth_timer_);
  }
  leave_group();
}

// ---- input ------------------------------------------------------------------------------

void HttpConnection::on_events(std::uint32_t events) {
  if (phase_ == Phase::closed) return;
  if (events & EPOLLOUT) flush();
  if (phase_ == Phase::closed) return;
  if (events & (EPOLLIN | EPOLLRDHUP)) on_readable();
  if (phase_ == Phase::closed) return;
  // Both directions are gone (reset, or our shutdown plus theirs): nothing can be delivered.
  if (events & (EPOLLHUP | EPOLLERR)) close_now();
}

void HttpConnection::on_readable() {
  if (in_start_ == in_.size()) {
    in_.clear();
    in_start_ = 0;
  } else if (in_start_ > 64 * 1024) {
    in_.erase(0, in_start_);
    in_start_ = 0;
  }
  const bool was_empty = in_.size() == in_start_;
  const std::size_t had = in_.size();
  char buffer[64 * 1024];
  while (!peer_eof_ && in_.size() - in_start_ < kMaxBuffered) {
    const ssize_t n = transport_->read(buffer, sizeof buffer);
    if (n > 0) {
      if (phase_ == Phase::closing) continue;  // lingering: discard what still arrives
      in_.append(buffer, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buffer) break;
      continue;
    }
    if (n == 0) {
      peer_eof_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close_now();
    return;
  }
  last_activity_ = monotonic_ms();
  if (was_empty && phase_ == Phase::reading_head) head_started_ = last_activity_;
  // HTTP.sys re-arms the entity-body timer on every arrival of body data.
  if (in_.size() > had && phase_ == Phase::with_app) body_clock_ = last_activity_;
  if (phase_ == Phase::closing) {
    if (peer_eof_) close_now();
    return;
  }
  process();
  if (phase_ == Phase::closed) return;
  // A partial head that can never complete: nothing is owed for it.
  if (peer_eof_ && phase_ == Phase::reading_head) phase_ = Phase::closing;
  flush();
}

void HttpConnection::process() {
  for (;;) {
    switch (phase_) {
      case Phase::reading_head:
        if (in_start_ == in_.size()) {
          // Nothing more will come (the client half-closed) or be taken (shutdown): finish
          // writing what is owed, then close.
          if (shutting_down_ || peer_eof_) phase_ = Phase::closing;
          return;
        }
        if (!parse_head()) return;
        continue;
      case Phase::with_app:
        try_fulfil_body_read();
        return;
      case Phase::draining:
        decode_body(SIZE_MAX, nullptr);
        if (phase_ != Phase::draining) return;  // a framing error closed it
        if (!body_.done()) return;
        finish_exchange();
        continue;
      case Phase::closing:
      case Phase::closed:
        return;
    }
  }
}

bool HttpConnection::parse_head() {
  const std::string_view input(in_.data() + in_start_, in_.size() - in_start_);
  // One field array per thread: the views are used up before the next parse, and a fresh
  // array per call would cost more than parsing a small request.
  thread_local std::array<http1::Field, kMaxFields> fields;
  http1::RequestHead head;
  const auto& limits = worker_.settings().limits;
  const auto result = http1::parse_request_head(input, limits, fields, head, scanner_);
  switch (result.status) {
    case http1::Status::incomplete:
      return false;
    case http1::Status::error:
      remember_request_line(input, head);
      reject(answer_for(result.error));
      return false;
    case http1::Status::complete:
      start_request(head);
      return true;
  }
  return false;
}

// For the error log: the request line of a refused head, as far as it can be read. The
// parser fills it when only the head's meaning was refused; otherwise the first line is
// split here if it has the shape "METHOD TARGET HTTP/1.x".
void HttpConnection::remember_request_line(std::string_view input,
                                           const http1::RequestHead& head) {
  if (!head.method.empty()) {
    method_.assign(head.method);
    uri_.assign(head.target.substr(0, 4096));
    version_minor_ = head.version_minor;
    return;
  }
  const std::string_view line = input.substr(0, input.find('\n'));
  const std::size_t first = line.find(' ');
  const std::size_t last = line.rfind(' ');
  if (first == std::string_view::npos || last <= first) return;
  std::string_view version = line.substr(last + 1);
  if (!version.empty() && version.back() == '\r') version.remove_suffix(1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return;
  method_.assign(line.substr(0, std::min<std::size_t>(first, 255)));
  uri_.assign(line.substr(first + 1, std::min<std::size_t>(last - first - 1, 4096)));
  version_minor_ = version.back() - '0';
}

void HttpConnection::start_request(const http1::RequestHead& head) {
  const Settings& settings = worker_.settings();
  scanner_ = {};
  served_any_ = true;
  method_.assign(head.method);
  uri_.assign(head.target.substr(0, 4096));
  version_minor_ = head.version_minor;
  head_only_ = head.method == "HEAD";
  keep_alive_ = head.keep_alive;
  expect_continue_ = head.expect_continue;
  continue_sent_ = false;
  opaque_ = false;
  response_started_ = false;
  close_after_ = false;
  pending_read_ = 0;
  body_.start(head.framing, head.content_length);
  in_start_ += head.head_length;  // the views in `head` stay valid: in_ is not modified here

  cooked_.resize(http1::cooked_url_capacity(head.target, head.host));
  http1::CookedUrl url;
  if (const auto error = http1::cook_url(head.target, head.target_form, head.host, local_ip_,
                                         local_port_, false, settings.limits, cooked_, url);
      error != http1::Error::none) {
    return reject(answer_for(error));
  }
  ResponseCache& cache = worker_.service().cache();
  // Read before the routes: a routing change after this point makes the answer unstorable.
  cache_generation_ = cache.generation();
  cacheable_request_ = cache.enabled() && cacheable_request(head, url);
  const auto routes = worker_.service().routes();
  const route::Match match = routes->match(false, local_port_, url.host, local_ip_, url.path);
  if (match.kind == route::MatchKind::no_host) {
    return reject(answer_for(http1::Error::invalid_hostname));
  }
  if (match.kind == route::MatchKind::no_path) return reject(not_found());
  if (match.target.queue_id == 0) return reject(service_unavailable("N/A"));
  if (!enter_group(match.target.group_id)) {
    return refuse_request(match.target, "ConnLimit");
  }
  if (cacheable_request_) {
    if (auto hit = cache.find(url.full, monotonic_seconds())) return serve_cached(*hit);
    cache_url_.assign(url.full);
  }

  std::string headers;
  headers.reserve(head.head_length + 8 * head.field_count);
  for (std::size_t i = 0; i < head.field_count; ++i) {
    ipc::append_header(headers, head.fields[i].name, head.fields[i].value);
  }
  std::string body;
  if (!body_.done()) {
    decode_body(settings.inline_body_bytes, &body);
    if (body_.failed()) return reject(answer_for(body_.error()));
  }
  request_id_ = worker_.service().next_request_id();
  ipc::Request message;
  message.request = request_id_;
  message.connection = id_;
  message.url_context = match.target.url_context;
  message.flags = (body_.done() ? 0u : HTTPAPI_REQUEST_FLAG_MORE_BODY) |
                  (match.ip_routed ? HTTPAPI_REQUEST_FLAG_IP_ROUTED : 0u);
  message.version_major = static_cast<std::uint16_t>(head.version_major);
  message.version_minor = static_cast<std::uint16_t>(head.version_minor);
  message.port = local_port_;
  const sockaddr_storage local = local_, remote = remote_;
  message.local_address = {reinterpret_cast<const char*>(&local), sizeof local};
  message.remote_address = {reinterpret_cast<const char*>(&remote), sizeof remote};
  message.method = head.method;
  message.raw_url = head.target;
  message.full_url = url.full;
  message.host = url.host;
  message.path = url.path;
  message.query = url.query;
  message.headers = headers;
  message.body = body;
  message.trailers = body_.trailers();
  InboundRequest inbound{request_id_, match.target.queue_id, worker_.index(), id_, {},
                         timers().request_queue};
  inbound.frame.reserve(2 * ipc::kSockaddrSize + 2 * head.head_length + url.full.size() +
                        body.size() + 256);
  if (!ipc::encode(inbound.frame, message)) {
    return reject(answer_for(http1::Error::request_too_long));
  }
  phase_ = Phase::with_app;
  body_clock_ = last_activity_;
  worker_.service().submit(std::move(inbound));
}

// The connection now serves `group_id`'s requests: it counts against that group's
// connection limit (false when the limit is reached) and lives by its timers.
bool HttpConnection::enter_group(std::uint64_t group_id) {
  if (group_ && group_id_ == group_id) return true;
  std::shared_ptr<GroupLimits> limits = worker_.service().group_limits(group_id);
  if (limits && !limits->try_add_connection()) return false;
  leave_group();
  group_ = std::move(limits);
  group_id_ = group_id;
  return true;
}

void HttpConnection::leave_group() {
  if (group_) group_->remove_connection();
  group_.reset();
}

// A request refused before it reaches its queue: answered here, the way its queue's 503
// verbosity (carried in the routing snapshot) asks.
void HttpConnection::refuse_request(const route::Target& target, std::string_view log_reason) {
  queue_name_.assign(target.queue_name);
  const SelfAnswer answer = service_unavailable(log_reason, target.verbosity);
  if (answer.status == 0) return reset(log_reason);
  reject(answer);
}

Timers HttpConnection::timers() const {
  const Timers& server = worker_.settings().timers;
  return group_ ? group_->timers(server) : server;
}

void HttpConnection::reject(const SelfAnswer& answer) {
  log_error(answer.status, answer.log_reason);
  send(render_self_answer(answer, head_only_, worker_.settings().server_header));
  phase_ = Phase::closing;
  flush();
}

// 503 verbosity "basic": the connection is reset, no answer is sent.
void HttpConnection::reset(std::string_view log_reason) {
  log_error(0, log_reason);
  transport_->reset_on_close();
  close_now();
}

// Decodes up to about `max` body bytes from the buffered input (a chunked piece may run past
// it; the library keeps the excess). Appends them to `out` when given.
std::size_t HttpConnection::decode_body(std::size_t max, std::string* out) {
  const auto step = body_.decode(std::string_view(in_).substr(in_start_), max, out,
                                 worker_.settings().chunked_limits);
  in_start_ += step.consumed;
  if (phase_ == Phase::draining && body_.failed()) close_now();
  return step.produced;
}

void HttpConnection::on_read_body(std::uint64_t request_id, std::uint32_t max) {
  if (request_id != request_id_ || phase_ != Phase::with_app) {
    worker_.service().body_ready(request_id, {}, {}, ipc::kBodyGone);
    return;
  }
  pending_read_ = max;
  try_fulfil_body_read();
  if (phase_ != Phase::closed) flush();
}

void HttpConnection::try_fulfil_body_read() {
  if (pending_read_ == 0) return;
  // The client waits for 100 Continue before sending the body: send it once the application
  // shows it wants the body, so a request it refuses costs no upload.
  if (expect_continue_ && !continue_sent_ && !body_.done() && in_start_ == in_.size() &&
      !response_started_) {
    send("HTTP/1.1 100 Continue\r\n\r\n");
    continue_sent_ = true;
  }
  std::string data;
  decode_body(pending_read_, &data);
  if (body_.failed()) {
    worker_.service().body_ready(request_id_, {}, {}, ipc::kBodyGone);
    pending_read_ = 0;
    if (!response_started_) {
      worker_.service().request_gone(request_id_);
      phase_ = Phase::reading_head;  // the request is over for the service
      return reject(answer_for(body_.error()));
    }
    return close_now();
  }
  if (data.empty() && !body_.done()) {
    if (peer_eof_) {
      // A byte stream ends when the client closes its side; a body cut short is gone.
      worker_.service().body_ready(request_id_, {}, {}, opaque_ ? ipc::kBodyEnd : ipc::kBodyGone);
      pending_read_ = 0;
    }
    return;
  }
  worker_.service().body_ready(request_id_, std::move(data),
                               body_.done() ? body_.take_trailers() : std::string(),
                               body_.done() ? ipc::kBodyEnd : 0);
  pending_read_ = 0;
}

void HttpConnection::finish_exchange() {
  request_id_ = 0;
  method_.clear();
  uri_.clear();
  queue_name_.clear();
  head_only_ = false;
  phase_ = Phase::reading_head;
  head_started_ = monotonic_ms();
  last_activity_ = head_started_;  // the idle timer starts when the exchange ends
}

// ---- responses --------------------------------------------------------------------------

namespace {

// The bytes a fragment chunk stands for: its range, cut to the fragment's size.
std::string_view fragment_bytes(const ipc::BodyChunk& chunk, const Fragment& fragment) {
  const std::string_view bytes = fragment.bytes;
  if (chunk.offset >= bytes.size()) return {};
  return bytes.substr(static_cast<std::size_t>(chunk.offset),
                      static_cast<std::size_t>(std::min<std::uint64_t>(
                          chunk.length, bytes.size() - chunk.offset)));
}

// Walks a chunk list whose descriptors and fragments the service loop resolved, in order:
// memory and fragment bytes go to on_bytes, file ranges to on_file.
template <typename OnBytes, typename OnFile>
void for_each_chunk(std::string_view list, SendAttachments& attachments, OnBytes on_bytes,
                    OnFile on_file) {
  ipc::ChunkListReader reader(list);
  ipc::BodyChunk chunk;
  std::size_t file = 0, fragment = 0;
  while (reader.next(chunk)) {
    switch (chunk.kind) {
      case ipc::ChunkKind::memory: on_bytes(chunk.data); break;
      case ipc::ChunkKind::file:
        if (file < attachments.files.size()) on_file(chunk, attachments.files[file++]);
        break;
      case ipc::ChunkKind::fragment:
        if (fragment < attachments.fragments.size()) {
          on_bytes(fragment_bytes(chunk, *attachments.fragments[fragment++]));
        }
        break;
    }
  }
}

std::uint64_t chunk_list_size(std::string_view list, SendAttachments& attachments) {
  std::uint64_t total = 0;
  for_each_chunk(
      list, attachments, [&](std::string_view data) { total += data.size(); },
      [&](const ipc::BodyChunk& c, UniqueFd&) { total += c.length; });
  return total;
}

// The whole body of a response to keep in the response cache: file ranges are read here
// (the cache holds bytes, never descriptors). Empty on a read error or past `limit`.
std::optional<std::string> gather_chunks(std::string_view list, SendAttachments& attachments,
                                         std::size_t limit) {
  if (chunk_list_size(list, attachments) > limit) return std::nullopt;
  std::string body;
  bool failed = false;
  for_each_chunk(
      list, attachments, [&](std::string_view data) { body.append(data); },
      [&](const ipc::BodyChunk& c, UniqueFd& fd) {
        const std::size_t at = body.size();
        body.resize(at + c.length);
        const ssize_t n =
            ::pread(fd.get(), body.data() + at, c.length, static_cast<off_t>(c.offset));
        failed = failed || n != static_cast<ssize_t>(c.length);
      });
  if (failed) return std::nullopt;
  return body;
}

}  // namespace

void HttpConnection::on_response(std::uint64_t request_id, std::uint64_t channel_id,
                                 ResponsePart part, SendAttachments attachments) {
  if (request_id != request_id_ || phase_ != Phase::with_app) return;  // stale
  response_channel_ = channel_id;
  switch (part.kind) {
    case ResponsePart::Kind::head: {
      if (response_started_) return abort("Internal");
      const bool chunks = part.chunk_list();
      const std::uint64_t body_size =
          chunks ? chunk_list_size(part.body, attachments) : part.body.size();
      if (!write_response_head(part, body_size)) return abort("Internal");
      if (!response_started_) return flush();  // an interim 1xx response
      std::optional<std::string> cached_body;
      const bool cache = !part.more_data() && part.cache_kind != HTTPAPI_CACHE_NONE &&
                         cacheable_request_;
      if (cache && chunks) {
        cached_body = gather_chunks(part.body, attachments,
                                    worker_.service().cache().max_response_bytes());
      }
      if (chunks) {
        append_chunks(part.body, attachments);
      } else {
        append_body(part.body);
      }
      if (!part.more_data()) {
        if (cache && phase_ != Phase::closed && (!chunks || cached_body)) {
          store_in_cache(part, chunks ? std::string_view(*cached_body) : part.body);
        }
        finish_response();
      }
      break;
    }
    case ResponsePart::Kind::trailers:
      if (!response_started_ || !valid_fields(part.fields)) return abort("Internal");
      finish_response(part.fields);
      break;
    case ResponsePart::Kind::body:
      if (!response_started_) return abort("Internal");
      if (part.chunk_list()) {
        append_chunks(part.body, attachments);
      } else {
        append_body(part.body);
      }
      if (phase_ == Phase::closed) return;
      if (!part.more_data()) {
        close_after_ = close_after_ || (part.flags & HTTPAPI_SEND_FLAG_DISCONNECT);
        finish_response();
      }
      break;
  }
  if (phase_ != Phase::closed) flush();
}

bool HttpConnection::write_response_head(const ResponsePart& head, std::uint64_t body_size) {
  // One field array per thread: the views are used up before the next response.
  thread_local std::vector<http1::Field> fields;
  fields.clear();
  ipc::HeaderListReader reader(head.fields);
  http1::Field field;
  while (reader.next(field.name, field.value)) fields.push_back(field);
  if (!reader.ok()) return false;
  http1::ResponseInput in;
  in.status = head.status;
  in.reason = head.reason;
  in.body_size = body_size;
  in.body_as_chunks = head.chunk_list();
  in.more_data = head.more_data();
  in.disconnect = head.flags & HTTPAPI_SEND_FLAG_DISCONNECT;
  in.no_auto_chunking = head.flags & HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING;
  in.opaque = head.flags & HTTPAPI_SEND_FLAG_OPAQUE;
  in.version_minor = version_minor_;
  in.head_request = head_only_;
  in.keep_alive = keep_alive_;
  in.request_has_body = body_.has_body();
  in.shutting_down = shutting_down_;
  in.date = http_date_now();
  in.server = worker_.settings().server_header;
  std::string bytes;
  const http1::ResponsePlan plan = http1::plan_response(in, fields, bytes);
  if (plan.error != http1::ResponseError::none) return false;
  if (!bytes.empty()) send(bytes);
  if (plan.kind == http1::ResponseKind::interim) {
    continue_sent_ = continue_sent_ || head.status == 100;  // no second, automatic 100 Continue
    return true;
  }
  framing_ = plan.framing;
  declared_length_ = plan.declared_length;
  body_allowed_ = plan.body_allowed;
  close_after_ = plan.close_after;
  if (plan.kind == http1::ResponseKind::opaque) become_opaque();
  response_started_ = true;
  body_sent_ = 0;
  return true;
}

// After a 101 sent with OPAQUE: client bytes are read as an endless body (no body limit:
// none is checked past the head), application bytes are written as given, and the end of
// the application's stream ends the connection.
void HttpConnection::become_opaque() {
  opaque_ = true;
  body_.start_stream();
}

void HttpConnection::append_body(std::string_view data) {
  if (!body_allowed_ || data.empty()) return;
  switch (framing_) {
    case ResponseFraming::length:
      if (body_sent_ + data.size() > declared_length_) {
        send(data.substr(0, static_cast<std::size_t>(declared_length_ - body_sent_)));
        body_sent_ = declared_length_;
        return abort("Internal");  // more than its Content-Length: end it here
      }
      send(data);
      break;
    case ResponseFraming::chunked:
      send(fmt::format("{:x}\r\n", data.size()));
      send(data);
      send("\r\n");
      break;
    case ResponseFraming::close_delimited:
    case ResponseFraming::raw:
      send(data);
      break;
  }
  body_sent_ += data.size();
}

void HttpConnection::append_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  if (!body_allowed_ || length == 0) return;
  switch (framing_) {
    case ResponseFraming::length:
      if (body_sent_ + length > declared_length_) return abort("Internal");
      output_.append_file(std::move(fd), offset, length);
      break;
    case ResponseFraming::chunked:
      send(fmt::format("{:x}\r\n", length));
      output_.append_file(std::move(fd), offset, length);
      send("\r\n");
      break;
    case ResponseFraming::close_delimited:
    case ResponseFraming::raw:
      output_.append_file(std::move(fd), offset, length);
      break;
  }
  body_sent_ += length;
}

void HttpConnection::append_chunks(std::string_view list, SendAttachments& attachments) {
  for_each_chunk(
      list, attachments,
      [&](std::string_view data) {
        if (phase_ != Phase::closed) append_body(data);
      },
      [&](const ipc::BodyChunk& c, UniqueFd& fd) {
        if (phase_ != Phase::closed) append_file(std::move(fd), c.offset, c.length);
      });
}

void HttpConnection::finish_response(std::string_view trailers) {
  if (body_allowed_ && framing_ == ResponseFraming::chunked) send_last_chunk(trailers);
  if (body_allowed_ && framing_ == ResponseFraming::length && body_sent_ != declared_length_) {
    // Fewer bytes than declared: the client would wait forever for the rest.
    log_error(0, "Internal");
    phase_ = Phase::closing;
    return;
  }
  if (close_after_ || framing_ == ResponseFraming::close_delimited) {
    phase_ = Phase::closing;
    return;
  }
  if (body_.done()) {
    finish_exchange();
  } else {
    phase_ = Phase::draining;
    drain_started_ = monotonic_ms();
  }
  process();
}

void HttpConnection::serve_cached(const CachedResponse& entry) {
  const bool close = !keep_alive_ || shutting_down_;
  append_cache_hit(output_.append_buffer(), entry, http_date_now(), worker_.settings().server_header, close,
                   !close && version_minor_ == 0);
  if (close) {
    phase_ = Phase::closing;
  } else {
    finish_exchange();
  }
}

// The cooked URL is split again from cache_url_ ("http://host:port/path"), which
// cook_url produced, so the positions are known to exist.
void HttpConnection::store_in_cache(const ResponsePart& head, std::string_view body) {
  const std::string_view url = cache_url_;
  const std::size_t authority = url.find("://") + 3;
  const std::size_t path = url.find('/', authority);
  const std::string_view host_port = url.substr(authority, path - authority);
  const std::size_t colon = host_port.rfind(':');
  const CacheCandidate candidate{
      head.cache_kind, head.cache_seconds, head.status,
      head.reason.empty() ? http1::reason_phrase(head.status) : head.reason, head.fields, body};
  auto entry = make_cache_entry(candidate, url, host_port.substr(0, colon), local_port_,
                                url.substr(path), monotonic_seconds());
  if (!entry) return;
  entry->local_ip = local_ip_;
  worker_.service().cache().insert(std::move(entry), cache_generation_);
}

// The last chunk, then the trailer section (checked by valid_fields) and the blank line.
void HttpConnection::send_last_chunk(std::string_view trailers) {
  std::string end = "0\r\n";
  ipc::HeaderListReader reader(trailers);
  std::string_view name, value;
  while (reader.next(name, value)) end.append(name).append(": ").append(value).append("\r\n");
  send(end.append("\r\n"));
}

void HttpConnection::on_fail(std::uint64_t request_id, const SelfAnswer& answer,
                             const std::string& queue_name) {
  if (request_id != request_id_ || phase_ != Phase::with_app) return;
  queue_name_ = queue_name;
  if (answer.status == 0) return reset(answer.log_reason);
  if (response_started_) {
    log_error(0, answer.log_reason);
    return close_now();
  }
  reject(answer);
}

void HttpConnection::on_cancel(std::uint64_t request_id) {
  if (request_id != request_id_ || phase_ != Phase::with_app) return;
  log_error(0, "Request_Cancelled");
  close_now();
}

// The application broke the response: the stream to the client cannot be trusted anymore.
void HttpConnection::abort(std::string_view log_reason) {
  worker_.service().request_gone(request_id_);
  log_error(0, log_reason);
  close_now();
}

void HttpConnection::begin_shutdown() {
  shutting_down_ = true;
  if (phase_ == Phase::reading_head && in_start_ == in_.size()) {
    phase_ = Phase::closing;
    flush();
  }
}

void HttpConnection::on_tick(std::uint64_t now) {
  const Timers t = timers();
  if (send_rate_.too_slow(t.min_send_rate, output_.next_piece(), now)) {
    log_error(0, "Timer_MinBytesPerSecond");
    return close_now();
  }
  switch (phase_) {
    case Phase::closing:
      if (output_.empty() && now - linger_started_ >= kLingerMs) close_now();
      return;
    case Phase::reading_head:
      if (in_start_ < in_.size()) {
        if (expired(head_started_, now, t.header_wait)) {
          log_error(0, "Timer_HeaderWait");
          close_now();
        }
      } else if (!output_.empty()) {
        last_activity_ = now;  // still sending the last response: not idle yet
      } else if (expired(last_activity_, now, t.idle_connection)) {
        if (served_any_) log_error(0, "Timer_ConnectionIdle");
        close_now();
      } else if (now - last_activity_ >= kReleaseIdleMs) {
        release_idle_buffers();
      }
      return;
    case Phase::with_app:
      if (!waiting_for_body()) {
        body_clock_ = now;  // the wait is not the client's: the timer starts over
      } else if (expired(body_clock_, now, t.entity_body)) {
        log_error(0, "Timer_EntityBody");
        close_now();
      }
      return;
    case Phase::draining:
      // Not re-armed by arriving bytes: the whole drain must fit. HTTP.sys has no log
      // reason of its own for it; the body did not arrive in time, so Timer_EntityBody.
      if (expired(drain_started_, now, t.drain_entity_body)) {
        log_error(0, "Timer_EntityBody");
        close_now();
      }
      return;
    case Phase::closed:
      return;
  }
}

// Buffers keep their capacity between requests, which saves an allocation per request on a
// busy keep-alive connection; a connection idle for a second gives them back, since idle
// ones can be many and wait minutes (bench/idle.sh). Called with nothing buffered.
void HttpConnection::release_idle_buffers() {
  for (std::string* buffer : {&in_, &cooked_, &method_, &uri_, &queue_name_, &cache_url_}) {
    if (buffer->capacity() > std::string().capacity()) std::string().swap(*buffer);
  }
  in_start_ = 0;
  output_.release_memory();
}

// Is the service waiting for the client to send more of the request body? Not when the
// body is complete (or all of it is buffered), when the client waits for 100 Continue, or
// when the service stopped reading because the application does not take the body.
bool HttpConnection::waiting_for_body() const {
  // An opaque stream is the application's protocol: silence on it is not a slow body.
  if (opaque_ || body_.done() || peer_eof_ || (expect_continue_ && !continue_sent_)) return false;
  return in_.size() - in_start_ < kMaxBuffered &&
         !body_.complete_in(std::string_view(in_).substr(in_start_),
                            worker_.settings().chunked_limits);
}

std::string HttpConnection::remote_text() const { return endpoint_text(remote_); }
std::string HttpConnection::local_text() const { return endpoint_text(local_); }

std::string_view HttpConnection::phase_name() const noexcept {
  switch (phase_) {
    case Phase::reading_head: return in_start_ < in_.size() ? "reading request" : "idle";
    case Phase::with_app: return response_started_ ? "sending response" : "with application";
    case Phase::draining: return "draining body";
    case Phase::closing: return "closing";
    case Phase::closed: return "closed";
  }
  return "unknown";
}

// ---- plumbing ---------------------------------------------------------------------------

void HttpConnection::log_error(int status, std::string_view reason) {
  const std::string version = method_.empty() ? "" : fmt::format("HTTP/1.{}", version_minor_);
  ErrorLogEntry entry;
  entry.client_ip = remote_ip_;
  entry.client_port = port_of(remote_);
  entry.server_ip = local_ip_;
  entry.server_port = local_port_;
  entry.version = version;
  entry.method = method_;
  entry.uri = uri_;
  entry.status = status;
  entry.reason = reason;
  entry.queue = queue_name_;
  worker_.service().error_log().write(entry);
}

void HttpConnection::send(std::string_view bytes) { output_.append(bytes); }

void HttpConnection::flush() {
  BandwidthLimit* bandwidth =
      group_ && group_->bandwidth().limited() ? &group_->bandwidth() : nullptr;
  bool refused = false;  // the client's socket took less than it was given
  bandwidth_wait_ = false;
  while (!output_.empty()) {
    std::size_t length = static_cast<std::size_t>(
        std::min<std::uint64_t>(output_.next_piece(), kMaxWrite));
    if (bandwidth && (length = bandwidth->take(length, monotonic_ms())) == 0) {
      if (!wait_for_bandwidth()) return close_now();
      break;
    }
    const ssize_t n = output_.write_some(*transport_, length);
    if (bandwidth) bandwidth->give_back(n > 0 ? length - static_cast<std::size_t>(n) : length);
    if (n > 0) {
      send_rate_.sent(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      refused = true;
      break;
    }
    // A file shorter than the range its application promised: the client was told a
    // length the connection can no longer keep.
    if (n < 0 && errno == ENODATA) log_error(0, "Internal");
    return close_now();
  }
  if (refused) {
    send_rate_.refused(monotonic_ms());
  } else {
    send_rate_.took_everything();
  }
  update_throttle();
  if (output_.empty()) {
    if (phase_ == Phase::closing && !lingering_) {
      // Half-close and read what the client still sends, so our last response is not
      // destroyed by a reset when unread request bytes are in the kernel buffer.
      lingering_ = true;
      linger_started_ = monotonic_ms();
      transport_->shutdown_write();
      if (peer_eof_) return close_now();
    }
  }
  update_interest();
}

void HttpConnection::update_throttle() {
  const std::size_t backlog = output_.buffered();
  const std::size_t files = output_.files();
  if (!throttled_channel_ && (backlog > kOutputHighWater || files > kMaxQueuedFiles) &&
      response_channel_) {
    throttled_channel_ = response_channel_;
    worker_.service().throttle(throttled_channel_, true);
  } else if (throttled_channel_ &&
             ((backlog < kOutputLowWater && files <= kMaxQueuedFiles / 2) ||
              phase_ == Phase::closed)) {
    worker_.service().throttle(std::exchange(throttled_channel_, 0), false);
  }
}

void HttpConnection::update_interest() {
  std::uint32_t want = 0;
  if (!peer_eof_ && (in_.size() - in_start_ < kMaxBuffered || phase_ == Phase::closing)) {
    want |= EPOLLIN | EPOLLRDHUP;
  }
  if (!output_.empty() && !bandwidth_wait_) want |= EPOLLOUT;
  if (want != interest_) {
    interest_ = want;
    worker_.loop().modify(transport_->descriptor(), want);
  }
}

// Sleeps until the group's bandwidth allows more: on a timer, since the socket stays
// writable. False when no timer can be made (out of descriptors).
bool HttpConnection::wait_for_bandwidth() {
  if (bandwidth_timer_ < 0) {
    bandwidth_timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (bandwidth_timer_ < 0) return false;
    worker_.loop().watch(bandwidth_timer_, EPOLLIN, [this](std::uint32_t) {
      std::uint64_t expirations;
      if (::read(bandwidth_timer_, &expirations, sizeof expirations) > 0 &&
          phase_ != Phase::closed) {
        flush();
      }
    });
  }
  bandwidth_wait_ = true;
  const std::uint64_t ms = group_->bandwidth().wait_ms(output_.next_piece(), monotonic_ms());
  itimerspec when{};
  when.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  when.it_value.tv_nsec = static_cast<long>(ms % 1000) * 1000000;
  return timerfd_settime(bandwidth_timer_, 0, &when, nullptr) == 0;
}

void HttpConnection::close_now() {
  if (phase_ == Phase::closed) return;
  if (phase_ == Phase::with_app) worker_.service().request_gone(request_id_);
  phase_ = Phase::closed;
  update_throttle();
  worker_.loop().unwatch(transport_->descriptor());
  transport_->close();
  worker_.destroy_later(id_);
}

}  // namespace httpapi::daemon
