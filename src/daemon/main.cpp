// httpapid: the service that owns the HTTP ports (DESIGN.md). Runs in the foreground and
// logs to stderr.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "daemon/diagnostics.hpp"
#include "daemon/service.hpp"

namespace {

std::string default_state_dir() {
  if (geteuid() == 0) return "/run/httpapi";
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/httpapi";
  }
  return fmt::format("/tmp/httpapi-{}", geteuid());
}

// Every client connection is a descriptor, and the usual soft limit (1024) is smaller than
// the connections one busy service holds; the hard limit is what the administrator allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  httpapi::daemon::claim_standard_streams();
  httpapi::daemon::Options options;
  options.state_dir = default_state_dir();
  CLI::App app{"httpapid: the HTTP Server API service. Owns the HTTP ports and routes each "
               "request to the application that registered its URL prefix."};
  app.add_option("--state-dir", options.state_dir,
                 "Directory for control.sock, configuration and logs/ (default: /run/httpapi "
                 "for root, $XDG_RUNTIME_DIR/httpapi otherwise)");
  app.add_option("--config-db", options.config_db,
                 "The configuration store, an SQLite file (default: STATE_DIR/config.db)");
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
             "boot values. Stop with SIGTERM: in-flight responses finish, then it exits 0.");
  CLI11_PARSE(app, argc, argv);
  std::string unused;
  httpapi::daemon::apply_setting(options.settings, "max_body_bytes", std::to_string(max_body),
                                 unused);

  raise_descriptor_limit();

  // Signals are taken by the service loop through a signalfd: block them in every thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    httpapi::daemon::Service service(options);
    return service.run();
  } catch (const std::exception& error) {
    httpapi::daemon::diagnose("httpapid: {}\n", error.what());
    return 1;
  }
}
