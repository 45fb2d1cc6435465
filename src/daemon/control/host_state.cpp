#include "daemon/control/host_state.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/control/cert_binding_json.hpp"
#include "daemon/policy/settings.hpp"
#include "proxy/trusted_networks.hpp"
#include "route/url_prefix.hpp"
#include "tls/endpoint.hpp"

namespace httpapi::daemon {
namespace {

using json = nlohmann::json;

const char* client_cert_text(tls::ClientCertMode mode) {
  switch (mode) {
    case tls::ClientCertMode::request: return "request";
    case tls::ClientCertMode::require: return "require";
    default: return "none";
  }
}

std::string ipport_text(const std::string& host, std::uint16_t port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

// A binding as sslcert.add takes it (cert_binding_json.hpp), keys included.
json binding_json(const tls::CertBinding& b) {
  json certificates = json::array();
  for (const tls::CertKeyPair& pair : b.certificates) {
    certificates.push_back({{"certificate", pair.certificate_pem}, {"key", pair.key_pem}});
  }
  json out = {{b.kind == tls::CertBinding::Kind::ip_port ? "ipport" : "hostnameport",
               b.kind == tls::CertBinding::Kind::ip_port ? ipport_text(b.host, b.port)
                                                         : fmt::format("{}:{}", b.host, b.port)},
              {"certificates", certificates},
              {"client_cert", client_cert_text(b.client_cert)},
              {"min_tls", b.min_tls == tls::MinTls::v1_3 ? "1.3" : "1.2"},
              {"disable_http2", b.disable_http2},
              {"disable_session_id", b.disable_session_id}};
  if (!b.ca_pem.empty()) out["ca"] = b.ca_pem;
  return out;
}

// Fields read without exceptions: a value of the wrong type reads as absent (and is then
// refused by the checks that follow).
std::string text_at(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag_at(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const json& array_at(const json& document, const char* key) {
  static const json empty = json::array();
  const auto it = document.find(key);
  return it == document.end() ? empty : *it;
}

std::string read_reservations(const json& list, HostState& state) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    const std::string where = fmt::format("reservations[{}]", i);
    route::UrlPrefix prefix;
    const std::string url = item.is_object() ? text_at(item, "url") : "";
    if (const auto e = route::parse_url_prefix(url, prefix); e != route::PrefixError::none) {
      return fmt::format("{}: '{}': {}", where, url, route::describe(e));
    }
    config::Reservation r{prefix.text, {}};
    if (!parse_acl(item, r.acl)) {
      return fmt::format("{} ({}): \"acl\" must list at least one {{\"kind\": \"user\"|\"group\", "
                         "\"id\": N}}",
                         where, prefix.text);
    }
    if (!seen.insert(prefix.text).second) return fmt::format("{}: {} twice", where, prefix.text);
    state.reservations.push_back(std::move(r));
  }
  return "";
}

std::string read_listen_list(const json& addresses, const json& endpoints, HostState& state) {
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    unsigned char buffer[16];
    const std::string a = addresses[i].is_string() ? addresses[i].get<std::string>() : "";
    if (inet_pton(AF_INET, a.c_str(), buffer) != 1 && inet_pton(AF_INET6, a.c_str(), buffer) != 1) {
      return fmt::format("listen_addresses[{}]: {} is not an IPv4 or IPv6 address", i,
                         addresses[i].dump());
    }
    state.listen_addresses.push_back(a);
  }
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const json& item = endpoints[i];
    const std::string where = fmt::format("listen_endpoints[{}]", i);
    config::ListenEndpoint e;
    const std::string ipport = item.is_object() ? text_at(item, "ipport") : "";
    if (std::string problem =
            tls::parse_endpoint(ipport, tls::CertBinding::Kind::ip_port, e.host, e.port);
        !problem.empty()) {
      return fmt::format("{}: {}", where, problem);
    }
    e.proxy_protocol = flag_at(item, "proxy_protocol");
    proxy::TrustedNetworks trusted;
    if (!e.proxy_protocol) return fmt::format("{} ({}): needs \"proxy_protocol\": true", where, ipport);
    if (std::string problem = trusted.parse(text_at(item, "trusted")); !problem.empty()) {
      return fmt::format("{} ({}): {}", where, ipport, problem);
    }
    e.trusted = trusted.text();
    state.listen_endpoints.push_back(std::move(e));
  }
  return "";
}

std::string read_bindings(const json& list, std::int64_t now_unix, HostState& state) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    tls::CertBinding b;
    if (!list[i].is_object()) return fmt::format("cert_bindings[{}]: not an object", i);
    if (std::string problem = binding_from_command(list[i], now_unix, b); !problem.empty()) {
      return fmt::format("cert_bindings[{}]: {}", i, problem);
    }
    state.cert_bindings.push_back(std::move(b));
  }
  return "";
}

