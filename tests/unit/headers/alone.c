/* Build check: <httpapi/httpapi.h> compiles alone as strict C11. */
#include <httpapi/httpapi.h>

int httpapi_header_check_c(void) { return (int)sizeof(httpapi_request_info) > 0 ? HTTPAPI_OK : 1; }
