// How httpapid was started: the command line. Limits and timers that may change while it
// runs are Settings (settings.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "daemon/diagnostics.hpp"
#include "daemon/policy/settings.hpp"

namespace httpapi::daemon {

struct Options {
  // Where things are (service_paths.hpp resolves them before the service starts): the
  // control socket in runtime_dir, the store config_db (normally store_dir/config.db), the
  // logs in log_dir. --state-dir puts all three in one directory.
  std::string state_dir;
  std::string runtime_dir;
  std::string store_dir;
  std::string log_dir;
  std::string config_db;
  // A store left where older versions kept it (the runtime directory, on /run), moved to
  // config_db once; empty = none to look for.
  std::string legacy_config_db;
  std::string user;         // --user: the account httpapid becomes; empty = stay
  bool seccomp = false;     // --seccomp: the system call allow-list
  unsigned io_threads = 0;  // 0 = one per CPU this process may run on
  unsigned shutdown_seconds = 10;  // SIGTERM: how long in-flight responses may take
  std::size_t error_log_rollover_bytes = 1024 * 1024;
  Settings settings;        // boot values; the configuration store overrides them
  // For `httpcfg upgrade` (docs/operations.md, "Upgrades"): this binary's path as started,
  // and its arguments, which the new binary is started with; and in a process started by
  // an upgrade, its end of the hand-over socket (-1 otherwise).
  std::string executable;
  std::vector<std::string> arguments;
  int upgrade_fd = -1;
};

}  // namespace httpapi::daemon
