#include "daemon/control/request_broker.hpp"

#include <algorithm>
#include <utility>

#include "daemon/cache/cache_calls.hpp"
#include "daemon/control/app_channel.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/front/self_answer.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/timers.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

// ---- from the I/O threads -------------------------------------------------------------

void RequestBroker::submit(InboundRequest request) {
  InFlight in_flight{request.queue_id, request.worker, request.connection_id, nullptr,
                     std::move(request.frame), batch_ms(), request.queue_seconds};
  RequestQueue* queue = queues_.find(request.queue_id);
  if (queue && queue->forward_to) {
    if (RequestQueue* to = queues_.find(queue->forward_to)) {
      queue = to;
      in_flight.queue_id = to->id();
    }
  }
  if (!accepting_ || !queue) return fail(request.request_id, in_flight, "N/A");
  if (!queue->active) return fail(request.request_id, in_flight, "Disabled");
  if (queue->full()) return fail(request.request_id, in_flight, "QueueFull");
  track(request.request_id, std::move(in_flight));
  queue->push(request.request_id);
  dispatch(*queue);
}

void RequestBroker::request_gone(std::uint64_t request_id) {
  const auto request = requests_.find(request_id);
  if (request == requests_.end()) return;
  if (AppChannel* handle = request->second.handle) {
    handle->notify(ipc::RequestGone{request_id});
  } else if (RequestQueue* queue = queues_.find(request->second.queue_id)) {
    queue->remove(request_id);
  }
  forget(request);
}

void RequestBroker::body_ready(std::uint64_t request_id, std::string data, std::string trailers,
                               std::uint32_t flags) {
  const auto request = requests_.find(request_id);
  if (request == requests_.end() || !request->second.handle) return;
  AppChannel& handle = *request->second.handle;
  ipc::encode(handle.output(), ipc::Body{request_id, flags, data, trailers});
  handle.flush_soon();
}

// ---- from the handles -------------------------------------------------------------------

void RequestBroker::on_receive(AppChannel& handle, const ipc::Frame& frame) {
  ipc::Receive call;
  if (!ipc::decode(frame, call)) return handle.close("malformed receive");
  Holder& holder = holders_[handle.id()];
  holder.credits = std::min<std::uint32_t>(holder.credits + call.credits, 65535);
  if (RequestQueue* queue = queues_.queue_of(handle)) dispatch(*queue);
}

void RequestBroker::on_read_body(AppChannel& handle, const ipc::Frame& frame) {
  ipc::ReadBody call;
  if (!ipc::decode(frame, call)) return handle.close("malformed read_body");
  const auto request = held(handle, call.request);
  if (request == requests_.end()) {
    ipc::encode(handle.output(), ipc::Body{call.request, ipc::kBodyGone, {}, {}});
    return handle.flush();
  }
  IoWorker& worker = *workers_[request->second.worker];
  const std::uint64_t connection = request->second.connection_id;
  const std::uint32_t max =
      std::max<std::uint32_t>(1, std::min<std::uint32_t>(call.max_bytes, ipc::kMaxBodyPiece));
  worker.loop().post([&worker, connection, id = call.request, max] {
    worker.read_body(connection, id, max);
  });
}

void RequestBroker::on_send(AppChannel& handle, const ipc::Frame& frame) {
  ResponsePart part;
  // Its buffer comes from the I/O thread it goes to, which gives it back once written.
  if (const auto request = held(handle, frame.tag); request != requests_.end()) {
    if (HandOffBuffers* buffers = hand_off_buffers(request->second.worker)) {
      part.bytes = buffers->take();
    }
  }
  if (!decode_response_part(frame, part)) return handle.close("malformed send");
  SendAttachments attachments;
  std::uint64_t call = 0;
  if (part.chunk_list()) {
    // Resolved even for a request that is gone: its descriptors must leave the channel.
    const auto check = cache_calls_.resolve_chunks(handle, part.body, attachments, call);
    if (check.status == CacheCalls::ChunkCheck::broken) return handle.close(check.why);
    if (check.status == CacheCalls::ChunkCheck::refused) {
      return handle.reply(call, HTTPAPI_ERROR_NOT_FOUND, 0, check.why);
    }
  }
  const auto request = held(handle, frame.tag);
  if (request == requests_.end()) {
    if (call != 0) handle.reply(call, HTTPAPI_ERROR_CONNECTION_GONE);
    return;
  }
  IoWorker& worker = *workers_[request->second.worker];
  const std::uint64_t connection = request->second.connection_id;
  // The last piece ends the service's part.
  if (part.ends_response()) forget(request);
  if (call != 0) handle.reply(call, HTTPAPI_OK);
  auto deliver = [&worker, connection, id = frame.tag, channel = handle.id(),
                  part = std::move(part), attachments = std::move(attachments)]() mutable {
    worker.deliver_response(connection, id, channel, std::move(part), std::move(attachments));
  };
  static_assert(Task::fits_inline<decltype(deliver)>(), "a response's hand-over allocates");
  worker.loop().post(std::move(deliver));
}