std::string read_settings(const json& object, const Settings& boot, HostState& state) {
  if (!object.is_object()) return "\"settings\" must be an object of key: value text";
  Settings check = boot;
  for (const auto& [key, value] : object.items()) {
    if (!value.is_string()) return fmt::format("settings.{}: the value must be text", key);
    std::string why;
    if (!apply_setting(check, key, value.get<std::string>(), why)) {
      return fmt::format("settings.{}: {}", key, why);
    }
    state.settings[key] = value.get<std::string>();
  }
  return "";
}

bool same_acl(const std::vector<config::AclEntry>& a, const std::vector<config::AclEntry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.kind == y.kind && x.id == y.id && x.listen == y.listen && x.delegate == y.delegate;
  });
}

bool same_binding(const tls::CertBinding& a, const tls::CertBinding& b) {
  const auto pairs_equal = std::equal(
      a.certificates.begin(), a.certificates.end(), b.certificates.begin(), b.certificates.end(),
      [](const auto& x, const auto& y) {
        return x.certificate_pem == y.certificate_pem && x.key_pem == y.key_pem;
      });
  return pairs_equal && a.client_cert == b.client_cert && a.ca_pem == b.ca_pem &&
         a.min_tls == b.min_tls && a.disable_http2 == b.disable_http2 &&
         a.disable_session_id == b.disable_session_id;
}

}  // namespace

json acl_json(const std::vector<config::AclEntry>& acl) {
  json out = json::array();
  for (const auto& a : acl) {
    out.push_back({{"kind", a.kind == config::AclEntry::Kind::user ? "user" : "group"},
                   {"id", a.id},
                   {"listen", a.listen},
                   {"delegate", a.delegate}});
  }
  return out;
}

bool parse_acl(const json& command, std::vector<config::AclEntry>& acl) {
  const auto it = command.find("acl");
  if (it == command.end() || !it->is_array() || it->empty()) return false;
  for (const json& item : *it) {
    if (!item.is_object()) return false;
    config::AclEntry entry;
    const std::string kind = text_at(item, "kind");
    if (kind != "user" && kind != "group") return false;
    entry.kind = kind == "user" ? config::AclEntry::Kind::user : config::AclEntry::Kind::group;
    const auto id = item.find("id");
    if (id == item.end() || !id->is_number_unsigned()) return false;
    entry.id = id->get<std::uint32_t>();
    const auto listen = item.find("listen");
    entry.listen = listen == item.end() || !listen->is_boolean() || listen->get<bool>();
    entry.delegate = flag_at(item, "delegate");
    acl.push_back(entry);
  }
  return true;
}

// Entries in a fixed order (by their key), so the exports of two hosts that hold the same
// compare equal whatever order each was configured in.
json export_host_state(const config::ConfigStore& store) {
  std::map<std::string, json> reservations, endpoints, bindings;
  for (const auto& r : store.reservations()) {
    reservations[r.prefix] = {{"url", r.prefix}, {"acl", acl_json(r.acl)}};
  }
  for (const auto& e : store.listen_endpoints()) {
    const std::string ipport = ipport_text(e.host, e.port);
    endpoints[ipport] = {
        {"ipport", ipport}, {"proxy_protocol", e.proxy_protocol}, {"trusted", e.trusted}};
  }
  for (const auto& b : store.cert_bindings()) {
    bindings[fmt::format("{}:{}:{}", static_cast<int>(b.kind), b.host, b.port)] = binding_json(b);
  }
  const auto values = [](std::map<std::string, json>& by_key) {
    json out = json::array();
    for (auto& [key, value] : by_key) out.push_back(std::move(value));
    return out;
  };
  std::vector<std::string> addresses = store.listen_addresses();
  std::sort(addresses.begin(), addresses.end());
  return {{"httpapi_host_state", kHostStateVersion},
          {"reservations", values(reservations)},
          {"listen_addresses", addresses},
          {"listen_endpoints", values(endpoints)},
          {"cert_bindings", values(bindings)},
          {"settings", store.settings()}};
}

std::string read_host_state(const json& document, const Settings& boot, std::int64_t now_unix,
                            HostState& state) {
  state = {};
  const auto version = document.is_object() ? document.find("httpapi_host_state") : document.end();
  if (!document.is_object() || version == document.end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != kHostStateVersion) {
    return fmt::format("not an httpapi host state document (version {}): make it with "
                       "'httpcfg export' from the same release",
                       kHostStateVersion);
  }
  for (const char* key : {"reservations", "listen_addresses", "listen_endpoints", "cert_bindings"}) {
    if (document.contains(key) && !document[key].is_array()) {
      return fmt::format("\"{}\" must be an array", key);
    }
  }
  if (std::string p = read_reservations(array_at(document, "reservations"), state); !p.empty()) {
    return p;
  }
  if (std::string p = read_listen_list(array_at(document, "listen_addresses"),
                                       array_at(document, "listen_endpoints"), state);
      !p.empty()) {
    return p;
  }
  if (std::string p = read_bindings(array_at(document, "cert_bindings"), now_unix, state);
      !p.empty()) {
    return p;
  }
  const auto settings = document.find("settings");
  return read_settings(settings == document.end() ? json::object() : *settings, boot, state);
}

