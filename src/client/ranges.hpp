// HTTPAPI_SEND_FLAG_PROCESS_RANGES: the application hands over a whole representation and
// the library answers the request's Range field with it (RFC 9110 §14): 206 with one range
// or multipart/byteranges, 416, or the whole representation with 200.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <httpapi/httpapi.h>

namespace httpapi::client {

// The response to send instead of the application's. Views in `headers` point into the
// application's response or into `storage`; `body` into its body or into `multipart`.
struct RangedResponse {
  std::uint16_t status = 200;
  std::vector<httpapi_header> headers;
  std::string_view body;
  std::deque<std::string> storage;  // header values made here (a deque: views stay valid)
  std::string multipart;
};

// Rewrites `response` (a complete 200 to `info`'s request) into `out`. The application's
// Content-Length is dropped (the service computes it). Always adds Accept-Ranges: bytes.
void process_ranges(const httpapi_request_info& info, const httpapi_response& response,
                    RangedResponse& out);

}  // namespace httpapi::client