void RequestBroker::on_cancel(AppChannel& handle, const ipc::Frame& frame) {
  ipc::Cancel call;
  if (!ipc::decode(frame, call)) return handle.close("malformed cancel");
  const auto request = held(handle, call.request);
  if (request == requests_.end()) return;
  IoWorker& worker = *workers_[request->second.worker];
  const std::uint64_t connection = request->second.connection_id;
  forget(request);
  worker.loop().post([&worker, connection, id = call.request] {
    worker.cancel_request(connection, id);
  });
}

// A request the library held for a receive that never came (the queue was shut down).
void RequestBroker::on_decline(AppChannel& handle, const ipc::Frame& frame) {
  ipc::Decline call;
  if (!ipc::decode(frame, call)) return handle.close("malformed decline");
  if (held(handle, call.request) == requests_.end()) return;
  std::erase(holders_[handle.id()].unseen, call.request);
  abandon(call.request, "AppShutdown");
}

// From now on the request is the application's: it no longer goes back to the queue, and
// its frame is not needed again. Requests are handed over in the order they came, so it is
// nearly always the first one.
void RequestBroker::on_seen(AppChannel& handle, const ipc::Frame& frame) {
  ipc::Seen call;
  if (!ipc::decode(frame, call)) return handle.close("malformed seen");
  const auto holder = holders_.find(handle.id());
  if (holder == holders_.end()) return;
  std::deque<std::uint64_t>& unseen = holder->second.unseen;
  const auto it = std::find(unseen.begin(), unseen.end(), call.request);
  if (it == unseen.end()) return;
  unseen.erase(it);
  const auto request = requests_.find(call.request);
  if (request != requests_.end()) recycle_frame(request->second);
}

// Version 3: instead of a `seen` per request, a counter the process keeps in a page it
// shares with us (ipc/seen_counter.hpp), read when the service needs to know.
void RequestBroker::on_seen_counter(AppChannel& handle, const ipc::Frame& frame) {
  ipc::SeenCounterFrame call;
  std::vector<UniqueFd> descriptors;
  if (!ipc::decode(frame, call) || !handle.take_descriptors(1, descriptors)) {
    return handle.close("seen counter without its descriptor");
  }
  Holder& holder = holders_[handle.id()];
  if (holder.counter.valid()) return handle.close("a second seen counter");
  std::string why;
  holder.counter = ipc::SeenCounter::attach(descriptors.front().get(), why);
  if (!holder.counter.valid()) return handle.close(why);
}

void RequestBroker::count_seen(Holder& holder) {
  if (!holder.counter.valid()) return;
  // The peer may write anything there: only ever more, and never past what it was given.
  const std::uint64_t seen = holder.counter.value();
  while (holder.counted < seen && !holder.unseen.empty()) {
    const auto request = requests_.find(holder.unseen.front());
    if (request != requests_.end()) recycle_frame(request->second);
    holder.unseen.pop_front();
    ++holder.counted;
  }
}

// ---- hand-over and endings ----------------------------------------------------------------

bool RequestBroker::ready(const AppChannel& handle) const {
  const auto holder = holders_.find(handle.id());
  return holder != holders_.end() && holder->second.credits > 0 && handle.writable();
}

void RequestBroker::move_waiting(RequestQueue& from, RequestQueue& to) {
  std::vector<std::uint64_t> moved;
  for (const std::uint64_t id : from.take_all()) {
    const auto request = requests_.find(id);
    if (request == requests_.end()) continue;
    request->second.queue_id = to.id();
    moved.push_back(id);
  }
  to.requeue(moved);
  dispatch(to);
}

// A receiver is chosen only for a request that is there to give it: the choice moves the
// round robin on, and a process that asks again after every request (its credits arriving
// to an empty queue) would otherwise move it past the other processes each time.
void RequestBroker::dispatch(RequestQueue& queue) {
  std::uint64_t id;
  while (queue.front(id)) {
    const auto request = requests_.find(id);
    if (request == requests_.end()) {  // the client left while it waited
      queue.pop(id);
      continue;
    }
    AppChannel* receiver =
        queue.next_receiver([this](const AppChannel* handle) { return ready(*handle); });
    if (!receiver) return;
    queue.pop(id);
    hand_over(request, *receiver, queue);
  }
}

void RequestBroker::hand_over(Requests::iterator request, AppChannel& handle,
                              const RequestQueue& queue) {
  Holder& holder = holders_[handle.id()];
  count_seen(holder);  // frees the frames of the requests handed over before
  std::string& frame = request->second.frame;
  request->second.handle = &handle;
  holder.credits--;
  hold(holder, request->first);
  // The mark (version 2) tells the library's adaptive receive window that work waits.
  ipc::mark_backlog(frame, handle.reports_seen() && queue.length() > 0);
  handle.output().append(frame);
  if (handle.reports_seen()) {
    // Kept until application code has seen it: until then it may go to another worker.
    holder.unseen.push_back(request->first);
  } else {
    recycle_frame(request->second);
  }
  handle.flush_soon();
}

