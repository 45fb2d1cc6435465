#include "daemon/control/url_groups.hpp"

#include <deque>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/cache/response_cache.hpp"
#include "daemon/control/app_channel.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/url_namespace.hpp"
#include "daemon/logging/group_logging.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {
constexpr std::uint32_t kOk = HTTPAPI_OK;
}  // namespace

UrlGroups::UrlGroups(const QueueRegistry& queues, const UrlNamespace& names,
                     ResponseCache& cache, AccessLog& access_log,
                     const std::vector<std::unique_ptr<IoWorker>>& workers,
                     Listeners::ListenList listen_list)
    : queues_(queues),
      names_(names),
      cache_(cache),
      access_log_(access_log),
      listeners_(workers, std::move(listen_list)) {
  publish();
}

UrlGroups::Group* UrlGroups::find(const AppChannel& session, std::uint64_t client_id) {
  const auto named = by_session_.find({session.id(), client_id});
  if (named == by_session_.end()) return nullptr;
  const auto group = groups_.find(named->second);
  return group == groups_.end() ? nullptr : &group->second;
}

void UrlGroups::on_create_group(AppChannel& session, const ipc::Frame& frame) {
  ipc::GroupCall call;
  if (!ipc::decode(frame, call)) return session.close("malformed create_group");
  if (by_session_.count({session.id(), call.group})) {
    return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "group id in use");
  }
  const std::uint64_t id = ++next_id_;
  groups_[id] = Group{id, session.id(), call.group, 0, {}};
  by_session_[{session.id(), call.group}] = id;
  session.reply(call.call, kOk, id);
}

void UrlGroups::on_close_group(AppChannel& session, const ipc::Frame& frame) {
  ipc::GroupCall call;
  if (!ipc::decode(frame, call)) return session.close("malformed close_group");
  Group* group = find(session, call.group);
  if (!group) return session.reply(call.call, HTTPAPI_ERROR_NOT_FOUND, 0, "no such group");
  remove(*group);
  publish_and_close_unused_ports();
  session.reply(call.call, kOk);
}

void UrlGroups::close_session(const AppChannel& session) {
  auto first = by_session_.lower_bound({session.id(), 0});
  while (first != by_session_.end() && first->first.first == session.id()) {
    const std::uint64_t id = (first++)->second;
    if (auto group = groups_.find(id); group != groups_.end()) remove(group->second);
  }
  publish_and_close_unused_ports();
}

// Points every URL of the group at `queue_id` (0: no queue, requests get 503).
void UrlGroups::route_group_to(Group& group, std::uint64_t queue_id) {
  group.queue_id = queue_id;
  for (const auto& [text, context] : group.urls) {
    route::UrlPrefix prefix;
    route::parse_url_prefix(text, prefix);
    table_.remove(text);
    table_.add(prefix, route::Target{queue_id, context, group.id});
  }
}

void UrlGroups::remove(Group& group) {
  for (const auto& [text, context] : group.urls) table_.remove(text);
  if (!group.log_name.empty()) access_log_.configure(group.id, std::nullopt);
  by_session_.erase({group.session, group.client_id});
  groups_.erase(group.id);
}

void UrlGroups::on_add_url(AppChannel& session, const ipc::Frame& frame) {
  ipc::UrlCall call;
  if (!ipc::decode(frame, call)) return session.close("malformed add_url");
  Group* group = find(session, call.group);
  if (!group) return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no such group");
  route::UrlPrefix prefix;
  if (auto error = route::parse_url_prefix(call.prefix, prefix);
      error != route::PrefixError::none) {
    return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         fmt::format("'{}': {}", call.prefix, route::describe(error)));
  }
  if (!names_.may_listen(session.peer(), prefix)) {
    return session.reply(
        call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
        fmt::format("uid {} may not listen on {}: no reservation lets it (httpcfg "
                    "urlacl add --url {} --user NAME); without one, only "
                    "http://localhost:PORT/ with PORT > 1024 is open to every user",
                    session.peer().uid, prefix.text, prefix.text));
  }
  const std::uint64_t held = take_held(prefix.text);
  if (held != 0 && group->queue_id == 0) group->adopted.push_back(held);
  // Until the group is bound, its requests keep waiting in the held queue.
  const route::Target target{group->queue_id ? group->queue_id : held, call.context, group->id};
  switch (table_.add(prefix, target)) {
    case route::PrefixTable::AddResult::already_exists:
      for (const auto& [id, builtin] : builtins_) {
        if (builtin.url != prefix.text) continue;
        return session.reply(call.call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
                             fmt::format("{} is httpapid's built-in URL (setting {})",
                                         prefix.text, builtin.setting));
      }
      return session.reply(call.call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
                           fmt::format("{} is already registered", prefix.text));
    case route::PrefixTable::AddResult::scheme_conflict:
      return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                           fmt::format("port {} already carries the other scheme", prefix.port));
    case route::PrefixTable::AddResult::added: break;
  }
  std::string detail;
  if (const std::uint32_t status = listeners_.update(prefix.port, table_, detail);
      status != kOk) {
    table_.remove(prefix.text);
    return session.reply(call.call, status, 0, detail);
  }
  group->urls[prefix.text] = call.context;
  publish();
  if (held != 0 && group->queue_id != 0 && on_adopted) on_adopted(held, group->queue_id);
  session.reply(call.call, kOk);
}

