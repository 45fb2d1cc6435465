// The IMF-fixdate for the Date header, formatted at most once a second per thread.
#pragma once

#include <string_view>

namespace httpapi::daemon {

// "Sun, 06 Nov 1994 08:49:37 GMT". The view stays valid on this thread until the next call.
std::string_view http_date_now();

}  // namespace httpapi::daemon