bool apply_host_state(config::ConfigStore& store, const HostState& state, ImportCounts& counts,
                      config::StoreError& error) {
  // Reservations: keyed by prefix; a changed ACL is deleted and added again.
  std::map<std::string, const config::Reservation*> wanted;
  for (const auto& r : state.reservations) wanted[r.prefix] = &r;
  for (const auto& r : store.reservations()) {
    const auto it = wanted.find(r.prefix);
    if (it != wanted.end() && same_acl(r.acl, it->second->acl)) {
      ++counts.unchanged;
      wanted.erase(it);
      continue;
    }
    if (!store.delete_reservation(r.prefix, error)) return false;
    ++(it == wanted.end() ? counts.deleted : counts.updated);
    if (it != wanted.end() && !store.add_reservation(*it->second, error)) return false;
    if (it != wanted.end()) wanted.erase(it);
  }
  for (const auto& [prefix, r] : wanted) {
    if (!store.add_reservation(*r, error)) return false;
    ++counts.added;
  }
  // The listen list's addresses.
  std::set<std::string> addresses(state.listen_addresses.begin(), state.listen_addresses.end());
  for (const auto& a : store.listen_addresses()) {
    if (addresses.erase(a)) {
      ++counts.unchanged;
    } else if (!store.delete_listen_address(a, error)) {
      return false;
    } else {
      ++counts.deleted;
    }
  }
  for (const auto& a : addresses) {
    if (!store.add_listen_address(a, error)) return false;
    ++counts.added;
  }
  // Its IP:PORT entries, keyed by host and port.
  std::map<std::pair<std::string, std::uint16_t>, const config::ListenEndpoint*> endpoints;
  for (const auto& e : state.listen_endpoints) endpoints[{e.host, e.port}] = &e;
  for (const auto& e : store.listen_endpoints()) {
    const auto it = endpoints.find({e.host, e.port});
    if (it != endpoints.end() && it->second->trusted == e.trusted &&
        it->second->proxy_protocol == e.proxy_protocol) {
      ++counts.unchanged;
      endpoints.erase(it);
      continue;
    }
    if (!store.delete_listen_endpoint(e.host, e.port, error)) return false;
    ++(it == endpoints.end() ? counts.deleted : counts.updated);
    if (it != endpoints.end() && !store.add_listen_endpoint(*it->second, error)) return false;
    if (it != endpoints.end()) endpoints.erase(it);
  }
  for (const auto& [key, e] : endpoints) {
    if (!store.add_listen_endpoint(*e, error)) return false;
    ++counts.added;
  }
  // Certificate bindings, keyed by kind, host and port.
  using BindingKey = std::tuple<tls::CertBinding::Kind, std::string, std::uint16_t>;
  std::map<BindingKey, const tls::CertBinding*> bindings;
  for (const auto& b : state.cert_bindings) bindings[{b.kind, b.host, b.port}] = &b;
  for (const auto& b : store.cert_bindings()) {
    const auto it = bindings.find({b.kind, b.host, b.port});
    if (it == bindings.end()) {
      if (!store.delete_cert_binding(b.kind, b.host, b.port, error)) return false;
      ++counts.deleted;
      continue;
    }
    if (same_binding(b, *it->second)) {
      ++counts.unchanged;
    } else if (!store.update_cert_binding(*it->second, error)) {
      return false;
    } else {
      ++counts.updated;
    }
    bindings.erase(it);
  }
  for (const auto& [key, b] : bindings) {
    if (!store.add_cert_binding(*b, error)) return false;
    ++counts.added;
  }
  // Settings.
  std::map<std::string, std::string> settings = state.settings;
  for (const auto& [key, value] : store.settings()) {
    const auto it = settings.find(key);
    if (it == settings.end()) {
      if (!store.delete_setting(key, error)) return false;
      ++counts.deleted;
      continue;
    }
    if (it->second == value) {
      ++counts.unchanged;
    } else if (!store.set_setting(key, it->second, error)) {
      return false;
    } else {
      ++counts.updated;
    }
    settings.erase(it);
  }
  for (const auto& [key, value] : settings) {
    if (!store.set_setting(key, value, error)) return false;
    ++counts.added;
  }
  return true;
}

}  // namespace httpapi::daemon
