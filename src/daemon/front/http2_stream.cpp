#include "daemon/front/http2_stream.hpp"

#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <utility>

#include "daemon/front/connection.hpp"
#include "daemon/front/http2_session.hpp"
#include "daemon/front/http_date.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/settings.hpp"
#include "http1/response_head.hpp"
#include "http1/syntax.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

using http1::syntax::iequals;

// Fields that belong to one HTTP/1.1 connection and must not appear in HTTP/2 (RFC 9113
// §8.2.2): dropped from the application's responses.
bool connection_specific(std::string_view name) {
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "upgrade");
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<nghttp2_nv> name_values(const std::vector<std::pair<std::string, std::string>>& in) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(in.size());
  for (const auto& [name, value] : in) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
                   name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

ssize_t read_callback(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                      std::uint32_t* data_flags, nghttp2_data_source* source, void*) {
  return static_cast<Http2Stream*>(source->ptr)->read_response(buf, length, data_flags);
}

}  // namespace

Http2Stream::Http2Stream(Http2Session& session, std::int32_t id)
    : session_(session), connection_(session.connection()), id_(id), exchange_(*this) {
  exchange_.attach(connection_);
}

// ---- the request ------------------------------------------------------------------------

// The same limits as an HTTP/1.1 head: one field (name, ": ", value) within
// max_field_length, the whole head within max_request_bytes. Past them nothing more is
// kept or looked at (a field past the limit costs an addition, whatever it decodes to: an
// HPACK bomb's references to one large table entry are never copied), and the stream is
// answered with the HTTP/1.1 answer (400) once the head is complete.
bool Http2Stream::add_field(std::string_view name, std::string_view value) {
  const http1::Limits& limits = connection_.settings().limits;
  head_bytes_ += name.size() + value.size() + 4;
  if (head_error_ != http1::Error::none) return false;
  if (name.size() + value.size() + 2 > limits.max_field_length) {
    head_error_ = http1::Error::field_too_long;
    return true;
  }
  if (head_bytes_ > limits.max_request_bytes) {
    head_error_ = http1::Error::request_too_long;
    return true;
  }
  if (head_done_) {
    ipc::append_header(request_trailers_, name, value);
    return false;
  }
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") method_.assign(value);
    else if (name == ":path") path_.assign(value);
    else if (name == ":authority") authority_.assign(value);
    else if (name == ":scheme") scheme_.assign(value);
    return false;
  }
  if (name == "cookie") {  // RFC 9113 §8.2.3: one field again for the application
    if (!cookies_.empty()) cookies_.append("; ");
    cookies_.append(value);
    return false;
  }
  fields_.emplace_back(name, value);
  return false;
}

void Http2Stream::start(bool end_stream) {
  head_done_ = true;
  body_ended_ = end_stream;
  body_clock_ = monotonic_ms();
  head_only_ = method_ == "HEAD";
  RequestLog& log = exchange_.log();
  if (head_error_ != http1::Error::none) {
    log.method.assign(method_.substr(0, 255));
    log.uri.assign(path_.substr(0, 4096));
    log.version_major = 2;
    log.version_minor = 0;
    return exchange_.reject(answer_for(head_error_));
  }
  // The views go to Exchange::start, which copies what it keeps.
  thread_local std::vector<http1::Field> fields;
  fields.clear();
  bool has_host = false;
  std::string_view host = authority_;
  std::uint64_t content_length = 0;
  bool has_length = false;
  for (const auto& [name, value] : fields_) {
    fields.push_back({name, value});
    if (name == "host") {
      has_host = true;
      if (host.empty()) host = value;
    } else if (name == "content-length") {
      has_length = std::from_chars(value.data(), value.data() + value.size(), content_length)
                       .ec == std::errc();
    } else if (name == "expect") {
      expect_continue_ = !end_stream && iequals(value, "100-continue");
    }
  }
  // Applications find the authority where HTTP/1.1 puts it.
  if (!has_host && !authority_.empty()) fields.insert(fields.begin(), {"host", authority_});
  if (!cookies_.empty()) fields.push_back({"cookie", cookies_});
  if (has_length && content_length > connection_.settings().limits.max_body_bytes) {
    log.method.assign(method_.substr(0, 255));
    log.uri.assign(path_.substr(0, 4096));
    log.version_major = 2;
    return exchange_.reject(answer_for(http1::Error::entity_too_large));
  }

  http1::RequestHead head{};
  head.method = method_;
  if (method_ == "CONNECT") {
    head.target = authority_;
    head.target_form = http1::TargetForm::authority;
  } else {
    head.target = path_;
    head.target_form =
        path_ == "*" ? http1::TargetForm::asterisk : http1::TargetForm::origin;
  }
  head.version_major = 2;
  head.version_minor = 0;
  head.fields = fields.data();
  head.field_count = fields.size();
  head.host = host;
  head.framing = end_stream ? http1::Framing::none
                 : has_length ? http1::Framing::content_length
                              : http1::Framing::chunked;
  head.content_length = content_length;
  head.keep_alive = true;
  head.expect_continue = false;
  head.upgrade = false;
  head.head_length = head_bytes_;
  exchange_.start(head);
}

