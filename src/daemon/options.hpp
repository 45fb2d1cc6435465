// How httpapid was started: the command line. Limits and timers that may change while it
// runs are Settings (settings.hpp).
#pragma once

#include <cstddef>
#include <string>

#include "daemon/policy/settings.hpp"

namespace httpapi::daemon {

struct Options {
  std::string state_dir;
  std::string config_db;    // empty = STATE_DIR/config.db
  unsigned io_threads = 0;  // 0 = one per CPU this process may run on
  unsigned shutdown_seconds = 10;  // SIGTERM: how long in-flight responses may take
  std::size_t error_log_rollover_bytes = 1024 * 1024;
  Settings settings;        // boot values; the configuration store overrides them
};

}  // namespace httpapi::daemon
