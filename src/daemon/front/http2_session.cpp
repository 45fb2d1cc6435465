#include "daemon/front/http2_session.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "daemon/front/connection.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/settings.hpp"

namespace httpapi::daemon {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// Request body bytes all streams of the connection may have sent and not had read by their
// applications: the window the service grants (manual flow control). One stream's is the
// setting http2_initial_window_size; the connection's is never smaller.
constexpr std::int32_t kConnectionWindow = 1024 * 1024;
// nghttp2's own flood limits, at their defaults, written out: they stand behind the abuse
// guard, whose budgets are smaller, so that a flood is answered with ENHANCE_YOUR_CALM.
constexpr std::size_t kMaxOutboundAck = 1000;     // PING and SETTINGS ACKs not yet sent
constexpr std::size_t kMaxSettingsEntries = 32;   // in one SETTINGS frame
constexpr std::size_t kMaxContinuations = 8;      // CONTINUATION frames after one HEADERS
constexpr std::uint64_t kResetBurst = 1000;       // RST_STREAM frames at once,
constexpr std::uint64_t kResetRate = 33;          // and a second after that
// What a response of the service needs from a client's window to make progress.
constexpr std::uint64_t kFramePiece = 16 * 1024;

const RequestLog kNoRequest;

Http2Session& self(void* user_data) { return *static_cast<Http2Session*>(user_data); }

int begin_frame_cb(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data) {
  return self(user_data).on_begin_frame(hd->stream_id, hd->type, hd->flags, hd->length);
}

int begin_headers_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  return self(user_data).on_begin_headers(frame->hd.stream_id);
}

int header_cb(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
              std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
              std::uint8_t, void* user_data) {
  return self(user_data).on_header(
      frame->hd.stream_id, frame->hd.type,
      {reinterpret_cast<const char*>(name), name_length},
      {reinterpret_cast<const char*>(value), value_length});
}

int frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  const bool request_headers =
      frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
  const std::size_t payload =
      frame->hd.type == NGHTTP2_DATA ? frame->hd.length - frame->data.padlen : 0;
  return self(user_data).on_frame(frame->hd.stream_id, frame->hd.type, frame->hd.flags,
                                  request_headers, payload);
}

int invalid_frame_cb(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                     void* user_data) {
  return self(user_data).on_invalid_frame(frame->hd.stream_id, lib_error_code);
}

int data_chunk_cb(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                  const std::uint8_t* data, std::size_t length, void* user_data) {
  return self(user_data).on_data(stream_id, {reinterpret_cast<const char*>(data), length});
}

int frame_send_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  const std::uint32_t error_code = frame->hd.type == NGHTTP2_GOAWAY ? frame->goaway.error_code
                                   : frame->hd.type == NGHTTP2_RST_STREAM
                                       ? frame->rst_stream.error_code
                                       : 0;
  return self(user_data).on_frame_sent(frame->hd.stream_id, frame->hd.type, frame->hd.flags,
                                       error_code);
}

int stream_close_cb(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                    void* user_data) {
  return self(user_data).on_stream_close(stream_id, error_code);
}

}  // namespace

bool Http2Session::starts_with_preface(std::string_view input, bool& partial) {
  const std::size_t n = std::min(input.size(), kPreface.size());
  if (input.substr(0, n) != kPreface.substr(0, n)) {
    partial = false;
    return false;
  }
  partial = n < kPreface.size();
  return !partial;
}

Http2Session::Http2Session(Connection& connection, std::uint64_t now)
    : connection_(connection),
      last_activity_(now),
      now_(now),
      abuse_(connection.settings().http2_max_concurrent_streams) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, begin_frame_cb);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, invalid_frame_cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, begin_headers_cb);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, header_cb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frame_recv_cb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, data_chunk_cb);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, stream_close_cb);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, frame_send_cb);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // The windows open as applications read their bodies (Http2Stream::read_body), not as
  // bytes arrive.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_outbound_ack(option, kMaxOutboundAck);
  nghttp2_option_set_max_settings(option, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(option, kMaxContinuations);
  nghttp2_option_set_stream_reset_rate_limit(option, kResetBurst, kResetRate);
  nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);

  const Settings& settings = connection_.settings();
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.http2_max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.http2_initial_window_size},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.http2_max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(settings.limits.max_request_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(
      session_, NGHTTP2_FLAG_NONE, 0,
      std::max(kConnectionWindow, static_cast<std::int32_t>(settings.http2_initial_window_size)));
}

