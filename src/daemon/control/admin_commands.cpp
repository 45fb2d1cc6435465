#include "daemon/control/admin_commands.hpp"

#include <arpa/inet.h>

#include <ctime>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config_store.hpp"
#include "daemon/cache/fragment_cache.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/control/app_channel.hpp"
#include "daemon/control/cert_binding_json.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/control/host_state.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/url_groups.hpp"
#include "daemon/control/url_namespace.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/drain/drain.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/logging/access_log.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"
#include "proxy/trusted_networks.hpp"
#include "tls/certificate.hpp"
#include "tls/endpoint.hpp"

namespace httpapi::daemon {
namespace {

using json = nlohmann::json;

bool valid_address(const std::string& address) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, address.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

// The store says what kind of failure it was; applications and httpcfg get the matching code.
std::uint32_t status_of(const config::StoreError& error) {
  switch (error.kind) {
    case config::StoreError::Kind::already_exists: return HTTPAPI_ERROR_ALREADY_EXISTS;
    case config::StoreError::Kind::not_found: return HTTPAPI_ERROR_NOT_FOUND;
    case config::StoreError::Kind::invalid: return HTTPAPI_ERROR_INVALID_PARAMETER;
    default: return HTTPAPI_ERROR_INVALID_STATE;
  }
}

}  // namespace

void AdminCommands::on_admin(AppChannel& channel, const ipc::Frame& frame) {
  ipc::AdminCall call;
  if (!ipc::decode(frame, call)) return channel.close("malformed admin message");
  const json command = json::parse(call.json, nullptr, false);
  if (command.is_discarded() || !command.is_object()) {
    return channel.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "malformed JSON");
  }
  // A command is any JSON a local user sends; a field of the wrong type makes nlohmann
  // throw, which must cost that command, not the service.
  try {
    dispatch(channel, call.call, command);
  } catch (const json::exception& error) {
    channel.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                  fmt::format("malformed command: {}", error.what()));
  }
}

void AdminCommands::dispatch(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (name == "urlacl.add") return reserve(channel, call, command);
  if (name == "urlacl.delete") return unreserve(channel, call, command);
  if (name == "urlacl.show") return show_reservations(channel, call);
  if (name.starts_with("iplisten.")) return listen_list(channel, call, command);
  if (name == "servicestate") return service_state(channel, call);
  if (name == "cachestate") return cache_state(channel, call);
  if (name.starts_with("settings.")) return settings(channel, call, command);
  if (name == "sslcert.show") return show_cert_bindings(channel, call, command);
  if (name.starts_with("sslcert.")) return cert_bindings(channel, call, command);
  if (name == "upgrade") return upgrade(channel, call, command);
  if (name == "drain" || name == "resume") return drain(channel, call, command);
  if (name == "state.export" || name == "state.import") {
    return host_state(channel, call, command);
  }
  channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                fmt::format("unknown command '{}'", name));
}

void AdminCommands::upgrade(AppChannel& channel, std::uint64_t call, const json& command) {
  if (!channel.peer().is_root()) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         "only root may upgrade httpapid");
  }
  const json binary = command.value("binary", json(""));
  if (!binary.is_string()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "binary must be a string");
  }
  parts_.upgrade(channel, call, binary.get<std::string>());
}

json AdminCommands::upgrade_state() const {
  json state;
  parts_.upgrade_state(state);
  return state;
}

void AdminCommands::show_reservations(AppChannel& channel, std::uint64_t call) {
  json list = json::array();
  for (const auto& r : parts_.names.all()) {
    list.push_back({{"url", r.prefix.text}, {"acl", acl_json(r.acl)}});
  }
  channel.reply(call, HTTPAPI_OK, 0, json{{"reservations", list}}.dump());
}

void AdminCommands::cache_state(AppChannel& channel, std::uint64_t call) {
  json state;
  parts_.cache.describe(state, monotonic_seconds());
  parts_.fragments.describe(state["fragments"], monotonic_seconds());
  channel.reply(call, HTTPAPI_OK, 0, state.dump());
}

