// HTTPAPI_SEND_FLAG_PROCESS_RANGES: the application hands over a whole representation and
// the library answers the request's Range field with it (RFC 9110 §14): 206 with one range
// or multipart/byteranges, 416, or the whole representation with 200.
#pragma once

#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <httpapi/httpapi.h>

namespace httpapi::client {

// The response to send instead of the application's. Views in `headers` point into the
// application's response or into `storage`; `body` chunks into the representation's
// chunks (memory, or ranges of the same files) or into `storage` (multipart separators).
struct RangedResponse {
  std::uint16_t status = 200;
  std::vector<httpapi_header> headers;
  std::vector<httpapi_data_chunk> body;
  std::deque<std::string> storage;  // text made here (a deque: views stay valid)
};

// Rewrites `response` (a complete 200 to `info`'s request, whose headers it takes; its own
// body is ignored) with the representation `representation` (MEMORY and FILE chunks with
// resolved lengths, `size` bytes in all) into `out`. The application's Content-Length is
// dropped (the service computes it). Always adds Accept-Ranges: bytes.
void process_ranges(const httpapi_request_info& info, const httpapi_response& response,
                    std::span<const httpapi_data_chunk> representation, std::uint64_t size,
                    RangedResponse& out);

}  // namespace httpapi::client
