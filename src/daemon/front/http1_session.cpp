#include "daemon/front/http1_session.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "daemon/cache/cache_rules.hpp"
#include "daemon/front/connection.hpp"
#include "daemon/front/http_date.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

constexpr std::size_t kMaxFields = 256;
// An idle keep-alive connection gives its buffers back after this long.
constexpr std::uint64_t kReleaseIdleMs = 1000;

}  // namespace

Http1Session::Http1Session(Connection& connection, std::uint64_t now)
    : connection_(connection), exchange_(connection, *this), last_activity_(now),
      head_started_(now) {}

// ---- requests ---------------------------------------------------------------------------

void Http1Session::on_input(std::uint64_t now, std::size_t had_unconsumed,
                            std::size_t new_bytes) {
  last_activity_ = now;
  if (had_unconsumed == 0 && phase_ == Phase::reading_head) head_started_ = now;
  // HTTP.sys re-arms the entity-body timer on every arrival of body data.
  if (new_bytes > 0 && phase_ == Phase::with_app) body_clock_ = now;
  process();
  // A partial head that can never complete: nothing is owed for it.
  if (connection_.peer_eof() && phase_ == Phase::reading_head) connection_.close_gracefully();
}

void Http1Session::process() {
  while (!connection_.closing() && !connection_.closed()) {
    switch (phase_) {
      case Phase::reading_head:
        if (connection_.input().empty()) {
          // Nothing more will come (the client half-closed) or be taken (shutdown): finish
          // writing what is owed, then close.
          if (connection_.shutting_down() || connection_.peer_eof()) {
            connection_.close_gracefully();
          }
          return;
        }
        if (!parse_head()) return;
        continue;
      case Phase::with_app:
        exchange_.on_body_input();
        return;
      case Phase::draining:
        if (!drain_body()) return;
        finish_exchange();
        continue;
    }
  }
}

