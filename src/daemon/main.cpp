// httpapid: the service that owns the HTTP ports (DESIGN.md). Runs in the foreground and
// logs to stderr (the journal under systemd). Started as root with --user, it sets up its
// directories, becomes that user and keeps CAP_NET_BIND_SERVICE only (privilege.hpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "daemon/control/handover_channel.hpp"
#include "daemon/control/spawner.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/privilege.hpp"
#include "daemon/service.hpp"
#include "daemon/service_paths.hpp"
#include "daemon/syscall_filter.hpp"
#include "daemon/systemd_notify.hpp"

namespace {

using httpapi::daemon::LogLevel;
using httpapi::daemon::Options;

// Every client connection is a descriptor, and the usual soft limit (1024) is smaller than
// the connections one busy service holds; the hard limit is what the administrator allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// Everything that must happen before the service opens its store, as the user it runs as:
// directories, the change of user, no_new_privs, the spawner, the store's move from /run,
// the filter. Returns the spawner; throws with a message saying what went wrong.
httpapi::daemon::Spawner prepare(const Options& options) {
  std::string error;
  auto check = [&error](bool ok) {
    if (!ok) throw std::runtime_error(error);
  };
  std::optional<httpapi::daemon::ServiceAccount> account;
  if (!options.user.empty()) {
    account = httpapi::daemon::find_service_account(options.user, error);
    check(account.has_value());
  }
  httpapi::daemon::create_service_directories(options);
  if (account) {
    const std::string& db = options.config_db;
    check(httpapi::daemon::hand_over(
        *account, {options.runtime_dir, options.store_dir, options.log_dir},
        {db, db + "-wal", db + "-shm", db + "-journal"}, error));
    check(httpapi::daemon::become(*account, error));
  } else if (geteuid() == 0) {
    httpapi::daemon::diagnose(LogLevel::notice,
                              "httpapid: running as root; --user httpapi would keep only "
                              "the right to bind ports below 1024\n");
  }
  check(httpapi::daemon::forbid_new_privileges(error));
  // Here, and nowhere else, a copy of this process holds just what a new httpapid needs:
  // its user and capability, no_new_privs, no store, no socket, no thread, no filter
  // (spawner.hpp). Without it the service runs, and only `httpcfg upgrade` is refused.
  httpapi::daemon::Spawner spawner = httpapi::daemon::Spawner::fork_process(error);
  if (spawner.pid() <= 0) {
    httpapi::daemon::diagnose(LogLevel::warning, "httpapid: {}; httpcfg upgrade will be "
                                                 "refused until a restart\n", error);
  }
  check(httpapi::daemon::migrate_legacy_store(options, error));
  if (options.seccomp) check(httpapi::daemon::install_syscall_filter(error));
  return spawner;
}

// What `httpcfg upgrade` needs from how this process started (docs/operations.md,
// "Upgrades"): its binary's path (where a package upgrade puts the new one) and arguments,
// and, when an upgrade started it, the hand-over socket from the process it replaces.
void remember_start(int argc, char** argv, Options& options) {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  options.executable = n > 0 ? std::string(path, static_cast<std::size_t>(n)) : argv[0];
  options.arguments.assign(argv + 1, argv + argc);
  if (const char* fd = std::getenv(httpapi::daemon::handover::kEnvironment)) {
    options.upgrade_fd = std::atoi(fd);
    ::unsetenv(httpapi::daemon::handover::kEnvironment);
    ::fcntl(options.upgrade_fd, F_SETFD, FD_CLOEXEC);
  }
}

}  // namespace

