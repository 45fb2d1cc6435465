// Initialisation, server sessions and URL groups.
#include <atomic>
#include <new>

#include "client/objects.hpp"

using httpapi::client::SessionCore;
namespace ipc = httpapi::ipc;

namespace httpapi::client {

std::atomic<int> g_initialized{0};

httpapi_error SessionCore::call(std::uint64_t tag, const std::string& frame,
                                std::uint64_t* value) {
  if (broken) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  if (httpapi_error e = channel.write_all(frame); e != HTTPAPI_OK) {
    broken = true;
    return e;
  }
  for (;;) {
    ipc::Frame reply;
    bool malformed = false;
    if (channel.take_frame(reply, malformed)) {
      ipc::Result result;
      if (!ipc::decode(reply, result) || result.call != tag) {
        broken = true;
        return HTTPAPI_ERROR_PROTOCOL;
      }
      if (value) *value = result.value;
      set_error_detail(result.detail);
      return static_cast<httpapi_error>(result.status);
    }
    if (malformed) {
      broken = true;
      return HTTPAPI_ERROR_PROTOCOL;
    }
    if (httpapi_error e = channel.read_some(nullptr); e != HTTPAPI_OK) {
      broken = true;
      return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
    }
  }
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
    session->core->broken = true;
    ::shutdown(session->core->channel.fd(), SHUT_RDWR);
  }
  delete session;
}

extern "C" httpapi_error httpapi_url_group_create(httpapi_session* session,
                                                  httpapi_url_group** out) {
  if (!session || !out) return HTTPAPI_ERROR_INVALID_PARAMETER;
  SessionCore& core = *session->core;
  std::lock_guard lock(core.mutex);
  if (core.broken) return HTTPAPI_ERROR_SHUTDOWN;
  const std::uint64_t tag = ++core.next_call;
  const std::uint64_t group = ++core.next_group;
  std::string frame;
  ipc::encode(frame, ipc::Type::create_group, ipc::GroupCall{tag, group});
  if (httpapi_error e = core.call(tag, frame, nullptr); e != HTTPAPI_OK) return e;
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
    if (!core.broken) {
      const std::uint64_t tag = ++core.next_call;
      std::string frame;
      ipc::encode(frame, ipc::Type::close_group, ipc::GroupCall{tag, group->id});
      core.call(tag, frame, nullptr);
    }
  }
  delete group;
}

namespace {

httpapi_error url_call(httpapi_url_group* group, ipc::Type type, const char* prefix,
                       std::uint64_t context) {
  if (!group || !prefix) return HTTPAPI_ERROR_INVALID_PARAMETER;
  SessionCore& core = *group->session;
  std::lock_guard lock(core.mutex);
  if (core.broken) return HTTPAPI_ERROR_SHUTDOWN;
  const std::uint64_t tag = ++core.next_call;
  std::string frame;
  if (!ipc::encode(frame, type, ipc::UrlCall{tag, group->id, context, prefix})) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  return core.call(tag, frame, nullptr);
}

}  // namespace

extern "C" httpapi_error httpapi_url_add(httpapi_url_group* group, const char* prefix,
                                         uint64_t url_context) {
  return url_call(group, ipc::Type::add_url, prefix, url_context);
}

extern "C" httpapi_error httpapi_url_remove(httpapi_url_group* group, const char* prefix) {
  return url_call(group, ipc::Type::remove_url, prefix, 0);
}

extern "C" httpapi_error httpapi_url_group_bind(httpapi_url_group* group,
                                                httpapi_queue* queue) {
  if (!group || !queue) return HTTPAPI_ERROR_INVALID_PARAMETER;
  std::uint64_t queue_id;
  {
    std::lock_guard lock(queue->core->mutex);
    if (queue->core->closed || queue->core->broken) return HTTPAPI_ERROR_SHUTDOWN;
    queue_id = queue->core->queue_id;
  }
  SessionCore& core = *group->session;
  std::lock_guard lock(core.mutex);
  if (core.broken) return HTTPAPI_ERROR_SHUTDOWN;
  const std::uint64_t tag = ++core.next_call;
  std::string frame;
  ipc::encode(frame, ipc::BindGroup{tag, group->id, queue_id});
  return core.call(tag, frame, nullptr);
}