void AdminCommands::reserve(AppChannel& channel, std::uint64_t call, const json& command) {
  route::UrlPrefix prefix;
  const std::string url = command.value("url", "");
  if (auto error = route::parse_url_prefix(url, prefix); error != route::PrefixError::none) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("'{}': {}", url, route::describe(error)));
  }
  std::vector<config::AclEntry> acl;
  if (!parse_acl(command, acl)) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         "a reservation needs at least one user or group");
  }
  if (parts_.names.find(prefix.text)) {
    return channel.reply(
        call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
        fmt::format("{} is already reserved; delete it first to change it", prefix.text));
  }
  if (!parts_.names.may_reserve(channel.peer(), prefix)) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         fmt::format("uid {} may not reserve {}: only root, or a user with "
                                     "delegate rights on the reservation above it",
                                     channel.peer().uid, prefix.text));
  }
  config::StoreError error;
  if (!parts_.store.add_reservation({prefix.text, acl}, error)) {
    return channel.reply(call, status_of(error), 0, error.message);
  }
  parts_.names.add({prefix, acl});
  parts_.groups.publish();
  diagnose("httpapid: uid {} reserved {}\n", channel.peer().uid, prefix.text);
  channel.reply(call, HTTPAPI_OK);
}

void AdminCommands::unreserve(AppChannel& channel, std::uint64_t call, const json& command) {
  route::UrlPrefix prefix;
  const std::string url = command.value("url", "");
  if (auto error = route::parse_url_prefix(url, prefix); error != route::PrefixError::none) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("'{}': {}", url, route::describe(error)));
  }
  if (!parts_.names.find(prefix.text)) {
    return channel.reply(call, HTTPAPI_ERROR_NOT_FOUND, 0,
                         fmt::format("{} is not reserved", prefix.text));
  }
  if (!parts_.names.may_reserve(channel.peer(), prefix)) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         fmt::format("uid {} may not delete the reservation {}",
                                     channel.peer().uid, prefix.text));
  }
  config::StoreError error;
  if (!parts_.store.delete_reservation(prefix.text, error)) {
    return channel.reply(call, status_of(error), 0, error.message);
  }
  parts_.names.remove(prefix.text);
  parts_.groups.publish();
  diagnose("httpapid: uid {} deleted the reservation {}\n", channel.peer().uid,
           prefix.text);
  channel.reply(call, HTTPAPI_OK);
}

// A change of the addresses applies at once to every open port, without a gap
// (docs/listening.md); when an address cannot be bound the change is undone and refused.
// Entries given as IP:PORT (the PROXY protocol marks) apply at once, to the connections
// accepted from then on.
void AdminCommands::listen_list(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (name == "iplisten.show") {
    return channel.reply(call, HTTPAPI_OK, 0,
                         json{{"addresses", parts_.store.listen_addresses()},
                              {"endpoints", listen_endpoints_json()}}
                             .dump());
  }
  if (!channel.peer().is_root()) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         "only root may change the IP listen list");
  }
  if (command.contains("ipport")) return listen_endpoint(channel, call, command);
  const std::string address = command.value("address", "");
  if (!valid_address(address)) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("'{}' is not an IPv4 or IPv6 address", address));
  }
  config::StoreError error;
  bool done = false;
  if (name == "iplisten.add") {
    done = parts_.store.add_listen_address(address, error);
  } else if (name == "iplisten.delete") {
    done = parts_.store.delete_listen_address(address, error);
  } else {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("unknown command '{}'", name));
  }
  if (!done) return channel.reply(call, status_of(error), 0, error.message);
  std::string detail;
  if (const std::uint32_t status = parts_.groups.listen_list_changed(detail);
      status != HTTPAPI_OK) {
    config::StoreError undo;
    const bool undone = name == "iplisten.add"
                            ? parts_.store.delete_listen_address(address, undo)
                            : parts_.store.add_listen_address(address, undo);
    if (!undone) diagnose(LogLevel::warning, "httpapid: {}\n", undo.message);
    return channel.reply(call, status, 0,
                         fmt::format("{}; the IP listen list is unchanged", detail));
  }
  diagnose("httpapid: uid {} {} {} to the IP listen list\n", channel.peer().uid,
           name == "iplisten.add" ? "added" : "deleted", address);
  channel.reply(call, HTTPAPI_OK);
}