int main(int argc, char** argv) {
  httpapi::daemon::claim_standard_streams();
  Options options;
  CLI::App app{"httpapid: the HTTP Server API service. Owns the HTTP ports and routes each "
               "request to the application that registered its URL prefix."};
  app.add_option("--state-dir", options.state_dir,
                 "One directory for control.sock, config.db and logs/ (default for root: "
                 "/run/httpapi, /var/lib/httpapi and /var/log/httpapi; for other users "
                 "$XDG_RUNTIME_DIR/httpapi)");
  app.add_option("--runtime-dir", options.runtime_dir,
                 "Directory of the control socket (default: /run/httpapi, or STATE_DIR)");
  app.add_option("--store-dir", options.store_dir,
                 "Directory of the configuration store (default: /var/lib/httpapi, or "
                 "STATE_DIR)");
  app.add_option("--log-dir", options.log_dir,
                 "Directory of the error log (default: /var/log/httpapi, or STATE_DIR/logs)");
  app.add_option("--config-db", options.config_db,
                 "The configuration store, an SQLite file (default: STORE_DIR/config.db); "
                 "its directory must be writable by --user");
  app.add_option("--user", options.user,
                 "Started as root: give the directories to this user and become it, keeping "
                 "only CAP_NET_BIND_SERVICE (the package's account is httpapi)");
  app.add_flag("--seccomp", options.seccomp,
               "Allow only the system calls httpapid makes (a seccomp filter)");
  std::string log_level = "info";
  app.add_option("--log-level", log_level,
                 "Most verbose diagnostic lines written: error, warning, notice, info, debug")
      ->check(CLI::IsMember({"error", "warning", "notice", "info", "debug"}));
  app.add_option("--io-threads", options.io_threads,
                 "I/O threads, one event loop each (default: one per usable CPU)");
  app.add_option("--queue-length", options.settings.queue_length,
                 "Default request queue length; more waiting requests get 503")
      ->check(CLI::Range(1, 65535));
  app.add_option("--max-request-bytes", options.settings.limits.max_request_bytes,
                 "Request line plus headers (HTTP.sys MaxRequestBytes)")
      ->check(CLI::Range(256, 16 * 1024 * 1024));
  app.add_option("--max-field-length", options.settings.limits.max_field_length,
                 "One header line (HTTP.sys MaxFieldLength)")
      ->check(CLI::Range(64, 65534));
  std::uint64_t max_body = 0;
  app.add_option("--max-body-bytes", max_body,
                 "Largest request body accepted (413 above it); 0 = no limit");
  app.add_option("--header-wait-timeout", options.settings.timers.header_wait,
                 "Seconds a request head may take to arrive (65535 = never)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--idle-connection-timeout", options.settings.timers.idle_connection,
                 "Seconds an idle keep-alive connection is kept (65535 = never)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--shutdown-timeout", options.shutdown_seconds,
                 "Seconds SIGTERM waits for in-flight responses");
  app.add_option("--server-header", options.settings.server_header,
                 "Server header value added to responses; empty to add none");
  app.footer("Settings in the configuration store (httpcfg set setting) override these "
             "boot values. SIGHUP reopens the logs and re-reads the settings. Stop with "
             "SIGTERM: in-flight responses finish, then it exits 0. docs/operations.md");
  remember_start(argc, argv, options);
  CLI11_PARSE(app, argc, argv);
  // The boot value of the setting log_level.
  options.settings.log_level = httpapi::daemon::parse_log_level(log_level).value_or(LogLevel::info);
  httpapi::daemon::set_log_level(options.settings.log_level);
  httpapi::daemon::resolve_service_paths(options);
  std::string unused;
  httpapi::daemon::apply_setting(options.settings, "max_body_bytes", std::to_string(max_body),
                                 unused);

  raise_descriptor_limit();

  // Signals are taken by the service loop through a signalfd: block them in every thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Connected before the change of user: the notify socket's permissions never matter.
  auto notifier = httpapi::daemon::SystemdNotifier::from_environment();
  try {
    httpapi::daemon::Spawner spawner = prepare(options);
    httpapi::daemon::Service service(options, std::move(notifier), std::move(spawner));
    return service.run();
  } catch (const std::exception& error) {
    httpapi::daemon::diagnose(LogLevel::error, "httpapid: {}\n", error.what());
    if (options.upgrade_fd >= 0) {  // the process it was to replace says why, to httpcfg
      httpapi::daemon::handover::send(options.upgrade_fd, httpapi::daemon::handover::Record::failed,
                                      error.what());
    }
    return 1;
  }
}
