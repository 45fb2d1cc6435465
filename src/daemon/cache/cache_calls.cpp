#include "daemon/cache/cache_calls.hpp"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>

#include <fmt/format.h>

#include "daemon/cache/fragment_cache.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/control/app_channel.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/url_groups.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"
#include "ipc/body_chunks.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// A URL naming one resource (".../page") or a prefix (".../dir/"): parsed as a prefix with
// a final '/' added, which is then taken off again.
route::PrefixError parse_cache_url(std::string_view text, route::UrlPrefix& url) {
  std::string with_slash(text);
  const bool resource = !with_slash.ends_with('/');
  if (resource) with_slash += '/';
  const route::PrefixError e = route::parse_url_prefix(with_slash, url);
  if (e == route::PrefixError::none && resource) url.path.pop_back();
  return e;
}

std::string fragment_key(const route::UrlPrefix& url) {
  return fmt::format("{}{}:{}{}", url.secure ? "s:" : "", url.host, url.port, url.path);
}

// FUSE_SUPER_MAGIC (linux/magic.h): a file system served by a process, which may never
// answer; sendfile from it could stall an I/O thread that serves every application.
constexpr long kFuseMagic = 0x65735546;

// Why a file chunk's descriptor cannot be sent from, or empty when it can.
std::string unusable_file(int fd, const ipc::BodyChunk& chunk) {
  struct stat st;
  struct statfs fs;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return "file chunk: not a regular file";
  if (::fstatfs(fd, &fs) == 0 && fs.f_type == kFuseMagic) return "file chunk: on a FUSE file system";
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (chunk.offset > size || chunk.length > size - chunk.offset) {
    return "file chunk: range past the end of the file";
  }
  return {};
}

}  // namespace

// Parses a cache URL of a call, or answers the call INVALID_PARAMETER with the reason.
bool CacheCalls::parse_or_refuse(AppChannel& channel, std::uint64_t call,
                                 std::string_view text, route::UrlPrefix& url) {
  const route::PrefixError e = parse_cache_url(text, url);
  if (e == route::PrefixError::none) return true;
  channel.reply(call, HTTPAPI_ERROR_INVALID_PARAMETER, 0, route::describe(e));
  return false;
}

// HttpFlushResponseCache: a queue may flush what lies under its own URLs, responses and
// fragments alike.
void CacheCalls::on_flush_cache(AppChannel& channel, const ipc::Frame& frame) {
  ipc::FlushCache call;
  if (!ipc::decode(frame, call)) return channel.close("malformed flush_cache");
  route::UrlPrefix prefix;
  if (!parse_or_refuse(channel, call.call, call.prefix, prefix)) return;
  if (!groups_.covers(queues_.queue_id_of(channel), prefix)) {
    return channel.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         "no URL registered for this queue covers the prefix");
  }
  const bool recursive = call.flags & HTTPAPI_FLUSH_FLAG_RECURSIVE;
  const std::size_t removed = cache_.flush(prefix.host, prefix.port, prefix.path, recursive) +
                              fragments_.flush(prefix.host, prefix.port, prefix.path, recursive);
  channel.reply(call.call, HTTPAPI_OK, removed);
}