// An IP:PORT entry. Today it exists for the PROXY protocol only (docs/proxy-protocol.md):
// one without it would do nothing, so it is refused rather than stored.
void AdminCommands::listen_endpoint(AppChannel& channel, std::uint64_t call,
                                    const json& command) {
  const std::string name = command.value("command", "");
  const json& ipport = command["ipport"];
  config::ListenEndpoint endpoint;
  if (!ipport.is_string()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "ipport must be a string");
  }
  if (std::string problem = tls::parse_endpoint(ipport.get<std::string>(),
                                                tls::CertBinding::Kind::ip_port, endpoint.host,
                                                endpoint.port);
      !problem.empty()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("{}; give IP:PORT, e.g. 127.0.0.2:8080 or [::1]:8443",
                                     problem));
  }
  config::StoreError error;
  if (name == "iplisten.delete") {
    if (!parts_.store.delete_listen_endpoint(endpoint.host, endpoint.port, error)) {
      return channel.reply(call, status_of(error), 0, error.message);
    }
  } else if (name == "iplisten.add") {
    endpoint.proxy_protocol = command.value("proxy_protocol", false);
    if (!endpoint.proxy_protocol) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                           "an IP:PORT entry needs --proxy-protocol (listening on chosen "
                           "addresses only is --address)");
    }
    proxy::TrustedNetworks trusted;
    const std::string list = command.value("trusted", "");
    if (list.empty()) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                           "--proxy-protocol needs --trusted CIDR[,CIDR...]: the balancers "
                           "whose PROXY headers are believed, e.g. --trusted 10.0.0.0/8");
    }
    if (std::string problem = trusted.parse(list); !problem.empty()) {
      // "; " marks a reason that says what to do (httpcfg shows it as it is).
      if (problem.find("; ") == std::string::npos) {
        problem += "; --trusted takes comma-separated networks, e.g. 10.0.0.0/8,::1/128";
      }
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, problem);
    }
    endpoint.trusted = trusted.text();
    if (!parts_.store.add_listen_endpoint(endpoint, error)) {
      return channel.reply(call, status_of(error), 0, error.message);
    }
  } else {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("unknown command '{}'", name));
  }
  diagnose("httpapid: uid {} {} the IP listen list entry {}\n", channel.peer().uid,
           name == "iplisten.add" ? "added" : "deleted", ipport.get<std::string>());
  parts_.listen_endpoints_changed();
  channel.reply(call, HTTPAPI_OK);
}

json AdminCommands::listen_endpoints_json() const {
  json out = json::array();
  for (const config::ListenEndpoint& e : parts_.store.listen_endpoints()) {
    const bool v6 = e.host.find(':') != std::string::npos;
    const std::string ipport = v6 ? fmt::format("[{}]:{}", e.host, e.port)
                                  : fmt::format("{}:{}", e.host, e.port);
    out.push_back({{"ipport", ipport},
                   {"proxy_protocol", e.proxy_protocol},
                   {"trusted", e.trusted}});
  }
  return out;
}

