// One request of an HTTP/1.1 connection and the framing of its response: the Exchange's
// ExchangeStream on HTTP/1.1. Pipelined requests each have one, in request order. Only the
// stream at the head of the line writes to the connection; a later one keeps its response
// in a queue of its own until the responses before it are complete (RFC 9112 §9.3.2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/front/body_reader.hpp"
#include "daemon/front/exchange.hpp"
#include "daemon/front/exchange_stream.hpp"
#include "daemon/front/output_queue.hpp"
#include "daemon/front/protocol_session.hpp"
#include "http1/request_parser.hpp"
#include "http1/response_head.hpp"

namespace httpapi::daemon {

class Connection;
class Http1Session;

class Http1Stream final : private ExchangeStream {
 public:
  Http1Stream() : exchange_(*this) {}
  Http1Stream(const Http1Stream&) = delete;
  Http1Stream& operator=(const Http1Stream&) = delete;

  // Streams are pooled per I/O thread (Http1StreamPool): each request takes one for its
  // session and connection.
  void attach(Http1Session& session, Connection& connection) noexcept;

  // A parsed head (its bytes already consumed): the exchange starts.
  void start(const http1::RequestHead& head, bool at_head, std::uint64_t now);
  // A head the parser refused: answered as HTTP.sys does, and the connection ends after it.
  void refuse_head(std::string_view input, const http1::RequestHead& head,
                   const SelfAnswer& answer, bool at_head);
  // The responses before this one are complete: its response goes to the connection now.
  void become_head();

  Exchange& exchange() noexcept { return exchange_; }
  const Exchange& exchange() const noexcept { return exchange_; }
  // Can another request follow this one on the connection? Not once it is known to close
  // the connection, before its body is read, or while it may switch protocols.
  bool lets_next_request_in() const noexcept;
  bool response_started() const override { return started_; }
  bool response_complete() const noexcept { return complete_; }
  bool body_done() const noexcept { return body_.done(); }
  // Nothing more to do for it: its response is complete and its body consumed (or it ends
  // the connection, so the rest of the body does not matter).
  bool finished() const noexcept { return complete_ && (body_.done() || close_after_); }
  bool closes_connection() const noexcept { return close_after_; }
  // Response bytes and file ranges held back behind earlier responses.
  PendingOutput waiting_output() const noexcept {
    return {later_output_.buffered(), later_output_.files()};
  }

  // Discards what arrived of a body its application did not read; false on broken framing.
  bool drain_body();
  // Is the service waiting for the client to send more of this request's body?
  bool waiting_for_body() const;
  std::uint64_t body_clock() const noexcept { return body_clock_; }
  void body_arrived(std::uint64_t now) noexcept { body_clock_ = now; }
  std::uint64_t drain_started() const noexcept { return drain_started_; }

 private:
  // ExchangeStream
  BodyStatus read_body(std::size_t max, std::string& out, std::string& trailers) override;
  http1::Error body_error() const override { return body_.error(); }
  void want_body() override;
  bool write_head(const ResponsePart& head, std::uint64_t body_size) override;
  bool write_body(std::string_view data) override;
  bool write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) override;
  void end_response(std::string_view trailers, bool disconnect) override;
  void write_cached(const CachedResponse& entry) override;
  void answer_self(const SelfAnswer& answer) override;
  // HTTP/1.1 cannot tell a client to go elsewhere but by closing: the last request admitted
  // on the connection is answered with Connection: close (those before it as they were).
  void go_away() override;
  void abort(bool reset) override;
  std::uint64_t bytes_in() const override { return bytes_in_; }
  std::uint64_t bytes_out() const override { return bytes_out_; }

  void reset_state(bool at_head);
  OutputQueue& output();
  void send(std::string_view bytes) {
    bytes_out_ += bytes.size();
    output().append(bytes);
  }
  void send_last_chunk(std::string_view trailers);
  void complete(bool close_after);

  Http1Session* session_ = nullptr;
  Connection* connection_ = nullptr;
  Exchange exchange_;
  OutputQueue later_output_;  // its response while it waits behind earlier ones
  BodyReader body_;
  std::uint64_t body_clock_ = 0;     // entity-body timer: when body bytes last arrived
  std::uint64_t drain_started_ = 0;  // drain timer
  std::uint64_t declared_length_ = 0;
  std::uint64_t body_sent_ = 0;
  std::uint64_t bytes_in_ = 0;   // head and body bytes consumed, for the access log
  std::uint64_t bytes_out_ = 0;  // response bytes queued, framing included
  http1::ResponseFraming framing_ = http1::ResponseFraming::length;
  std::uint8_t version_minor_ = 1;
  bool at_head_ = false;  // writes to the connection itself
  // the request
  bool head_only_ = false;
  bool keep_alive_ = true;
  bool may_switch_ = false;  // Upgrade or CONNECT: what follows may not be HTTP/1.1
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  // its response
  bool started_ = false;
  bool complete_ = false;
  bool body_allowed_ = true;
  bool close_after_ = false;
  bool opaque_ = false;  // a 101 with OPAQUE was sent: the connection is a byte stream
};

}  // namespace httpapi::daemon
