// Sending responses, cancelling and releasing requests.
#include <sys/stat.h>

#include <charconv>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/objects.hpp"
#include "client/ranges.hpp"
#include "http1/syntax.hpp"
#include "ipc/body_chunks.hpp"

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
httpapi_error write_or_break(QueueCore& core, std::string_view frames) {
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

// Moves the bytes held by BUFFER_DATA into frames (one body piece, not yet the last).
void frame_held_body(httpapi_request& request) {
  if (request.held_body.empty()) return;
  append_body_frames(request.held_frames, request.info.request_id, request.held_body,
                     HTTPAPI_SEND_FLAG_MORE_DATA);
  request.held_body.clear();
}

// Writes `frames` after everything held, or holds them too while BUFFER_DATA asks for it
// and fewer than HTTPAPI_SEND_BUFFER_BYTES are held.
httpapi_error write_after_held(httpapi_request& request, std::string_view frames, bool hold) {
  if (hold && request.held_frames.size() + request.held_body.size() + frames.size() <
                  HTTPAPI_SEND_BUFFER_BYTES) {
    request.held_frames += frames;
    return HTTPAPI_OK;
  }
  // Nothing held (the usual case): the frames go as they are, not copied behind nothing.
  if (request.held_frames.empty() && request.held_body.empty()) {
    return frames.empty() ? HTTPAPI_OK : write_or_break(*request.queue, frames);
  }
  frame_held_body(request);
  std::string all = std::move(request.held_frames);
  request.held_frames.clear();
  all += frames;
  return all.empty() ? HTTPAPI_OK : write_or_break(*request.queue, all);
}

// httpapi_log_data's username: generous for an account name, and a bound on the line.
constexpr std::size_t kMaxLogUsername = 256;
// What a thread's response buffer keeps between responses; larger bodies' copies are freed.
constexpr std::size_t kKeptFrameBytes = 256 * 1024;

constexpr std::uint32_t kResponseFlags =
    HTTPAPI_SEND_FLAG_DISCONNECT | HTTPAPI_SEND_FLAG_MORE_DATA |
    HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING | HTTPAPI_SEND_FLAG_BUFFER_DATA |
    HTTPAPI_SEND_FLAG_PROCESS_RANGES | HTTPAPI_SEND_FLAG_OPAQUE | HTTPAPI_SEND_FLAG_GOAWAY;
constexpr std::uint32_t kBodyFlags = HTTPAPI_SEND_FLAG_DISCONNECT | HTTPAPI_SEND_FLAG_MORE_DATA |
                                     HTTPAPI_SEND_FLAG_BUFFER_DATA | HTTPAPI_SEND_FLAG_GOAWAY;

// RFC 9110 §6.5.1: fields a recipient needs to frame, route or authenticate a message, or
// that change how its content is read, cannot come after the content.
bool forbidden_trailer(std::string_view name) {
  using httpapi::http1::syntax::iequals;
  for (std::string_view banned :
       {"Content-Length", "Transfer-Encoding", "Host", "Content-Type", "Content-Encoding",
        "Content-Range", "Trailer", "Authorization", "Set-Cookie", "Cache-Control", "Expect",
        "Range", "TE", "Connection"}) {
    if (iequals(name, banned)) return true;
  }
  return false;
}

// A response head, checked: the header list for the frame.
struct Head {
  std::string_view reason;
  std::string headers;
  bool has_length = false;  // the application gave Content-Length
};

httpapi_error check_head(const httpapi_response& response, Head& head) {
  if (response.status < 100 || response.status > 999) return HTTPAPI_ERROR_INVALID_PARAMETER;
  head.reason = response.reason ? response.reason : "";
  if (!valid_text(head.reason.data(), head.reason.size())) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (response.header_count && !response.headers) return HTTPAPI_ERROR_INVALID_PARAMETER;
  head.headers.clear();
  head.has_length = false;
  for (size_t i = 0; i < response.header_count; ++i) {
    const httpapi_header& h = response.headers[i];
    if (!valid_name(h.name) || !valid_text(h.value.data, h.value.length)) {
      return HTTPAPI_ERROR_INVALID_PARAMETER;
    }
    head.has_length = head.has_length || httpapi::http1::syntax::iequals(
                                             {h.name.data, h.name.length}, "Content-Length");
    ipc::append_header(head.headers, {h.name.data, h.name.length},
                       {h.value.data, h.value.length});
  }
  return HTTPAPI_OK;
}

void append_content_length(std::string& headers, std::uint64_t length) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, length).ptr;
  ipc::append_header(headers, "Content-Length", {digits, static_cast<size_t>(end - digits)});
}