std::uint32_t UrlGroups::set_builtin(std::uint32_t builtin, const std::string& setting,
                                     const std::string& url, std::string& detail) {
  const auto current = builtins_.find(builtin);
  const std::string old_url = current == builtins_.end() ? std::string() : current->second.url;
  if (url.empty() && old_url.empty()) return kOk;  // off, and it was
  route::UrlPrefix prefix;
  if (!url.empty()) {
    if (const auto error = route::parse_url_prefix(url, prefix); error != route::PrefixError::none) {
      detail = fmt::format("{}: '{}': {}", setting, url, route::describe(error));
      return HTTPAPI_ERROR_INVALID_PARAMETER;
    }
    if (prefix.text == old_url) return kOk;
    route::Target target;
    target.builtin = builtin;
    switch (table_.add(prefix, target)) {
      case route::PrefixTable::AddResult::already_exists:
        detail = fmt::format("{} is already registered (by an application or another built-in "
                             "URL); choose another URL for {}",
                             prefix.text, setting);
        return HTTPAPI_ERROR_ALREADY_EXISTS;
      case route::PrefixTable::AddResult::scheme_conflict:
        detail = fmt::format("port {} already carries the other scheme; choose another port "
                             "for {}",
                             prefix.port, setting);
        return HTTPAPI_ERROR_INVALID_PARAMETER;
      case route::PrefixTable::AddResult::added: break;
    }
    if (const std::uint32_t status = listeners_.update(prefix.port, table_, detail);
        status != kOk) {
      table_.remove(prefix.text);
      return status;
    }
  }
  if (!old_url.empty()) table_.remove(old_url);
  if (url.empty()) {
    builtins_.erase(builtin);
  } else {
    builtins_[builtin] = Builtin{prefix.text, setting};
  }
  publish_and_close_unused_ports();
  return kOk;
}

nlohmann::json UrlGroups::describe_builtins() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, builtin] : builtins_) {
    out.push_back({{"url", builtin.url}, {"setting", builtin.setting}});
  }
  return out;
}

void UrlGroups::on_remove_url(AppChannel& session, const ipc::Frame& frame) {
  ipc::UrlCall call;
  if (!ipc::decode(frame, call)) return session.close("malformed remove_url");
  Group* group = find(session, call.group);
  route::UrlPrefix prefix;
  if (!group || route::parse_url_prefix(call.prefix, prefix) != route::PrefixError::none) {
    return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         "no such group, or malformed prefix");
  }
  if (!group->urls.erase(prefix.text)) {
    return session.reply(call.call, HTTPAPI_ERROR_NOT_FOUND, 0,
                         fmt::format("{} is not registered in this group", prefix.text));
  }
  table_.remove(prefix.text);
  publish_and_close_unused_ports();
  session.reply(call.call, kOk);
}

void UrlGroups::on_bind_group(AppChannel& session, const ipc::Frame& frame) {
  ipc::BindGroup call;
  if (!ipc::decode(frame, call)) return session.close("malformed bind_group");
  Group* group = find(session, call.group);
  const RequestQueue* queue = queues_.find(call.queue);
  if (!group || !queue) {
    return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                         "no such group or queue");
  }
  if (session.peer().uid != 0 && queue->owner_uid() != session.peer().uid) {
    return session.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         "the queue belongs to another user");
  }
  route_group_to(*group, call.queue);
  publish();
  for (const std::uint64_t held : std::exchange(group->adopted, {})) {
    if (on_adopted) on_adopted(held, call.queue);
  }
  session.reply(call.call, kOk);
}