// Sessions, groups, queues and endpoints live here; connections live on the I/O threads,
// so each thread is asked for its list and the answer goes out when the last one replied.
// Whether file bodies on TLS connections can go out with sendfile: only when the kernel's
// TLS module is loaded (docs/tls.md, "File bodies over TLS").
json AdminCommands::tls_state() {
  std::ifstream ulps("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string ulp;
  bool kernel_tls = false;
  while (ulps >> ulp) kernel_tls = kernel_tls || ulp == "tls";
  return {{"kernel_tls", kernel_tls},
          {"file_bodies", kernel_tls ? "sendfile through kernel TLS"
                                     : "read and encrypted 16 KiB at a time"}};
}

void AdminCommands::service_state(AppChannel& channel, std::uint64_t call) {
  json sessions = json::array();
  for (const auto& [id, c] : parts_.control.channels()) {
    if (c->role() != ipc::Role::session || c->closing()) continue;
    sessions.push_back({{"id", id}, {"pid", c->peer().pid}, {"uid", c->peer().uid},
                        {"groups", parts_.groups.describe(*c)}});
  }
  // Every greeted application connection, with the protocol it speaks and how its frames
  // arrive: an operator sees which libraries are old during an upgrade, and whether the
  // shared ring carries the traffic (docs/protocol.md).
  json channels = json::array();
  static constexpr const char* kRoles[] = {"", "session", "queue", "admin"};
  for (const auto& [id, c] : parts_.control.channels()) {
    if (!c->greeted() || c->closing()) continue;
    channels.push_back({{"id", id}, {"pid", c->peer().pid}, {"uid", c->peer().uid},
                        {"role", kRoles[static_cast<int>(c->role()) & 3]},
                        {"protocol", c->version()},
                        {"frames_by_socket", c->frames_by_socket()},
                        {"frames_by_ring", c->frames_by_ring()},
                        {"bytes_to_socket", c->bytes_to_socket()},
                        {"bytes_to_ring", c->bytes_to_ring()}});
  }
  json queues = json::array();
  for (const auto& [id, q] : parts_.queues.all()) {
    queues.push_back({{"id", id},
                      {"name", q->name()},
                      {"owner_uid", q->owner_uid()},
                      {"length", q->length()},
                      {"workers", q->receivers().size()},
                      {"handles", q->handles},
                      {"persistent", (q->flags() & HTTPAPI_QUEUE_FLAG_PERSISTENT) != 0},
                      {"held", q->held},
                      {"controller", (q->flags() & HTTPAPI_QUEUE_FLAG_CONTROLLER) != 0}});
  }
  std::vector<std::pair<std::string, std::uint16_t>> marks;
  for (const config::ListenEndpoint& e : parts_.store.listen_endpoints()) {
    if (e.proxy_protocol) marks.emplace_back(e.host, e.port);
  }
  json endpoints = parts_.groups.listeners().describe(marks);
  json proxy_protocol = listen_endpoints_json();

  struct Gathering {
    json state;
    std::size_t waiting;
    std::uint64_t channel;
    std::uint64_t call;
  };
  auto gathering = std::make_shared<Gathering>(
      Gathering{{{"sessions", sessions}, {"queues", queues}, {"channels", channels}, {"endpoints", endpoints},
                 {"proxy_protocol", proxy_protocol}, {"builtin_urls", parts_.groups.describe_builtins()},
                 {"drain", parts_.drain.describe(monotonic_ms())},
                 {"tls", tls_state()}, {"connections", json::array()},
                 {"upgrade", upgrade_state()},
                 {"logging", {{"stderr_lines_lost", diagnostic_lines_lost()},
                              {"error_log_lines_lost", parts_.error_log_lines_lost()},
                              {"access_log_lines_written", parts_.access_log.lines_written()},
                              {"access_log_lines_dropped", parts_.access_log.lines_dropped()},
                              {"access_log_lines_lost", parts_.access_log.lines_lost()}}}},
                parts_.workers.size(), channel.id(), call});
  EventLoop& service_loop = parts_.workers[0]->loop();
  for (auto& worker : parts_.workers) {
    IoWorker* w = worker.get();
    w->loop().post([this, w, &service_loop, gathering] {
      json mine = w->describe_connections();
      service_loop.post([this, gathering, mine = std::move(mine)] {
        for (const auto& c : mine) gathering->state["connections"].push_back(c);
        if (--gathering->waiting > 0) return;
        AppChannel* c = parts_.control.find(gathering->channel);
        if (!c || c->closing()) return;
        c->reply(gathering->call, HTTPAPI_OK, 0, gathering->state.dump());
      });
    });
  }
}

// Settings change live: the store first (so an acknowledged change survives a restart),
// then the master copy, then each I/O thread's copy through its loop.
void AdminCommands::settings(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (name == "settings.show") {
    return channel.reply(call, HTTPAPI_OK, 0, json{{"settings", describe(parts_.settings)}}.dump());
  }
  if (!channel.peer().is_root()) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0, "only root may change settings");
  }
  const std::string key = command.value("key", "");
  Settings changed = parts_.boot_settings;
  config::StoreError error;
  std::string why;
  if (name == "settings.set") {
    const std::string value = command.value("value", "");
    changed = parts_.settings;
    if (!apply_setting(changed, key, value, why)) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, why);
    }
    // A URL setting takes its URL first: a URL already taken refuses the setting.
    if (const std::uint32_t status = parts_.apply_builtin_urls(changed, why); status != HTTPAPI_OK) {
      return channel.reply(call, status, 0, why);
    }
    if (!parts_.store.set_setting(key, value, error)) {
      parts_.apply_builtin_urls(parts_.settings, why);  // back to the URLs in force
      return channel.reply(call, status_of(error), 0, error.message);
    }
  } else if (name == "settings.delete") {
    // Back to the boot value: rebuild from the command line and what remains stored.
    if (!parts_.store.delete_setting(key, error)) {
      return channel.reply(
          call, status_of(error), 0,
          error.message.empty() ? fmt::format("'{}' is not set", key) : error.message);
    }
    for (const auto& [k, v] : parts_.store.settings()) apply_setting(changed, k, v, why);
    if (parts_.apply_builtin_urls(changed, why) != HTTPAPI_OK) {
      diagnose(LogLevel::warning, "httpapid: after deleting {}: {}\n", key, why);
    }
  } else {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("unknown command '{}'", name));
  }
  publish_settings(changed);
  diagnose("httpapid: uid {} changed setting {}\n", channel.peer().uid, key);
  channel.reply(call, HTTPAPI_OK);
}

