// The service: the registry of sessions, URL groups, request queues and in-flight requests,
// the routing table, and the listeners. Its state lives on loop 0 (the service loop); I/O
// threads hand it requests through post() and read the routing table through an immutable
// snapshot.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config_store.hpp"
#include "daemon/policy/connection_count.hpp"
#include "daemon/error_log.hpp"
#include "daemon/cache/fragment_cache.hpp"
#include "daemon/policy/group_limits.hpp"
#include "daemon/options.hpp"
#include "daemon/control/listeners.hpp"
#include "daemon/control/request_queue.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/front/send_attachments.hpp"
#include "daemon/control/url_namespace.hpp"
#include "ipc/frame.hpp"
#include "route/prefix_table.hpp"
#include "route/url_prefix.hpp"

namespace httpapi::daemon {

class AppChannel;
class IoWorker;

// A request an I/O thread routed to a queue; `frame` is the encoded ipc::Request.
struct InboundRequest {
  std::uint64_t request_id = 0;
  std::uint64_t queue_id = 0;
  unsigned worker = 0;
  std::uint64_t connection_id = 0;
  std::string frame;
  std::uint32_t queue_seconds = 120;  // its request-queue timer (its URL group's, or the server's)
};

class Service {
 public:
  explicit Service(Options options);
  ~Service();

  // Runs until SIGTERM/SIGINT, then drains and returns the exit status.
  int run();

  ErrorLog& error_log() noexcept { return *error_log_; }
  std::shared_ptr<const route::PrefixTable> routes() const { return routes_.load(); }
  std::uint64_t next_request_id() { return ++request_ids_; }
  std::uint64_t next_connection_id() { return ++connection_ids_; }
  IoWorker& worker(unsigned index) { return *workers_[index]; }
  ResponseCache& cache() noexcept { return cache_; }
  // The limits of URL group `group_id` (route::Target::group_id); null when it is gone.
  std::shared_ptr<GroupLimits> group_limits(std::uint64_t group_id) const;
  // Every client connection, against the max_connections setting. Any thread.
  ConnectionCount& connections() noexcept { return connections_; }

  // --- any thread: posts to the service loop
  void submit(InboundRequest request);
  void request_gone(std::uint64_t request_id);
  void body_ready(std::uint64_t request_id, std::string data, std::string trailers,
                  std::uint32_t flags);
  void worker_drained();
  // A client reads slower than the application sends: stop (or resume) reading the
  // application's channel so responses do not pile up in the service.
  void throttle(std::uint64_t channel_id, bool on);

  // --- service loop only (AppChannel)
  void on_frame(AppChannel& channel, const ipc::Frame& frame);
  void on_channel_closed(AppChannel& channel);

 private:
  struct Group {
    std::uint64_t id = 0;
    AppChannel* owner = nullptr;
    std::uint64_t queue_id = 0;
    std::map<std::string, std::uint64_t> urls;  // canonical prefix -> context
    std::shared_ptr<GroupLimits> limits = std::make_shared<GroupLimits>();
  };
  struct Pending {  // a request the service knows about, queued or delivered
    std::uint64_t queue_id = 0;
    unsigned worker = 0;
    std::uint64_t connection_id = 0;
    AppChannel* channel = nullptr;  // set once delivered
    std::string frame;              // emptied once application code has seen it
    std::uint64_t queued_at = 0;    // monotonic ms, for the request-queue timer
    std::uint32_t queue_seconds = 0;  // how long it may wait there
  };

  void accept_control();
  void setup_control_socket();
  void handle_signal();
  void begin_shutdown();
  void tick();

