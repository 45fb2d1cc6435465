// HTTP/1.1 on one connection: request heads parsed from the connection's input (pipelined
// ones in order), each request an Exchange, its body decoded as the head framed it, and its
// response framed (Content-Length, chunked, close-delimited, HEAD, an opaque upgrade) as
// http1::plan_response decides. One exchange at a time: the next pipelined head is parsed
// once this response is complete and this body consumed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/front/body_reader.hpp"
#include "daemon/front/exchange.hpp"
#include "daemon/front/exchange_stream.hpp"
#include "daemon/front/protocol_session.hpp"
#include "http1/request_parser.hpp"
#include "http1/response_head.hpp"

namespace httpapi::daemon {

class Connection;

class Http1Session final : public ProtocolSession, private ExchangeStream {
 public:
  Http1Session(Connection& connection, std::uint64_t now);

  // ProtocolSession
  void on_input(std::uint64_t now, std::size_t had_unconsumed, std::size_t new_bytes) override;
  void on_tick(std::uint64_t now, const Timers& timers) override;
  void begin_shutdown() override;
  void on_close() override;
  Exchange* exchange(std::uint64_t request_id) override;
  const RequestLog& current_request() const override;
  std::string_view state_name() const override;

 private:
  enum class Phase : std::uint8_t {
    reading_head,  // waiting for (the rest of) a request head
    with_app,      // the request is queued or with the application
    draining,      // response done; discarding the rest of the request body
  };

  void process();
  bool parse_head();
  void start_request(const http1::RequestHead& head);
  void remember_request_line(std::string_view input, const http1::RequestHead& head);
  bool drain_body();
  void finish_exchange();
  bool waiting_for_body() const;
  void release_idle_buffers();
  void send_last_chunk(std::string_view trailers);

  // ExchangeStream
  BodyStatus read_body(std::size_t max, std::string& out, std::string& trailers) override;
  http1::Error body_error() const override { return body_.error(); }
  void want_body() override;
  bool write_head(const ResponsePart& head, std::uint64_t body_size) override;
  bool response_started() const override { return response_started_; }
  bool write_body(std::string_view data) override;
  bool write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) override;
  void end_response(std::string_view trailers, bool disconnect) override;
  void write_cached(const CachedResponse& entry) override;
  void answer_self(const SelfAnswer& answer) override;

  Connection& connection_;
  Exchange exchange_;
  Phase phase_ = Phase::reading_head;
  http1::HeadScanner scanner_;
  bool served_any_ = false;
  // Timer clocks, monotonic milliseconds (timers.hpp).
  std::uint64_t last_activity_;
  std::uint64_t head_started_;
  std::uint64_t body_clock_ = 0;     // entity-body timer: when body bytes last arrived
  std::uint64_t drain_started_ = 0;  // drain timer

  // the request in progress
  int version_minor_ = 1;
  bool head_only_ = false;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  BodyReader body_;

  // its response
  bool response_started_ = false;
  http1::ResponseFraming framing_ = http1::ResponseFraming::length;
  std::uint64_t declared_length_ = 0;
  std::uint64_t body_sent_ = 0;
  bool body_allowed_ = true;
  bool close_after_ = false;
  bool opaque_ = false;  // a 101 with OPAQUE was sent: the connection is a byte stream
};

}  // namespace httpapi::daemon
