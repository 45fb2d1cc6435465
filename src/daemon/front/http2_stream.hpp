// One request stream of an HTTP/2 connection: the Exchange's ExchangeStream on HTTP/2. The
// request's pseudo-headers and fields are gathered as nghttp2 decodes them, within the same
// limits as an HTTP/1.1 head; its DATA is buffered and handed to the application as it
// reads, the stream's receive window reopened only then (manual flow control, so an unread
// body holds at most one window). The response goes out through nghttp2: the head as
// HEADERS, the body from a buffer (and file ranges read in bounded pieces) that nghttp2
// pulls from as the client's window allows, trailers as a last HEADERS.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/front/exchange.hpp"
#include "daemon/front/exchange_stream.hpp"
#include "daemon/front/protocol_session.hpp"
#include "daemon/policy/timers.hpp"
#include "http1/errors.hpp"

namespace httpapi::daemon {

class Connection;
class Http2Session;

class Http2Stream final : private ExchangeStream {
 public:
  Http2Stream(Http2Session& session, std::int32_t id);
  Http2Stream(const Http2Stream&) = delete;
  Http2Stream& operator=(const Http2Stream&) = delete;

  std::int32_t id() const noexcept { return id_; }
  Exchange& exchange() noexcept { return exchange_; }
  const Exchange& exchange() const noexcept { return exchange_; }

  // --- from nghttp2, through the session
  // A field of the request head, or of its trailers once the head is complete. True when
  // this field takes the head past its limits (once per stream).
  bool add_field(std::string_view name, std::string_view value);
  // The request head is complete (`end_stream`: no body follows): the exchange starts.
  void start(bool end_stream);
  void body_data(std::string_view data);
  void body_end();
  // The stream closed: its application, if it still has the request, is told it is gone.
  void closed(std::uint32_t error_code);
  // nghttp2 asks for up to `length` response body bytes (its data source callback).
  long read_response(std::uint8_t* buf, std::size_t length, std::uint32_t* data_flags);

  bool body_ended() const noexcept { return body_ended_; }
  // The response's last frame (END_STREAM) has been sent.
  void mark_answered() noexcept { answered_ = true; }
  bool answered() const noexcept { return answered_; }
  // The response came from an application (not the cache, not the service's own answer).
  bool answered_by_application() const noexcept { return app_head_; }
  // What nghttp2 found wrong with the client's frames on this stream (an nghttp2_error),
  // and whether it was counted against the client yet.
  int fault = 0;
  bool fault_counted = false;
  // Once a second: the stream's own timers (docs/timers.md), entity body and drain; one that
  // fires resets this stream only.
  void on_tick(std::uint64_t now, const Timers& timers);
  // Response bytes not handed to nghttp2 yet, and file ranges still to read.
  PendingOutput waiting_output() const noexcept;

 private:
  struct FileRange {
    UniqueFd fd;
    std::uint64_t offset;
    std::uint64_t length;
  };

  // ExchangeStream
  BodyStatus read_body(std::size_t max, std::string& out, std::string& trailers) override;
  http1::Error body_error() const override { return http1::Error::bad_request; }
  void want_body() override;
  bool write_head(const ResponsePart& head, std::uint64_t body_size) override;
  bool response_started() const override { return started_; }
  bool write_body(std::string_view data) override;
  bool write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) override;
  void end_response(std::string_view trailers, bool disconnect) override;
  void go_away() override;
  void write_cached(const CachedResponse& entry) override;
  void answer_self(const SelfAnswer& answer) override;
  void abort(bool reset) override;
  // Fields counted as name + value + 4 (as a head's lines), and DATA payloads.
  std::uint64_t bytes_in() const override { return head_bytes_ + body_in_; }
  std::uint64_t bytes_out() const override { return bytes_out_; }

  // Submits a head given as HTTP/1.1 text (a cache entry, the service's own page) and a
  // body: the stream's response is then complete.
  void submit_http1_text(std::string_view head, std::string_view body);
  bool submit_head(bool with_body);
  void add_response_field(std::string_view name, std::string_view value);
  void reset_stream(std::uint32_t error_code);
  // The client may send more of the body now: the stream is open its way and both windows
  // have room. Only then is its silence the client's (the entity-body timer runs).
  bool client_may_send() const;
  void resume();

  Http2Session& session_;
  Connection& connection_;
  std::int32_t id_;
  Exchange exchange_;

  // The request: pseudo-headers and fields, kept in `storage_` (the views point into it once
  // it is complete), and the limits it met.
  std::string method_, path_, authority_, scheme_;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::string cookies_;
  std::string request_trailers_;  // an ipc header list
  std::size_t head_bytes_ = 0;
  http1::Error head_error_ = http1::Error::none;
  // Its body: arrived and not read yet, and how it ended.
  std::string body_;
  std::size_t body_start_ = 0;
  bool body_ended_ = false;
  // `expect: 100-continue`: the client sends the body once told to (RFC 9110 §10.1.1).
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  std::uint64_t body_clock_ = 0;     // entity-body timer: when body bytes last arrived
  std::uint64_t drain_started_ = 0;  // drain timer: the response ended before the body
  bool stream_closed_ = false;
  bool head_only_ = false;
  bool head_done_ = false;

  // The response: its fields for nghttp2 (names lower-cased), the body bytes not yet taken
  // by nghttp2, file ranges behind them, and the trailers once the application ended it.
  std::vector<std::pair<std::string, std::string>> response_fields_;
  std::string out_;
  std::size_t out_start_ = 0;
  std::deque<FileRange> files_;
  std::uint64_t files_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::uint64_t declared_length_ = UINT64_MAX;  // the application's Content-Length, if any
  std::uint64_t body_sent_ = 0;
  bool started_ = false;
  bool body_allowed_ = true;
  bool ended_ = false;      // the application's last word is in
  bool deferred_ = false;   // nghttp2 waits for more body (NGHTTP2_ERR_DEFERRED)
  bool eof_sent_ = false;
  bool answered_ = false;
  bool app_head_ = false;
  bool goaway_sent_ = false;  // this stream's application had GOAWAY sent already
  // For the access log.
  std::uint64_t body_in_ = 0;
  std::uint64_t bytes_out_ = 0;
};

}  // namespace httpapi::daemon
