// Calendar time for log lines and file names, from milliseconds since the epoch, in UTC or
// the machine's local time. A log writes many lines within one second: the conversion is
// done once per second and reused.
#pragma once

#include <cstdint>

namespace httpapi::daemon {

struct CivilTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0;
  long utc_offset_seconds = 0;  // local time minus UTC (0 in UTC)
};

class CivilClock {
 public:
  explicit CivilClock(bool local) : local_(local) {}
  CivilTime at(std::int64_t ms);
  bool local() const noexcept { return local_; }

 private:
  bool local_;
  std::int64_t second_ = INT64_MIN;  // the second `cached_` is for
  CivilTime cached_;
};

}  // namespace httpapi::daemon
