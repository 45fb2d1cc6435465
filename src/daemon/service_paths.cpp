#include "daemon/service_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "daemon/diagnostics.hpp"

namespace httpapi::daemon {
namespace {

namespace fs = std::filesystem;

// A user's own httpapid (not root) keeps one directory, as it always did: there is no
// /var/lib it could write to.
std::string user_state_dir() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/httpapi";
  }
  return fmt::format("/tmp/httpapi-{}", geteuid());
}

void fill(std::string& field, const std::string& value) {
  if (field.empty()) field = value;
}

void create_directory(const std::string& path, mode_t mode) {
  std::error_code error;
  if (fs::is_directory(path, error)) return;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    throw std::runtime_error(fmt::format("cannot create the directory {}: {}", path,
                                         std::generic_category().message(errno)));
  }
  ::chmod(path.c_str(), mode);  // whatever the umask took away
}

// rename(2) when both are on one file system; /run (tmpfs) to /var/lib is not, so a copy
// then, and the original removed only once the copy is complete.
bool move_file(const std::string& from, const std::string& to, std::string& error) {
  if (::rename(from.c_str(), to.c_str()) == 0) return true;
  if (errno != EXDEV) {
    error = fmt::format("cannot move {} to {}: {}", from, to,
                        std::generic_category().message(errno));
    return false;
  }
  std::error_code failure;
  if (!fs::copy_file(from, to, fs::copy_options::overwrite_existing, failure) ||
      !fs::remove(from, failure)) {
    error = fmt::format("cannot move {} to {}: {}", from, to, failure.message());
    return false;
  }
  return true;
}

}  // namespace

void resolve_service_paths(Options& options) {
  // --user names the service account: the system service, whoever starts it. Under its unit
  // systemd starts it as httpapi already, and the places must still be /run and /var, not a
  // user's own directory (that one is /tmp/httpapi-UID there, private to the unit).
  const bool system_service = geteuid() == 0 || !options.user.empty();
  const bool one_directory = !options.state_dir.empty() || !system_service;
  if (one_directory) {
    fill(options.state_dir, user_state_dir());
    fill(options.runtime_dir, options.state_dir);
    fill(options.store_dir, options.state_dir);
    fill(options.log_dir, options.state_dir + "/logs");
  } else {
    fill(options.runtime_dir, "/run/httpapi");
    fill(options.store_dir, "/var/lib/httpapi");
    fill(options.log_dir, "/var/log/httpapi");
  }
  if (options.config_db.empty()) {
    options.config_db = options.store_dir + "/config.db";
    // Up to 0.x the store was STATE_DIR/config.db with the state directory on /run.
    const std::string old_place = options.runtime_dir + "/config.db";
    if (old_place != options.config_db) options.legacy_config_db = old_place;
  }
}

void create_service_directories(const Options& options) {
  create_directory(options.runtime_dir, 0755);
  create_directory(options.store_dir, 0750);
  create_directory(options.log_dir, 0750);
}

bool migrate_legacy_store(const Options& options, std::string& error) {
  const std::string& from = options.legacy_config_db;
  const std::string& to = options.config_db;
  std::error_code ignored;
  if (from.empty() || !fs::exists(from, ignored) || fs::exists(to, ignored)) return true;
  // The write-ahead log and a rollback journal hold committed or undoable changes: they go
  // along; the shared-memory index is rebuilt by SQLite.
  for (const char* suffix : {"-wal", "-journal"}) {
    if (fs::exists(from + suffix, ignored) && !move_file(from + suffix, to + suffix, error)) {
      return false;
    }
  }
  if (!move_file(from, to, error)) return false;
  fs::remove(from + "-shm", ignored);
  diagnose(LogLevel::notice,
           "httpapid: moved the configuration store from {} to {}, where it survives a "
           "reboot\n",
           from, to);
  return true;
}

}  // namespace httpapi::daemon
