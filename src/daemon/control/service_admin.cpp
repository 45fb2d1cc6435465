// Administration commands from httpcfg (an admin connection): reservations, the IP listen
// list and the live service state. JSON in, JSON out (docs/protocol.md, docs/httpcfg.md).
#include <arpa/inet.h>

#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/control/app_channel.hpp"
#include "daemon/front/connection.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/service.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

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

// Reads the "acl" array of urlacl.add; false when it is missing, empty or malformed.
bool parse_acl(const json& command, std::vector<config::AclEntry>& acl) {
  const auto it = command.find("acl");
  if (it == command.end() || !it->is_array() || it->empty()) return false;
  for (const json& item : *it) {
    if (!item.is_object()) return false;
    config::AclEntry entry;
    const std::string kind = item.value("kind", "");
    if (kind != "user" && kind != "group") return false;
    entry.kind = kind == "user" ? config::AclEntry::Kind::user : config::AclEntry::Kind::group;
    const auto id = item.find("id");
    if (id == item.end() || !id->is_number_unsigned()) return false;
    entry.id = id->get<std::uint32_t>();
    entry.listen = item.value("listen", true);
    entry.delegate = item.value("delegate", false);
    acl.push_back(entry);
  }
  return true;
}

}  // namespace

void Service::on_admin(AppChannel& channel, const ipc::Frame& frame) {
  ipc::AdminCall call;
  if (!ipc::decode(frame, call)) return channel.close("malformed admin message");
  const json command = json::parse(call.json, nullptr, false);
  if (command.is_discarded() || !command.is_object()) {
    return reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "malformed JSON");
  }
  const std::string name = command.value("command", "");
  if (name == "urlacl.add") return admin_reserve(channel, call.call, command);
  if (name == "urlacl.delete") return admin_unreserve(channel, call.call, command);
  if (name == "urlacl.show") {
    json list = json::array();
    for (const auto& r : namespace_.all()) {
      list.push_back({{"url", r.prefix.text}, {"acl", acl_json(r.acl)}});
    }
    return reply(channel, call.call, HTTPAPI_OK, 0, json{{"reservations", list}}.dump());
  }
  if (name.starts_with("iplisten.")) return admin_listen_list(channel, call.call, command);
  if (name == "servicestate") return admin_service_state(channel, call.call);
  if (name == "cachestate") {
    json state;
    cache_.describe(state, monotonic_seconds());
    fragments_.describe(state["fragments"], monotonic_seconds());
    return reply(channel, call.call, HTTPAPI_OK, 0, state.dump());
  }
  if (name.starts_with("settings.")) return admin_settings(channel, call.call, command);
  reply(channel, call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
        fmt::format("unknown command '{}'", name));
}

void Service::admin_reserve(AppChannel& channel, std::uint64_t call, const json& command) {
  route::UrlPrefix prefix;
  const std::string url = command.value("url", "");
  if (auto error = route::parse_url_prefix(url, prefix); error != route::PrefixError::none) {
    return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 fmt::format("'{}': {}", url, route::describe(error)));
  }
  std::vector<config::AclEntry> acl;
  if (!parse_acl(command, acl)) {
    return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 "a reservation needs at least one user or group");
  }
  if (namespace_.find(prefix.text)) {
    return reply(channel, call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
                 fmt::format("{} is already reserved; delete it first to change it", prefix.text));
  }
  if (!namespace_.may_reserve(channel.peer(), prefix)) {
    return reply(channel, call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 fmt::format("uid {} may not reserve {}: only root, or a user with delegate "
                             "rights on the reservation above it",
                             channel.peer().uid, prefix.text));
  }
  config::StoreError error;
  if (!store_->add_reservation({prefix.text, acl}, error)) {
    return reply(channel, call, status_of(error), 0, error.message);
  }
  namespace_.add({prefix, acl});
  publish_routes();
  fmt::print(stderr, "httpapid: uid {} reserved {}\n", channel.peer().uid, prefix.text);
  reply(channel, call, HTTPAPI_OK);
}

void Service::admin_unreserve(AppChannel& channel, std::uint64_t call, const json& command) {
  route::UrlPrefix prefix;
  const std::string url = command.value("url", "");
  if (auto error = route::parse_url_prefix(url, prefix); error != route::PrefixError::none) {
    return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 fmt::format("'{}': {}", url, route::describe(error)));
  }
  if (!namespace_.find(prefix.text)) {
    return reply(channel, call, HTTPAPI_ERROR_NOT_FOUND, 0,
                 fmt::format("{} is not reserved", prefix.text));
  }
  if (!namespace_.may_reserve(channel.peer(), prefix)) {
    return reply(channel, call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 fmt::format("uid {} may not delete the reservation {}", channel.peer().uid,
                             prefix.text));
  }
  config::StoreError error;
  if (!store_->delete_reservation(prefix.text, error)) {
    return reply(channel, call, status_of(error), 0, error.message);
  }
  namespace_.remove(prefix.text);
  publish_routes();
  fmt::print(stderr, "httpapid: uid {} deleted the reservation {}\n", channel.peer().uid,
             prefix.text);
  reply(channel, call, HTTPAPI_OK);
}

