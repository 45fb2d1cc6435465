#include "daemon/front/http1_stream.hpp"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "daemon/cache/cache_rules.hpp"
#include "daemon/front/connection.hpp"
#include "daemon/front/http1_session.hpp"
#include "daemon/front/http_date.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// The chunk-size line before `size` bytes of a chunked body, written in place; its length.
std::size_t append_chunk_size(OutputQueue& out, std::uint64_t size) {
  char line[20];
  char* end = std::to_chars(line, line + 16, size, 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  const auto length = static_cast<std::size_t>(end - line);
  out.append(std::string_view(line, length));
  return length;
}

}  // namespace

void Http1Stream::attach(Http1Session& session, Connection& connection) noexcept {
  session_ = &session;
  connection_ = &connection;
  exchange_.attach(connection);
}

void Http1Stream::reset_state(bool at_head) {
  exchange_.clear();
  at_head_ = at_head;
  later_output_.clear();
  started_ = false;
  complete_ = false;
  close_after_ = false;
  opaque_ = false;
  continue_sent_ = false;
  body_sent_ = 0;
  bytes_in_ = 0;
  bytes_out_ = 0;
}

void Http1Stream::start(const http1::RequestHead& head, bool at_head, std::uint64_t now) {
  reset_state(at_head);
  version_minor_ = static_cast<std::uint8_t>(head.version_minor);
  head_only_ = head.method == "HEAD";
  keep_alive_ = head.keep_alive;
  may_switch_ = head.upgrade || head.method == "CONNECT";
  expect_continue_ = head.expect_continue;
  body_.start(head.framing, head.content_length);
  body_clock_ = now;
  bytes_in_ = head.head_length;
  exchange_.start(head);
}

// For the error log: the request line of a refused head, as far as it can be read. The
// parser fills it when only the head's meaning was refused; otherwise the first line is
// split here if it has the shape "METHOD TARGET HTTP/1.x".
void Http1Stream::refuse_head(std::string_view input, const http1::RequestHead& head,
                              const SelfAnswer& answer, bool at_head) {
  reset_state(at_head);
  head_only_ = false;
  keep_alive_ = false;
  may_switch_ = false;
  expect_continue_ = false;
  body_.start(http1::Framing::none, 0);
  exchange_.clear();
  bytes_in_ = input.size();
  RequestLog& log = exchange_.log();
  log.version_major = 1;
  if (!head.method.empty()) {
    log.method.assign(head.method);
    log.uri.assign(head.target.substr(0, 4096));
    log.version_minor = head.version_minor;
  } else {
    const std::string_view line = input.substr(0, input.find('\n'));
    const std::size_t first = line.find(' ');
    const std::size_t last = line.rfind(' ');
    std::string_view version =
        first == std::string_view::npos || last <= first ? "" : line.substr(last + 1);
    if (!version.empty() && version.back() == '\r') version.remove_suffix(1);
    if (version == "HTTP/1.1" || version == "HTTP/1.0") {
      log.method.assign(line.substr(0, std::min<std::size_t>(first, 255)));
      log.uri.assign(line.substr(first + 1, std::min<std::size_t>(last - first - 1, 4096)));
      log.version_minor = version.back() - '0';
    }
  }
  exchange_.reject(answer);
}

void Http1Stream::become_head() {
  at_head_ = true;
  connection_->output().append_queue(later_output_);
  // A client waiting for 100 Continue could not be told before: now it can.
  exchange_.on_body_input();
}

OutputQueue& Http1Stream::output() { return at_head_ ? connection_->output() : later_output_; }

bool Http1Stream::lets_next_request_in() const noexcept {
  return keep_alive_ && !may_switch_ && !close_after_ && body_.done();
}

// ---- the request body -------------------------------------------------------------------

BodyStatus Http1Stream::read_body(std::size_t max, std::string& out, std::string& trailers) {
  const auto step =
      body_.decode(connection_->input(), max, &out, connection_->settings().chunked_limits);
  connection_->consume(step.consumed);
  bytes_in_ += step.consumed;
  if (body_.failed()) return BodyStatus::malformed;
  if (body_.done()) {
    trailers = body_.take_trailers();
    return BodyStatus::end;
  }
  if (step.produced > 0) return BodyStatus::data;
  // A byte stream ends when the client closes its side; a body cut short is gone.
  if (connection_->peer_eof()) return opaque_ ? BodyStatus::end : BodyStatus::truncated;
  return BodyStatus::waiting;
}

// The client waits for 100 Continue before sending the body: sent once the application
// shows it wants the body, so a request it refuses costs no upload. Behind an earlier
// response it would have to wait anyway; it is sent when this stream reaches the head.
void Http1Stream::want_body() {
  if (expect_continue_ && !continue_sent_ && at_head_ && !body_.done() &&
      connection_->input().empty() && !started_) {
    send("HTTP/1.1 100 Continue\r\n\r\n");
    continue_sent_ = true;
  }
}

bool Http1Stream::drain_body() {
  const auto step = body_.decode(connection_->input(), SIZE_MAX, nullptr,
                                 connection_->settings().chunked_limits);
  connection_->consume(step.consumed);
  return !body_.failed();
}

// Not when the body is complete (or all of it is buffered), when the client waits for 100
// Continue, or when the service stopped reading because the application does not take it.
bool Http1Stream::waiting_for_body() const {
  // An opaque stream is the application's protocol: silence on it is not a slow body.
  if (opaque_ || body_.done() || connection_->peer_eof() || (expect_continue_ && !continue_sent_)) {
    return false;
  }
  return !connection_->input_full() &&
         !body_.complete_in(connection_->input(), connection_->settings().chunked_limits);
}