void AdminCommands::publish_settings(const Settings& changed) {
  parts_.settings = changed;
  set_log_level(changed.log_level);
  parts_.cache.set_limits(changed.cache);
  parts_.fragments.set_limits(changed.cache);
  parts_.access_log.configure_server(changed.access_log_rollover, changed.access_log_rollover_bytes,
                                     changed.access_log_local_time);
  for (auto& worker : parts_.workers) {
    IoWorker* w = worker.get();
    w->loop().post([w, changed] { w->set_settings(changed); });
  }
}

std::size_t AdminCommands::reload_settings() {
  Settings changed = parts_.boot_settings;
  std::size_t applied = 0;
  for (const auto& [key, value] : parts_.store.settings()) {
    std::string why;
    if (apply_setting(changed, key, value, why)) {
      ++applied;
    } else {
      diagnose(LogLevel::warning, "httpapid: stored setting '{}' ignored: {}\n", key, why);
    }
  }
  if (std::string why; parts_.apply_builtin_urls(changed, why) != HTTPAPI_OK) {
    diagnose(LogLevel::warning, "httpapid: {}\n", why);
  }
  publish_settings(changed);
  return applied;
}

// Certificates are public: anyone may see them (never keys). show with an endpoint shows
// that binding only, and is NOT_FOUND without it.
void AdminCommands::show_cert_bindings(AppChannel& channel, std::uint64_t call,
                                       const json& command) {
  tls::CertBinding wanted;
  const bool filtered = command.contains("ipport") || command.contains("hostnameport");
  if (filtered) {
    if (std::string reason = endpoint_from_command(command, wanted); !reason.empty()) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, reason);
    }
  }
  json list = json::array();
  for (const tls::CertBinding& b : parts_.store.cert_bindings()) {
    if (filtered && (b.kind != wanted.kind || b.host != wanted.host || b.port != wanted.port)) {
      continue;
    }
    list.push_back(describe_binding(b));
  }
  if (filtered && list.empty()) {
    return channel.reply(call, HTTPAPI_ERROR_NOT_FOUND, 0,
                         fmt::format("there is no certificate binding for {}; list them all "
                                     "with 'httpcfg sslcert show'",
                                     tls::endpoint_text(wanted)));
  }
  channel.reply(call, HTTPAPI_OK, 0, json{{"bindings", list}}.dump());
}

// add, update and delete: checked here whatever the client checked, stored, then the TLS
// contexts are rebuilt. A refusal changes nothing.
void AdminCommands::cert_bindings(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (name != "sslcert.add" && name != "sslcert.update" && name != "sslcert.delete") {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("unknown command '{}'", name));
  }
  if (!channel.peer().is_root()) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         "only root may change certificate bindings");
  }
  tls::CertBinding binding;
  config::StoreError error;
  bool done = false;
  std::string what;
  if (name == "sslcert.delete") {
    if (std::string reason = endpoint_from_command(command, binding); !reason.empty()) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, reason);
    }
    done = parts_.store.delete_cert_binding(binding.kind, binding.host, binding.port, error);
    what = "deleted";
  } else {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    if (std::string reason = binding_from_command(command, now, binding); !reason.empty()) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, reason);
    }
    done = name == "sslcert.add" ? parts_.store.add_cert_binding(binding, error)
                                 : parts_.store.update_cert_binding(binding, error);
    what = name == "sslcert.add" ? "added" : "updated";
  }
  if (!done) return channel.reply(call, status_of(error), 0, error.message);
  std::string fingerprints;
  for (const tls::CertKeyPair& pair : binding.certificates) {
    tls::CertificateInfo info;
    if (tls::describe_certificate(pair.certificate_pem, info).empty()) {
      fingerprints += fmt::format(" [{}, {}, sha256 {}]", info.subject, info.key_type,
                                  info.sha256);
    }
  }
  diagnose("httpapid: uid {} {} the certificate binding {}{}\n", channel.peer().uid,
           what, tls::endpoint_text(binding), fingerprints);
  if (parts_.cert_bindings_changed) parts_.cert_bindings_changed();
  channel.reply(call, HTTPAPI_OK);
}

