// Names and texts of httpapi_error, made from HTTPAPI_ERROR_MAP, and the service's detail
// of the last failure.
#include <string>
#include <string_view>

#include "client/objects.hpp"

namespace httpapi::client {

thread_local std::string t_error_detail;

void set_error_detail(std::string_view detail) { t_error_detail.assign(detail); }

}  // namespace httpapi::client

// The code is read as the int it is: a caller may pass any value (raw_enum says why).
extern "C" const char* httpapi_error_name(httpapi_error error) {
  switch (httpapi::client::raw_enum(error)) {
#define HTTPAPI_ERROR_NAME(identifier, value, text) \
  case identifier:                                  \
    return #identifier;
    HTTPAPI_ERROR_MAP(HTTPAPI_ERROR_NAME)
#undef HTTPAPI_ERROR_NAME
  }
  return "HTTPAPI_ERROR_UNKNOWN";
}

extern "C" const char* httpapi_strerror(httpapi_error error) {
  switch (httpapi::client::raw_enum(error)) {
#define HTTPAPI_ERROR_TEXT(identifier, value, text) \
  case identifier:                                  \
    return text;
    HTTPAPI_ERROR_MAP(HTTPAPI_ERROR_TEXT)
#undef HTTPAPI_ERROR_TEXT
  }
  return "Unknown error code.";
}

extern "C" const char* httpapi_error_detail(void) {
  return httpapi::client::t_error_detail.c_str();
}
