#include "daemon/control/queue_calls.hpp"

#include <fmt/format.h>

#include "daemon/cache/fragment_cache.hpp"
#include "daemon/control/app_channel.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/request_broker.hpp"
#include "daemon/control/url_groups.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

void QueueCalls::on_create_queue(AppChannel& handle, const ipc::Frame& frame) {
  ipc::CreateQueue call;
  if (!ipc::decode(frame, call)) return handle.close("malformed create_queue");
  const auto created = queues_.create(handle, call.name, call.flags, settings_.queue_length);
  if (created.status != HTTPAPI_OK) {
    return handle.reply(call.call, created.status, 0, created.detail);
  }
  handle.reply(call.call, HTTPAPI_OK, created.queue->id());
  broker_.dispatch(*created.queue);  // an opened queue may hold requests already
}

void QueueCalls::on_queue_allow(AppChannel& handle, const ipc::Frame& frame) {
  ipc::QueueAllow call;
  if (!ipc::decode(frame, call)) return handle.close("malformed queue_allow");
  RequestQueue* queue = queues_.queue_of(handle);
  if (!queue || queue->name().empty() ||
      (call.kind != HTTPAPI_PRINCIPAL_USER && call.kind != HTTPAPI_PRINCIPAL_GROUP)) {
    return handle.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
                        "only a named queue can be opened by others; kind is user or group");
  }
  if (queue->creator_channel != handle.id()) {
    return handle.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                        "only the handle that created the queue may grant access to it");
  }
  (call.kind == HTTPAPI_PRINCIPAL_USER ? queue->allowed_uids : queue->allowed_gids)
      .push_back(call.id);
  handle.reply(call.call, HTTPAPI_OK);
}

void QueueCalls::on_queue_property(AppChannel& handle, const ipc::Frame& frame) {
  ipc::QueueProperty call;
  if (!ipc::decode(frame, call)) return handle.close("malformed queue_property");
  RequestQueue* queue = queues_.queue_of(handle);
  if (!queue) return handle.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no queue");
  if (queue->creator_channel != handle.id()) {
    return handle.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                        "only the handle that created the queue may set its properties");
  }
  switch (call.property) {
    case HTTPAPI_QUEUE_LENGTH:
      if (call.value < 1 || call.value > 65535) break;
      queue->set_capacity(static_cast<std::size_t>(call.value));
      return handle.reply(call.call, HTTPAPI_OK);
    case HTTPAPI_QUEUE_STATE:
      if (call.value > HTTPAPI_QUEUE_ACTIVE) break;
      queue->active = call.value == HTTPAPI_QUEUE_ACTIVE;
      if (queue->active) broker_.dispatch(*queue);
      return handle.reply(call.call, HTTPAPI_OK);
    case HTTPAPI_QUEUE_VERBOSITY:
      if (call.value > HTTPAPI_503_FULL) break;
      queue->verbosity = static_cast<std::uint32_t>(call.value);
      groups_.publish_route_table();  // the front end refuses with it (route::Target)
      return handle.reply(call.call, HTTPAPI_OK);
    default:
      break;
  }
  handle.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
               fmt::format("property {} does not take the value {}", call.property, call.value));
}

// HttpShutdownRequestQueue, for every handle of the queue at once (docs/queues.md). Each
// handle hears of it before the caller's result, so no receive outlives the call.
void QueueCalls::on_shutdown_queue(AppChannel& handle, const ipc::Frame& frame) {
  ipc::ShutdownQueue call;
  if (!ipc::decode(frame, call)) return handle.close("malformed shutdown_queue");
  RequestQueue* queue = queues_.queue_of(handle);
  if (!queue) {
    return queues_.queue_id_of(handle) == 0
               ? handle.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, "no queue")
               : handle.reply(call.call, HTTPAPI_ERROR_SHUTDOWN, 0, "the queue is shut down");
  }
  if (queue->creator_channel != handle.id()) {
    return handle.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                        "only the handle that created the queue may shut it down");
  }
  for (std::uint64_t id : queues_.handles_of(queue->id())) {
    AppChannel* other = control_.find(id);
    if (!other || other->closing()) continue;
    other->notify(ipc::QueueShutdown{queue->id()});
  }
  end_queue(*queue, "AppShutdown");
  handle.reply(call.call, HTTPAPI_OK);
}

void QueueCalls::on_handle_closed(AppChannel& handle) {
  const auto [queue, ends] = queues_.release(handle);
  broker_.release(handle, queue && !ends ? queue : nullptr);
  if (!queue) return;
  if (ends) return end_queue(*queue, "Connection_Abandoned_By_ReqQueue");
  broker_.dispatch(*queue);
}

void QueueCalls::end_queue(RequestQueue& queue, std::string_view log_reason) {
  broker_.abandon_waiting(queue, log_reason);
  const std::uint64_t id = queue.id();
  fragments_.remove_queue(id);
  queues_.erase(id);
  groups_.queue_ended(id);
}

}  // namespace httpapi::daemon
