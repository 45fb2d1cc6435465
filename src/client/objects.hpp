// The objects behind libhttpapi's opaque handles. Internal to the library.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "client/channel.hpp"
#include "client/receive_window.hpp"
#include "httpapi/httpapi.h"
#include "ipc/seen_counter.hpp"
#include "ipc/messages.hpp"

namespace httpapi::client {

// Records the service's explanation of a failed call for httpapi_error_detail().
void set_error_detail(std::string_view detail);

// The value of an enum field a C caller filled in. It may hold any int, which C++ may not
// load as the enum type (UBSan's -fsanitize=enum), so it is read as the int it is.
template <typename Enum>
int raw_enum(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(int));
  int value;
  std::memcpy(&value, &field, sizeof value);
  return value;
}

struct QueueCore;

// What a URL group holds, kept so the group can be made again in a restarted service.
struct GroupRecord {
  std::map<std::string, std::uint64_t> urls;  // prefix as the application gave it -> context
  std::map<std::uint32_t, std::uint64_t> properties;  // httpapi_url_group_set_property
  // httpapi_url_group_set_logging's last accepted call (format 0: none); `logging.name`
  // views `log_name`.
  ipc::GroupLogging logging;
  std::string log_name;
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
  int wake_fd = -1;  // an eventfd that ends the reader's wait: see interrupt_reader
  // How to make the queue again after a service restart.
  std::string name;
  std::uint32_t flags = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> properties;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> grants;
  bool down = false;  // the service went away; reconnecting
  Clock::time_point next_attempt{};
  unsigned backoff_ms = 0;
  std::mutex mutex;
  // Threads waiting while another reads the socket sleep on one of two conditions, so that
  // one arriving request wakes one receiver, not every thread of the process.
  std::condition_variable request_arrived;  // receivers
  std::condition_variable news;             // bodies, results, departures, ends
  unsigned sleeping_receivers = 0;
  unsigned sleeping_others = 0;
  bool reader_active = false;
  bool broken = false;
  bool closed = false;
  // httpapi_queue_shutdown, by this process or the queue's creator: no more receives, and
  // no reconnection. Atomic for httpapi_url_group_bind, which reads it without the mutex.
  std::atomic<bool> shut_down{false};
  std::uint32_t credits_outstanding = 0;
  // Protocol 3: where this connection counts the requests handed to application code for
  // the service (ipc/seen_counter.hpp); invalid: `seen` frames instead.
  ipc::SeenCounter seen_counter;
  std::uint32_t waiting_receivers = 0;
  std::uint32_t window = 0;  // httpapi_queue_set_receive_window; 0: `adaptive`
  ReceiveWindow adaptive;
  std::deque<std::unique_ptr<httpapi_request>> ready;
  std::uint64_t next_call = 0;
  struct CallResult {
    std::uint32_t status = 0;
    std::string detail;
    std::uint64_t value = 0;
  };
  std::unordered_map<std::uint64_t, CallResult> results;
  std::unordered_set<std::uint64_t> pending_calls;  // calls waiting for their result
  std::unordered_map<std::uint64_t, httpapi_request*> live;
  // Requests the application released, and nodes of `live` they left, kept for the next
  // requests: a request's buffers keep their capacity, so once warm a request costs the
  // library no allocation (bench/RESULTS.md, "Allocations per request"). Mutex held.
  static constexpr std::size_t kSpareRequests = 64;
  std::vector<std::unique_ptr<httpapi_request>> spare_requests;
  std::vector<decltype(live)::node_type> spare_live;
  std::string outgoing;  // frames being put together for the channel (credits, seen)
  std::unique_ptr<httpapi_request> new_request();
  void recycle(std::unique_ptr<httpapi_request> request);
  // Adds `request` to `live`, or takes it off. Mutex held.
  void go_live(httpapi_request* request);
  void leave_live(std::uint64_t request_id);