void Http2Stream::body_data(std::string_view data) {
  body_in_ += data.size();
  if (ended_ && !exchange_.with_app()) {
    // The response is complete: nobody reads the rest of the body.
    nghttp2_session_consume(session_.nghttp2(), id_, data.size());
    session_.send_pending();
    return;
  }
  if (body_start_ == body_.size()) {
    body_.clear();
    body_start_ = 0;
  }
  body_.append(data);
  body_clock_ = monotonic_ms();  // HTTP.sys re-arms the entity-body timer on every arrival
  exchange_.on_body_input();
}

void Http2Stream::body_end() {
  body_ended_ = true;
  exchange_.on_body_input();
}

void Http2Stream::closed(std::uint32_t error_code) {
  stream_closed_ = true;
  // What arrived and was never read gives its share of the connection window back.
  if (const std::size_t unread = body_.size() - body_start_; unread > 0) {
    nghttp2_session_consume_connection(session_.nghttp2(), unread);
    body_.clear();
    body_start_ = 0;
  }
  if (exchange_.with_app()) {
    connection_.log_error(exchange_.log(), 0, "Connection_Dropped");
    exchange_.on_connection_closed();  // the application's request is cancelled
  }
  exchange_.log_access(error_code != NGHTTP2_NO_ERROR);
}

BodyStatus Http2Stream::read_body(std::size_t max, std::string& out, std::string& trailers) {
  const std::size_t n = std::min(max, body_.size() - body_start_);
  if (n > 0) {
    out.append(body_, body_start_, n);
    body_start_ += n;
    // Read: the client may send as much again (the stream's and connection's windows).
    if (!stream_closed_) {
      nghttp2_session_consume(session_.nghttp2(), id_, n);
    } else {
      nghttp2_session_consume_connection(session_.nghttp2(), n);
    }
    session_.send_pending();
  }
  if (body_start_ == body_.size()) {
    body_.clear();
    body_start_ = 0;
    if (body_ended_) {
      trailers = std::move(request_trailers_);
      request_trailers_.clear();
      return BodyStatus::end;
    }
  }
  if (n > 0) return BodyStatus::data;
  return stream_closed_ ? BodyStatus::truncated : BodyStatus::waiting;
}

// As on HTTP/1.1: 100 Continue once the application asks for the body, so a request it
// refuses costs no upload.
void Http2Stream::want_body() {
  if (!expect_continue_ || continue_sent_ || started_ || body_ended_ || stream_closed_ ||
      body_start_ < body_.size()) {
    return;
  }
  continue_sent_ = true;
  const std::vector<std::pair<std::string, std::string>> head{{":status", "100"}};
  const std::vector<nghttp2_nv> nva = name_values(head);
  bytes_out_ += head[0].first.size() + head[0].second.size() + 4;
  if (nghttp2_submit_headers(session_.nghttp2(), NGHTTP2_FLAG_NONE, id_, nullptr, nva.data(),
                             nva.size(), nullptr) == 0) {
    session_.send_pending();
  }
}

// ---- the response -----------------------------------------------------------------------

void Http2Stream::add_response_field(std::string_view name, std::string_view value) {
  response_fields_.emplace_back(lower(name), std::string(value));
}