  void reply(AppChannel& channel, std::uint64_t call, std::uint32_t status,
             std::uint64_t value = 0, std::string_view detail = {});
  void on_create_group(AppChannel& channel, const ipc::Frame& frame);
  void on_close_group(AppChannel& channel, const ipc::Frame& frame);
  void on_add_url(AppChannel& channel, const ipc::Frame& frame);
  void on_remove_url(AppChannel& channel, const ipc::Frame& frame);
  void on_bind_group(AppChannel& channel, const ipc::Frame& frame);
  void on_group_property(AppChannel& channel, const ipc::Frame& frame);
  void on_create_queue(AppChannel& channel, const ipc::Frame& frame);
  void on_receive(AppChannel& channel, const ipc::Frame& frame);
  void on_queue_allow(AppChannel& channel, const ipc::Frame& frame);
  void on_queue_property(AppChannel& channel, const ipc::Frame& frame);
  // response and fragment caches (service_cache.cpp)
  void on_flush_cache(AppChannel& channel, const ipc::Frame& frame);
  void on_add_fragment(AppChannel& channel, const ipc::Frame& frame);
  void on_read_fragment(AppChannel& channel, const ipc::Frame& frame);
  bool queue_covers(std::uint64_t queue_id, const route::UrlPrefix& url) const;
  bool parse_or_refuse(AppChannel& channel, std::uint64_t call, std::string_view text,
                       route::UrlPrefix& url);
  struct ChunkCheck {
    enum Status { ok, refused, broken } status = ok;
    std::string why;
  };
  ChunkCheck resolve_chunks(AppChannel& channel, std::string_view list,
                            SendAttachments& attachments, std::uint64_t& call);
  void on_shutdown_queue(AppChannel& channel, const ipc::Frame& frame);
  void on_decline(AppChannel& channel, const ipc::Frame& frame);
  void on_seen(AppChannel& channel, const ipc::Frame& frame);
  bool may_open(const PeerIdentity& peer, const RequestQueue& queue) const;
  void on_read_body(AppChannel& channel, const ipc::Frame& frame);
  void on_send(AppChannel& channel, const ipc::Frame& frame);
  void on_cancel(AppChannel& channel, const ipc::Frame& frame);
  // administration (service_admin.cpp)
  void on_admin(AppChannel& channel, const ipc::Frame& frame);
  void admin_reserve(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void admin_unreserve(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void admin_listen_list(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);
  void admin_service_state(AppChannel& channel, std::uint64_t call);
  void admin_settings(AppChannel& channel, std::uint64_t call, const nlohmann::json& command);

  Group* find_group(AppChannel& channel, std::uint64_t client_group);
  void remove_group(Group& group);
  void route_group_to(Group& group, std::uint64_t queue_id);
  void publish_routes();
  void publish_route_table();
  void dispatch(RequestQueue& queue);
  void flush_soon(AppChannel& channel);
  void flush_queued_channels();
  void fail(std::uint64_t request_id, const Pending& pending, std::string_view log_reason);
  void abandon(std::uint64_t request_id, std::string_view log_reason);
  void expire_waiting_requests();
  void destroy_queue(RequestQueue& queue, std::string_view log_reason);
  void detach_from_queue(AppChannel& channel);

  Options options_;
  std::unique_ptr<ErrorLog> error_log_;
  std::unique_ptr<config::ConfigStore> store_;
  UrlNamespace namespace_;
  Settings settings_;  // the master copy; each I/O worker has its own
  std::vector<std::unique_ptr<IoWorker>> workers_;
  Listeners listeners_{workers_, [this] { return store_->listen_addresses(); }};
  std::atomic<std::shared_ptr<const route::PrefixTable>> routes_;
  ResponseCache cache_;
  FragmentCache fragments_;  // service loop only
  std::atomic<std::uint64_t> request_ids_{0};
  std::atomic<std::uint64_t> connection_ids_{0};
  ConnectionCount connections_;
  using GroupLimitsById = std::unordered_map<std::uint64_t, std::shared_ptr<GroupLimits>>;
  std::atomic<std::shared_ptr<const GroupLimitsById>> group_limits_;  // for the I/O threads

  // service loop state
  int control_fd_ = -1;
  int signal_fd_ = -1;
  std::string control_path_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<AppChannel>> channels_;
  std::unordered_map<std::uint64_t, Group> groups_;
  std::unordered_map<std::uint64_t, std::unique_ptr<RequestQueue>> queues_;
  std::unordered_map<std::uint64_t, Pending> requests_;
  std::vector<std::uint64_t> to_flush_;  // channels with output, written at the batch end
  route::PrefixTable table_;
  bool stopping_ = false;
  unsigned drained_workers_ = 0;
  unsigned shutdown_ticks_ = 0;
};

}  // namespace httpapi::daemon
