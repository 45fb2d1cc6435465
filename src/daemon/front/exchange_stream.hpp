// What an Exchange asks of the protocol session that carries it: the request body as the
// protocol frames it, and the response written the way the protocol frames it. Http1Stream
// implements it for one HTTP/1.1 request; an HTTP/2 session would implement it per stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/cache/response_cache.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/front/self_answer.hpp"
#include "daemon/loop/unique_fd.hpp"
#include "http1/errors.hpp"

namespace httpapi::daemon {

// What one read of the request body gave (its bytes were appended to the caller's string).
enum class BodyStatus : std::uint8_t {
  data,       // some bytes; more of the body follows
  waiting,    // nothing yet; more of the body follows
  end,        // the last bytes (maybe none), with the trailers
  truncated,  // the client went away before the end
  malformed,  // the framing broke: body_error() says how
};

class ExchangeStream {
 public:
  virtual ~ExchangeStream() = default;

  // Up to about `max` body bytes appended to `out`; at the end, the trailers (an ipc header
  // list) to `trailers`.
  virtual BodyStatus read_body(std::size_t max, std::string& out, std::string& trailers) = 0;
  virtual http1::Error body_error() const = 0;
  // The application asks for the body: a client that waits for leave to send gets it now.
  virtual void want_body() = 0;

  // The application's head; false when it is invalid (nothing was written then). A final
  // head starts the response; an interim 1xx is written and the final one follows.
  virtual bool write_head(const ResponsePart& head, std::uint64_t body_size) = 0;
  virtual bool response_started() const = 0;
  // False when the bytes break the response's framing (more than its Content-Length).
  virtual bool write_body(std::string_view data) = 0;
  virtual bool write_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) = 0;
  // The application's last word, with the trailers (an ipc header list) when it sent some.
  // `disconnect`: the application asked for the connection to close after it.
  virtual void end_response(std::string_view trailers, bool disconnect) = 0;
  // The application asked (HTTPAPI_SEND_FLAG_GOAWAY) that the client take its next requests
  // to a new connection. A protocol that can say so at once (HTTP/2's GOAWAY) does; HTTP/1.1
  // cannot, and closes after the response instead (end_response's `disconnect`).
  virtual void go_away() {}

  // Answers without the application: a response cache entry, or the service's own answer
  // (which ends the connection, as HTTP.sys does).
  virtual void write_cached(const CachedResponse& entry) = 0;
  virtual void answer_self(const SelfAnswer& answer) = 0;
  // The exchange cannot be completed (the application broke its response, cancelled it or
  // went away, or its queue asked for a reset): the protocol ends it the hard way, closing
  // (or with `reset`, resetting) what it must; earlier responses are delivered first (behind
  // them, a reset becomes a close, which would otherwise destroy them). Without `reset`, the
  // response bytes the application sent before still reach the client (HTTP/1.1: then the
  // connection closes, so the client sees the response cut short).
  virtual void abort(bool reset) = 0;

  // For the access log: request bytes read (head and body, as the protocol carried them)
  // and response bytes written so far (head, framing, body).
  virtual std::uint64_t bytes_in() const = 0;
  virtual std::uint64_t bytes_out() const = 0;
};

}  // namespace httpapi::daemon
