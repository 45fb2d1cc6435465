#include "daemon/control/queue_registry.hpp"

#include <fmt/format.h>

#include "daemon/control/app_channel.hpp"
#include "daemon/loop/peer_identity.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

bool valid_queue_name(std::string_view name) {
  if (name.size() > 255) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

RequestQueue& QueueRegistry::create_held(std::string label, std::uint32_t owner_uid,
                                         std::uint32_t flags, std::size_t length) {
  const std::uint64_t id = ++next_id_;
  auto queue = std::make_unique<RequestQueue>(id, std::move(label), owner_uid, flags, length);
  queue->held = true;
  RequestQueue& held = *queue;
  queues_[id] = std::move(queue);
  return held;
}

QueueRegistry::Created QueueRegistry::create(AppChannel& handle, std::string_view name,
                                             std::uint32_t flags, std::size_t length) {
  if (handles_.count(handle.id())) return {HTTPAPI_ERROR_INVALID_STATE, "handle has a queue"};
  const bool open_existing = flags & HTTPAPI_QUEUE_FLAG_OPEN_EXISTING;
  if (!valid_queue_name(name) || (open_existing && name.empty())) {
    return {HTTPAPI_ERROR_INVALID_PARAMETER,
            "queue names are 1-255 characters of A-Z a-z 0-9 . _ -"};
  }
  const auto named = name.empty() ? by_name_.end() : by_name_.find(std::string(name));
  RequestQueue* existing = named == by_name_.end() ? nullptr : find(named->second);
  if (open_existing) {
    if (!existing) return {HTTPAPI_ERROR_NOT_FOUND, fmt::format("no queue named '{}'", name)};
    if (!may_open(handle.peer(), *existing)) {
      return {HTTPAPI_ERROR_ACCESS_DENIED,
              fmt::format("queue '{}' belongs to uid {} and does not allow uid {}", name,
                          existing->owner_uid(), handle.peer().uid)};
    }
    handles_[handle.id()] = existing->id();
    existing->handles++;
    existing->attach(&handle);
    return {HTTPAPI_OK, {}, existing};
  }
  if (existing) {
    return {HTTPAPI_ERROR_ALREADY_EXISTS, fmt::format("a queue named '{}' exists", name)};
  }
  const std::uint64_t id = ++next_id_;
  auto queue = std::make_unique<RequestQueue>(id, std::string(name), handle.peer().uid, flags,
                                               length);
  queue->handles = 1;
  queue->creator_channel = handle.id();
  if (!(flags & HTTPAPI_QUEUE_FLAG_CONTROLLER)) queue->attach(&handle);
  handles_[handle.id()] = id;
  if (!name.empty()) by_name_[std::string(name)] = id;
  RequestQueue* created = queue.get();
  queues_[id] = std::move(queue);
  return {HTTPAPI_OK, {}, created};
}

QueueRegistry::Released QueueRegistry::release(AppChannel& handle) {
  RequestQueue* queue = queue_of(handle);
  handles_.erase(handle.id());
  if (!queue) return {};
  queue->detach(&handle);
  const bool ends = --queue->handles == 0 && !(queue->flags() & HTTPAPI_QUEUE_FLAG_PERSISTENT);
  return {queue, ends};
}

void QueueRegistry::erase(std::uint64_t queue_id) {
  const auto queue = queues_.find(queue_id);
  if (queue == queues_.end()) return;
  const auto named = by_name_.find(queue->second->name());
  if (named != by_name_.end() && named->second == queue_id) by_name_.erase(named);
  queues_.erase(queue);
}

RequestQueue* QueueRegistry::find(std::uint64_t queue_id) const {
  const auto queue = queues_.find(queue_id);
  return queue == queues_.end() ? nullptr : queue->second.get();
}

RequestQueue* QueueRegistry::queue_of(const AppChannel& handle) const {
  return find(queue_id_of(handle));
}

std::uint64_t QueueRegistry::queue_id_of(const AppChannel& handle) const {
  const auto bound = handles_.find(handle.id());
  return bound == handles_.end() ? 0 : bound->second;
}

std::vector<std::uint64_t> QueueRegistry::handles_of(std::uint64_t queue_id) const {
  std::vector<std::uint64_t> channels;
  for (const auto& [channel, queue] : handles_) {
    if (queue == queue_id) channels.push_back(channel);
  }
  return channels;
}

bool QueueRegistry::may_open(const PeerIdentity& peer, const RequestQueue& queue) {
  if (peer.is_root() || peer.uid == queue.owner_uid()) return true;
  for (std::uint32_t uid : queue.allowed_uids) {
    if (uid == peer.uid) return true;
  }
  for (std::uint32_t gid : queue.allowed_gids) {
    if (peer.in_group(gid)) return true;
  }
  return false;
}

}  // namespace httpapi::daemon