// The exchanges were told at on_close.
Http2Session::~Http2Session() {
  streams_.clear();
  closed_.clear();
  nghttp2_session_del(session_);
}

// ---- input ------------------------------------------------------------------------------

void Http2Session::on_input(std::uint64_t now, std::size_t, std::size_t) {
  last_activity_ = now;
  now_ = now;
  logged_ = false;
  closed_.clear();
  const std::string_view input = connection_.input();
  if (!input.empty() && !failed_) {
    ++in_nghttp2_;
    const auto n = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    --in_nghttp2_;
    connection_.consume(input.size());
    if (n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
      calm_down("HTTP2_CONTINUATION_Flood");  // nghttp2 stopped without a GOAWAY
    } else if (n == NGHTTP2_ERR_FLOODED) {
      calm_down("HTTP2_ACK_Flood");  // PINGs or SETTINGS whose ACKs the client never reads
    } else if (n < 0) {
      // A broken preface or a connection error: nghttp2 queued a GOAWAY where it could.
      connection_.log_error(kNoRequest, 0,
                            fmt::format("HTTP/2: {}", nghttp2_strerror(static_cast<int>(n))));
      logged_ = true;
    }
    failed_ = n < 0;
  }
  send_pending();
  finish_if_done();
}

Http2Stream* Http2Session::find(std::int32_t stream_id) {
  const auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

// Counted as the frame starts, before nghttp2 looks at it: PRIORITY frames in particular
// reach no other callback.
int Http2Session::on_begin_frame(std::int32_t stream_id, std::uint8_t frame_type,
                                 std::uint8_t flags, std::size_t) {
  switch (frame_type) {
    case NGHTTP2_HEADERS:
      if (!new_stream_id(stream_id)) return 0;
      [[fallthrough]];
    case NGHTTP2_CONTINUATION:
      header_block_open_ = !(flags & NGHTTP2_FLAG_END_HEADERS);
      if (frame_type == NGHTTP2_HEADERS) header_block_since_ = now_;
      break;
    case NGHTTP2_PING:
      if (!(flags & NGHTTP2_FLAG_ACK)) note(Http2Abuse::ping);
      break;
    case NGHTTP2_SETTINGS:
      if (!(flags & NGHTTP2_FLAG_ACK)) note(Http2Abuse::settings);
      break;
    case NGHTTP2_PRIORITY:
      note(Http2Abuse::priority);
      break;
    default:
      break;
  }
  return 0;
}

// A HEADERS frame opens a stream with a new, higher id, or carries the trailers of one
// still open. nghttp2 ignores one on an id used before whose stream it no longer knows (it
// cannot tell it from a frame sent before our RST_STREAM arrived); the service knows which
// streams it closed while their client was still sending, and ends the connection for any
// other (RFC 9113: STREAM_CLOSED for a stream that was open, §5.1; PROTOCOL_ERROR for an id
// skipped, §5.1.1). A client that has used the last stream id, 2^31-1,
// can open no stream more on its connection.
bool Http2Session::new_stream_id(std::int32_t stream_id) {
  if (stream_id > last_client_stream_) {
    last_client_stream_ = stream_id;
    return true;
  }
  if (find(stream_id) || std::find(closed_sending_.begin(), closed_sending_.end(), stream_id) !=
                             closed_sending_.end()) {
    return true;
  }
  connection_.log_error(kNoRequest, 0,
                        fmt::format("HTTP/2: HEADERS on stream {}, at or below stream {} "
                                    "already used",
                                    stream_id, last_client_stream_));
  logged_ = true;
  const bool closed = std::find(closed_recently_.begin(), closed_recently_.end(), stream_id) !=
                      closed_recently_.end();
  nghttp2_session_terminate_session(session_,
                                    closed ? NGHTTP2_STREAM_CLOSED : NGHTTP2_PROTOCOL_ERROR);
  return false;
}

// The client may not know yet: its trailers for this stream are no protocol error.
void Http2Session::closed_while_sending(std::int32_t stream_id) {
  closed_sending_[closed_sending_next_++ % closed_sending_.size()] = stream_id;
}

int Http2Session::on_begin_headers(std::int32_t stream_id) {
  if (calmed_) return 0;  // the connection ends: no stream of it reaches an application
  if (connection_.shutting_down()) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_REFUSED_STREAM);
    closed_while_sending(stream_id);
    return 0;
  }
  streams_.emplace(stream_id, std::make_unique<Http2Stream>(*this, stream_id));
  return 0;
}

