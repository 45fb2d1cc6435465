#include "daemon/logging/log_time.hpp"

#include <ctime>

namespace httpapi::daemon {

CivilTime CivilClock::at(std::int64_t ms) {
  const std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != second_) {
    const std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    if (local_) {
      localtime_r(&t, &tm);
    } else {
      gmtime_r(&t, &tm);
    }
    cached_.year = tm.tm_year + 1900;
    cached_.month = tm.tm_mon + 1;
    cached_.day = tm.tm_mday;
    cached_.hour = tm.tm_hour;
    cached_.minute = tm.tm_min;
    cached_.second = tm.tm_sec;
    cached_.utc_offset_seconds = local_ ? tm.tm_gmtoff : 0;
    second_ = second;
  }
  CivilTime out = cached_;
  out.millisecond = static_cast<int>(ms - second * 1000);
  return out;
}

}  // namespace httpapi::daemon