  enum class Waiter { receiver, other };
  // Waits (holding `lock` except while reading) until `done()` or the deadline.
  // Returns OK when done() became true, else TIMEOUT, SHUTDOWN or SERVICE_UNAVAILABLE.
  template <typename Done>
  httpapi_error wait(std::unique_lock<std::mutex>& lock, const Clock::time_point* deadline,
                     Waiter who, Done done);
  // Files one arriving frame where its waiter will look; true when it was a request.
  // Mutex held.
  bool file(const ipc::Frame& frame);
  // Wakes every waiting thread: the handle closed, broke or was shut down. Mutex held.
  void wake_all();
  // The queue was shut down: receives end, and requests handed over for receives that
  // never took them go back to the service to be answered 503. Mutex held.
  void end_receiving();
  // A request's state changed here, not on the socket (its response ended, it was
  // cancelled): wakes its waiters, including one blocked reading the socket. Mutex held.
  void interrupt_reader();
  // Requests this handle wants to hold, asked for or here: its window, or one per thread
  // waiting in a receive when there are more. Mutex held.
  std::uint32_t wanted() const;
  // Appends a receive frame to `frames` for what `held` requests here and the credits
  // outstanding lack of wanted(). Unless `urgent` (a thread is about to wait for a request),
  // only once they lack half of it: fewer frames, and each asks for several. Mutex held.
  void ask_for_requests(std::string& frames, std::size_t held, bool urgent);
  // Protocol 3: gives the service this connection's seen counter. Errors as write_all.
  httpapi_error share_seen_counter();
  // Writes what the channel deferred; false when the connection broke (then it is down).
  // Mutex held.
  bool flush_deferred();
  // The first ready request is about to reach application code. The service hears of it
  // first (protocol 3: the seen counter; 2: `seen`), so that if this process dies the
  // request gets 503 and is never given to a second worker; false when a `seen` write
  // failed: the connection broke and the request was dropped here (the service gives it to
  // the next worker). Mutex held.
  bool claim_first();
  // Looks, without waiting, for the service's notice that `request`'s client left.
  bool client_left(httpapi_request& request);
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
  // What info.tls points to (HTTPAPI_REQUEST_FLAG_SECURE), and its client_certificate.
  httpapi_tls_info tls{};
  httpapi_client_certificate client_certificate{};
  // What info.proxy points to (HTTPAPI_REQUEST_FLAG_PROXIED).
  httpapi_proxy_info proxy{};
  // body not yet handed to the application, and how the body stream stands
  std::string body;
  std::size_t body_start = 0;
  bool read_outstanding = false;
  bool body_end = false;
  bool gone = false;   // the client connection closed (or was cancelled); mutex held
  bool ended = false;  // the response finished: the service no longer watches; mutex held
  bool backlog = false;  // others waited in the service's queue when it was handed over
  // What httpapi_request_get_info returns: `info`, or the copy httpapi_receive_into made
  // in the caller's buffer.
  const httpapi_request_info* shown = &info;
  std::string trailer_list;  // ipc header list; `trailers` views point into it
  std::vector<httpapi_header> trailers;
  void keep_trailers(std::string_view list);
  // response progress
  bool response_started = false;
  bool response_finished = false;
  // HTTPAPI_SEND_FLAG_BUFFER_DATA: frames and body bytes not yet written to the service
  std::string held_frames;
  std::string held_body;

  // Back to how a new request is, the buffers emptied but keeping their memory, for the
  // next request (QueueCore::recycle). Every member above is named in it.
  void reset();
};

namespace httpapi::client {

// Fills `r.info` (and what it points to) from `r.frame`, an ipc::Request frame; false when the
// frame is malformed (request_info.cpp).
bool build_request(httpapi_request& r);

// httpapi_receive_into (request_layout.cpp): the bytes `r` needs in the caller's buffer, and
// the copy there (aligned for httpapi_request_info), every view pointing into the buffer.
std::size_t copied_size(const httpapi_request& r);
const httpapi_request_info* copy_request(const httpapi_request& r, void* buffer);

// A call on the queue's own connection (queue.cpp): writes `frame` (with `descriptors`, for
// file chunks) and waits for the result tagged `call`, whose value and detail are stored
// where asked. Errors: the call's status, SHUTDOWN, SERVICE_UNAVAILABLE.
httpapi_error queue_call(QueueCore& core, std::unique_lock<std::mutex>& lock,
                         std::uint64_t call, const std::string& frame,
                         std::uint64_t* value = nullptr, std::string* detail = nullptr,
                         std::span<const int> descriptors = {});

}  // namespace httpapi::client
