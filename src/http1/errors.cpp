#include "http1/errors.hpp"

#include "http1/reason_phrase.hpp"

namespace httpapi::http1 {
namespace {

ErrorAnswer answer(int status, std::string_view heading, std::string_view message,
                   std::string_view log_reason) noexcept {
  return {status, reason_phrase(status), heading, message, log_reason};
}

}  // namespace

// Headings and messages are HTTP.sys's own page texts (see docs/http1.md); the 411, 413,
// 501 and 505 texts were not observed on Windows and follow the same pattern.
ErrorAnswer answer_for(Error error) noexcept {
  switch (error) {
    case Error::none:
      return answer(500, "Internal Server Error",
                    "The server encountered an internal error.", "Internal");
    case Error::bad_request:
      return answer(400, "Bad Request", "The request is badly formed.", "BadRequest");
    case Error::invalid_verb:
      return answer(400, "Bad Request - Invalid Verb", "The request verb is invalid.",
                    "Verb");
    case Error::invalid_url:
      return answer(400, "Bad Request - Invalid URL", "The request URL is invalid.",
                    "URL");
    case Error::invalid_header:
      return answer(400, "Bad Request - Invalid Header",
                    "The request has an invalid header name.", "Header");
    case Error::invalid_hostname:
      return answer(400, "Bad Request - Invalid Hostname",
                    "The request hostname is invalid.", "Hostname");
    case Error::request_too_long:
      return answer(400, "Bad Request - Request Too Long",
                    "The size of the request headers is too long.", "RequestLength");
    case Error::field_too_long:
      return answer(400, "Bad Request - Header Field Too Long",
                    "A request header field is too long.", "FieldLength");
    case Error::url_too_long:
      return answer(414, "Request URL Too Long", "The request URL is too long.",
                    "URL_Length");
    case Error::length_required:
      return answer(411, "Length Required",
                    "The request must be chunked or have a content length.", "LengthRequired");
    case Error::entity_too_large:
      return answer(413, "Request Entity Too Large",
                    "The request entity is too large.", "EntityTooLarge");
    case Error::not_implemented:
      return answer(501, "Not Implemented",
                    "The request transfer encoding is not supported.", "N/I");
    case Error::version_not_supported:
      return answer(505, "HTTP Version Not Supported",
                    "The request HTTP version is not supported.", "Version_N/S");
  }
  // Out-of-range values (a corrupted enum) get the same never-sent internal answer.
  return answer_for(Error::none);
}

}  // namespace httpapi::http1
