// Sending responses, cancelling and releasing requests.
#include <charconv>
#include <string>
#include <string_view>

#include "client/objects.hpp"
#include "http1/syntax.hpp"

using httpapi::client::QueueCore;
namespace ipc = httpapi::ipc;

namespace {

bool valid_name(httpapi_bytes name) {
  return name.data && httpapi::http1::syntax::is_token({name.data, name.length});
}

// No CR, LF, NUL or other control characters but tab: an application cannot split or
// smuggle a response.
bool valid_text(const char* data, size_t length) {
  if (!data) return length == 0;
  return httpapi::http1::syntax::all_of({data, length}, httpapi::http1::syntax::k_field);
}

// Checks the request can still take a send and the connection to the service is usable.
httpapi_error sendable(httpapi_request* request) {
  QueueCore& core = *request->queue;
  std::lock_guard lock(core.mutex);
  if (core.closed) return HTTPAPI_ERROR_SHUTDOWN;
  if (core.broken) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  if (request->gone || core.down) return HTTPAPI_ERROR_CONNECTION_GONE;
  return HTTPAPI_OK;
}

// The response is complete: the service forgets the request, so a wait for its client to
// leave has nothing left to wait for.
void mark_ended(httpapi_request* request) {
  QueueCore& core = *request->queue;
  std::lock_guard lock(core.mutex);
  request->ended = true;
  core.interrupt_reader();
}

// A failed write means the service went away: the request dies with the connection (its
// reader reconnects the queue).
httpapi_error write_or_break(QueueCore& core, const std::string& frames) {
  if (core.channel.write_all(frames) == HTTPAPI_OK) return HTTPAPI_OK;
  return HTTPAPI_ERROR_CONNECTION_GONE;
}

// Appends send_body frames for `data`, split at the protocol's piece size; the last one
// carries `flags`.
void append_body_frames(std::string& frames, std::uint64_t request, std::string_view data,
                        std::uint32_t flags) {
  do {
    const std::string_view piece = data.substr(0, ipc::kMaxBodyPiece);
    data.remove_prefix(piece.size());
    const std::uint32_t piece_flags = data.empty() ? flags : flags | HTTPAPI_SEND_FLAG_MORE_DATA;
    ipc::encode(frames, ipc::SendBody{request, piece_flags, piece});
  } while (!data.empty());
}

}  // namespace

extern "C" httpapi_error httpapi_send_response(httpapi_request* request,
                                               const httpapi_response* response,
                                               uint32_t flags) {
  if (!request || !response) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (flags & ~(HTTPAPI_SEND_FLAG_DISCONNECT | HTTPAPI_SEND_FLAG_MORE_DATA)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  if (response->status < 100 || response->status > 999) return HTTPAPI_ERROR_INVALID_PARAMETER;
  const std::string_view reason = response->reason ? response->reason : "";
  if (!valid_text(reason.data(), reason.size())) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (response->header_count && !response->headers) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (response->body_length && !response->body) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  std::string headers;
  bool has_length = false;
  for (size_t i = 0; i < response->header_count; ++i) {
    const httpapi_header& h = response->headers[i];
    if (!valid_name(h.name) || !valid_text(h.value.data, h.value.length)) {
      return HTTPAPI_ERROR_INVALID_PARAMETER;
    }
    has_length = has_length ||
                 httpapi::http1::syntax::iequals({h.name.data, h.name.length}, "Content-Length");
    ipc::append_header(headers, {h.name.data, h.name.length}, {h.value.data, h.value.length});
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;

  const bool interim = response->status < 200 && response->status != 101;
  std::string_view body(static_cast<const char*>(response->body), response->body_length);
  std::uint32_t head_flags = flags;
  std::string_view rest;
  if (body.size() > ipc::kMaxBodyPiece) {
    // Too big for one frame: declare the length the single call implies, then stream it.
    if (!has_length && !(flags & HTTPAPI_SEND_FLAG_MORE_DATA)) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, body.size()).ptr;
      ipc::append_header(headers, "Content-Length", {digits, static_cast<size_t>(end - digits)});
    }
    rest = body.substr(ipc::kMaxBodyPiece);
    body = body.substr(0, ipc::kMaxBodyPiece);
    head_flags |= HTTPAPI_SEND_FLAG_MORE_DATA;
  }
  std::string frames;
  if (!ipc::encode(frames, ipc::SendResponse{request->info.request_id, head_flags,
                                             response->status, reason, headers, body})) {
    return HTTPAPI_ERROR_TOO_LARGE;
  }
  if (!rest.empty()) append_body_frames(frames, request->info.request_id, rest, flags);
  if (httpapi_error e = write_or_break(*request->queue, frames); e != HTTPAPI_OK) return e;
  if (!interim) {
    request->response_started = true;
    request->response_finished = !(flags & HTTPAPI_SEND_FLAG_MORE_DATA);
    if (request->response_finished) mark_ended(request);
  }
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_send_body(httpapi_request* request, const void* data,
                                           size_t length, uint32_t flags) {
  if (!request || (length && !data)) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (flags & ~(HTTPAPI_SEND_FLAG_DISCONNECT | HTTPAPI_SEND_FLAG_MORE_DATA)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  if (!request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;
  if (request->queue->client_left(*request)) return HTTPAPI_ERROR_CONNECTION_GONE;
  std::string frames;
  append_body_frames(frames, request->info.request_id,
                     {static_cast<const char*>(data), length}, flags);
  if (httpapi_error e = write_or_break(*request->queue, frames); e != HTTPAPI_OK) return e;
  request->response_finished = !(flags & HTTPAPI_SEND_FLAG_MORE_DATA);
  if (request->response_finished) mark_ended(request);
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_cancel(httpapi_request* request) {
  if (!request) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (request->response_finished) return HTTPAPI_OK;
  request->response_finished = true;
  {
    QueueCore& core = *request->queue;
    std::lock_guard lock(core.mutex);
    request->gone = true;  // the service closes its connection: a wait for that ends
    core.interrupt_reader();
    if (core.broken || core.closed || core.down) return HTTPAPI_ERROR_SERVICE_UNAVAILABLE;
  }
  std::string frame;
  ipc::encode(frame, ipc::Cancel{request->info.request_id});
  return write_or_break(*request->queue, frame);
}

extern "C" void httpapi_request_release(httpapi_request* request) {
  if (!request) return;
  if (!request->response_finished && !request->gone) httpapi_cancel(request);
  {
    std::lock_guard lock(request->queue->mutex);
    request->queue->live.erase(request->info.request_id);
  }
  delete request;
}
