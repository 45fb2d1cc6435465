// The persistent service configuration (DESIGN.md §2, §8): reservations (URL ACLs), the IP
// listen list, server-wide settings and certificate bindings, in SQLite (WAL mode, one transaction per change,
// versioned schema with migrations). Only httpapid writes it; httpcfg goes through the
// service. Not thread-safe: the service loop owns the store. The file holds private keys, so
// it and its -wal and -shm files are mode 0600 (open() creates it so and tightens an older
// file).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/cert_binding.hpp"

namespace httpapi::config {

struct AclEntry {
  enum class Kind : std::uint8_t { user, group };
  Kind kind = Kind::user;
  std::uint32_t id = 0;     // uid or gid
  bool listen = true;       // may register prefixes under the reservation
  bool delegate = false;    // may add reservations below it
};

struct Reservation {
  std::string prefix;             // canonical text (route::UrlPrefix::text)
  std::vector<AclEntry> acl;
};

// Every failure carries a message that says what is wrong and what to do.
// An endpoint of the IP listen list given as IP:PORT (`httpcfg iplisten add --ipport`), with
// what the service does for connections accepted on it. Today that is the PROXY protocol
// only (docs/proxy-protocol.md): the store refuses an entry without it.
struct ListenEndpoint {
  std::string host;  // as tls::parse_endpoint writes it: "127.0.0.2", "::1", "0.0.0.0", "::"
  std::uint16_t port = 0;
  bool proxy_protocol = false;
  std::string trusted;  // canonical comma-separated networks (proxy::TrustedNetworks::text)
};

struct StoreError {
  // What kind of failure, so the service can answer with the matching httpapi_error
  // (already_exists → HTTPAPI_ERROR_ALREADY_EXISTS, not_found → HTTPAPI_ERROR_NOT_FOUND,
  // invalid → HTTPAPI_ERROR_INVALID_PARAMETER, storage → the database itself failed).
  enum class Kind : std::uint8_t { none, already_exists, not_found, invalid, storage };
  std::string message;
  Kind kind = Kind::none;
};

class ConfigStore {
 public:
  // Opens (creating if missing) the store at `path`, migrating an older schema in one
  // transaction. A file that is not a database, is corrupt (PRAGMA quick_check fails), or
  // has a schema newer than this build is an error: the caller stops with the message; the
  // file is never reset or overwritten.
  static std::unique_ptr<ConfigStore> open(const std::string& path, StoreError& error);
  ~ConfigStore();

  static constexpr int kSchemaVersion = 3;
  int schema_version() const;
  const std::string& path() const;

  // Reservations. add fails (returns false, sets error) when the prefix exists already.
  bool add_reservation(const Reservation& reservation, StoreError& error);
  bool delete_reservation(const std::string& prefix, StoreError& error);  // false if absent
  std::vector<Reservation> reservations() const;

  // IP listen list: textual addresses ("127.0.0.1", "::1", "0.0.0.0", "::").
  bool add_listen_address(const std::string& address, StoreError& error);
  bool delete_listen_address(const std::string& address, StoreError& error);
  std::vector<std::string> listen_addresses() const;
  // Endpoints of the IP listen list (IP:PORT with options), keyed by host and port; add fails
  // with already_exists, delete with not_found. The caller checks host and networks.
  bool add_listen_endpoint(const ListenEndpoint& endpoint, StoreError& error);
  bool delete_listen_endpoint(const std::string& host, std::uint16_t port, StoreError& error);
  std::vector<ListenEndpoint> listen_endpoints() const;

  // Server-wide settings as text (limits and timers, e.g. "header_wait_seconds" = "120").
  bool set_setting(const std::string& key, const std::string& value, StoreError& error);
  bool delete_setting(const std::string& key, StoreError& error);
  std::map<std::string, std::string> settings() const;

  // Certificate bindings (httpcfg sslcert), keyed by kind, host and port. The store keeps
  // what it is given: the service checks certificates and endpoints before (tls/
  // certificate.hpp, tls/endpoint.hpp). add fails with already_exists when the endpoint is
  // bound, update and delete with not_found when it is not; update replaces the whole
  // binding. A binding needs one or two certificates.
  bool add_cert_binding(const tls::CertBinding& binding, StoreError& error);
  bool update_cert_binding(const tls::CertBinding& binding, StoreError& error);
  bool delete_cert_binding(tls::CertBinding::Kind kind, const std::string& host,
                           std::uint16_t port, StoreError& error);
  std::vector<tls::CertBinding> cert_bindings() const;

 private:
  struct Impl;
  explicit ConfigStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace httpapi::config
