// The service: its lifecycle (construction, run, drain on SIGTERM/SIGINT, shutdown) and the
// parts it wires together. The parts live on loop 0 (the service loop); I/O threads reach
// them through the calls below, which post there, and read the routing table through an
// immutable snapshot.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config_store.hpp"
#include "daemon/builtin/builtin_urls.hpp"
#include "daemon/cache/cache_calls.hpp"
#include "daemon/cache/fragment_cache.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/control/admin_commands.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/control/queue_calls.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/spawner.hpp"
#include "daemon/control/upgrade_launcher.hpp"
#include "daemon/control/request_broker.hpp"
#include "daemon/control/url_groups.hpp"
#include "daemon/control/url_namespace.hpp"
#include "daemon/drain/drain.hpp"
#include "daemon/error_log.hpp"
#include "daemon/logging/access_log.hpp"
#include "daemon/metrics/metrics_registry.hpp"
#include "daemon/options.hpp"
#include "daemon/policy/connection_count.hpp"
#include "daemon/policy/group_limits.hpp"
#include "daemon/policy/handshake_limit.hpp"
#include "daemon/policy/settings.hpp"
#include "daemon/systemd_notify.hpp"
#include "route/prefix_table.hpp"
#include "tls/cert_binding.hpp"
#include "tls/ticket_keys.hpp"

namespace httpapi::daemon {

class IoWorker;

class Service {
 public:
  // `notifier` tells systemd how the service is (inactive outside systemd); `spawner`
  // starts the new process of an upgrade (none: upgrades are refused).
  Service(Options options, SystemdNotifier notifier = {}, Spawner spawner = {});
  ~Service();

  // Runs until SIGTERM/SIGINT, then drains and returns the exit status.
  int run();

  ErrorLog& error_log() noexcept { return *error_log_; }
  // The access logs (docs/access-logs.md); push() from any thread. reopen() is the hook a
  // SIGHUP handler calls after logrotate.
  AccessLog& access_log() noexcept { return *access_log_; }
  std::shared_ptr<const route::PrefixTable> routes() const { return url_groups_.routes(); }
  std::uint64_t next_request_id() { return ++request_ids_; }
  std::uint64_t next_connection_id() { return ++connection_ids_; }
  IoWorker& worker(unsigned index) { return *workers_[index]; }
  ResponseCache& cache() noexcept { return cache_; }
  // The limits of URL group `group_id` (route::Target::group_id); null when it is gone.
  std::shared_ptr<GroupLimits> group_limits(std::uint64_t group_id) const {
    return url_groups_.group_limits(group_id);
  }
  // Every client connection, against the max_connections setting. Any thread.
  ConnectionCount& connections() noexcept { return connections_; }
  // TLS handshakes in progress, per client source. Any thread.
  HandshakeLimit& handshakes() noexcept { return handshakes_; }
  // The metrics (docs/metrics.md): scrape() on any thread.
  const metrics::MetricsRegistry& metrics() const noexcept { return metrics_; }
  // The URLs the service answers itself; their handlers run on any thread.
  const BuiltinUrls& builtin_urls() const noexcept { return builtin_urls_; }
  // `httpcfg drain` is under way: every answer ends its connection. Any thread.
  bool draining() const noexcept { return drain_.draining(); }

  // --- any thread: posts to the service loop
  void submit(InboundRequest request);
  void request_gone(std::uint64_t request_id);
  void body_ready(std::uint64_t request_id, std::string data, std::string trailers,
                  std::uint32_t flags);
  // I/O thread `index` stopped accepting and has no connection left.
  void worker_drained(unsigned index);
  // Retiring after an upgrade: an idle client connection's socket, for the new process.
  void hand_off_connection(int fd);
  // A client reads slower than the application sends: stop (or resume) reading the
  // application's channel so responses do not pile up in the service.
  void throttle(std::uint64_t channel_id, bool on);

 private:
  void route_messages();
  void handle_signal();
  // SIGHUP: the logs reopened (after logrotate moved them), the settings re-read from the
  // store; no connection or application is disturbed.
  void reload();
  void begin_shutdown();
  // STATUS= for systemctl status: the live counts.
  std::string status_line() const;
  // The queues' and application channels' gauges, to the metrics (once a second).
  void publish_control_gauges();
  void tick();
  EventLoop& service_loop();
  // Builds the TLS contexts for the stored certificate bindings and hands them to the I/O
  // threads: new handshakes use them at once, established connections keep theirs. At start
  // and after every httpcfg sslcert change.
  void publish_tls();
  // The endpoints marked for the PROXY protocol, from the store, to every I/O thread.
  void publish_proxy_endpoints();
  // Registers the built-in URLs `settings` names (builtin_urls.hpp): HTTPAPI_OK or the error.
  std::uint32_t apply_builtin_urls(const Settings& settings, std::string& detail);
  // The drain's actions (drain.hpp) on the I/O threads.
  void drain_stop_accepting();
  void drain_close_connections();

