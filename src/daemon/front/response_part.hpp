// One piece of an application's response: a send_response, send_body, send_trailers or
// log_data frame,
// decoded once on the service loop into a value that owns its bytes, so it travels to the
// connection's I/O thread without the frame (with its SendAttachments, when its body is a
// chunk list). Its buffer is one of the I/O thread's HandOffBuffers when the caller gives
// one, and goes back there once the response part is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/body_chunks.hpp"
#include "ipc/frame.hpp"

namespace httpapi::daemon {

struct ResponsePart {
  enum class Kind : std::uint8_t {
    head,      // send_response: status line, fields and the first body bytes
    body,      // send_body
    trailers,  // send_trailers: ends a chunked body
    log_data,  // log_data: the access log's fields only the application knows
  };
  Kind kind = Kind::body;
  std::uint32_t flags = 0;          // HTTPAPI_SEND_FLAG_* and ipc::kBodyIsChunkList
  std::uint16_t status = 0;         // head
  std::uint16_t cache_kind = 0;     // head: httpapi_cache_policy_kind
  std::uint32_t cache_seconds = 0;  // head
  // Views into `bytes`, which the part owns: they stay valid when the part is moved (the
  // moves point them into the new owner's buffer).
  std::string_view reason;  // head; empty: the standard phrase
  std::string_view fields;  // ipc header list: the head's fields, or the trailers
  std::string_view body;    // head and body: the bytes, or a chunk list (chunk_list())
  std::string bytes;
  std::uint32_t substatus = 0;  // log_data; its user name is in `fields` (empty: none)

  ResponsePart() = default;
  ResponsePart(ResponsePart&& other) noexcept { *this = std::move(other); }
  ResponsePart& operator=(ResponsePart&& other) noexcept;
  ResponsePart(const ResponsePart&) = delete;
  ResponsePart& operator=(const ResponsePart&) = delete;

  bool chunk_list() const noexcept { return flags & ipc::kBodyIsChunkList; }
  bool more_data() const noexcept;
  // The application's last word on its request: trailers, or a final piece without
  // MORE_DATA. An interim 1xx head is not: the final head follows.
  bool ends_response() const noexcept;
};

// Decodes a send_response, send_body, send_trailers or log_data frame; false when it is
// malformed. The bytes are copied into part.bytes, whose capacity is used when it has enough.
bool decode_response_part(const ipc::Frame& frame, ResponsePart& part);

}  // namespace httpapi::daemon
