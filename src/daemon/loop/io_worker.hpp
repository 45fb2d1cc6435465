// An I/O thread: its event loop, its listening sockets (SO_REUSEPORT, one per port) and the
// client connections accepted on them. Shared-nothing: other threads reach it via post().
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daemon/loop/event_loop.hpp"
#include "daemon/front/local_endpoints.hpp"
#include "daemon/loop/hand_off_buffers.hpp"
#include "daemon/front/buffer_pool.hpp"
#include "daemon/front/connection.hpp"
#include "daemon/front/http1_stream_pool.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/front/self_answer.hpp"
#include "daemon/front/send_attachments.hpp"
#include "daemon/front/send_state_pool.hpp"
#include "daemon/metrics/worker_metrics.hpp"
#include "daemon/policy/settings.hpp"
#include "proxy/proxy_endpoints.hpp"
#include "tls/server_contexts.hpp"

namespace httpapi::daemon {

class Service;

class IoWorker {
 public:
  IoWorker(Service& service, unsigned index);
  ~IoWorker();

  EventLoop& loop() noexcept { return loop_; }
  // This thread's copy of the settings; replaced by the service loop through post().
  const Settings& settings() const noexcept { return settings_; }
  void set_settings(Settings settings) { settings_ = std::move(settings); }
  // The certificate bindings new TLS connections start with; replaced by the service loop
  // through post() (connections keep the set they started with).
  void set_tls(std::shared_ptr<const tls::ServerContexts> contexts) { tls_ = std::move(contexts); }
  // The endpoints marked for the PROXY protocol; replaced by the service loop through post()
  // (connections keep what they were accepted with).
  void set_proxy_endpoints(std::shared_ptr<const proxy::ProxyEndpoints> endpoints) {
    proxy_endpoints_ = std::move(endpoints);
  }
  Service& service() noexcept { return service_; }
  Http1StreamPool& http1_streams() noexcept { return http1_streams_; }
  BufferPool& buffers() noexcept { return buffers_; }
  SendStatePool& send_states() noexcept { return send_states_; }
  // One copy of a local endpoint and its IP's text for all the connections accepted on it.
  const LocalEndpoint& local_endpoint(const sockaddr_storage& local) {
    return local_endpoints_.find_or_add(local);
  }
  // The buffers of what crosses between this thread and the service loop: request frames
  // (taken here, given back by the service loop) and response parts (the other way round).
  HandOffBuffers& hand_off_buffers() noexcept { return hand_off_buffers_; }
  // This thread's counters: written by it alone, read by scrapes on any thread.
  metrics::WorkerMetrics& metrics() noexcept { return metrics_; }
  const metrics::WorkerMetrics& metrics() const noexcept { return metrics_; }
  unsigned index() const noexcept { return loop_.index(); }

  void start_thread();  // workers other than 0 run on their own thread
  void join();

  // --- loop thread only
  // A listening socket for `port`, whose connections speak TLS when `secure`.
  void add_listener(std::uint16_t port, int fd, bool secure);
  void remove_listener(std::uint16_t port);
  // Closes one listening socket of `port` whose address is no longer wanted, after
  // accepting the connections the kernel already completed on it (closing would reset them).
  void retire_listener(std::uint16_t port, int fd);
  void stop_accepting();
  // `httpcfg upgrade` succeeded (docs/operations.md, "Upgrades"): the listening sockets
  // close here (the new httpapid has them), plain HTTP/1.1 connections go to it as soon as
  // they are between requests, and after `grace_ms` the others are shut down as by
  // stop_accepting(): their next response says Connection: close.
  void retire(std::uint64_t grace_ms);
  // In the new httpapid: a connection the old one handed over, served from here on.
  void adopt_connection(int fd);
  // Closes every client connection at once (a drain's timeout); returns how many.
  std::size_t close_all();
  void destroy_later(std::uint64_t connection_id);
  // Writes the connection's output at the end of this batch: responses that arrive together
  // (pipelined ones, from one read of an application channel) go out in one write.
  void flush_later(std::uint64_t connection_id);
  // Reads the connection's input soon: its transport holds input epoll cannot announce.
  void read_later(std::uint64_t connection_id);
  nlohmann::json describe_connections() const;  // for httpcfg show servicestate

  // --- from the service loop, through post(): act on the connection if it still exists
  void deliver_response(std::uint64_t connection_id, std::uint64_t request_id,
                        std::uint64_t channel_id, ResponsePart&& part,
                        SendAttachments&& attachments);
  void read_body(std::uint64_t connection_id, std::uint64_t request_id, std::uint32_t max);
  void fail_request(std::uint64_t connection_id, std::uint64_t request_id,
                    SelfAnswer answer, const std::string& queue_name);
  void cancel_request(std::uint64_t connection_id, std::uint64_t request_id);

 private:
  struct Listening {
    std::vector<int> fds;  // a socket per listen address
    bool secure = false;
  };
  void on_accept(int listen_fd, bool secure);
  ProxyMode proxy_mode(const sockaddr_storage& local,
                       const sockaddr_storage& remote) const noexcept;
  // Resets `fd` at once, with an error-log line saying `reason`.
  void refuse(int fd, const sockaddr_storage& local, const sockaddr_storage& remote,
              std::string_view reason);
  void watch_listener(int fd, bool secure);
  void pause_accepting();
  void resume_accepting();
  void tick();
  void sample_connections();
  void flush_connections();
  void hand_off_idle();
  Connection* find(std::uint64_t connection_id);

  Service& service_;
  metrics::WorkerMetrics metrics_;  // before the connections, whose exchanges hold its slots
  EventLoop loop_;
  Settings settings_;
  std::thread thread_;
  std::map<std::uint16_t, Listening> listeners_;
  std::shared_ptr<const tls::ServerContexts> tls_;
  std::shared_ptr<const proxy::ProxyEndpoints> proxy_endpoints_;
  Http1StreamPool http1_streams_;  // declared before connections_: their sessions give back
  BufferPool buffers_;             // likewise
  SendStatePool send_states_{buffers_};  // likewise
  LocalEndpoints local_endpoints_;       // likewise: connections point into it
  HandOffBuffers hand_off_buffers_;
  // Each connection lives in its map node: one allocation, not a node and an object.
  std::unordered_map<std::uint64_t, Connection> connections_;
  std::vector<std::uint64_t> to_flush_;
  bool accepting_ = true;
  bool retiring_ = false;          // an upgrade: connections go to the new process
  std::uint64_t retire_deadline_ = 0;  // monotonic ms: then the rest are shut down
  bool accept_paused_ = false;  // out of descriptors: listeners unwatched until one frees
  std::int64_t next_exhaustion_report_ = 0;  // CLOCK_MONOTONIC seconds
};

}  // namespace httpapi::daemon
