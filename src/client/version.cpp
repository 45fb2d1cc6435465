// The release of the library, as httpapi.h's HTTPAPI_VERSION_* give it.
#include "httpapi/httpapi.h"

#define HTTPAPI_STRING(x) #x
#define HTTPAPI_DIGITS(x) HTTPAPI_STRING(x)

extern "C" unsigned int httpapi_version(void) { return HTTPAPI_VERSION_HEX; }

extern "C" const char* httpapi_version_string(void) {
  return HTTPAPI_DIGITS(HTTPAPI_VERSION_MAJOR) "." HTTPAPI_DIGITS(
      HTTPAPI_VERSION_MINOR) "." HTTPAPI_DIGITS(HTTPAPI_VERSION_PATCH);
}