void CacheCalls::on_add_fragment(AppChannel& channel, const ipc::Frame& frame) {
  ipc::AddFragment call;
  if (!ipc::decode(frame, call)) return channel.close("malformed add_fragment");
  if (call.cache_kind < HTTPAPI_CACHE_USER_INVALIDATES ||
      call.cache_kind > HTTPAPI_CACHE_TIME_TO_LIVE ||
      (call.cache_kind == HTTPAPI_CACHE_TIME_TO_LIVE && call.cache_seconds == 0)) {
    return channel.reply(
        call.call, HTTPAPI_ERROR_INVALID_PARAMETER, 0,
        "a fragment needs USER_INVALIDATES or a time to live of at least 1 second");
  }
  route::UrlPrefix url;
  if (!parse_or_refuse(channel, call.call, call.name, url)) return;
  if (!groups_.covers(queues_.queue_id_of(channel), url)) {
    return channel.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                         "no URL registered for this queue covers the fragment's name");
  }
  const unsigned now = monotonic_seconds();
  auto fragment = std::make_shared<Fragment>();
  fragment->key = fragment_key(url);
  fragment->host = url.host;
  fragment->port = url.port;
  fragment->path = url.path;
  fragment->queue = queues_.queue_id_of(channel);
  fragment->bytes.assign(call.data);
  fragment->last_used = now;
  if (call.cache_kind == HTTPAPI_CACHE_TIME_TO_LIVE) fragment->expires_at = now + call.cache_seconds;
  const std::size_t size = call.data.size();
  switch (fragments_.add(std::move(fragment))) {
    case FragmentAdd::added: return channel.reply(call.call, HTTPAPI_OK);
    case FragmentAdd::too_large:
      return channel.reply(
          call.call, HTTPAPI_ERROR_TOO_LARGE, 0,
          fmt::format("a fragment of {} bytes is over cache_max_response_bytes ({})", size,
                      settings_.cache.max_response_bytes));
    case FragmentAdd::full:
      return channel.reply(call.call, HTTPAPI_ERROR_NO_MEMORY, 0,
                           "the fragment cache is full (cache_max_total_bytes) or disabled");
    case FragmentAdd::taken:
      return channel.reply(call.call, HTTPAPI_ERROR_ACCESS_DENIED, 0,
                           "another queue's fragment has this name");
  }
}

void CacheCalls::on_read_fragment(AppChannel& channel, const ipc::Frame& frame) {
  ipc::ReadFragment call;
  if (!ipc::decode(frame, call)) return channel.close("malformed read_fragment");
  route::UrlPrefix url;
  if (!parse_or_refuse(channel, call.call, call.name, url)) return;
  const auto fragment =
      fragments_.find(fragment_key(url), queues_.queue_id_of(channel), monotonic_seconds());
  if (!fragment) {
    return channel.reply(call.call, HTTPAPI_ERROR_NOT_FOUND, 0, "no such fragment of this queue");
  }
  const std::string_view bytes = fragment->bytes;
  if (call.offset > bytes.size()) {
    return channel.reply(call.call, HTTPAPI_ERROR_INVALID_PARAMETER, bytes.size(),
                         "offset past the end of the fragment");
  }
  const std::string_view piece = bytes.substr(
      call.offset, std::min<std::uint64_t>(call.length, bytes.size() - call.offset));
  channel.reply(call.call, HTTPAPI_OK, bytes.size(), piece);
}

CacheCalls::ChunkCheck CacheCalls::resolve_chunks(AppChannel& channel, std::string_view list,
                                                  SendAttachments& attachments,
                                                  std::uint64_t& call) {
  ipc::ChunkCounts counts;
  if (!ipc::count_chunks(list, counts)) return {ChunkCheck::broken, "malformed chunk list"};
  if (counts.files > HTTPAPI_MAX_FILE_CHUNKS ||
      !channel.take_descriptors(counts.files, attachments.files)) {
    return {ChunkCheck::broken, "file chunks without their descriptors"};
  }
  ipc::ChunkListReader reader(list);
  call = reader.call();
  if (counts.fragments > 0 && call == 0) return {ChunkCheck::broken, "fragment send without call"};
  const unsigned now = monotonic_seconds();
  std::size_t file = 0;
  ipc::BodyChunk chunk;
  while (reader.next(chunk)) {
    if (chunk.kind == ipc::ChunkKind::file) {
      std::string why = unusable_file(attachments.files[file++].get(), chunk);
      if (!why.empty()) return {ChunkCheck::broken, std::move(why)};
    } else if (chunk.kind == ipc::ChunkKind::fragment) {
      route::UrlPrefix url;
      std::shared_ptr<const Fragment> fragment;
      if (parse_cache_url(chunk.data, url) == route::PrefixError::none) {
        fragment = fragments_.find(fragment_key(url), queues_.queue_id_of(channel), now);
      }
      if (!fragment) {
        return {ChunkCheck::refused, fmt::format("fragment '{}' is not in the cache", chunk.data)};
      }
      if (chunk.offset > fragment->bytes.size() ||
          (chunk.length != HTTPAPI_TO_EOF &&
           chunk.length > fragment->bytes.size() - chunk.offset)) {
        return {ChunkCheck::refused, fmt::format("range past the end of fragment '{}'", chunk.data)};
      }
      attachments.fragments.push_back(std::move(fragment));
    }
  }
  return {};
}

}  // namespace httpapi::daemon