bool Http1Session::parse_head() {
  const std::string_view input = connection_.input();
  // One field array per thread: the views are used up before the next parse, and a fresh
  // array per call would cost more than parsing a small request.
  thread_local std::array<http1::Field, kMaxFields> fields;
  http1::RequestHead head;
  const auto result =
      http1::parse_request_head(input, connection_.settings().limits, fields, head, scanner_);
  switch (result.status) {
    case http1::Status::incomplete:
      return false;
    case http1::Status::error:
      remember_request_line(input, head);
      answer_self(answer_for(result.error));
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
void Http1Session::remember_request_line(std::string_view input,
                                         const http1::RequestHead& head) {
  RequestLog& log = exchange_.log();
  log.version_major = 1;
  if (!head.method.empty()) {
    log.method.assign(head.method);
    log.uri.assign(head.target.substr(0, 4096));
    log.version_minor = head.version_minor;
    return;
  }
  const std::string_view line = input.substr(0, input.find('\n'));
  const std::size_t first = line.find(' ');
  const std::size_t last = line.rfind(' ');
  if (first == std::string_view::npos || last <= first) return;
  std::string_view version = line.substr(last + 1);
  if (!version.empty() && version.back() == '\r') version.remove_suffix(1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return;
  log.method.assign(line.substr(0, std::min<std::size_t>(first, 255)));
  log.uri.assign(line.substr(first + 1, std::min<std::size_t>(last - first - 1, 4096)));
  log.version_minor = version.back() - '0';
}

void Http1Session::start_request(const http1::RequestHead& head) {
  scanner_ = {};
  served_any_ = true;
  version_minor_ = head.version_minor;
  head_only_ = head.method == "HEAD";
  keep_alive_ = head.keep_alive;
  expect_continue_ = head.expect_continue;
  continue_sent_ = false;
  opaque_ = false;
  response_started_ = false;
  close_after_ = false;
  body_.start(head.framing, head.content_length);
  connection_.consume(head.head_length);  // the views in `head` stay valid: nothing is read
  exchange_.start(head);
  if (exchange_.with_app()) {
    phase_ = Phase::with_app;
    body_clock_ = last_activity_;
  }
}

// Discards the rest of a body the application did not read; true once it is all gone.
bool Http1Session::drain_body() {
  const auto step = body_.decode(connection_.input(), SIZE_MAX, nullptr,
                                 connection_.settings().chunked_limits);
  connection_.consume(step.consumed);
  if (body_.failed()) {
    connection_.close_now();
    return false;
  }
  return body_.done();
}

void Http1Session::finish_exchange() {
  exchange_.clear();
  head_only_ = false;
  phase_ = Phase::reading_head;
  head_started_ = monotonic_ms();
  last_activity_ = head_started_;  // the idle timer starts when the exchange ends
}

// ---- the request body -------------------------------------------------------------------

BodyStatus Http1Session::read_body(std::size_t max, std::string& out, std::string& trailers) {
  const auto step =
      body_.decode(connection_.input(), max, &out, connection_.settings().chunked_limits);
  connection_.consume(step.consumed);
  if (body_.failed()) return BodyStatus::malformed;
  if (body_.done()) {
    trailers = body_.take_trailers();
    return BodyStatus::end;
  }
  if (step.produced > 0) return BodyStatus::data;
  // A byte stream ends when the client closes its side; a body cut short is gone.
  if (connection_.peer_eof()) return opaque_ ? BodyStatus::end : BodyStatus::truncated;
  return BodyStatus::waiting;
}

// The client waits for 100 Continue before sending the body: sent once the application
// shows it wants the body, so a request it refuses costs no upload.
void Http1Session::want_body() {
  if (expect_continue_ && !continue_sent_ && !body_.done() && connection_.input().empty() &&
      !response_started_) {
    connection_.send("HTTP/1.1 100 Continue\r\n\r\n");
    continue_sent_ = true;
  }
}

// Is the service waiting for the client to send more of the request body? Not when the
// body is complete (or all of it is buffered), when the client waits for 100 Continue, or
// when the service stopped reading because the application does not take the body.
bool Http1Session::waiting_for_body() const {
  // An opaque stream is the application's protocol: silence on it is not a slow body.
  if (opaque_ || body_.done() || connection_.peer_eof() || (expect_continue_ && !continue_sent_)) {
    return false;
  }
  return !connection_.input_full() &&
         !body_.complete_in(connection_.input(), connection_.settings().chunked_limits);
}

// ---- responses --------------------------------------------------------------------------

bool Http1Session::write_head(const ResponsePart& head, std::uint64_t body_size) {
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
  in.shutting_down = connection_.shutting_down();
  in.date = http_date_now();
  in.server = connection_.settings().server_header;
  std::string bytes;
  const http1::ResponsePlan plan = http1::plan_response(in, fields, bytes);
  if (plan.error != http1::ResponseError::none) return false;
  if (!bytes.empty()) connection_.send(bytes);
  if (plan.kind == http1::ResponseKind::interim) {
    continue_sent_ = continue_sent_ || head.status == 100;  // no second, automatic 100 Continue
    return true;
  }
  framing_ = plan.framing;
  declared_length_ = plan.declared_length;
  body_allowed_ = plan.body_allowed;
  close_after_ = plan.close_after;
  if (plan.kind == http1::ResponseKind::opaque) {
    // After a 101 sent with OPAQUE: client bytes are read as an endless body (no body
    // limit: none is checked past the head), application bytes are written as given, and
    // the end of the application's stream ends the connection.
    opaque_ = true;
    body_.start_stream();
  }
  response_started_ = true;
  body_sent_ = 0;
  return true;
}

bool Http1Session::write_body(std::string_view data) {
  if (!body_allowed_ || data.empty()) return true;
  switch (framing_) {
    case http1::ResponseFraming::length:
      if (body_sent_ + data.size() > declared_length_) {
        // More than its Content-Length: what fits goes out, then the response ends here.
        connection_.send(data.substr(0, static_cast<std::size_t>(declared_length_ - body_sent_)));
        body_sent_ = declared_length_;
        return false;
      }
      connection_.send(data);
      break;
    case http1::ResponseFraming::chunked:
      connection_.send(fmt::format("{:x}\r\n", data.size()));
      connection_.send(data);
      connection_.send("\r\n");
      break;
    case http1::ResponseFraming::close_delimited:
    case http1::ResponseFraming::raw:
      connection_.send(data);
      break;
  }
  body_sent_ += data.size();
  return true;
}

bool Http1Session::write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  if (!body_allowed_ || length == 0) return true;
  OutputQueue& output = connection_.output();
  switch (framing_) {
    case http1::ResponseFraming::length:
      if (body_sent_ + length > declared_length_) return false;
      output.append_file(std::move(fd), offset, length);
      break;
    case http1::ResponseFraming::chunked:
      connection_.send(fmt::format("{:x}\r\n", length));
      output.append_file(std::move(fd), offset, length);
      connection_.send("\r\n");
      break;
    case http1::ResponseFraming::close_delimited:
    case http1::ResponseFraming::raw:
      output.append_file(std::move(fd), offset, length);
      break;
  }
  body_sent_ += length;
  return true;
}

void Http1Session::end_response(std::string_view trailers, bool disconnect) {
  close_after_ = close_after_ || disconnect;
  if (body_allowed_ && framing_ == http1::ResponseFraming::chunked) send_last_chunk(trailers);
  if (body_allowed_ && framing_ == http1::ResponseFraming::length &&
      body_sent_ != declared_length_) {
    // Fewer bytes than declared: the client would wait forever for the rest.
    connection_.log_error(exchange_.log(), 0, "Internal");
    return connection_.close_gracefully();
  }
  if (close_after_ || framing_ == http1::ResponseFraming::close_delimited) {
    return connection_.close_gracefully();
  }
  if (body_.done()) {
    finish_exchange();
  } else {
    phase_ = Phase::draining;
    drain_started_ = monotonic_ms();
  }
  process();
}

// The last chunk, then the trailer section (checked by the exchange) and the blank line.
void Http1Session::send_last_chunk(std::string_view trailers) {
  std::string end = "0\r\n";
  ipc::HeaderListReader reader(trailers);
  std::string_view name, value;
  while (reader.next(name, value)) end.append(name).append(": ").append(value).append("\r\n");
  connection_.send(end.append("\r\n"));
}

void Http1Session::write_cached(const CachedResponse& entry) {
  const bool close = !keep_alive_ || connection_.shutting_down();
  append_cache_hit(connection_.output().append_buffer(), entry, http_date_now(),
                   connection_.settings().server_header, close, !close && version_minor_ == 0);
  if (close) {
    connection_.close_gracefully();
  } else {
    finish_exchange();
  }
}

void Http1Session::answer_self(const SelfAnswer& answer) {
  connection_.log_error(exchange_.log(), answer.status, answer.log_reason);
  connection_.send(render_self_answer(answer, head_only_, connection_.settings().server_header));
  connection_.close_gracefully();
  connection_.flush();
}

// ---- the connection's life --------------------------------------------------------------

void Http1Session::begin_shutdown() {
  if (phase_ == Phase::reading_head && connection_.input().empty()) {
    connection_.close_gracefully();
    connection_.flush();
  }
}

void Http1Session::on_close() { exchange_.on_connection_closed(); }

Exchange* Http1Session::exchange(std::uint64_t request_id) {
  const bool current = phase_ == Phase::with_app && exchange_.with_app() &&
                       exchange_.request_id() == request_id;
  return current ? &exchange_ : nullptr;
}

const RequestLog& Http1Session::current_request() const {
  return exchange_.log();
}

void Http1Session::on_tick(std::uint64_t now, const Timers& t) {
  switch (phase_) {
    case Phase::reading_head:
      if (!connection_.input().empty()) {
        if (expired(head_started_, now, t.header_wait)) {
          connection_.log_error(exchange_.log(), 0, "Timer_HeaderWait");
          connection_.close_now();
        }
      } else if (!connection_.output().empty()) {
        last_activity_ = now;  // still sending the last response: not idle yet
      } else if (expired(last_activity_, now, t.idle_connection)) {
        if (served_any_) connection_.log_error(exchange_.log(), 0, "Timer_ConnectionIdle");
        connection_.close_now();
      } else if (now - last_activity_ >= kReleaseIdleMs) {
        release_idle_buffers();
      }
      return;
    case Phase::with_app:
      if (!waiting_for_body()) {
        body_clock_ = now;  // the wait is not the client's: the timer starts over
      } else if (expired(body_clock_, now, t.entity_body)) {
        connection_.log_error(exchange_.log(), 0, "Timer_EntityBody");
        connection_.close_now();
      }
      return;
    case Phase::draining:
      // Not re-armed by arriving bytes: the whole drain must fit. HTTP.sys has no log
      // reason of its own for it; the body did not arrive in time, so Timer_EntityBody.
      if (expired(drain_started_, now, t.drain_entity_body)) {
        connection_.log_error(exchange_.log(), 0, "Timer_EntityBody");
        connection_.close_now();
      }
      return;
  }
}

void Http1Session::release_idle_buffers() {
  connection_.release_idle_buffers();
  exchange_.release_memory();
}

std::string_view Http1Session::state_name() const {
  switch (phase_) {
    case Phase::reading_head: return connection_.input().empty() ? "idle" : "reading request";
    case Phase::with_app: return response_started_ ? "sending response" : "with application";
    case Phase::draining: return "draining body";
  }
  return "unknown";
}

}  // namespace httpapi::daemon