void UrlGroups::on_group_property(AppChannel& session, const ipc::Frame& frame) {
  ipc::GroupProperty call;
  if (!ipc::decode(frame, call)) return session.close("malformed group_property");
  Group* group = find(session, call.group);
  std::string why = "no such group";
  if (!group || !group->limits->set(call.property, call.value, why)) {
    return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, why);
  }
  session.reply(call.call, kOk);
}

void UrlGroups::on_group_logging(AppChannel& session, const ipc::Frame& frame) {
  ipc::GroupLogging call;
  if (!ipc::decode(frame, call)) return session.close("malformed group_logging");
  Group* group = find(session, call.group);
  if (!group) return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no such group");
  AccessLogConfig config;
  std::string why;
  if (!group_logging_config(call, config, why)) {
    return session.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, why);
  }
  const bool on = call.format != HTTPAPI_LOG_FORMAT_NONE;
  if (on) {
    for (const auto& [id, other] : groups_) {
      if (id != group->id && other.log_name == call.name) {
        return session.reply(call.call, HTTPAPI_ERROR_ALREADY_EXISTS, 0,
                             fmt::format("another URL group logs to {}.log", call.name));
      }
    }
  }
  const bool was_on = !group->log_name.empty();
  group->log_name = on ? std::string(call.name) : std::string();
  access_log_.configure(group->id, on ? std::optional(std::move(config)) : std::nullopt);
  if (on != was_on) publish_route_table();
  session.reply(call.call, kOk);
}

void UrlGroups::queue_ended(std::uint64_t queue_id) {
  for (auto& [id, group] : groups_) {
    if (group.queue_id == queue_id) route_group_to(group, 0);
  }
  publish();
}

// A registration gone can also narrow a port to the IP addresses left, which may fail to
// bind (another program took one meanwhile): that port then keeps the sockets it had, and
// the log says why (Listeners::update); the other ports change regardless.
void UrlGroups::publish_and_close_unused_ports() {
  publish();
  for (const std::uint16_t port : listeners_.ports()) {
    std::string detail;
    listeners_.update(port, table_, detail);
  }
}

std::uint32_t UrlGroups::listen_list_changed(std::string& detail) {
  return listeners_.update_all(table_, detail);
}

// The I/O threads see registrations plus every reservation nobody has registered: a request
// whose best match is such a reservation is answered 503 and goes no further (DESIGN.md §4).
void UrlGroups::publish() {
  publish_route_table();
  // Who answers a URL may have changed: a cached answer from its former owner must go.
  cache_.clear();
  auto limits = std::make_shared<GroupLimitsById>();
  for (const auto& [id, group] : groups_) (*limits)[id] = group.limits;
  group_limits_.store(std::shared_ptr<const GroupLimitsById>(std::move(limits)));
}

// The snapshot's targets carry their queue's 503 verbosity and name; the names' bytes live
// in the snapshot, as the I/O threads may hold it after the queue is gone.
void UrlGroups::publish_route_table() {
  struct Snapshot {
    route::PrefixTable table;
    std::deque<std::string> queue_names;  // a deque: growing it moves no string
  };
  auto snapshot = std::make_shared<Snapshot>(Snapshot{table_, {}});
  for (const auto& reservation : names_.all()) {
    snapshot->table.add(reservation.prefix, route::Target{});
  }
  std::unordered_map<std::uint64_t, std::string_view> names;
  snapshot->table.update_targets([&](route::Target& target) {
    const auto group = groups_.find(target.group_id);
    target.access_log = group != groups_.end() && !group->second.log_name.empty();
    const RequestQueue* queue = queues_.find(target.queue_id);
    if (!queue) return;
    auto [name, added] = names.try_emplace(target.queue_id);
    if (added) name->second = snapshot->queue_names.emplace_back(queue->name());
    target.verbosity = queue->verbosity;
    target.queue_name = name->second;
  });
  // The published pointer shares ownership of the whole snapshot.
  routes_.store(std::shared_ptr<const route::PrefixTable>(snapshot, &snapshot->table));
}

std::shared_ptr<GroupLimits> UrlGroups::group_limits(std::uint64_t group_id) const {
  const auto all = group_limits_.load();
  const auto it = all->find(group_id);
  return it == all->end() ? nullptr : it->second;
}