// The list applies to ports as they start listening; a port already open keeps its sockets
// until its last prefix goes (docs/httpcfg.md).
void Service::admin_listen_list(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (name == "iplisten.show") {
    return reply(channel, call, HTTPAPI_OK, 0,
                 json{{"addresses", store_->listen_addresses()}}.dump());
  }
  if (!channel.peer().is_root()) {
    return reply(channel, call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                 "only root may change the IP listen list");
  }
  const std::string address = command.value("address", "");
  if (!valid_address(address)) {
    return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 fmt::format("'{}' is not an IPv4 or IPv6 address", address));
  }
  config::StoreError error;
  bool done = false;
  if (name == "iplisten.add") {
    done = store_->add_listen_address(address, error);
  } else if (name == "iplisten.delete") {
    done = store_->delete_listen_address(address, error);
  } else {
    return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 fmt::format("unknown command '{}'", name));
  }
  if (!done) return reply(channel, call, status_of(error), 0, error.message);
  reply(channel, call, HTTPAPI_OK);
}

// Sessions, groups, queues and endpoints live here; connections live on the I/O threads,
// so each thread is asked for its list and the answer goes out when the last one replied.
void Service::admin_service_state(AppChannel& channel, std::uint64_t call) {
  json sessions = json::array();
  for (const auto& [id, c] : channels_) {
    if (c->role() != ipc::Role::session || c->closing()) continue;
    json groups = json::array();
    for (const auto& [client_id, group_id] : c->groups) {
      const auto group = groups_.find(group_id);
      if (group == groups_.end()) continue;
      json urls = json::array();
      for (const auto& [text, context] : group->second.urls) {
        urls.push_back({{"url", text}, {"context", context}});
      }
      groups.push_back({{"id", group_id}, {"queue", group->second.queue_id}, {"urls", urls}});
    }
    sessions.push_back({{"id", id}, {"pid", c->peer().pid}, {"uid", c->peer().uid},
                        {"groups", groups}});
  }
  json queues = json::array();
  for (const auto& [id, q] : queues_) {
    queues.push_back({{"id", id},
                      {"name", q->name()},
                      {"owner_uid", q->owner_uid()},
                      {"length", q->length()},
                      {"workers", q->receivers().size()},
                      {"handles", q->handles},
                      {"persistent", (q->flags() & HTTPAPI_QUEUE_FLAG_PERSISTENT) != 0},
                      {"controller", (q->flags() & HTTPAPI_QUEUE_FLAG_CONTROLLER) != 0}});
  }
  json endpoints = json::array();
  for (const std::uint16_t port : listeners_.ports()) endpoints.push_back({{"port", port}});

  struct Gathering {
    json state;
    std::size_t waiting;
    std::uint64_t channel;
    std::uint64_t call;
  };
  auto gathering = std::make_shared<Gathering>(
      Gathering{{{"sessions", sessions}, {"queues", queues}, {"endpoints", endpoints},
                 {"connections", json::array()}},
                workers_.size(), channel.id(), call});
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([this, w, gathering] {
      json mine = w->describe_connections();
      workers_[0]->loop().post([this, gathering, mine = std::move(mine)] {
        for (const auto& c : mine) gathering->state["connections"].push_back(c);
        if (--gathering->waiting > 0) return;
        auto c = channels_.find(gathering->channel);
        if (c == channels_.end() || c->second->closing()) return;
        reply(*c->second, gathering->call, HTTPAPI_OK, 0, gathering->state.dump());
      });
    });
  }
}

// Settings change live: the store first (so an acknowledged change survives a restart),
// then the master copy, then each I/O thread's copy through its loop.
void Service::admin_settings(AppChannel& channel, std::uint64_t call, const json& command) {
  const std::string name = command.value("command", "");
  if (name == "settings.show") {
    return reply(channel, call, HTTPAPI_OK, 0, json{{"settings", describe(settings_)}}.dump());
  }
  if (!channel.peer().is_root()) {
    return reply(channel, call, HTTPAPI_ERROR_ACCESS_DENIED, 0, "only root may change settings");
  }
  const std::string key = command.value("key", "");
  Settings changed = options_.settings;
  config::StoreError error;
  std::string why;
  if (name == "settings.set") {
    const std::string value = command.value("value", "");
    changed = settings_;
    if (!apply_setting(changed, key, value, why)) {
      return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, why);
    }
    if (!store_->set_setting(key, value, error)) {
      return reply(channel, call, status_of(error), 0, error.message);
    }
  } else if (name == "settings.delete") {
    // Back to the boot value: rebuild from the command line and what remains stored.
    if (!store_->delete_setting(key, error)) {
      return reply(channel, call, status_of(error), 0,
                   error.message.empty() ? fmt::format("'{}' is not set", key) : error.message);
    }
    for (const auto& [k, v] : store_->settings()) apply_setting(changed, k, v, why);
  } else {
    return reply(channel, call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                 fmt::format("unknown command '{}'", name));
  }
  settings_ = changed;
  cache_.set_limits(settings_.cache);
  fragments_.set_limits(settings_.cache);
  for (auto& worker : workers_) {
    IoWorker* w = worker.get();
    w->loop().post([w, copy = settings_] { w->set_settings(copy); });
  }
  fmt::print(stderr, "httpapid: uid {} changed setting {}\n", channel.peer().uid, key);
  reply(channel, call, HTTPAPI_OK);
}

}  // namespace httpapi::daemon
