// Names and texts of httpapi_error, and the service's detail of the last failure.
#include <string>
#include <string_view>

#include "httpapi/httpapi.h"

namespace httpapi::client {

thread_local std::string t_error_detail;

void set_error_detail(std::string_view detail) { t_error_detail.assign(detail); }

}  // namespace httpapi::client

namespace {

struct ErrorText {
  const char* name;
  const char* text;
};

ErrorText describe(httpapi_error error) {
  switch (error) {
    case HTTPAPI_OK:
      return {"HTTPAPI_OK", "The operation completed successfully."};
    case HTTPAPI_ERROR_INVALID_PARAMETER:
      return {"HTTPAPI_ERROR_INVALID_PARAMETER",
              "An argument is malformed (for a URL prefix: scheme://host:port/path/ with a "
              "lowercase http or https scheme, an explicit port and a trailing slash)."};
    case HTTPAPI_ERROR_ALREADY_EXISTS:
      return {"HTTPAPI_ERROR_ALREADY_EXISTS",
              "The URL prefix or queue name is already registered, possibly by another "
              "process; pick another or stop the other owner."};
    case HTTPAPI_ERROR_ACCESS_DENIED:
      return {"HTTPAPI_ERROR_ACCESS_DENIED",
              "No reservation lets this user listen on that URL; run as root, use "
              "http://localhost:PORT/ with PORT > 1024, or have an administrator reserve it."};
    case HTTPAPI_ERROR_SHARING_VIOLATION:
      return {"HTTPAPI_ERROR_SHARING_VIOLATION",
              "The port is in use by a program outside httpapid; stop it or use another port."};
    case HTTPAPI_ERROR_NOT_FOUND:
      return {"HTTPAPI_ERROR_NOT_FOUND", "No such URL, queue or request."};
    case HTTPAPI_ERROR_TIMEOUT:
      return {"HTTPAPI_ERROR_TIMEOUT", "The timeout passed before anything arrived."};
    case HTTPAPI_ERROR_WOULD_BLOCK:
      return {"HTTPAPI_ERROR_WOULD_BLOCK",
              "Nothing is ready yet; wait for the queue's file descriptor and call again."};
    case HTTPAPI_ERROR_END_OF_BODY:
      return {"HTTPAPI_ERROR_END_OF_BODY", "The request body has been read completely."};
    case HTTPAPI_ERROR_CONNECTION_GONE:
      return {"HTTPAPI_ERROR_CONNECTION_GONE",
              "The client connection is gone; release the request."};
    case HTTPAPI_ERROR_SERVICE_UNAVAILABLE:
      return {"HTTPAPI_ERROR_SERVICE_UNAVAILABLE",
              "httpapid cannot be reached; start it, or point HTTPAPI_CONTROL at its "
              "control socket."};
    case HTTPAPI_ERROR_NOT_INITIALIZED:
      return {"HTTPAPI_ERROR_NOT_INITIALIZED", "Call httpapi_initialize first."};
    case HTTPAPI_ERROR_VERSION_MISMATCH:
      return {"HTTPAPI_ERROR_VERSION_MISMATCH",
              "The library and the service speak different protocol versions; use matching "
              "builds."};
    case HTTPAPI_ERROR_NO_MEMORY:
      return {"HTTPAPI_ERROR_NO_MEMORY", "Out of memory or file descriptors."};
    case HTTPAPI_ERROR_INVALID_STATE:
      return {"HTTPAPI_ERROR_INVALID_STATE",
              "The call is not valid now (for example a second response to one request)."};
    case HTTPAPI_ERROR_PROTOCOL:
      return {"HTTPAPI_ERROR_PROTOCOL",
              "The service sent a message this library does not understand."};
    case HTTPAPI_ERROR_SHUTDOWN:
      return {"HTTPAPI_ERROR_SHUTDOWN", "The queue or session was closed or shut down."};
    case HTTPAPI_ERROR_TOO_LARGE:
      return {"HTTPAPI_ERROR_TOO_LARGE",
              "The message exceeds the protocol's size limit; send the body in pieces."};
    case HTTPAPI_ERROR_MORE_DATA:
      return {"HTTPAPI_ERROR_MORE_DATA",
              "The buffer is too small for the request; call again with the size given in "
              "*needed: the same request is kept for this handle."};
  }
  return {"HTTPAPI_ERROR_UNKNOWN", "Unknown error code."};
}

}  // namespace

extern "C" const char* httpapi_error_name(httpapi_error error) { return describe(error).name; }

extern "C" const char* httpapi_strerror(httpapi_error error) { return describe(error).text; }

extern "C" const char* httpapi_error_detail(void) {
  return httpapi::client::t_error_detail.c_str();
}
