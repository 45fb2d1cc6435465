// Build check: the C header and the C++ wrapper compile alone as C++20.
#include <httpapi/httpapi.h>
#include <httpapi/httpapi.hpp>

int httpapi_header_check_cpp() { return sizeof(httpapi::Result<httpapi::Queue>) > 0 ? 0 : 1; }