// A final (not 1xx) response head went out with `flags`.
void response_sent(httpapi_request* request, std::uint32_t flags) {
  request->response_started = true;
  request->response_finished = !(flags & HTTPAPI_SEND_FLAG_MORE_DATA);
  if (request->response_finished) mark_ended(request);
}

// ---- bodies given as chunks ------------------------------------------------------------

// The body of one call as chunks: the response's own body first, then the application's,
// checked, with file lengths resolved (fstat) and empty chunks left out.
struct ChunkBody {
  std::vector<httpapi_data_chunk> chunks;
  bool fragments = false;
  std::uint64_t memory_bytes = 0;
  std::uint64_t size = 0;  // fragments counted as given (HTTPAPI_TO_EOF is unknown here)
};

httpapi_error resolve_chunk(httpapi_data_chunk chunk, ChunkBody& body, std::size_t& files) {
  switch (httpapi::client::raw_enum(chunk.kind)) {
    case HTTPAPI_CHUNK_MEMORY:
      if (chunk.length && !chunk.data) return HTTPAPI_ERROR_INVALID_PARAMETER;
      body.memory_bytes += chunk.length;
      break;
    case HTTPAPI_CHUNK_FILE: {
      struct stat st;
      if (chunk.fd < 0 || ::fstat(chunk.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return HTTPAPI_ERROR_INVALID_PARAMETER;
      }
      const auto size = static_cast<std::uint64_t>(st.st_size);
      if (chunk.offset > size) return HTTPAPI_ERROR_INVALID_PARAMETER;
      if (chunk.length == HTTPAPI_TO_EOF) chunk.length = size - chunk.offset;
      if (chunk.length > size - chunk.offset) return HTTPAPI_ERROR_INVALID_PARAMETER;
      if (chunk.length && ++files > HTTPAPI_MAX_FILE_CHUNKS) {
        return HTTPAPI_ERROR_INVALID_PARAMETER;
      }
      break;
    }
    case HTTPAPI_CHUNK_FRAGMENT:
      if (!chunk.fragment || !*chunk.fragment || std::strlen(chunk.fragment) > UINT16_MAX) {
        return HTTPAPI_ERROR_INVALID_PARAMETER;
      }
      body.fragments = true;
      break;
    default:
      return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  if (chunk.length == 0) return HTTPAPI_OK;
  body.size += chunk.length;
  body.chunks.push_back(chunk);
  return HTTPAPI_OK;
}

httpapi_error resolve_chunks(const httpapi_response* response, const httpapi_data_chunk* chunks,
                             size_t count, ChunkBody& body) {
  if (count && !chunks) return HTTPAPI_ERROR_INVALID_PARAMETER;
  std::size_t files = 0;
  if (response) {
    if (response->body_length && !response->body) return HTTPAPI_ERROR_INVALID_PARAMETER;
    httpapi_data_chunk own{};
    own.kind = HTTPAPI_CHUNK_MEMORY;
    own.data = response->body;
    own.length = response->body_length;
    resolve_chunk(own, body, files);
  }
  for (size_t i = 0; i < count; ++i) {
    if (httpapi_error e = resolve_chunk(chunks[i], body, files); e != HTTPAPI_OK) return e;
  }
  return HTTPAPI_OK;
}

// The chunks as chunk lists of at most one body piece of memory each (a frame's worth); the
// descriptors of file chunks in order. Only the first list carries `call`.
std::vector<std::string> chunk_lists(std::span<const httpapi_data_chunk> chunks,
                                     std::uint64_t call, std::vector<int>& descriptors) {
  std::vector<std::string> lists(1);
  ipc::begin_chunk_list(lists.back(), call);
  std::size_t room = ipc::kMaxBodyPiece;
  for (const httpapi_data_chunk& chunk : chunks) {
    switch (chunk.kind) {
      case HTTPAPI_CHUNK_MEMORY: {
        std::string_view data(static_cast<const char*>(chunk.data), chunk.length);
        while (!data.empty()) {
          if (room == 0) {
            lists.emplace_back();
            ipc::begin_chunk_list(lists.back(), 0);
            room = ipc::kMaxBodyPiece;
          }
          const std::string_view piece = data.substr(0, room);
          ipc::append_memory_chunk(lists.back(), piece);
          data.remove_prefix(piece.size());
          room -= piece.size();
        }
        break;
      }
      case HTTPAPI_CHUNK_FILE:
        ipc::append_file_chunk(lists.back(), chunk.offset, chunk.length);
        descriptors.push_back(chunk.fd);
        break;
      case HTTPAPI_CHUNK_FRAGMENT:
        ipc::append_fragment_chunk(lists.back(), chunk.fragment, chunk.offset, chunk.length);
        break;
    }
  }
  return lists;
}

// Writes `body` as chunk-list frames, after what BUFFER_DATA held: the first in `head` (a
// send_response) when given, the rest in send_body frames; the last carries `flags`. File
// descriptors go along. A body naming fragments is one frame, and the call waits for the
// service to find them (NOT_FOUND: nothing was sent).
httpapi_error write_chunks(httpapi_request& request, ipc::SendResponse* head,
                           const ChunkBody& body, std::uint32_t flags) {
  QueueCore& core = *request.queue;
  std::uint64_t call = 0;
  if (body.fragments) {
    std::lock_guard lock(core.mutex);
    call = ++core.next_call;
  }
  std::vector<int> descriptors;
  const std::vector<std::string> lists = chunk_lists(body.chunks, call, descriptors);
  if (body.fragments && lists.size() > 1) return HTTPAPI_ERROR_TOO_LARGE;
  std::string frames;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    const bool last = i + 1 == lists.size();
    const std::uint32_t piece_flags =
        (last ? flags : flags | HTTPAPI_SEND_FLAG_MORE_DATA) | ipc::kBodyIsChunkList;
    bool encoded;
    if (i == 0 && head) {
      head->flags = piece_flags;
      head->body = lists[i];
      encoded = ipc::encode(frames, *head);
    } else {
      encoded = ipc::encode(frames, ipc::SendBody{request.info.request_id,
                                                  piece_flags & (kBodyFlags | ipc::kBodyIsChunkList),
                                                  lists[i]});
    }
    if (!encoded) return HTTPAPI_ERROR_TOO_LARGE;
  }
  frame_held_body(request);
  std::string all = std::move(request.held_frames);
  request.held_frames.clear();
  all += frames;
  if (call == 0) {
    return core.channel.write_all(all, descriptors) == HTTPAPI_OK
               ? HTTPAPI_OK
               : HTTPAPI_ERROR_CONNECTION_GONE;
  }
  std::unique_lock lock(core.mutex);
  return httpapi::client::queue_call(core, lock, call, all, nullptr, nullptr, descriptors);
}

// A request that carried a body cannot become a byte stream (HTTP.sys, conformance A077):
// where its body ends and the stream begins would be ambiguous.
bool has_body(const httpapi_request_info& info) {
  const httpapi_bytes length = info.known_headers[HTTPAPI_HEADER_CONTENT_LENGTH];
  return (info.flags & HTTPAPI_REQUEST_FLAG_MORE_BODY) || info.body.length > 0 ||
         info.known_headers[HTTPAPI_HEADER_TRANSFER_ENCODING].data ||
         (length.data && std::string_view(length.data, length.length) != "0");
}

}  // namespace

