// Initialisation, server sessions and URL groups.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <new>

#include "client/objects.hpp"

using httpapi::client::GroupRecord;
using httpapi::client::SessionCore;
namespace ipc = httpapi::ipc;

namespace httpapi::client {

std::atomic<int> g_initialized{0};

namespace {

std::mutex g_sessions_mutex;
std::vector<std::weak_ptr<SessionCore>> g_sessions;

}  // namespace

void register_session(const std::shared_ptr<SessionCore>& session) {
  std::lock_guard lock(g_sessions_mutex);
  std::erase_if(g_sessions, [](const auto& s) { return s.expired(); });
  g_sessions.push_back(session);
}

void revive_sessions() {
  std::vector<std::shared_ptr<SessionCore>> sessions;
  {
    std::lock_guard lock(g_sessions_mutex);
    for (const auto& weak : g_sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (const auto& session : sessions) {
    std::lock_guard lock(session->mutex);
    if (session->closed) continue;
    if (!session->connected()) {
      session->revive();
    } else {
      session->rebind();
    }
  }
}

// A session connection carries only answers to calls, so anything readable while no call
// is waiting means the service closed it.
bool SessionCore::connected() {
  if (channel.fd() < 0) return false;
  pollfd p{channel.fd(), POLLIN, 0};
  if (::poll(&p, 1, 0) == 0) return true;
  char byte;
  return ::recv(channel.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

httpapi_error SessionCore::revive() {
  if (httpapi_error e = channel.open(ipc::Role::session); e != HTTPAPI_OK) return e;
  for (auto& [id, group] : groups) {
    std::string frame;
    ipc::encode(frame, ipc::Type::create_group, ipc::GroupCall{++next_call, id});
    if (httpapi_error e = channel.call(next_call, frame, nullptr); e != HTTPAPI_OK) return e;
    for (const auto& [property, value] : group.properties) {
      frame.clear();
      ipc::encode(frame, ipc::GroupProperty{++next_call, id, property, value});
      channel.call(next_call, frame, nullptr);  // accepted before, so accepted again
    }
    if (group.logging.format != 0) {
      frame.clear();
      ipc::GroupLogging logging = group.logging;
      logging.call = ++next_call;
      logging.group = id;
      logging.name = group.log_name;
      ipc::encode(frame, logging);
      channel.call(next_call, frame, nullptr);  // a name taken meanwhile stays lost
    }
    for (const auto& [prefix, context] : group.urls) {
      frame.clear();
      ipc::encode(frame, ipc::Type::add_url, ipc::UrlCall{++next_call, id, context, prefix});
      channel.call(next_call, frame, nullptr);  // a prefix taken meanwhile stays lost
    }
    group.bound_generation = 0;
  }
  rebind();
  return HTTPAPI_OK;
}

void SessionCore::rebind() {
  for (auto& [id, group] : groups) {
    const auto queue = group.queue.lock();
    if (!queue) continue;
    const std::uint64_t queue_id = queue->queue_id.load();
    const std::uint64_t generation = queue->generation.load();
    if (queue_id == 0 || generation == group.bound_generation) continue;
    std::string frame;
    ipc::encode(frame, ipc::BindGroup{++next_call, id, queue_id});
    if (channel.call(next_call, frame, nullptr) == HTTPAPI_OK) {
      group.bound_generation = generation;
    }
  }
}

httpapi_error SessionCore::call(std::uint64_t tag, const std::string& frame,
                                std::uint64_t* value) {
  if (closed) return HTTPAPI_ERROR_SHUTDOWN;
  if (!connected() && revive() != HTTPAPI_OK) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  return channel.call(tag, frame, value);
}

}  // namespace httpapi::client

extern "C" httpapi_error httpapi_initialize(uint32_t version, uint32_t flags) {
  if (version != HTTPAPI_VERSION_1) return HTTPAPI_ERROR_VERSION_MISMATCH;
  if (flags != 0) return HTTPAPI_ERROR_INVALID_PARAMETER;
  httpapi::client::g_initialized.fetch_add(1);
  return HTTPAPI_OK;
}

extern "C" void httpapi_terminate(void) {
  int current = httpapi::client::g_initialized.load();
  while (current > 0 &&
         !httpapi::client::g_initialized.compare_exchange_weak(current, current - 1)) {
  }
}

extern "C" httpapi_error httpapi_session_create(httpapi_session** out) {
  if (!out) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (httpapi::client::g_initialized.load() <= 0) return HTTPAPI_ERROR_NOT_INITIALIZED;
  auto core = std::make_shared<SessionCore>();
  if (httpapi_error e = core->channel.open(ipc::Role::session); e != HTTPAPI_OK) return e;
  httpapi::client::register_session(core);
  auto* session = new (std::nothrow) httpapi_session{std::move(core)};
  if (!session) return HTTPAPI_ERROR_NO_MEMORY;
  *out = session;
  return HTTPAPI_OK;
}

extern "C" void httpapi_session_close(httpapi_session* session) {
  // Closing the connection is what releases the session's groups and URLs in the service;
  // group handles keep the core alive, so mark it and shut the socket down now.
  if (!session) return;
  {
    std::lock_guard lock(session->core->mutex);
    session->core->closed = true;
    session->core->channel.reset();
  }
  delete session;
}

extern "C" httpapi_error httpapi_url_group_create(httpapi_session* session,
                                                  httpapi_url_group** out) {
  if (!session || !out) return HTTPAPI_ERROR_INVALID_PARAMETER;
  SessionCore& core = *session->core;
  std::lock_guard lock(core.mutex);
  const std::uint64_t tag = ++core.next_call;
  const std::uint64_t group = ++core.next_group;
  std::string frame;
  ipc::encode(frame, ipc::Type::create_group, ipc::GroupCall{tag, group});
  if (httpapi_error e = core.call(tag, frame, nullptr); e != HTTPAPI_OK) return e;
  core.groups[group] = {};
  auto* handle = new (std::nothrow) httpapi_url_group{session->core, group};
  if (!handle) return HTTPAPI_ERROR_NO_MEMORY;
  *out = handle;
  return HTTPAPI_OK;
}

extern "C" void httpapi_url_group_close(httpapi_url_group* group) {
  if (!group) return;
  SessionCore& core = *group->session;
  {
    std::lock_guard lock(core.mutex);
    if (!core.closed) {
      const std::uint64_t tag = ++core.next_call;
      std::string frame;
      ipc::encode(frame, ipc::Type::close_group, ipc::GroupCall{tag, group->id});
      core.call(tag, frame, nullptr);
    }
    core.groups.erase(group->id);
  }
  delete group;
}

namespace {

httpapi_error url_call(httpapi_url_group* group, ipc::Type type, const char* prefix,
                       std::uint64_t context) {
  if (!group || !prefix) return HTTPAPI_ERROR_INVALID_PARAMETER;
  SessionCore& core = *group->session;
  std::lock_guard lock(core.mutex);
  const std::uint64_t tag = ++core.next_call;
  std::string frame;
  if (!ipc::encode(frame, type, ipc::UrlCall{tag, group->id, context, prefix})) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  const httpapi_error e = core.call(tag, frame, nullptr);
  if (e == HTTPAPI_OK) {  // remembered, to be registered again after a service restart
    auto& urls = core.groups[group->id].urls;
    if (type == ipc::Type::add_url) {
      urls[prefix] = context;
    } else {
      urls.erase(prefix);
    }
  }
  return e;
}

}  // namespace

extern "C" httpapi_error httpapi_url_add(httpapi_url_group* group, const char* prefix,
                                         uint64_t url_context) {
  return url_call(group, ipc::Type::add_url, prefix, url_context);
}

extern "C" httpapi_error httpapi_url_remove(httpapi_url_group* group, const char* prefix) {
  return url_call(group, ipc::Type::remove_url, prefix, 0);
}

extern "C" httpapi_error httpapi_url_group_set_property(httpapi_url_group* group,
                                                        httpapi_url_group_property property,
                                                        uint64_t value) {
  if (!group) return HTTPAPI_ERROR_INVALID_PARAMETER;
  SessionCore& core = *group->session;
  std::lock_guard lock(core.mutex);
  const std::uint64_t tag = ++core.next_call;
  std::string frame;
  ipc::encode(frame, ipc::GroupProperty{tag, group->id, property, value});
  const httpapi_error e = core.call(tag, frame, nullptr);
  if (e == HTTPAPI_OK) core.groups[group->id].properties[property] = value;
  return e;
}

extern "C" httpapi_error httpapi_url_group_set_logging(httpapi_url_group* group,
                                                       const httpapi_logging_info* info) {
  if (!group) return HTTPAPI_ERROR_INVALID_PARAMETER;
  ipc::GroupLogging call;
  if (info && info->format != HTTPAPI_LOG_FORMAT_NONE) {
    if (!info->name) return HTTPAPI_ERROR_INVALID_PARAMETER;
    call.format = info->format;
    call.rollover = info->rollover;
    call.flags = info->flags;
    call.rollover_size = info->rollover_size;
    call.fields = info->fields;
    call.name = info->name;
  }
  SessionCore& core = *group->session;
  std::lock_guard lock(core.mutex);
  call.call = ++core.next_call;
  call.group = group->id;
  std::string frame;
  if (!ipc::encode(frame, call)) return HTTPAPI_ERROR_INVALID_PARAMETER;
  const httpapi_error e = core.call(call.call, frame, nullptr);
  if (e == HTTPAPI_OK) {  // remembered, to be set again after a service restart
    GroupRecord& record = core.groups[group->id];
    record.log_name.assign(call.name);
    record.logging = call;
    record.logging.name = record.log_name;
  }
  return e;
}

extern "C" httpapi_error httpapi_url_group_bind(httpapi_url_group* group,
                                                httpapi_queue* queue) {
  if (!group || !queue) return HTTPAPI_ERROR_INVALID_PARAMETER;
  const std::uint64_t queue_id = queue->core->queue_id.load();
  const std::uint64_t generation = queue->core->generation.load();
  if (queue_id == 0) {
    return queue->core->shut_down ? HTTPAPI_ERROR_SHUTDOWN : HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
  SessionCore& core = *group->session;
  std::lock_guard lock(core.mutex);
  const std::uint64_t tag = ++core.next_call;
  std::string frame;
  ipc::encode(frame, ipc::BindGroup{tag, group->id, queue_id});
  const httpapi_error e = core.call(tag, frame, nullptr);
  if (e == HTTPAPI_OK) {
    GroupRecord& record = core.groups[group->id];
    record.queue = queue->core;
    record.bound_generation = generation;
  }
  return e;
}