int Http2Session::on_header(std::int32_t stream_id, std::uint8_t frame_type,
                            std::string_view name, std::string_view value) {
  if (frame_type != NGHTTP2_HEADERS) return 0;
  Http2Stream* stream = find(stream_id);
  if (!stream) return 0;
  if (stream->add_field(name, value)) note(Http2Abuse::oversized_head);
  return 0;
}

int Http2Session::on_frame(std::int32_t stream_id, std::uint8_t frame_type, std::uint8_t flags,
                           bool request_headers, std::size_t payload) {
  const bool end_stream = flags & NGHTTP2_FLAG_END_STREAM;
  if (frame_type == NGHTTP2_DATA && payload == 0 && !end_stream) note(Http2Abuse::empty_data);
  Http2Stream* stream = find(stream_id);
  if (!stream || calmed_) return 0;
  if (frame_type == NGHTTP2_RST_STREAM) {
    // Reset before its answer: a client that does this in a loop has applications start
    // requests nobody waits for (Rapid Reset).
    if (!stream->answered()) note(Http2Abuse::client_reset);
    return 0;
  }
  if (frame_type == NGHTTP2_HEADERS) {
    if (request_headers) return stream->start(end_stream), 0;
    if (end_stream) stream->body_end();  // trailers
  } else if (frame_type == NGHTTP2_DATA && end_stream) {
    stream->body_end();
  }
  return 0;
}

// A frame nghttp2 refused. On a stream of ours the stream is reset, logged as the reset
// goes out (on_frame_sent); a stream error counts against the client at once, as the
// MadeYouReset attack has the service reset streams whose requests applications then work
// on. Anything else is logged now: a frame on a stream gone, or the connection's end.
int Http2Session::on_invalid_frame(std::int32_t stream_id, int lib_error) {
  Http2Stream* stream = find(stream_id);
  if (stream) {
    if (stream->fault == 0) stream->fault = lib_error;
    if (!stream->fault_counted) {
      stream->fault_counted = true;
      note(Http2Abuse::stream_error);
    }
    return 0;
  }
  connection_.log_error(kNoRequest, 0, fmt::format("HTTP/2: {}", nghttp2_strerror(lib_error)));
  logged_ = true;
  if (stream_id != 0) note(Http2Abuse::stream_error);
  return 0;
}

// The client broke the protocol on a stream (the codes nghttp2 resets streams with; the
// service's own resets use NO_ERROR, CANCEL, REFUSED_STREAM and INTERNAL_ERROR).
void Http2Session::stream_refused(Http2Stream& stream, std::uint32_t error_code) {
  const std::string reason =
      stream.fault != 0 ? fmt::format("HTTP/2: {}", nghttp2_strerror(stream.fault))
                        : fmt::format("HTTP/2: RST_STREAM {}", nghttp2_http2_strerror(error_code));
  connection_.log_error(stream.exchange().log(), 0, reason);
  if (!stream.fault_counted) {
    stream.fault_counted = true;
    note(Http2Abuse::stream_error);
  }
}

int Http2Session::on_data(std::int32_t stream_id, std::string_view data) {
  if (Http2Stream* stream = find(stream_id)) {
    stream->body_data(data);
  } else {
    // Nobody reads it: its share of the connection window comes back at once.
    nghttp2_session_consume_connection(session_, data.size());
  }
  return 0;
}

