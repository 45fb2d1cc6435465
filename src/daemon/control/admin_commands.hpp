// The commands of an admin connection (httpcfg): reservations, the IP listen list, live
// settings, certificate bindings, the service and cache state, drain and resume, and the
// host's state exported and imported. JSON in, JSON out (docs/protocol.md,
// docs/httpcfg.md). Service loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ipc/frame.hpp"

namespace httpapi::config {
class ConfigStore;
}

namespace httpapi::daemon {

class AccessLog;
class AppChannel;
class ControlServer;
class Drain;
class FragmentCache;
class IoWorker;
class QueueRegistry;
class ResponseCache;
class UrlGroups;
class UrlNamespace;
struct Settings;

class AdminCommands {
 public:
  // The parts the commands read and change. `settings` is the service's master copy,
  // `boot_settings` the command line's.
  struct Parts {
    config::ConfigStore& store;
    UrlNamespace& names;
    UrlGroups& groups;
    const QueueRegistry& queues;
    ControlServer& control;
    ResponseCache& cache;
    FragmentCache& fragments;
    Settings& settings;
    const Settings& boot_settings;
    const std::vector<std::unique_ptr<IoWorker>>& workers;
    // Called after every certificate binding change the store accepted, so the TLS
    // contexts are rebuilt from ConfigStore::cert_bindings().
    std::function<void()> cert_bindings_changed;
    // Called after every change of the IP listen list's IP:PORT entries, so the I/O threads
    // get the endpoints marked for the PROXY protocol (ConfigStore::listen_endpoints()).
    std::function<void()> listen_endpoints_changed;
    // The error log's lost lines, for servicestate (the log is made after these parts).
    std::function<std::uint64_t()> error_log_lines_lost;
    // The access logs' lines written, dropped (buffer full) and lost (refused by the disk).
    AccessLog& access_log;
    // httpcfg upgrade (root only, checked here): replace the service by BINARY ("" = the
    // running one's); the service replies on the channel when the outcome is known.
    std::function<void(AppChannel& channel, std::uint64_t call, const std::string& binary)>
        upgrade;
    // For servicestate: the upgrade in progress and the prefixes held for applications.
    std::function<void(nlohmann::json& out)> upgrade_state;
    // Registers the built-in URLs the settings name (daemon/builtin/builtin_urls.hpp) before
    // they take effect: HTTPAPI_OK, or the error with its reason (nothing changed then).
    std::function<std::uint32_t(const Settings&, std::string&)> apply_builtin_urls;
    // httpcfg drain and resume (daemon/drain/drain.hpp).
    Drain& drain;
    // An upgrade is starting, or this process is being replaced: no drain then.
    std::function<bool()> upgrade_in_progress;
  };
  explicit AdminCommands(Parts parts) : parts_(parts) {}

  void on_admin(AppChannel& channel, const ipc::Frame& frame);
  // SIGHUP: the settings again from the command line's values and the store (changed by
  // hand, or by another httpcfg), published to every I/O thread. Lines for values that no
  // longer parse; returns how many stored settings apply.
  std::size_t reload_settings();

 private:
  void dispatch(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void reserve(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void unreserve(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void show_reservations(AppChannel& channel, std::uint64_t call);
  void upgrade(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  nlohmann::json upgrade_state() const;
  void listen_list(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void listen_endpoint(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  nlohmann::json listen_endpoints_json() const;
  void service_state(AppChannel& channel, std::uint64_t call);
  static nlohmann::json tls_state();
  void cache_state(AppChannel& channel, std::uint64_t call);
  void settings(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void cert_bindings(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void show_cert_bindings(AppChannel& channel, std::uint64_t call,
                          const nlohmann::json& command);
  void drain(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void host_state(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);

  void publish_settings(const Settings& changed);

  Parts parts_;
};

}  // namespace httpapi::daemon
