// The requests between the I/O threads and the applications. A request routed to a queue is
// in flight here until the service's part of it ends: it waits in its queue, is handed to a
// handle that asked for requests (receive credits), and its body, response and cancellation
// are relayed to the I/O thread that holds its client connection. The broker is the only
// record of which handle holds which request; it also runs the request-queue timer.
// Service loop only: Service posts the I/O threads' calls here.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ipc/frame.hpp"
#include "ipc/seen_counter.hpp"

namespace httpapi::daemon {

class AppChannel;
class CacheCalls;
class HandOffBuffers;
class IoWorker;
class QueueRegistry;
class RequestQueue;

// A request an I/O thread routed to a queue; `frame` is the encoded ipc::Request.
struct InboundRequest {
  std::uint64_t request_id = 0;
  std::uint64_t queue_id = 0;
  unsigned worker = 0;
  std::uint64_t connection_id = 0;
  std::string frame;
  std::uint32_t queue_seconds = 120;  // its request-queue timer (its URL group's, or the server's)
};

class RequestBroker {
 public:
  RequestBroker(const QueueRegistry& queues, CacheCalls& cache_calls,
                const std::vector<std::unique_ptr<IoWorker>>& workers)
      : queues_(queues), cache_calls_(cache_calls), workers_(workers) {}

  // --- from the I/O threads
  void submit(InboundRequest request);
  // The client connection of the request closed.
  void request_gone(std::uint64_t request_id);
  // A piece of the body a handle asked for (read_body).
  void body_ready(std::uint64_t request_id, std::string data, std::string trailers,
                  std::uint32_t flags);

  // --- the messages of a queue handle about requests
  void on_receive(AppChannel& handle, const ipc::Frame& frame);
  void on_read_body(AppChannel& handle, const ipc::Frame& frame);
  void on_send(AppChannel& handle, const ipc::Frame& frame);  // send_response, _body, _trailers
  void on_cancel(AppChannel& handle, const ipc::Frame& frame);
  void on_decline(AppChannel& handle, const ipc::Frame& frame);
  void on_seen(AppChannel& handle, const ipc::Frame& frame);
  void on_seen_counter(AppChannel& handle, const ipc::Frame& frame);

  // Hands the requests waiting in `queue` to its handles that asked for them.
  void dispatch(RequestQueue& queue);
  // An upgrade's held queue was taken back: its waiting requests go to the front of `to`,
  // in order (they were routed before the ones `to` may hold), and are dispatched.
  void move_waiting(RequestQueue& from, RequestQueue& to);
  // Answers 503 every request waiting in `queue`: the queue ends.
  void abandon_waiting(RequestQueue& queue, std::string_view log_reason);
  // `handle` is gone. HTTP.sys's promise: a request application code has seen is answered
  // 503; one it has not seen goes back to the front of `requeue_to`, in order, for the next
  // worker (nullptr: the queue ends with this handle, they are answered 503 too).
  void release(AppChannel& handle, RequestQueue* requeue_to);
  // The request-queue timer: answers 503 Timer_ReqQueue each request that waited too long.
  void expire_waiting();
  // The service shuts down: requests submitted from now on are answered 503.
  void stop_accepting() noexcept { accepting_ = false; }

  std::size_t in_flight() const noexcept { return requests_.size(); }
  // The requests handed to `handle` and not yet answered.
  std::size_t held_by(const AppChannel& handle) const;

 private:
  struct InFlight {
    std::uint64_t queue_id = 0;
    unsigned worker = 0;
    std::uint64_t connection_id = 0;
    AppChannel* handle = nullptr;     // set once handed over
    std::string frame;                // emptied once application code has seen it
    std::uint64_t queued_at = 0;      // monotonic ms, for the request-queue timer
    std::uint32_t queue_seconds = 0;  // how long it may wait there
  };
  using Requests = std::unordered_map<std::uint64_t, InFlight>;
  using HeldSet = std::unordered_set<std::uint64_t>;
  // What the broker knows of a handle: its credits and the requests it holds.
  struct Holder {
    std::uint32_t credits = 0;  // requests its process asked for and was not given yet
    HeldSet held;  // handed over, not yet answered
    // Of those, the ones application code has not seen, in the order they were handed over
    // (reports_seen() only). May name requests that ended since: they are skipped.
    std::deque<std::uint64_t> unseen;
    // Version 3: the process counts what it handed to application code here, in the order
    // it was handed over; `counted` of those have been taken off `unseen`.
    ipc::SeenCounter counter;
    std::uint64_t counted = 0;
  };

  // Adds a request (in a node an ended request left when there is one).
  void track(std::uint64_t request_id, InFlight request);
  void hold(Holder& holder, std::uint64_t request_id);
  void unhold(Holder& holder, std::uint64_t request_id);
  // The request's frame is no longer needed: its buffer goes back to its I/O thread.
  void recycle_frame(InFlight& request);
  HandOffBuffers* hand_off_buffers(unsigned worker) const;
  // The request `request_id` if it was handed to `handle`, else requests_.end().
  Requests::iterator held(const AppChannel& handle, std::uint64_t request_id);
  bool ready(const AppChannel& handle) const;
  // Takes what the holder's counter says application code has seen off its `unseen`.
  void count_seen(Holder& holder);
  void hand_over(Requests::iterator request, AppChannel& handle, const RequestQueue& queue);
  // The service's part of the request ends.
  void forget(Requests::iterator request);
  void abandon(std::uint64_t request_id, std::string_view log_reason);
  void fail(std::uint64_t request_id, const InFlight& request, std::string_view log_reason);

  const QueueRegistry& queues_;
  CacheCalls& cache_calls_;
  const std::vector<std::unique_ptr<IoWorker>>& workers_;
  Requests requests_;
  std::unordered_map<std::uint64_t, Holder> holders_;  // by channel id
  // The nodes of ended requests, reused by the next ones: a request in flight costs the
  // broker no allocation (bench/RESULTS.md, "Allocations per request"). At most kSpareNodes
  // of each are kept.
  static constexpr std::size_t kSpareNodes = 1024;
  std::vector<Requests::node_type> spare_requests_;
  std::vector<HeldSet::node_type> spare_held_;
  bool accepting_ = true;
};

}  // namespace httpapi::daemon
