// The objects behind libhttpapi's opaque handles. Internal to the library.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "client/channel.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::client {

// Records the service's explanation of a failed call for httpapi_error_detail().
void set_error_detail(std::string_view detail);

struct QueueCore;

// What a URL group holds, kept so the group can be made again in a restarted service.
struct GroupRecord {
  std::map<std::string, std::uint64_t> urls;  // prefix as the application gave it -> context
  std::map<std::uint32_t, std::uint64_t> properties;  // httpapi_url_group_set_property
  std::weak_ptr<QueueCore> queue;             // bound queue, if any
  std::uint64_t bound_generation = 0;         // the queue's generation it was bound in
};

// A server session: calls and results on a connection that carries nothing else.
// When the service restarts, the session is made again (groups, URLs, bindings) by
// revive_sessions(), called whenever one of this process's queues reconnects.
struct SessionCore {
  Channel channel;
  std::mutex mutex;
  std::uint64_t next_call = 0;
  std::uint64_t next_group = 0;
  bool closed = false;  // httpapi_session_close
  std::map<std::uint64_t, GroupRecord> groups;  // by the library's group id
  // Sends one encoded call and waits for its result; reconnects first if the service
  // restarted. Mutex held.
  httpapi_error call(std::uint64_t call, const std::string& frame, std::uint64_t* value);
  // Is the connection still to a live service? Mutex held.
  bool connected();
  // Reconnects and makes every group, URL and binding again. Mutex held.
  httpapi_error revive();
  // Binds groups whose queue reconnected since they were bound. Mutex held.
  void rebind();
};

// Makes every session of this process whole again after a queue found the service back.
void revive_sessions();
// Sessions register themselves here so that revive_sessions() can find them.
void register_session(const std::shared_ptr<SessionCore>& session);

// A queue connection: requests, body pieces and results arrive interleaved; one thread at
// a time reads the socket and files what arrives where its waiters look for it.
struct QueueCore {
  QueueCore();
  ~QueueCore();
  Channel channel;
  // The service's id for the queue, 0 while disconnected; read without the mutex by
  // session revival. The generation changes at every (re)connection.
  std::atomic<std::uint64_t> queue_id{0};
  std::atomic<std::uint64_t> generation{1};
  // What httpapi_queue_fd returns: an epoll set holding the current connection and the
  // reconnection timer, so an application's poll/epoll keeps working across reconnects.
  int poll_fd = -1;
  int retry_fd = -1;
  // How to make the queue again after a service restart.
  std::string name;
  std::uint32_t flags = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> properties;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> grants;
  bool down = false;  // the service went away; reconnecting
  Clock::time_point next_attempt{};
  unsigned backoff_ms = 0;
  std::mutex mutex;
  std::condition_variable arrived;
  bool reader_active = false;
  bool broken = false;
  bool closed = false;
  std::uint32_t credits_outstanding = 0;
  std::uint32_t waiting_receivers = 0;
  std::uint32_t window = 1;  // httpapi_queue_set_receive_window
  std::deque<std::unique_ptr<httpapi_request>> ready;
  std::uint64_t next_call = 0;
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::string>> results;
  std::unordered_set<std::uint64_t> pending_calls;  // calls waiting for their result
  std::unordered_map<std::uint64_t, httpapi_request*> live;

  // Waits (holding `lock` except while reading) until `done()` or the deadline.
  // Returns OK when done() became true, else TIMEOUT or SERVICE_UNAVAILABLE.
  template <typename Done>
  httpapi_error wait(std::unique_lock<std::mutex>& lock, const Clock::time_point* deadline,
                     Done done);
  void file(const ipc::Frame& frame);  // mutex held
  // (Re)creates the queue in the service on a fresh connection. Mutex held.
  httpapi_error connect();
  // The connection broke: fail what depended on it and start reconnecting. Mutex held.
  void go_down();
  // One reconnection attempt if one is due; true when the queue is back. Mutex held.
  bool try_revive();
};

}  // namespace httpapi::client

struct httpapi_session {
  std::shared_ptr<httpapi::client::SessionCore> core;
};

struct httpapi_url_group {
  std::shared_ptr<httpapi::client::SessionCore> session;
  std::uint64_t id = 0;
};

struct httpapi_queue {
  std::shared_ptr<httpapi::client::QueueCore> core;
};

struct httpapi_request {
  std::shared_ptr<httpapi::client::QueueCore> queue;
  std::string frame;  // the ipc::Request frame; every view in `info` points into it
  httpapi_request_info info{};
  std::vector<httpapi_header> headers;
  std::vector<std::string> merged;  // storage for known headers that were repeated
  // body not yet handed to the application, and how the body stream stands
  std::string body;
  std::size_t body_start = 0;
  bool read_outstanding = false;
  bool body_end = false;
  bool gone = false;
  std::string trailer_list;  // ipc header list; `trailers` views point into it
  std::vector<httpapi_header> trailers;
  void keep_trailers(std::string_view list);
  // response progress
  bool response_started = false;
  bool response_finished = false;
};