RequestBroker::Requests::iterator RequestBroker::held(const AppChannel& handle,
                                                      std::uint64_t request_id) {
  const auto request = requests_.find(request_id);
  return request != requests_.end() && request->second.handle == &handle ? request
                                                                          : requests_.end();
}

std::size_t RequestBroker::held_by(const AppChannel& handle) const {
  const auto holder = holders_.find(handle.id());
  return holder == holders_.end() ? 0 : holder->second.held.size();
}

void RequestBroker::forget(Requests::iterator request) {
  if (const AppChannel* handle = request->second.handle) {
    const auto holder = holders_.find(handle->id());
    if (holder != holders_.end()) unhold(holder->second, request->first);
  }
  recycle_frame(request->second);
  auto node = requests_.extract(request);
  if (spare_requests_.size() < kSpareNodes) spare_requests_.push_back(std::move(node));
}

void RequestBroker::track(std::uint64_t request_id, InFlight request) {
  if (spare_requests_.empty()) {
    requests_.emplace(request_id, std::move(request));
    return;
  }
  Requests::node_type node = std::move(spare_requests_.back());
  spare_requests_.pop_back();
  node.key() = request_id;
  node.mapped() = std::move(request);
  requests_.insert(std::move(node));
}

void RequestBroker::hold(Holder& holder, std::uint64_t request_id) {
  if (spare_held_.empty()) {
    holder.held.insert(request_id);
    return;
  }
  HeldSet::node_type node = std::move(spare_held_.back());
  spare_held_.pop_back();
  node.value() = request_id;
  holder.held.insert(std::move(node));
}

void RequestBroker::unhold(Holder& holder, std::uint64_t request_id) {
  auto node = holder.held.extract(request_id);
  if (node && spare_held_.size() < kSpareNodes) spare_held_.push_back(std::move(node));
}

void RequestBroker::recycle_frame(InFlight& request) {
  std::string frame = std::exchange(request.frame, std::string());
  if (HandOffBuffers* buffers = hand_off_buffers(request.worker)) buffers->give(std::move(frame));
}

// (The broker's unit tests run it without I/O workers.)
HandOffBuffers* RequestBroker::hand_off_buffers(unsigned worker) const {
  return worker < workers_.size() ? &workers_[worker]->hand_off_buffers() : nullptr;
}

void RequestBroker::release(AppChannel& handle, RequestQueue* requeue_to) {
  auto record = holders_.extract(handle.id());
  if (record.empty()) return;
  Holder& holder = record.mapped();
  count_seen(holder);
  if (requeue_to) {
    std::vector<std::uint64_t> back;
    for (std::uint64_t id : holder.unseen) {
      const auto request = requests_.find(id);
      if (request == requests_.end() || request->second.handle != &handle ||
          !holder.held.erase(id)) {
        continue;
      }
      request->second.handle = nullptr;
      back.push_back(id);
    }
    requeue_to->requeue(back);
  }
  for (std::uint64_t id : holder.held) abandon(id, "Connection_Abandoned_By_ReqQueue");
}

void RequestBroker::abandon_waiting(RequestQueue& queue, std::string_view log_reason) {
  for (std::uint64_t id : queue.take_all()) abandon(id, log_reason);
}

void RequestBroker::abandon(std::uint64_t request_id, std::string_view log_reason) {
  const auto request = requests_.find(request_id);
  if (request == requests_.end()) return;
  fail(request_id, request->second, log_reason);
  forget(request);
}

// HTTP.sys's request-queue timer: a request nobody took in time gets 503 Timer_ReqQueue.
// Each request has its own timer (its URL group may set one), so the whole queue is looked
// at, not only its oldest entries.
void RequestBroker::expire_waiting() {
  const std::uint64_t now = monotonic_ms();
  for (const auto& [id, queue] : queues_.all()) {
    const auto expired_ids = queue->take_if([&](std::uint64_t request_id) {
      const auto request = requests_.find(request_id);
      return request == requests_.end() ||
             expired(request->second.queued_at, now, request->second.queue_seconds);
    });
    for (std::uint64_t request_id : expired_ids) abandon(request_id, "Timer_ReqQueue");
  }
}

void RequestBroker::fail(std::uint64_t request_id, const InFlight& request,
                         std::string_view log_reason) {
  IoWorker& worker = *workers_[request.worker];
  const RequestQueue* queue = queues_.find(request.queue_id);
  std::string queue_name = queue ? queue->name() : std::string();
  const std::uint32_t verbosity = queue ? queue->verbosity : HTTPAPI_503_LIMITED;
  worker.loop().post([&worker, connection = request.connection_id, request_id,
                      answer = service_unavailable(log_reason, verbosity),
                      queue_name = std::move(queue_name)] {
    worker.fail_request(connection, request_id, answer, queue_name);
  });
}

}  // namespace httpapi::daemon
