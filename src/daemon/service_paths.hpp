// Where httpapid keeps its files. As root, or as the --user service account, Debian's places: the control socket in
// /run/httpapi (a tmpfs, emptied at boot, which suits a socket), the configuration store in
// /var/lib/httpapi (it must survive a reboot), the logs in /var/log/httpapi. --state-dir
// keeps everything in one directory (tests, scripts/run.sh, a user's own service).
#pragma once

#include <string>

#include "daemon/options.hpp"

namespace httpapi::daemon {

// Fills the empty directory fields of `options` from --state-dir or the defaults, and the
// store's path (and the old place of the store to migrate from).
void resolve_service_paths(Options& options);

// Creates the runtime, store and log directories when missing (runtime 0755: applications
// of every user reach the control socket in it; the others 0750). Throws on failure.
void create_service_directories(const Options& options);

// Moves a store found at options.legacy_config_db to options.config_db, once (when the
// new one does not exist yet), with its journal; says so on stderr. False with `error` set
// when the move failed: starting on an empty store would lose every reservation.
bool migrate_legacy_store(const Options& options, std::string& error);

}  // namespace httpapi::daemon