bool UrlGroups::covers(std::uint64_t queue_id, const route::UrlPrefix& url) const {
  if (queue_id == 0) return false;
  for (const auto& [id, group] : groups_) {
    if (group.queue_id != queue_id) continue;
    for (const auto& [text, context] : group.urls) {
      route::UrlPrefix registered;
      if (route::parse_url_prefix(text, registered) == route::PrefixError::none &&
          registered.secure == url.secure && registered.port == url.port &&
          (registered.host == url.host ||
           registered.host_kind == route::HostKind::strong_wildcard ||
           registered.host_kind == route::HostKind::weak_wildcard) &&
          url.path.starts_with(registered.path)) {
        return true;
      }
    }
  }
  return false;
}

// ---- the upgrade hand-over ----------------------------------------------------------------

nlohmann::json UrlGroups::handover_state() const {
  nlohmann::json urls = nlohmann::json::array();
  for (const auto& [id, group] : groups_) {
    for (const auto& [text, context] : group.urls) {
      urls.push_back({{"url", text}, {"context", context}, {"queue", group.queue_id}});
    }
  }
  return urls;
}

void UrlGroups::hold(const std::string& text, std::uint64_t context, std::uint64_t queue_id) {
  route::UrlPrefix prefix;
  if (route::parse_url_prefix(text, prefix) != route::PrefixError::none) return;
  auto named = by_session_.find({kHeld, queue_id});
  if (named == by_session_.end()) {
    const std::uint64_t id = ++next_id_;
    groups_[id] = Group{id, kHeld, queue_id, queue_id, {}};
    named = by_session_.emplace(std::pair{kHeld, queue_id}, id).first;
  }
  Group& group = groups_[named->second];
  if (table_.add(prefix, route::Target{queue_id, context, group.id}) ==
      route::PrefixTable::AddResult::added) {
    group.urls[prefix.text] = context;
  }
}

std::uint64_t UrlGroups::take_held(const std::string& prefix) {
  for (auto named = by_session_.lower_bound({kHeld, 0});
       named != by_session_.end() && named->first.first == kHeld; ++named) {
    Group& group = groups_[named->second];
    if (!group.urls.erase(prefix)) continue;
    table_.remove(prefix);
    const std::uint64_t queue_id = group.queue_id;
    if (group.urls.empty()) remove(group);  // the iterator is not used after this
    return queue_id;
  }
  return 0;
}

bool UrlGroups::routes_to(std::uint64_t queue_id) const {
  for (const auto& [id, group] : groups_) {
    if (group.queue_id == queue_id && !group.urls.empty()) return true;
    for (const std::uint64_t held : group.adopted) {
      if (held == queue_id) return true;
    }
  }
  return false;
}

std::vector<std::uint64_t> UrlGroups::release_held() {
  std::vector<std::uint64_t> queues;
  auto named = by_session_.lower_bound({kHeld, 0});
  while (named != by_session_.end() && named->first.first == kHeld) {
    const std::uint64_t id = (named++)->second;
    auto group = groups_.find(id);
    if (group == groups_.end()) continue;
    queues.push_back(group->second.queue_id);
    remove(group->second);
  }
  publish_and_close_unused_ports();
  return queues;
}

nlohmann::json UrlGroups::describe_held() const {
  nlohmann::json held = nlohmann::json::array();
  for (auto named = by_session_.lower_bound({kHeld, 0});
       named != by_session_.end() && named->first.first == kHeld; ++named) {
    const auto group = groups_.find(named->second);
    if (group == groups_.end()) continue;
    nlohmann::json urls = nlohmann::json::array();
    for (const auto& [text, context] : group->second.urls) urls.push_back(text);
    held.push_back({{"queue", group->second.queue_id}, {"urls", urls}});
  }
  return held;
}

nlohmann::json UrlGroups::describe(const AppChannel& session) const {
  nlohmann::json groups = nlohmann::json::array();
  for (auto named = by_session_.lower_bound({session.id(), 0});
       named != by_session_.end() && named->first.first == session.id(); ++named) {
    const auto group = groups_.find(named->second);
    if (group == groups_.end()) continue;
    nlohmann::json urls = nlohmann::json::array();
    for (const auto& [text, context] : group->second.urls) {
      urls.push_back({{"url", text}, {"context", context}});
    }
    groups.push_back({{"id", group->first}, {"queue", group->second.queue_id}, {"urls", urls}});
  }
  return groups;
}

}  // namespace httpapi::daemon
