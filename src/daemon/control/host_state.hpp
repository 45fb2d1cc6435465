// A host's own state as one JSON document (`httpcfg export` / `httpcfg import`,
// docs/scale-out.md): the URL reservations, the IP listen list (addresses and IP:PORT
// entries), the certificate bindings (with their keys: the document is as secret as the
// store) and the stored settings. Behind a load balancer every host must hold the same; one
// host's export, imported on the others, makes them so.
//
// Import replaces: what the document lacks is deleted, what it holds is added or updated.
// Everything in it is checked first, with the service's own rules, and a document with any
// fault changes nothing. Pure but for the store it reads and writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config_store.hpp"
#include "tls/cert_binding.hpp"

namespace httpapi::daemon {

struct Settings;

// The "acl" array of a reservation: [{"kind": "user"|"group", "id", "listen", "delegate"}].
nlohmann::json acl_json(const std::vector<config::AclEntry>& acl);
// False when it is missing, empty or malformed.
bool parse_acl(const nlohmann::json& reservation, std::vector<config::AclEntry>& acl);

// The document format's version ("httpapi_host_state").
inline constexpr int kHostStateVersion = 1;

nlohmann::json export_host_state(const config::ConfigStore& store);

// A document read and checked: what the store will hold after the import.
struct HostState {
  std::vector<config::Reservation> reservations;
  std::vector<std::string> listen_addresses;
  std::vector<config::ListenEndpoint> listen_endpoints;
  std::vector<tls::CertBinding> cert_bindings;
  std::map<std::string, std::string> settings;
};

// Reads `document`, checking every entry (`boot` is the settings the service started with,
// for the settings' check; `now_unix` for the certificates'). "" or the first fault, naming
// the entry ("reservations[2]: ...").
std::string read_host_state(const nlohmann::json& document, const Settings& boot,
                            std::int64_t now_unix, HostState& state);

// What an import changed, for its answer and the log.
struct ImportCounts {
  std::size_t added = 0;
  std::size_t updated = 0;
  std::size_t deleted = 0;
  std::size_t unchanged = 0;
};

// Makes the store hold `state`. False with `error` when the store refused a change (the
// database itself failing: the entries before it are changed, the rest not).
bool apply_host_state(config::ConfigStore& store, const HostState& state, ImportCounts& counts,
                      config::StoreError& error);

}  // namespace httpapi::daemon