extern "C" httpapi_error httpapi_send_response(httpapi_request* request,
                                               const httpapi_response* response,
                                               uint32_t flags) {
  return httpapi_send_cacheable_response(request, response, flags, nullptr);
}

extern "C" httpapi_error httpapi_send_cacheable_response(httpapi_request* request,
                                                         const httpapi_response* response,
                                                         uint32_t flags,
                                                         const httpapi_cache_policy* cache) {
  if (!request || !response || (flags & ~kResponseFlags)) return HTTPAPI_ERROR_INVALID_PARAMETER;
  const httpapi_cache_policy policy = cache ? *cache : httpapi_cache_policy{};
  const int kind = httpapi::client::raw_enum(policy.kind);
  if (kind < HTTPAPI_CACHE_NONE || kind > HTTPAPI_CACHE_TIME_TO_LIVE) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  if (flags & HTTPAPI_SEND_FLAG_PROCESS_RANGES) {
    return httpapi_send_response_chunks(request, response, nullptr, 0, flags, cache);
  }
  const bool opaque = flags & HTTPAPI_SEND_FLAG_OPAQUE;
  if (opaque) {
    if (response->status != 101) return HTTPAPI_ERROR_INVALID_PARAMETER;
    if (request->info.flags & HTTPAPI_REQUEST_FLAG_HTTP2) {
      httpapi::client::set_error_detail(
          "HTTP/2 has no protocol switch (RFC 9113 §8.6): OPAQUE needs an HTTP/1.1 request; "
          "answer this one with a normal response");
      return HTTPAPI_ERROR_INVALID_STATE;
    }
    if (has_body(request->info)) return HTTPAPI_ERROR_INVALID_STATE;
    flags |= HTTPAPI_SEND_FLAG_MORE_DATA;  // the stream follows
  }
  // The head's field list and the frames are built in buffers of the calling thread, which
  // keep their capacity: a response costs no allocation here.
  thread_local Head head;
  if (httpapi_error e = check_head(*response, head); e != HTTPAPI_OK) return e;
  if (response->body_length && !response->body) return HTTPAPI_ERROR_INVALID_PARAMETER;
  if (request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;

  const bool interim = response->status < 200 && response->status != 101;
  std::string_view body(static_cast<const char*>(response->body), response->body_length);
  std::uint32_t head_flags = flags;
  std::string_view rest;
  if (body.size() > ipc::kMaxBodyPiece) {
    // Too big for one frame: declare the length the single call implies, then stream it.
    if (!head.has_length && !(flags & HTTPAPI_SEND_FLAG_MORE_DATA)) {
      append_content_length(head.headers, body.size());
    }
    rest = body.substr(ipc::kMaxBodyPiece);
    body = body.substr(0, ipc::kMaxBodyPiece);
    head_flags |= HTTPAPI_SEND_FLAG_MORE_DATA;
  }
  thread_local std::string frames;
  frames.clear();
  struct LeaveSmall {  // a large body's copy is not kept for the thread's next response
    ~LeaveSmall() {
      if (frames.capacity() > kKeptFrameBytes) std::string().swap(frames);
    }
  } leave_small;
  ipc::SendResponse message{request->info.request_id, head_flags, response->status,
                            static_cast<std::uint16_t>(policy.kind), policy.seconds,
                            head.reason, head.headers, body};
  if (!ipc::encode(frames, message)) {
    return HTTPAPI_ERROR_TOO_LARGE;
  }
  if (!rest.empty()) append_body_frames(frames, request->info.request_id, rest, flags);
  const bool hold = !interim && (flags & HTTPAPI_SEND_FLAG_BUFFER_DATA) &&
                    (flags & HTTPAPI_SEND_FLAG_MORE_DATA);
  if (httpapi_error e = write_after_held(*request, frames, hold); e != HTTPAPI_OK) {
    return e;
  }
  if (!interim) response_sent(request, flags);
  if (opaque) {  // what the client sends from now on is read as body
    std::lock_guard lock(request->queue->mutex);
    request->body_end = false;
  }
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_send_body(httpapi_request* request, const void* data,
                                           size_t length, uint32_t flags) {
  if (!request || (length && !data) || (flags & ~kBodyFlags)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  if (!request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;
  if (request->queue->client_left(*request)) return HTTPAPI_ERROR_CONNECTION_GONE;
  const std::string_view bytes(static_cast<const char*>(data), length);
  const bool more = flags & HTTPAPI_SEND_FLAG_MORE_DATA;
  if (more && (flags & HTTPAPI_SEND_FLAG_BUFFER_DATA) &&
      request->held_frames.size() + request->held_body.size() + length <
          HTTPAPI_SEND_BUFFER_BYTES) {
    request->held_body.append(bytes);
    return HTTPAPI_OK;
  }
  // Held bytes and these go out as one piece (the last piece carries the flags).
  std::string frames;
  if (request->held_body.empty()) {
    append_body_frames(frames, request->info.request_id, bytes, flags);
  } else {
    request->held_body.append(bytes);
    append_body_frames(frames, request->info.request_id, request->held_body, flags);
    request->held_body.clear();
  }
  if (httpapi_error e = write_after_held(*request, frames, false); e != HTTPAPI_OK) {
    return e;
  }
  request->response_finished = !more;
  if (request->response_finished) mark_ended(request);
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_send_response_chunks(httpapi_request* request,
                                                      const httpapi_response* response,
                                                      const httpapi_data_chunk* chunks,
                                                      size_t count, uint32_t flags,
                                                      const httpapi_cache_policy* cache) {
  if (!request || !response || (flags & ~kResponseFlags) || (flags & HTTPAPI_SEND_FLAG_OPAQUE)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  const httpapi_cache_policy policy = cache ? *cache : httpapi_cache_policy{};
  const int kind = httpapi::client::raw_enum(policy.kind);
  if (kind < HTTPAPI_CACHE_NONE || kind > HTTPAPI_CACHE_TIME_TO_LIVE) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  Head head;
  ChunkBody body;
  if (httpapi_error e = check_head(*response, head); e != HTTPAPI_OK) return e;
  if (httpapi_error e = resolve_chunks(response, chunks, count, body); e != HTTPAPI_OK) return e;
  if (request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  std::uint16_t status = response->status;
  httpapi::client::RangedResponse ranged;
  if (flags & HTTPAPI_SEND_FLAG_PROCESS_RANGES) {
    // The representation must be whole and its size known here.
    if ((flags & (HTTPAPI_SEND_FLAG_MORE_DATA | HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING)) ||
        status != 200 || body.fragments) {
      return HTTPAPI_ERROR_INVALID_PARAMETER;
    }
    httpapi::client::process_ranges(request->info, *response, body.chunks, body.size, ranged);
    httpapi_response rewritten = *response;
    rewritten.status = status = ranged.status;
    rewritten.headers = ranged.headers.data();
    rewritten.header_count = ranged.headers.size();
    check_head(rewritten, head);
    ChunkBody cut;
    std::size_t files = 0;
    for (const httpapi_data_chunk& chunk : ranged.body) resolve_chunk(chunk, cut, files);
    body = std::move(cut);
    flags &= ~HTTPAPI_SEND_FLAG_PROCESS_RANGES;
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;
  // Split over several frames: the length the single call implies is declared first.
  if (!head.has_length && !(flags & HTTPAPI_SEND_FLAG_MORE_DATA) && !body.fragments &&
      body.memory_bytes > ipc::kMaxBodyPiece) {
    append_content_length(head.headers, body.size);
  }
  ipc::SendResponse message{request->info.request_id, flags, status,
                            static_cast<std::uint16_t>(policy.kind), policy.seconds,
                            head.reason, head.headers, {}};
  if (httpapi_error e = write_chunks(*request, &message, body, flags); e != HTTPAPI_OK) return e;
  if (status >= 200 || status == 101) response_sent(request, flags);
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_send_body_chunks(httpapi_request* request,
                                                  const httpapi_data_chunk* chunks,
                                                  size_t count, uint32_t flags) {
  if (!request || (flags & ~kBodyFlags)) return HTTPAPI_ERROR_INVALID_PARAMETER;
  ChunkBody body;
  if (httpapi_error e = resolve_chunks(nullptr, chunks, count, body); e != HTTPAPI_OK) return e;
  if (!request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;
  if (request->queue->client_left(*request)) return HTTPAPI_ERROR_CONNECTION_GONE;
  // The descriptors must go during this call, so nothing is held back.
  flags &= ~HTTPAPI_SEND_FLAG_BUFFER_DATA;
  if (httpapi_error e = write_chunks(*request, nullptr, body, flags); e != HTTPAPI_OK) return e;
  request->response_finished = !(flags & HTTPAPI_SEND_FLAG_MORE_DATA);
  if (request->response_finished) mark_ended(request);
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_send_trailers(httpapi_request* request,
                                               const httpapi_header* trailers, size_t count) {
  if (!request || (count && !trailers)) return HTTPAPI_ERROR_INVALID_PARAMETER;
  std::string list;
  for (size_t i = 0; i < count; ++i) {
    const httpapi_header& h = trailers[i];
    if (!valid_name(h.name) || !valid_text(h.value.data, h.value.length) ||
        forbidden_trailer({h.name.data, h.name.length})) {
      return HTTPAPI_ERROR_INVALID_PARAMETER;
    }
    ipc::append_header(list, {h.name.data, h.name.length}, {h.value.data, h.value.length});
  }
  if (!request->response_started || request->response_finished) {
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;
  std::string frames;
  if (!ipc::encode(frames, ipc::SendTrailers{request->info.request_id, list})) {
    return HTTPAPI_ERROR_TOO_LARGE;
  }
  if (httpapi_error e = write_after_held(*request, frames, false); e != HTTPAPI_OK) {
    return e;
  }
  request->response_finished = true;
  mark_ended(request);
  return HTTPAPI_OK;
}

extern "C" httpapi_error httpapi_request_set_log_data(httpapi_request* request,
                                                      const httpapi_log_data* data) {
  if (!request || !data) return HTTPAPI_ERROR_INVALID_PARAMETER;
  const std::string_view username = data->username ? data->username : "";
  // A log field is one token in W3C and NCSA lines: a space would split it.
  if (username.size() > kMaxLogUsername ||
      !httpapi::http1::syntax::all_of(username, httpapi::http1::syntax::k_target)) {
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  if (request->response_finished) return HTTPAPI_ERROR_INVALID_STATE;
  if (httpapi_error e = sendable(request); e != HTTPAPI_OK) return e;
  if (request->queue->channel.version() < 4) return HTTPAPI_ERROR_VERSION_MISMATCH;
  std::string frame;
  ipc::encode(frame, ipc::LogData{request->info.request_id, data->substatus, username});
  return write_after_held(*request, std::move(frame), true);
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
  // The queue outlives the lock even if this request held its last reference.
  const std::shared_ptr<httpapi::client::QueueCore> queue = std::move(request->queue);
  std::lock_guard lock(queue->mutex);
  queue->leave_live(request->info.request_id);
  queue->recycle(std::unique_ptr<httpapi_request>(request));
}
