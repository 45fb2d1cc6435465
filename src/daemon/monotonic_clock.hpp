// Whole seconds of CLOCK_MONOTONIC: what every timer, the request-queue wait and the
// response cache measure with (wall-clock changes must not fire or stop them).
#pragma once

#include <ctime>

namespace httpapi::daemon {

inline unsigned monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<unsigned>(now.tv_sec);
}

}  // namespace httpapi::daemon