bool Http2Stream::write_head(const ResponsePart& head, std::uint64_t body_size) {
  if (head.flags & HTTPAPI_SEND_FLAG_OPAQUE) return false;  // no protocol switch on HTTP/2
  if (head.status < 100 || head.status > 999 || head.status == 101) return false;
  const bool interim = head.status < 200;
  response_fields_.clear();
  response_fields_.emplace_back(":status", std::to_string(head.status));
  ipc::HeaderListReader reader(head.fields);
  std::string_view name, value;
  bool has_server = false, has_length = false;
  while (reader.next(name, value)) {
    if (!http1::valid_response_field(name, value)) return false;
    if (connection_specific(name)) continue;
    if (iequals(name, "content-length")) {
      std::uint64_t length = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), length).ec != std::errc()) {
        return false;
      }
      has_length = true;
      declared_length_ = length;
    }
    has_server = has_server || iequals(name, "server");
    add_response_field(name, value);
  }
  if (!reader.ok()) return false;
  if (interim) {
    continue_sent_ = continue_sent_ || head.status == 100;  // no second, automatic one
    for (const auto& [field, text] : response_fields_) bytes_out_ += field.size() + text.size() + 4;
    const std::vector<nghttp2_nv> nva = name_values(response_fields_);
    return nghttp2_submit_headers(session_.nghttp2(), NGHTTP2_FLAG_NONE, id_, nullptr,
                                  nva.data(), nva.size(), nullptr) == 0;
  }
  app_head_ = true;
  const Settings& settings = connection_.settings();
  if (!has_server && !settings.server_header.empty()) {
    add_response_field("server", settings.server_header);
  }
  add_response_field("date", http_date_now());
  body_allowed_ = !head_only_ && head.status != 204 && head.status != 304;
  // The whole body is known: its length goes with the head, as on HTTP/1.1.
  if (!has_length && !head.more_data() && body_allowed_) {
    add_response_field("content-length", std::to_string(body_size));
  }
  return submit_head(body_allowed_);
}

bool Http2Stream::submit_head(bool with_body) {
  for (const auto& [name, value] : response_fields_) bytes_out_ += name.size() + value.size() + 4;
  const std::vector<nghttp2_nv> nva = name_values(response_fields_);
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = read_callback;
  if (nghttp2_submit_response(session_.nghttp2(), id_, nva.data(), nva.size(),
                              with_body ? &provider : nullptr) != 0) {
    return false;
  }
  started_ = true;
  session_.send_pending();
  return true;
}

bool Http2Stream::write_body(std::string_view data) {
  if (!body_allowed_ || data.empty()) return true;
  if (declared_length_ != UINT64_MAX && body_sent_ + data.size() > declared_length_) {
    // More than its Content-Length: what fits goes out, then the response ends here.
    out_.append(data.substr(0, static_cast<std::size_t>(declared_length_ - body_sent_)));
    body_sent_ = declared_length_;
    resume();
    return false;
  }
  out_.append(data);
  body_sent_ += data.size();
  resume();
  return true;
}

bool Http2Stream::write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  if (!body_allowed_ || length == 0) return true;
  if (declared_length_ != UINT64_MAX && body_sent_ + length > declared_length_) return false;
  files_.push_back({std::move(fd), offset, length});
  files_bytes_ += length;
  body_sent_ += length;
  resume();
  return true;
}

void Http2Stream::end_response(std::string_view trailers, bool disconnect) {
  ended_ = true;
  drain_started_ = batch_ms();
  if (body_allowed_ && declared_length_ != UINT64_MAX && body_sent_ != declared_length_) {
    // Fewer bytes than declared: the client would wait forever for the rest.
    connection_.log_error(exchange_.log(), 0, "Internal");
    return reset_stream(NGHTTP2_INTERNAL_ERROR);
  }
  ipc::HeaderListReader reader(trailers);
  std::string_view name, value;
  while (reader.next(name, value)) {
    if (!connection_specific(name)) trailers_.emplace_back(lower(name), std::string(value));
  }
  // The application wants the connection gone: no new stream, the others finish.
  if (disconnect) go_away();
  resume();
}