// ---- the response -----------------------------------------------------------------------

bool Http1Stream::write_head(const ResponsePart& head, std::uint64_t body_size) {
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
  // GOAWAY on HTTP/1.1 is a disconnect: the head says so.
  in.disconnect = head.flags & (HTTPAPI_SEND_FLAG_DISCONNECT | HTTPAPI_SEND_FLAG_GOAWAY);
  in.no_auto_chunking = head.flags & HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING;
  in.opaque = head.flags & HTTPAPI_SEND_FLAG_OPAQUE;
  in.version_minor = version_minor_;
  in.head_request = head_only_;
  in.keep_alive = keep_alive_;
  in.request_has_body = body_.has_body();
  // Requests already admitted behind this one are still answered; the last one closes.
  in.shutting_down = connection_->shutting_down() && session_->is_last(*this);
  in.date = http_date_now();
  in.server = connection_->settings().server_header;
  // Rendered here, then copied to the output: one buffer per thread serves every response.
  thread_local std::string bytes;
  bytes.clear();
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
  if (plan.kind == http1::ResponseKind::opaque) {
    // After a 101 sent with OPAQUE: client bytes are read as an endless body (no body
    // limit: none is checked past the head), application bytes are written as given, and
    // the end of the application's stream ends the connection.
    opaque_ = true;
    body_.start_stream();
  }
  started_ = true;
  body_sent_ = 0;
  return true;
}

bool Http1Stream::write_body(std::string_view data) {
  if (!body_allowed_ || data.empty()) return true;
  switch (framing_) {
    case http1::ResponseFraming::length:
      if (body_sent_ + data.size() > declared_length_) {
        // More than its Content-Length: what fits goes out, then the response ends here.
        send(data.substr(0, static_cast<std::size_t>(declared_length_ - body_sent_)));
        body_sent_ = declared_length_;
        return false;
      }
      send(data);
      break;
    case http1::ResponseFraming::chunked:
      bytes_out_ += append_chunk_size(output(), data.size());
      send(data);
      send("\r\n");
      break;
    case http1::ResponseFraming::close_delimited:
    case http1::ResponseFraming::raw:
      send(data);
      break;
  }
  body_sent_ += data.size();
  return true;
}

bool Http1Stream::write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  if (!body_allowed_ || length == 0) return true;
  switch (framing_) {
    case http1::ResponseFraming::length:
      if (body_sent_ + length > declared_length_) return false;
      output().append_file(std::move(fd), offset, length);
      break;
    case http1::ResponseFraming::chunked:
      bytes_out_ += append_chunk_size(output(), length);
      output().append_file(std::move(fd), offset, length);
      send("\r\n");
      break;
    case http1::ResponseFraming::close_delimited:
    case http1::ResponseFraming::raw:
      output().append_file(std::move(fd), offset, length);
      break;
  }
  body_sent_ += length;
  bytes_out_ += length;
  return true;
}

void Http1Stream::end_response(std::string_view trailers, bool disconnect) {
  if (body_allowed_ && framing_ == http1::ResponseFraming::chunked) send_last_chunk(trailers);
  bool close = close_after_ || disconnect || framing_ == http1::ResponseFraming::close_delimited;
  if (body_allowed_ && framing_ == http1::ResponseFraming::length &&
      body_sent_ != declared_length_) {
    // Fewer bytes than declared: the client would wait forever for the rest.
    connection_->log_error(exchange_.log(), 0, "Internal");
    close = true;
  }
  drain_started_ = batch_ms();
  complete(close);
}

// The last chunk, then the trailer section (checked by the exchange) and the blank line.
void Http1Stream::send_last_chunk(std::string_view trailers) {
  std::string end = "0\r\n";
  ipc::HeaderListReader reader(trailers);
  std::string_view name, value;
  while (reader.next(name, value)) end.append(name).append(": ").append(value).append("\r\n");
  send(end.append("\r\n"));
}

void Http1Stream::write_cached(const CachedResponse& entry) {
  const bool close = !keep_alive_ || (connection_->shutting_down() && session_->is_last(*this));
  std::string& buffer = output().append_buffer();
  const std::size_t before = buffer.size();
  append_cache_hit(buffer, entry, http_date_now(), connection_->settings().server_header, close,
                   !close && version_minor_ == 0);
  bytes_out_ += buffer.size() - before;
  started_ = true;
  complete(close);
}

void Http1Stream::go_away() {
  if (session_->is_last(*this)) keep_alive_ = false;
}

// The service's own answers end the connection (render_self_answer says Connection: close).
void Http1Stream::answer_self(const SelfAnswer& answer) {
  connection_->log_error(exchange_.log(), answer.status, answer.log_reason);
  send(render_self_answer(answer, head_only_, connection_->settings().server_header));
  started_ = true;
  complete(true);
}

// Without a reset, what the response queued is written, then the connection closes: a
// close right away would drop it, and a response the application's last sends started in
// this turn would vanish whole. A reset at the head of the line drops it; behind earlier
// responses a reset would destroy them in the client's receive path too, so the connection
// closes after them instead, this response never sent.
void Http1Stream::abort(bool reset) {
  if (reset) {
    if (at_head_) return connection_->reset_now();
    later_output_.clear();
  }
  complete(true);
}

// The exchange's access-log line is written here, before the stream may leave the line
// and take the next request.
void Http1Stream::complete(bool close_after) {
  complete_ = true;
  close_after_ = close_after;
  exchange_.log_access(false);
  session_->stream_completed();
}

}  // namespace httpapi::daemon
