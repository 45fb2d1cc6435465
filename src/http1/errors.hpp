// The reasons the HTTP/1.1 front end rejects a request, and how each is answered:
// status line, HTTP.sys's page title, its message, and its httperr log reason.
#pragma once

#include <cstdint>
#include <string_view>

namespace httpapi::http1 {

enum class Error : std::uint8_t {
  none,
  bad_request,            // 400 Bad Request                        BadRequest
  invalid_verb,           // 400 Bad Request - Invalid Verb         Verb
  invalid_url,            // 400 Bad Request - Invalid URL          URL
  invalid_header,         // 400 Bad Request - Invalid Header       Header
  invalid_hostname,       // 400 Bad Request - Invalid Hostname     Hostname
  request_too_long,       // 400 Bad Request - Request Too Long     RequestLength
  field_too_long,         // 400 Bad Request - Header Field Too Long FieldLength
  url_too_long,           // 414 Request URL Too Long               URL_Length
  length_required,        // 411 Length Required                    LengthRequired
  entity_too_large,       // 413 Request Entity Too Large           EntityTooLarge
  not_implemented,        // 501 Not Implemented                    N/I
  version_not_supported,  // 505 HTTP Version Not Supported         Version_N/S
};

struct ErrorAnswer {
  int status;
  std::string_view reason;    // reason phrase on the status line
  std::string_view heading;   // HTTP.sys page heading, e.g. "Bad Request - Invalid URL"
  std::string_view message;   // HTTP.sys page message, e.g. "The request URL is invalid."
  std::string_view log_reason;  // httperr s-reason
};

// Total over the enum; Error::none maps to a 500 "Internal" answer that should never be sent.
ErrorAnswer answer_for(Error error) noexcept;

}  // namespace httpapi::http1