// The response is complete while the client still sends its body: nobody will read the
// rest, so the stream is reset with NO_ERROR (RFC 9113 §8.1) and its window share returns.
int Http2Session::on_frame_sent(std::int32_t stream_id, std::uint8_t frame_type,
                                std::uint8_t flags, std::uint32_t error_code) {
  if (frame_type == NGHTTP2_GOAWAY && error_code != NGHTTP2_NO_ERROR && !logged_) {
    // A connection error nghttp2 found without telling: logged by the code it sent.
    connection_.log_error(kNoRequest, 0,
                          fmt::format("HTTP/2: GOAWAY {}", nghttp2_http2_strerror(error_code)));
    logged_ = true;
  }
  Http2Stream* stream = find(stream_id);
  if (!stream) return 0;
  if (frame_type == NGHTTP2_RST_STREAM &&
      (error_code == NGHTTP2_PROTOCOL_ERROR || error_code == NGHTTP2_FLOW_CONTROL_ERROR ||
       error_code == NGHTTP2_STREAM_CLOSED || error_code == NGHTTP2_FRAME_SIZE_ERROR)) {
    stream_refused(*stream, error_code);
    return 0;
  }
  if (!(flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  if (frame_type == NGHTTP2_HEADERS || frame_type == NGHTTP2_DATA) {
    stream->mark_answered();
    // Only an application's answer earns an early end back: the service's own answers
    // (400 for an oversized head...) and cache hits cost the attacker nothing to obtain.
    if (stream->answered_by_application()) abuse_.stream_completed();
  }
  if (!stream->body_ended()) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int Http2Session::on_stream_close(std::int32_t stream_id, std::uint32_t error_code) {
  const auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  std::unique_ptr<Http2Stream> stream = std::move(it->second);
  streams_.erase(it);
  closed_recently_[closed_recently_next_++ % closed_recently_.size()] = stream_id;
  if (!stream->body_ended()) closed_while_sending(stream_id);
  stream->closed(error_code);
  closed_.push_back(std::move(stream));  // a call may still be running on it
  return 0;
}

// ---- abuse ------------------------------------------------------------------------------

bool Http2Session::note(Http2Abuse kind) {
  if (calmed_) return false;
  if (abuse_.record(kind, now_)) return true;
  calm_down(Http2AbuseGuard::log_reason(kind));
  return false;
}

// From inside nghttp2's callbacks too: the GOAWAY is queued, and nghttp2 reads nothing more
// (it ignores the rest of its input once it terminates the session).
void Http2Session::calm_down(std::string_view reason) {
  if (calmed_) return;
  calmed_ = true;
  connection_.log_error(kNoRequest, 0, reason);
  logged_ = true;
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
}

bool Http2Session::stream_timers(std::uint64_t now, const Timers& t) {
  now_ = now;
  // A header block may not take longer than an HTTP/1.1 head: until it ends nothing else
  // can be read on the connection (RFC 9113 §6.10), so the whole connection waits on it.
  if (header_block_open_ && expired(header_block_since_, now, t.header_wait)) {
    connection_.log_error(current_request(), 0, "Timer_HeaderWait");
    logged_ = true;
    calmed_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  } else {
    // Responses held back by the client's windows, with the socket idle: the client reads
    // nothing and keeps its window closed (a zero-window slow read).
    const PendingOutput waiting = waiting_output();
    const bool stalled = connection_.output_empty() &&
                         (waiting.bytes > 0 || waiting.files > 0);
    if (stalled) {
      window_rate_.refused(now);
    } else {
      window_rate_.took_everything();
    }
    if (!window_rate_.too_slow(t.min_send_rate, kFramePiece, now)) return false;
    connection_.log_error(current_request(), 0, "Timer_MinBytesPerSecond");
    logged_ = true;
    calmed_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  }
  send_pending();
  connection_.close_gracefully();
  connection_.flush();
  return true;
}

// ---- output -----------------------------------------------------------------------------

void Http2Session::send_pending() {
  if (in_nghttp2_ > 0) {
    send_wanted_ = true;
    return;
  }
  if (connection_.closed()) return;
  do {
    send_wanted_ = false;
    for (;;) {
      const std::uint8_t* data = nullptr;
      ++in_nghttp2_;
      const auto n = nghttp2_session_mem_send(session_, &data);
      --in_nghttp2_;
      if (n <= 0) {
        if (n < 0) failed_ = true;
        break;
      }
      connection_.send({reinterpret_cast<const char*>(data), static_cast<std::size_t>(n)});
    }
  } while (send_wanted_);
  // The last stream after a GOAWAY may have just ended: nothing more will come.
  finish_if_done();
}

// The connection ends once nghttp2 has nothing more to do: the peer's GOAWAY, ours (after a
// protocol error, on shutdown, or the application's) with no stream left, or the peer's end
// of input.
void Http2Session::finish_if_done() {
  if (connection_.closing() || connection_.closed()) return;
  const bool idle = streams_.empty();
  if (failed_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) ||
      (idle && (connection_.peer_eof() || connection_.shutting_down()))) {
    connection_.close_gracefully();
    connection_.flush();
  }
}

// ---- the connection's life --------------------------------------------------------------

void Http2Session::begin_shutdown() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  send_pending();
  finish_if_done();
  connection_.flush();
}

void Http2Session::on_close() {
  for (auto& [id, stream] : streams_) stream->exchange().on_connection_closed();
}

void Http2Session::on_tick(std::uint64_t now, const Timers& t) {
  closed_.clear();
  if (stream_timers(now, t)) return;
  // A stream a timer resets leaves streams_ (on_stream_close): the walk is over a copy,
  // and the closed ones stay alive in closed_ until the next tick.
  std::vector<Http2Stream*> open;
  for (auto& [id, stream] : streams_) open.push_back(stream.get());
  for (Http2Stream* stream : open) stream->on_tick(now, t);
  if (!connection_.output_empty()) connection_.flush();  // a reset a timer made
  if (!streams_.empty() || !connection_.output_empty()) {
    last_activity_ = now;
    return;
  }
  if (expired(last_activity_, now, t.idle_connection)) {
    // As HTTP/1.1, a connection that carried a request says why it ends.
    if (nghttp2_session_get_last_proc_stream_id(session_) > 0) {
      connection_.log_error(kNoRequest, 0, "Timer_ConnectionIdle");
    }
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    send_pending();
    connection_.close_gracefully();
    connection_.flush();
  }
}

Exchange* Http2Session::exchange(std::uint64_t request_id) {
  for (auto& [id, stream] : streams_) {
    Exchange& exchange = stream->exchange();
    if (exchange.with_app() && exchange.request_id() == request_id) return &exchange;
  }
  return nullptr;
}

const RequestLog& Http2Session::current_request() const {
  return streams_.empty() ? kNoRequest : streams_.begin()->second->exchange().log();
}

std::string_view Http2Session::state_name() const {
  return streams_.empty() ? "http/2 idle" : "http/2 streams";
}

// Streams share the connection with no head of line: nothing must keep flowing for the
// others to move, so no channel is the head. What waits is each stream's response not yet
// framed (the client's window is closed, or nghttp2 has not pulled it) plus the
// connection's own output; past the connection's high mark every application with a
// response in progress is paused until the client reads (Connection::update_throttle).
PendingOutput Http2Session::waiting_output() const {
  PendingOutput total = connection_.output_pending();
  for (const auto& [id, stream] : streams_) {
    const PendingOutput waiting = stream->waiting_output();
    total.bytes += waiting.bytes;
    total.files += waiting.files;
  }
  return total;
}

std::uint64_t Http2Session::head_channel() const { return 0; }

void Http2Session::later_channels(std::vector<std::uint64_t>& out) const {
  for (const auto& [id, stream] : streams_) {
    if (stream->exchange().with_app()) out.push_back(stream->exchange().channel());
  }
}

}  // namespace httpapi::daemon
