// The URL groups of the server sessions, their URLs and the queue each is bound to; the
// routing table built from them and published to the I/O threads as an immutable snapshot
// (with every reservation nobody registered); the URL ACL check of a registration; and the
// TCP ports that the registered URLs open (Listeners). Service loop only, but for routes()
// and group_limits(), which any thread may call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include <nlohmann/json_fwd.hpp>

#include "daemon/control/listeners.hpp"
#include "daemon/policy/group_limits.hpp"
#include "ipc/frame.hpp"
#include "route/prefix_table.hpp"
#include "route/url_prefix.hpp"

namespace httpapi::daemon {

class AccessLog;
class AppChannel;
class QueueRegistry;
class ResponseCache;
class UrlNamespace;

class UrlGroups {
 public:
  UrlGroups(const QueueRegistry& queues, const UrlNamespace& names, ResponseCache& cache,
            AccessLog& access_log, const std::vector<std::unique_ptr<IoWorker>>& workers,
            Listeners::ListenList listen_list);

  // --- any thread
  std::shared_ptr<const route::PrefixTable> routes() const { return routes_.load(); }
  // The limits of URL group `group_id` (route::Target::group_id); null when it is gone.
  std::shared_ptr<GroupLimits> group_limits(std::uint64_t group_id) const;

  // --- the messages of a server session
  void on_create_group(AppChannel& session, const ipc::Frame& frame);
  void on_close_group(AppChannel& session, const ipc::Frame& frame);
  void on_add_url(AppChannel& session, const ipc::Frame& frame);
  void on_remove_url(AppChannel& session, const ipc::Frame& frame);
  void on_bind_group(AppChannel& session, const ipc::Frame& frame);
  void on_group_property(AppChannel& session, const ipc::Frame& frame);
  // httpapi_url_group_set_logging: the group's access log (docs/access-logs.md).
  void on_group_logging(AppChannel& session, const ipc::Frame& frame);
  // The session is gone, and its groups with it.
  void close_session(const AppChannel& session);

  // The queue `queue_id` is gone: groups bound to it stay registered, and their requests get
  // 503 until they are bound again. Publishes the routes.
  void queue_ended(std::uint64_t queue_id);
  // Publishes the routes again: the reservations changed.
  void publish();
  // Publishes the routing table again: a queue's 503 verbosity changed.
  void publish_route_table();

  // The IP listen list changed: every port binds as it says now. HTTPAPI_OK, or the error
  // (with `detail`) when some address cannot be bound; then nothing changed.
  std::uint32_t listen_list_changed(std::string& detail);
  // A built-in URL (daemon/builtin/builtin_urls.hpp): `url` (a prefix, "" = none) becomes
  // the one registration of built-in `builtin`, named by `setting`, in place of its former
  // one. Registered as an application's prefix is: ALREADY_EXISTS when the prefix is taken,
  // the listener errors of Listeners::open. Returns HTTPAPI_OK, or the error with `detail`;
  // on an error nothing changed. Publishes the routes.
  std::uint32_t set_builtin(std::uint32_t builtin, const std::string& setting,
                            const std::string& url, std::string& detail);
  // [{"url": ..., "setting": ...}] for httpcfg show servicestate.
  nlohmann::json describe_builtins() const;

  // Does a URL registered for `queue_id` cover `url`? (May the queue flush or name it.)
  bool covers(std::uint64_t queue_id, const route::UrlPrefix& url) const;
  // The groups of `session`, for httpcfg show servicestate.
  nlohmann::json describe(const AppChannel& session) const;
  const Listeners& listeners() const noexcept { return listeners_; }
  Listeners& listeners() noexcept { return listeners_; }

  // --- the upgrade hand-over (docs/operations.md, "Upgrades")
  // In the old process: every registered URL, its context and the queue it routes to.
  nlohmann::json handover_state() const;
  // In the new one: holds `prefix` for the handed-over queue `queue_id` until the
  // application that registered it reconnects and registers it again; its requests wait
  // in that queue meanwhile. Publish afterwards.
  void hold(const std::string& prefix, std::uint64_t context, std::uint64_t queue_id);
  // The application registered a held prefix again and its group is bound to `to`: the
  // requests waiting in the held queue `from` move there. Set by the service.
  std::function<void(std::uint64_t from, std::uint64_t to)> on_adopted;
  // Does any URL still route to `queue_id`?
  bool routes_to(std::uint64_t queue_id) const;
  // The held prefixes nobody took back in time are let go; returns their queues.
  std::vector<std::uint64_t> release_held();
  nlohmann::json describe_held() const;  // for httpcfg show servicestate

 private:
  struct Group {
    std::uint64_t id = 0;
    std::uint64_t session = 0;    // the channel id of the session that created it
    std::uint64_t client_id = 0;  // the session's name for it
    std::uint64_t queue_id = 0;
    std::map<std::string, std::uint64_t> urls;  // canonical prefix -> context
    std::shared_ptr<GroupLimits> limits = std::make_shared<GroupLimits>();
    std::string log_name = {};  // its access log's NAME, empty when it writes none
    // Held queues whose prefixes this group took back before it was bound (upgrade).
    std::vector<std::uint64_t> adopted = {};
  };
  // Held prefixes belong to a group of no session (session 0), one per handed-over queue.
  static constexpr std::uint64_t kHeld = 0;
  // A held prefix registered again: out of its held group; returns the held queue.
  std::uint64_t take_held(const std::string& prefix);
  using GroupLimitsById = std::unordered_map<std::uint64_t, std::shared_ptr<GroupLimits>>;

  Group* find(const AppChannel& session, std::uint64_t client_id);
  void remove(Group& group);
  void route_group_to(Group& group, std::uint64_t queue_id);
  void publish_and_close_unused_ports();

  const QueueRegistry& queues_;
  const UrlNamespace& names_;
  ResponseCache& cache_;
  AccessLog& access_log_;
  Listeners listeners_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, Group> groups_;
  // (session channel id, the session's id for the group) -> group id
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> by_session_;
  struct Builtin {
    std::string url;  // canonical prefix
    std::string setting;
  };
  std::map<std::uint32_t, Builtin> builtins_;  // by built-in id
  route::PrefixTable table_;
  std::atomic<std::shared_ptr<const route::PrefixTable>> routes_;
  std::atomic<std::shared_ptr<const GroupLimitsById>> group_limits_;  // for the I/O threads
};

}  // namespace httpapi::daemon
