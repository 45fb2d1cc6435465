// Planning an application's response head: the checks, the framing and the bytes of the
// status line and header section, as one pure function (no I/O, no clock, no settings: the
// connection passes what it knows). The HTTP/1.1 stream (Http1Stream) sends what it returns.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http1/request_parser.hpp"

namespace httpapi::http1 {

// What the application asked for, and what the connection knows about the exchange.
struct ResponseInput {
  // the application's head
  int status = 200;
  std::string_view reason;  // empty: reason_phrase(status)
  // the first send
  std::uint64_t body_size = 0;    // the bytes (or chunk-list bytes) it carries
  bool body_as_chunks = false;    // its body is a chunk list (ipc/body_chunks.hpp)
  bool more_data = false;         // HTTPAPI_SEND_FLAG_MORE_DATA: more body sends follow
  bool disconnect = false;        // HTTPAPI_SEND_FLAG_DISCONNECT
  bool no_auto_chunking = false;  // HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING
  bool opaque = false;            // HTTPAPI_SEND_FLAG_OPAQUE: a 101 turning into a byte stream
  // the request
  int version_minor = 1;          // HTTP/1.x
  bool head_request = false;
  bool keep_alive = true;         // what the request asked for (RequestHead::keep_alive)
  bool request_has_body = false;  // Content-Length or chunked
  // the service
  bool shutting_down = false;
  std::string_view date;    // the Date header's text, used when the application sent none
  std::string_view server;  // the Server header's text; empty: none
};

// Why a head is refused: the application broke the response, which is aborted.
enum class ResponseError : std::uint8_t {
  none,
  bad_status,          // outside 100..999
  bad_reason,          // CR, LF, NUL or another control character in the reason phrase
  bad_field,           // a name that is not a token, or CR, LF, NUL in a value
  bad_length,          // a Content-Length that is not a decimal number
  conflicting_length,  // two Content-Length fields that differ
  opaque_refused,      // OPAQUE without 101, on a request with a body, or to HTTP/1.0
};

enum class ResponseKind : std::uint8_t {
  interim,  // a 1xx other than 101: the final response follows
  opaque,   // a 101 with OPAQUE: the connection becomes a byte stream both ways
  final,
};

enum class ResponseFraming : std::uint8_t {
  length,           // Content-Length (declared by the application, or the first send's size)
  chunked,          // chunked by the service
  close_delimited,  // the end of the connection ends the body
  raw,              // framed by the application (Transfer-Encoding) or an opaque stream
};

struct ResponsePlan {
  ResponseError error = ResponseError::none;
  ResponseKind kind = ResponseKind::final;
  ResponseFraming framing = ResponseFraming::length;
  std::uint64_t declared_length = 0;  // for ResponseFraming::length
  bool body_allowed = true;           // false for HEAD, 204, 304 and 101
  bool close_after = false;           // the connection closes when the response is done
};

// Checks the head, chooses its framing and appends its bytes to `head` (the status line,
// the application's fields in order, then the service's Content-Length or
// Transfer-Encoding, Date, Server and Connection where the application gave none, and the
// blank line). Interim and opaque heads carry only the application's fields; an interim
// head to an HTTP/1.0 client is not written at all (RFC 9110 §15.2). On an error `head`
// may hold a partial head: the response is aborted, not sent.
ResponsePlan plan_response(const ResponseInput& input, std::span<const Field> fields,
                           std::string& head);

// A field the application may send (also in trailers): the name is a token and the value
// holds no CR, LF or NUL, so the application cannot split or smuggle a response.
bool valid_response_field(std::string_view name, std::string_view value) noexcept;

}  // namespace httpapi::http1