// GOAWAY (NO_ERROR) naming the last stream the session took: the client opens no new
// stream here, those taken are answered, and the session closes the connection once they
// are done (Http2Session::finish_if_done).
void Http2Stream::go_away() {
  if (goaway_sent_) return;
  goaway_sent_ = true;
  nghttp2_submit_goaway(session_.nghttp2(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_.nghttp2()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  session_.send_pending();
}

// ---- timers -----------------------------------------------------------------------------

bool Http2Stream::client_may_send() const {
  nghttp2_session* session = session_.nghttp2();
  return !body_ended_ && !stream_closed_ &&
         nghttp2_session_get_stream_local_window_size(session, id_) > 0 &&
         nghttp2_session_get_local_window_size(session) > 0;
}

// The HTTP/1.1 rules per stream: the entity-body timer measures the client's silence while
// it may send (not while a closed window, which the application's reading reopens, holds it
// back); the drain timer, not re-armed, bounds a body still arriving after the response
// ended. Either resets only this stream (CANCEL); the application's read gets
// CONNECTION_GONE, as when HTTP/1.1 closes the connection.
void Http2Stream::on_tick(std::uint64_t now, const Timers& t) {
  if (stream_closed_ || !head_done_ || body_ended_) return;
  if (ended_) {
    if (!expired(drain_started_, now, t.drain_entity_body)) return;
  } else if (!client_may_send() || (expect_continue_ && !continue_sent_)) {
    body_clock_ = now;  // the wait is not the client's: the timer starts over
    return;
  } else if (!expired(body_clock_, now, t.entity_body)) {
    return;
  }
  connection_.log_error(exchange_.log(), 0, "Timer_EntityBody");
  exchange_.on_connection_closed();  // the application learns it is gone, not as a drop
  reset_stream(NGHTTP2_CANCEL);
}

// nghttp2 pulls the body: first the bytes in memory, then the file ranges, each read in
// pieces no larger than one frame (no sendfile: the bytes go through nghttp2's framing).
long Http2Stream::read_response(std::uint8_t* buf, std::size_t length,
                                std::uint32_t* data_flags) {
  std::size_t n = 0;
  if (out_start_ < out_.size()) {
    n = std::min(length, out_.size() - out_start_);
    std::memcpy(buf, out_.data() + out_start_, n);
    out_start_ += n;
    if (out_start_ == out_.size()) {
      out_.clear();
      out_start_ = 0;
    }
  } else if (!files_.empty()) {
    FileRange& file = files_.front();
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, file.length));
    const ssize_t got = ::pread(file.fd.get(), buf, want, static_cast<off_t>(file.offset));
    if (got <= 0) {
      // A file shorter than the range its application promised.
      connection_.log_error(exchange_.log(), 0, "Internal");
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    n = static_cast<std::size_t>(got);
    file.offset += n;
    file.length -= n;
    files_bytes_ -= n;
    if (file.length == 0) files_.pop_front();
  }
  session_.response_taken(n);
  bytes_out_ += n;
  const bool drained = out_start_ == out_.size() && files_.empty();
  if (!(ended_ && drained)) {
    if (n > 0) return static_cast<long>(n);
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  eof_sent_ = true;
  if (!trailers_.empty()) {
    const std::vector<nghttp2_nv> nva = name_values(trailers_);
    if (nghttp2_submit_trailer(session_.nghttp2(), id_, nva.data(), nva.size()) == 0) {
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  }
  return static_cast<long>(n);
}

void Http2Stream::resume() {
  if (deferred_ && !stream_closed_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.nghttp2(), id_);
  }
  session_.send_pending();
}

PendingOutput Http2Stream::waiting_output() const noexcept {
  return {out_.size() - out_start_, files_.size()};
}

// A head given as HTTP/1.1 text ("HTTP/1.1 200 OK\r\nName: value\r\n..."): a cache entry or
// the service's own page, whose connection-specific fields are dropped.
void Http2Stream::submit_http1_text(std::string_view head, std::string_view body) {
  response_fields_.clear();
  const std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  response_fields_.emplace_back(":status", std::string(status_line.substr(9, 3)));
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (!connection_specific(name)) add_response_field(name, value);
  }
  out_.assign(head_only_ ? std::string_view() : body);
  out_start_ = 0;
  ended_ = true;
  drain_started_ = batch_ms();
  body_allowed_ = !head_only_;
  submit_head(body_allowed_);
}

// The stored head has no Date, and no Server unless the application sent one.
void Http2Stream::write_cached(const CachedResponse& entry) {
  std::string head = entry.head;
  if (!head.empty() && head.back() != '\n') head.append("\r\n");
  if (!entry.has_server && !connection_.settings().server_header.empty()) {
    head.append("Server: ").append(connection_.settings().server_header).append("\r\n");
  }
  head.append("Date: ").append(http_date_now()).append("\r\n");
  submit_http1_text(head, entry.body);
}

// The service's own answer ends this stream only: the connection goes on.
void Http2Stream::answer_self(const SelfAnswer& answer) {
  connection_.log_error(exchange_.log(), answer.status, answer.log_reason);
  const std::string text =
      render_self_answer(answer, head_only_, connection_.settings().server_header);
  const std::size_t blank = text.find("\r\n\r\n");
  const std::string_view all = text;
  submit_http1_text(all.substr(0, blank + 2), all.substr(blank + 4));
}

void Http2Stream::abort(bool reset) {
  reset_stream(reset ? NGHTTP2_REFUSED_STREAM : NGHTTP2_CANCEL);
}

void Http2Stream::reset_stream(std::uint32_t error_code) {
  ended_ = true;
  out_.clear();
  out_start_ = 0;
  files_.clear();
  if (!stream_closed_) {
    nghttp2_submit_rst_stream(session_.nghttp2(), NGHTTP2_FLAG_NONE, id_, error_code);
  }
  session_.send_pending();
}

}  // namespace httpapi::daemon