  // ---- upgrades (service_upgrade.cpp; docs/operations.md, "Upgrades")
  // httpcfg upgrade: start `binary` ("" = this one's) to replace this process.
  void start_upgrade(AppChannel& channel, std::uint64_t call, const std::string& binary);
  void send_handover_state(int socket);
  void upgrade_finished(bool taken, const std::string& message);
  // Taken over: accept nothing more, let connections go or finish, then exit.
  void retire();
  // Started by an upgrade: take the sockets and state over instead of listening.
  void take_over();
  void hold_handed_over(const nlohmann::json& state);
  void on_predecessor_readable();
  void on_adopted(std::uint64_t held_queue, std::uint64_t queue);
  void release_held();
  void describe_upgrade(nlohmann::json& out) const;

  Options options_;
  SystemdNotifier notifier_;
  Spawner spawner_;
  std::unique_ptr<config::ConfigStore> store_;
  // Made before the workers and the URL groups, gone after them: every request's line
  // reaches it until the last I/O thread stops.
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<ErrorLog> error_log_;
  UrlNamespace namespace_;
  Settings settings_;  // the master copy; each I/O worker has its own
  BuiltinUrls builtin_urls_;  // filled in the constructor, before any I/O thread runs
  std::vector<std::unique_ptr<IoWorker>> workers_;
  ResponseCache cache_;
  FragmentCache fragments_;  // service loop only
  std::atomic<std::uint64_t> request_ids_{0};
  std::atomic<std::uint64_t> connection_ids_{0};
  ConnectionCount connections_;
  HandshakeLimit handshakes_;
  std::shared_ptr<tls::TicketKeys> ticket_keys_ = std::make_shared<tls::TicketKeys>();
  metrics::MetricsRegistry metrics_{{workers_, cache_, *access_log_,
                                     [this] { return error_log_ ? error_log_->lines_lost() : 0; }}};

  // The service loop's parts; each uses only those declared before it.
  ControlServer control_;
  UpgradeLauncher upgrade_{service_loop(), spawner_,
                           {[this](int socket) { send_handover_state(socket); },
                            [this](bool taken, const std::string& message) {
                              upgrade_finished(taken, message);
                            }}};
  QueueRegistry queues_;
  UrlGroups url_groups_;
  CacheCalls cache_calls_{cache_, fragments_, queues_, url_groups_, settings_};
  RequestBroker broker_{queues_, cache_calls_, workers_};
  Drain drain_{{[this] { drain_stop_accepting(); }, [this] { drain_close_connections(); },
                [this] { return std::size_t{connections_.current()}; },
                [this] { return broker_.in_flight(); }}};
  QueueCalls queue_calls_{control_, queues_, broker_, url_groups_, fragments_, settings_};
  AdminCommands admin_{{*store_, namespace_, url_groups_, queues_, control_, cache_, fragments_,
                        settings_, options_.settings, workers_,
                        [this] { publish_tls(); }, [this] { publish_proxy_endpoints(); },
                        [this] { return error_log_->lines_lost(); }, *access_log_,
                        [this](AppChannel& channel, std::uint64_t call,
                               const std::string& binary) {
                          start_upgrade(channel, call, binary);
                        },
                        [this](nlohmann::json& out) { describe_upgrade(out); },
                        [this](const Settings& s, std::string& detail) {
                          return apply_builtin_urls(s, detail);
                        },
                        drain_,
                        [this] { return upgrade_.busy() || retiring_; }}};

  int signal_fd_ = -1;
  bool stopping_ = false;
  std::vector<bool> drained_workers_;  // by index: no connection left, not accepting
  unsigned shutdown_ticks_ = 0;
  // Upgrades: the httpcfg call waiting for the outcome; this process being replaced; in the
  // new one, the socket from the one it replaced while that hands connections over, and
  // how long the handed-over prefixes are held for their applications.
  std::uint64_t upgrade_channel_ = 0;
  std::uint64_t upgrade_call_ = 0;
  bool retiring_ = false;
  int predecessor_ = -1;
  unsigned held_seconds_left_ = 0;
  unsigned next_adopting_worker_ = 0;
};

}  // namespace httpapi::daemon