// drain {"grace": S, "timeout": S} and resume (docs/operations.md). Root only: it takes the
// whole host out of service.
void AdminCommands::drain(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (!channel.peer().is_root()) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         fmt::format("only root may {} the service", name));
  }
  std::string detail;
  if (name == "resume") {
    const std::uint32_t status = parts_.drain.resume(detail);
    if (status == HTTPAPI_OK) diagnose("httpapid: uid {} resumed the service\n", channel.peer().uid);
    return channel.reply(call, status, 0, detail);
  }
  if (parts_.upgrade_in_progress()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_STATE, 0,
                         "drain refused: an upgrade is in progress; wait for its outcome "
                         "(httpcfg show servicestate), then drain the process that serves");
  }
  std::uint32_t seconds[2] = {Drain::kDefaultGrace, Drain::kDefaultTimeout};
  const char* const keys[2] = {"grace", "timeout"};
  for (int i = 0; i < 2; ++i) {
    const auto it = command.find(keys[i]);
    if (it == command.end()) continue;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
        it->get<std::int64_t>() > Drain::kMaxSeconds) {
      return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                           fmt::format("--{} takes whole seconds from 0 to {}, not {}; e.g. "
                                       "httpcfg drain --grace 10 --timeout 30",
                                       keys[i], Drain::kMaxSeconds, it->dump()));
    }
    seconds[i] = it->get<std::uint32_t>();
  }
  const std::uint32_t status = parts_.drain.begin(seconds[0], seconds[1], monotonic_ms(), detail);
  if (status == HTTPAPI_OK) {
    diagnose("httpapid: uid {} started a drain (grace {} s, timeout {} s)\n", channel.peer().uid,
             seconds[0], seconds[1]);
  }
  channel.reply(call, status, 0, detail);
}

// export and import (host_state.hpp). Root only: the document holds private keys.
void AdminCommands::host_state(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (!channel.peer().is_root()) {
    return channel.reply(call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         fmt::format("only root may {} the host's state (it holds private keys)",
                                     name == "state.export" ? "export" : "import"));
  }
  if (name == "state.export") {
    return channel.reply(call, HTTPAPI_OK, 0, export_host_state(parts_.store).dump());
  }
  HostState state;
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  if (std::string problem =
          read_host_state(command.value("state", json::object()), parts_.boot_settings, now, state);
      !problem.empty()) {
    return channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         problem + "; nothing was changed");
  }
  ImportCounts counts;
  config::StoreError error;
  const bool stored = apply_host_state(parts_.store, state, counts, error);
  // What the store holds now takes effect, all of it or the part a failure left.
  if (const std::size_t skipped = parts_.names.load(parts_.store.reservations()); skipped > 0) {
    diagnose(LogLevel::warning, "httpapid: {} imported reservation(s) ignored\n", skipped);
  }
  parts_.groups.publish();
  parts_.listen_endpoints_changed();
  parts_.cert_bindings_changed();
  reload_settings();
  if (!stored) return channel.reply(call, status_of(error), 0, error.message);
  diagnose("httpapid: uid {} imported the host state: {} added, {} updated, {} deleted, {} "
           "unchanged\n",
           channel.peer().uid, counts.added, counts.updated, counts.deleted, counts.unchanged);
  channel.reply(call, HTTPAPI_OK, 0,
                json{{"added", counts.added}, {"updated", counts.updated},
                     {"deleted", counts.deleted}, {"unchanged", counts.unchanged}}
                    .dump());
}

}  // namespace httpapi::daemon
