#include "daemon/front/http_date.hpp"

#include <ctime>

namespace httpapi::daemon {

std::string_view http_date_now() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[40] = {};
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm parts{};
    gmtime_r(&now, &parts);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
    cached_second = now;
  }
  return {text, length};
}

}  // namespace httpapi::daemon
