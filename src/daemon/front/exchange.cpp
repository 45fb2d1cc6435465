#include "daemon/front/exchange.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "daemon/builtin/builtin_urls.hpp"
#include "daemon/cache/cache_rules.hpp"
#include "daemon/front/connection.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/service.hpp"
#include "http1/reason_phrase.hpp"
#include "http1/syntax.hpp"
#include "http1/response_head.hpp"
#include "http1/url_cooker.hpp"
#include "httpapi/httpapi.h"
#include "ipc/body_chunks.hpp"
#include "ipc/messages.hpp"
#include "tls/session_info.hpp"

namespace httpapi::daemon {
namespace {

// Trailers follow the rules of the head's fields (http1::valid_response_field).
bool valid_fields(std::string_view list) {
  ipc::HeaderListReader reader(list);
  std::string_view name, value;
  while (reader.next(name, value)) {
    if (!http1::valid_response_field(name, value)) return false;
  }
  return reader.ok();
}

// The bytes a fragment chunk stands for: its range, cut to the fragment's size.
std::string_view fragment_bytes(const ipc::BodyChunk& chunk, const Fragment& fragment) {
  const std::string_view bytes = fragment.bytes;
  if (chunk.offset >= bytes.size()) return {};
  return bytes.substr(static_cast<std::size_t>(chunk.offset),
                      static_cast<std::size_t>(std::min<std::uint64_t>(
                          chunk.length, bytes.size() - chunk.offset)));
}

// Walks a chunk list whose descriptors and fragments the service loop resolved, in order:
// memory and fragment bytes go to on_bytes, file ranges to on_file; stops when one of them
// returns false, and returns false then.
template <typename OnBytes, typename OnFile>
bool for_each_chunk(std::string_view list, SendAttachments& attachments, OnBytes on_bytes,
                    OnFile on_file) {
  ipc::ChunkListReader reader(list);
  ipc::BodyChunk chunk;
  std::size_t file = 0, fragment = 0;
  bool ok = true;
  while (ok && reader.next(chunk)) {
    switch (chunk.kind) {
      case ipc::ChunkKind::memory: ok = on_bytes(chunk.data); break;
      case ipc::ChunkKind::file:
        if (file < attachments.files.size()) ok = on_file(chunk, attachments.files[file++]);
        break;
      case ipc::ChunkKind::fragment:
        if (fragment < attachments.fragments.size()) {
          ok = on_bytes(fragment_bytes(chunk, *attachments.fragments[fragment++]));
        }
        break;
    }
  }
  return ok;
}

std::uint64_t chunk_list_size(std::string_view list, SendAttachments& attachments) {
  std::uint64_t total = 0;
  for_each_chunk(
      list, attachments,
      [&](std::string_view data) {
        total += data.size();
        return true;
      },
      [&](const ipc::BodyChunk& c, UniqueFd&) {
        total += c.length;
        return true;
      });
  return total;
}

// The whole body of a response to keep in the response cache: file ranges are read here
// (the cache holds bytes, never descriptors). Empty on a read error or past `limit`.
std::optional<std::string> gather_chunks(std::string_view list, SendAttachments& attachments,
                                         std::size_t limit) {
  if (chunk_list_size(list, attachments) > limit) return std::nullopt;
  std::string body;
  const bool read = for_each_chunk(
      list, attachments,
      [&](std::string_view data) {
        body.append(data);
        return true;
      },
      [&](const ipc::BodyChunk& c, UniqueFd& fd) {
        const std::size_t at = body.size();
        body.resize(at + c.length);
        const ssize_t n =
            ::pread(fd.get(), body.data() + at, c.length, static_cast<off_t>(c.offset));
        return n == static_cast<ssize_t>(c.length);
      });
  if (!read) return std::nullopt;
  return body;
}

static_assert(ipc::kRequestSecure == HTTPAPI_REQUEST_FLAG_SECURE);

// What the application learns of the connection's TLS session: views of it, which the
// encoder copies into the request frame.
ipc::RequestTls request_tls(const tls::SessionInfo& session) {
  ipc::RequestTls tls;
  tls.protocol = session.protocol;
  tls.cipher = session.cipher;
  tls.sni = session.sni;
  tls.alpn = session.alpn;
  tls.resumed = session.resumed;
  // A certificate OpenSSL could not encode again (no DER) cannot be shown: the request frame
  // refuses one without bytes, so it goes as none rather than failing the request.
  const auto& certificate = session.client_certificate;
  if (certificate && !certificate->der.empty()) {
    tls.client_certificate = true;
    tls.client_certificate_verified = certificate->verified;
    tls.client_certificate_der = certificate->der;
    tls.client_certificate_subject = certificate->subject;
    tls.client_certificate_issuer = certificate->issuer;
  }
  return tls;
}

static_assert(ipc::kRequestProxied == HTTPAPI_REQUEST_FLAG_PROXIED);

// What the application learns of the PROXY header: views of it (and of `balancer`, which
// the caller keeps alive), which the encoder copies into the request frame.
ipc::RequestProxy request_proxy(const ProxiedBy& proxied, const sockaddr_storage& balancer) {
  ipc::RequestProxy p;
  p.proxied_by = {reinterpret_cast<const char*>(&balancer), sizeof balancer};
  const proxy::Tlvs& t = proxied.header.tlvs;
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
  return p;
}

// Client-sent text kept for a log line: bounded, as the error log's URI is.
void keep(std::string& out, std::string_view value) { out.assign(value.substr(0, 4096)); }

}  // namespace

// ---- admission --------------------------------------------------------------------------

void Exchange::start(const http1::RequestHead& head) {
  log_.method.assign(head.method);
  log_.uri.assign(head.target.substr(0, 4096));
  log_.version_major = head.version_major;
  log_.version_minor = head.version_minor;
  pending_read_ = 0;
  goaway_ = false;
  end_connection_if_draining();
  note_request(head);

  cooked_.resize(http1::cooked_url_capacity(head.target, head.host));
  http1::CookedUrl url;
  // A TLS connection's requests say https:// and route among https prefixes.
  const bool secure = connection_->tls_session() != nullptr;
  if (const auto error = http1::cook_url(head.target, head.target_form, head.host,
                                         connection_->local_ip(), connection_->local_port(),
                                         secure, connection_->settings().limits, cooked_, url);
      error != http1::Error::none) {
    return reject(answer_for(error));
  }
  ResponseCache& cache = connection_->service().cache();
  // Read before the routes: a routing change after this point makes the answer unstorable.
  cache_generation_ = cache.generation();
  cacheable_ = cache.enabled() && cacheable_request(head, url);
  const auto routes = connection_->service().routes();
  const route::Match match =
      routes->match(secure, connection_->local_port(), url.host, connection_->local_ip(), url.path);
  if (match.kind == route::MatchKind::no_host) {
    return reject(answer_for(http1::Error::invalid_hostname));
  }
  if (match.kind == route::MatchKind::no_path) return reject(not_found());
  if (match.target.builtin != 0) return answer_builtin(head, url, match.target.builtin);
  if (match.target.access_log) access_group_ = match.target.group_id;
  if (match.target.queue_id == 0) return reject(service_unavailable("N/A"));
  metrics_queue_ = connection_->worker().metrics().queue(match.target.queue_name);
  if (!connection_->enter_group(match.target.group_id)) return refuse(match.target, "ConnLimit");
  access_.queue.assign(match.target.queue_name);
  if (cacheable_) {
    if (auto hit = cache.find(url.full, batch_seconds())) {
      access_.cache = CacheUse::hit;
      access_.status = hit->status;
      note_first_byte();
      return stream_.write_cached(*hit);
    }
    access_.cache = CacheUse::miss;
    cache_url_.assign(url.full);
  }
  submit(head, url, match);
}

void Exchange::submit(const http1::RequestHead& head, const http1::CookedUrl& url,
                      const route::Match& match) {
  // Copied into the frame below: one buffer per thread serves every request.
  thread_local std::string headers;
  headers.clear();
  headers.reserve(head.head_length + 8 * head.field_count);
  for (std::size_t i = 0; i < head.field_count; ++i) {
    ipc::append_header(headers, head.fields[i].name, head.fields[i].value);
  }
  // The first body bytes travel with the request, so a small body costs no read; they are
  // copied into the frame too.
  thread_local std::string body;
  body.clear();
  std::string trailers;
  const BodyStatus body_status =
      stream_.read_body(connection_->settings().inline_body_bytes, body, trailers);
  if (body_status == BodyStatus::malformed) return reject(answer_for(stream_.body_error()));
  Service& service = connection_->service();
  request_id_ = service.next_request_id();
  ipc::Request message;
  message.request = request_id_;
  message.connection = connection_->id();
  message.url_context = match.target.url_context;
  message.flags = (body_status == BodyStatus::end ? 0u : HTTPAPI_REQUEST_FLAG_MORE_BODY) |
                  (match.ip_routed ? HTTPAPI_REQUEST_FLAG_IP_ROUTED : 0u) |
                  (head.version_major == 2 ? HTTPAPI_REQUEST_FLAG_HTTP2 : 0u);
  message.version_major = static_cast<std::uint16_t>(head.version_major);
  message.version_minor = static_cast<std::uint16_t>(head.version_minor);
  message.port = connection_->local_port();
  const sockaddr_storage local = connection_->local(), remote = connection_->remote();
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
  message.trailers = trailers;
  if (const tls::SessionInfo* session = connection_->tls_session()) {
    message.flags |= HTTPAPI_REQUEST_FLAG_SECURE;
    message.tls = request_tls(*session);
  }
  const ProxiedBy* proxied = connection_->proxied_by();
  if (proxied) {
    message.flags |= HTTPAPI_REQUEST_FLAG_PROXIED;
    message.proxy = request_proxy(*proxied, proxied->balancer);
  }
  // The frame's buffer comes back from the service loop once the frame is done with.
  InboundRequest inbound{request_id_,
                         match.target.queue_id,
                         connection_->worker().index(),
                         connection_->id(),
                         connection_->worker().hand_off_buffers().take(),
                         connection_->timers().request_queue};
  inbound.frame.reserve(2 * ipc::kSockaddrSize + 2 * head.head_length + url.full.size() +
                        body.size() + ipc::tls_tail_size(message.tls) +
                        ipc::proxy_tail_size(message.proxy) + 256);
  if (!ipc::encode(inbound.frame, message)) {
    return reject(answer_for(http1::Error::request_too_long));
  }
  with_app_ = true;
  service.submit(std::move(inbound));
}

// Written as a cache hit is (never stored in the cache: its answer changes), so each
// protocol frames it as its own and keeps the connection open; the server-wide access log
// takes its line.
void Exchange::answer_builtin(const http1::RequestHead& head, const http1::CookedUrl& url,
                              std::uint32_t builtin) {
  const BuiltinAnswer answer =
      connection_->service().builtin_urls().answer(builtin, {head.method, url.path, url.query});
  CachedResponse response;
  render_builtin(answer, head.method == "HEAD", response);
  access_.status = response.status;
  note_first_byte();
  stream_.write_cached(response);
}

// During a drain's grace period (daemon/drain/drain.hpp) every answer ends its connection,
// as an application's GOAWAY does (HTTP/1.1 Connection: close, HTTP/2 GOAWAY): the client's
// next request opens a new connection, which the balancer sends to another host.
void Exchange::end_connection_if_draining() {
  if (connection_->service().draining()) stream_.go_away();
}

// A request refused before it reaches its queue: answered here, the way its queue's 503
// verbosity (carried in the routing snapshot) asks.
void Exchange::refuse(const route::Target& target, std::string_view log_reason) {
  log_.queue.assign(target.queue_name);
  const SelfAnswer answer = service_unavailable(log_reason, target.verbosity);
  if (answer.status == 0) return reset(log_reason);
  reject(answer);
}

void Exchange::reject(const SelfAnswer& answer) {
  note_answer(answer.status, answer.log_reason);
  note_first_byte();
  if (answer.status == 503) connection_->worker().metrics().unavailable(answer.log_reason);
  stream_.answer_self(answer);
}

// 503 verbosity "basic": the connection is reset, no answer is sent.
void Exchange::reset(std::string_view log_reason) {
  note_answer(0, log_reason);
  connection_->worker().metrics().unavailable(log_reason);
  access_.win32_status = kWin32Aborted;
  connection_->log_error(log_, 0, log_reason);
  stream_.abort(true);
}

void Exchange::clear() {
  request_id_ = 0;
  channel_ = 0;
  with_app_ = false;
  pending_read_ = 0;
  goaway_ = false;
  log_.clear();
  started_us_ = batch_us();
  first_byte_us_ = 0;
  metrics_queue_ = nullptr;
  access_group_ = 0;
  access_logged_ = false;
  access_.host.clear();
  access_.user_agent.clear();
  access_.referer.clear();
  access_.cookie.clear();
  access_.username.clear();
  access_.queue.clear();
  access_.reason.clear();
  access_.status = 0;
  access_.substatus = 0;
  access_.win32_status = 0;
  access_.cache = CacheUse::none;
}

// ---- the access log ---------------------------------------------------------------------

// What the log needs of the head beyond the error log's request line, kept only when some
// log may take the request: with logging off, a request pays nothing for it.
void Exchange::note_request(const http1::RequestHead& head) {
  if (connection_->settings().access_log_format == AccessFormat::none &&
      !connection_->service().access_log().groups_logging()) {
    return;
  }
  keep(access_.host, head.host);
  for (std::size_t i = 0; i < head.field_count; ++i) {
    const http1::Field& field = head.fields[i];
    if (http1::syntax::iequals(field.name, "user-agent")) {
      keep(access_.user_agent, field.value);
    } else if (http1::syntax::iequals(field.name, "referer")) {
      keep(access_.referer, field.value);
    } else if (http1::syntax::iequals(field.name, "cookie")) {
      keep(access_.cookie, field.value);
    }
  }
}

void Exchange::note_answer(int status, std::string_view reason) {
  access_.status = static_cast<std::uint16_t>(status);
  access_.reason.assign(reason);
}

void Exchange::note_first_byte() noexcept {
  if (first_byte_us_ == 0) first_byte_us_ = batch_us();
}

// Into this I/O thread's own counters: no lock, no allocation (worker_metrics.hpp).
void Exchange::count_request() noexcept {
  metrics::RequestDone done;
  done.queue = metrics_queue_;
  done.status = access_.status;
  done.protocol = metrics::protocol_of(log_.version_major, log_.version_minor);
  if (access_.status != 0 && first_byte_us_ >= started_us_) {
    done.first_byte_us = first_byte_us_ - started_us_;
  }
  done.bytes_in = stream_.bytes_in();
  done.bytes_out = stream_.bytes_out();
  done.cache = access_.cache;
  connection_->worker().metrics().request_done(done);
}

void Exchange::log_access(bool cut_short) {
  if (access_logged_) return;
  access_logged_ = true;
  count_request();
  const AccessFormat server_format = connection_->settings().access_log_format;
  if (access_group_ == 0 && server_format == AccessFormat::none) return;
  AccessRecord& r = access_;
  r.time_ms = batch_wall_ms();
  r.time_taken_ms = (batch_us() - started_us_) / 1000;
  r.client_ip = connection_->remote_ip();
  r.client_port = connection_->remote_port();
  r.server_ip = connection_->local_ip();
  r.server_port = connection_->local_port();
  r.method = log_.method;
  r.uri = log_.uri;
  r.version_major = log_.version_major;
  r.version_minor = log_.version_minor;
  const tls::SessionInfo* session = connection_->tls_session();
  if (session) {
    r.tls_protocol = session->protocol;
  } else {
    r.tls_protocol.clear();
  }
  if (!log_.queue.empty()) r.queue = log_.queue;
  r.bytes_in = stream_.bytes_in();
  r.bytes_out = stream_.bytes_out();
  if (cut_short && r.win32_status == 0) r.win32_status = kWin32ClientGone;
  connection_->service().access_log().push(access_group_, server_format, r);
}

// ---- the body ---------------------------------------------------------------------------

void Exchange::on_read_body(std::uint32_t max) {
  pending_read_ = max;
  on_body_input();
}

void Exchange::on_body_input() {
  if (pending_read_ == 0) return;
  stream_.want_body();
  std::string data, trailers;
  const BodyStatus status = stream_.read_body(pending_read_, data, trailers);
  Service& service = connection_->service();
  switch (status) {
    case BodyStatus::waiting:
      return;
    case BodyStatus::data:
      service.body_ready(request_id_, std::move(data), {}, 0);
      break;
    case BodyStatus::end:
      service.body_ready(request_id_, std::move(data), std::move(trailers), ipc::kBodyEnd);
      break;
    case BodyStatus::truncated:
      service.body_ready(request_id_, {}, {}, ipc::kBodyGone);
      break;
    case BodyStatus::malformed:
      service.body_ready(request_id_, {}, {}, ipc::kBodyGone);
      pending_read_ = 0;
      if (stream_.response_started()) return stream_.abort(false);
      leave_service();
      return reject(answer_for(stream_.body_error()));
  }
  pending_read_ = 0;
}

// ---- the response -----------------------------------------------------------------------

void Exchange::on_response(const ResponsePart& part, SendAttachments& attachments) {
  if (part.kind == ResponsePart::Kind::log_data) {
    access_.substatus = part.substatus;
    access_.username = part.fields;
    return;
  }
  const bool chunks = part.chunk_list();
  if (part.kind == ResponsePart::Kind::head) end_connection_if_draining();
  if ((part.flags & HTTPAPI_SEND_FLAG_GOAWAY) && !goaway_) {
    goaway_ = true;
    stream_.go_away();
  }
  switch (part.kind) {
    case ResponsePart::Kind::head: {
      if (stream_.response_started()) return abort("Internal");
      const std::uint64_t body_size =
          chunks ? chunk_list_size(part.body, attachments) : part.body.size();
      if (!stream_.write_head(part, body_size)) return abort("Internal");
      if (!stream_.response_started()) return;  // an interim 1xx response
      access_.status = part.status;
      note_first_byte();
      const bool cache = !part.more_data() && part.cache_kind != HTTPAPI_CACHE_NONE && cacheable_;
      std::optional<std::string> cached_body;
      if (cache && chunks) {
        cached_body = gather_chunks(part.body, attachments,
                                    connection_->service().cache().max_response_bytes());
      }
      if (!(chunks ? write_chunks(part.body, attachments) : stream_.write_body(part.body))) {
        return abort("Internal");
      }
      if (part.more_data()) return;
      if (cache && (!chunks || cached_body)) {
        store_in_cache(part, chunks ? std::string_view(*cached_body) : part.body);
      }
      break;
    }
    case ResponsePart::Kind::body:
      if (!stream_.response_started()) return abort("Internal");
      if (!(chunks ? write_chunks(part.body, attachments) : stream_.write_body(part.body))) {
        return abort("Internal");
      }
      if (part.more_data()) return;
      break;
    case ResponsePart::Kind::trailers:
      if (!stream_.response_started() || !valid_fields(part.fields)) return abort("Internal");
      break;
    case ResponsePart::Kind::log_data:
      break;  // taken above: it neither starts nor ends anything
  }
  // The application's last word: the service has forgotten the request. Ending the response
  // may start the next request on this very object, so nothing follows the call.
  with_app_ = false;
  const bool disconnect = (part.flags & HTTPAPI_SEND_FLAG_DISCONNECT) || goaway_;
  stream_.end_response(part.kind == ResponsePart::Kind::trailers ? part.fields : "", disconnect);
}

bool Exchange::write_chunks(std::string_view list, SendAttachments& attachments) {
  return for_each_chunk(
      list, attachments, [&](std::string_view data) { return stream_.write_body(data); },
      [&](const ipc::BodyChunk& c, UniqueFd& fd) {
        return stream_.write_file(std::move(fd), c.offset, c.length);
      });
}

// The cooked URL is split again from cache_url_ ("http://host:port/path"), which
// cook_url produced, so the positions are known to exist.
void Exchange::store_in_cache(const ResponsePart& head, std::string_view body) {
  const std::string_view url = cache_url_;
  const std::size_t authority = url.find("://") + 3;
  const std::size_t path = url.find('/', authority);
  const std::string_view host_port = url.substr(authority, path - authority);
  const std::size_t colon = host_port.rfind(':');
  const CacheCandidate candidate{
      head.cache_kind, head.cache_seconds, head.status,
      head.reason.empty() ? http1::reason_phrase(head.status) : head.reason, head.fields, body};
  auto entry = make_cache_entry(candidate, url, host_port.substr(0, colon),
                                connection_->local_port(), url.substr(path), monotonic_seconds());
  if (!entry) return;
  entry->local_ip = connection_->local_ip();
  connection_->service().cache().insert(std::move(entry), cache_generation_);
}

// ---- the end ----------------------------------------------------------------------------

void Exchange::on_fail(const SelfAnswer& answer, const std::string& queue_name) {
  log_.queue = queue_name;
  with_app_ = false;  // the service failed it: it holds the request no more
  if (answer.status == 0) return reset(answer.log_reason);
  if (stream_.response_started()) {
    access_.reason.assign(answer.log_reason);
    access_.win32_status = kWin32Aborted;
    connection_->log_error(log_, 0, answer.log_reason);
    return stream_.abort(false);
  }
  reject(answer);
}

void Exchange::on_cancel() {
  access_.reason.assign("Request_Cancelled");
  access_.win32_status = kWin32Aborted;
  connection_->log_error(log_, 0, "Request_Cancelled");
  leave_service();
  stream_.abort(false);
}

// The application broke the response: the stream to the client cannot be trusted anymore.
void Exchange::abort(std::string_view log_reason) {
  access_.reason.assign(log_reason);
  access_.win32_status = kWin32Aborted;
  leave_service();
  connection_->log_error(log_, 0, log_reason);
  stream_.abort(false);
}

void Exchange::on_connection_closed() {
  leave_service();
  log_access(true);
}

void Exchange::leave_service() {
  if (with_app_) connection_->service().request_gone(request_id_);
  with_app_ = false;
}

}  // namespace httpapi::daemon
