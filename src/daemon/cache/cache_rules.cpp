// The response cache's rules (see cache_rules.hpp).
#include "daemon/cache/cache_rules.hpp"

#include <charconv>

#include <httpapi/httpapi.h>

#include "http1/syntax.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

using http1::syntax::iequals;

bool cacheable_request(const http1::RequestHead& head, const http1::CookedUrl& url) {
  if (head.method != "GET" || head.framing != http1::Framing::none || !url.query.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < head.field_count; ++i) {
    const http1::Field& f = head.fields[i];
    // Private answers (Authorization), partial ones (Range, If-Range), WebDAV source
    // requests (Translate: f) and unknown expectations are the application's business. So
    // are conditional requests: a stored 200 is the wrong answer to an If-None-Match that
    // matches (304) or an If-Match that does not (412), RFC 9110 §13.2.
    if (iequals(f.name, "Authorization") || iequals(f.name, "Range") ||
        iequals(f.name, "If-Range") || iequals(f.name, "If-None-Match") ||
        iequals(f.name, "If-Modified-Since") || iequals(f.name, "If-Match") ||
        iequals(f.name, "If-Unmodified-Since") ||
        (iequals(f.name, "Translate") && iequals(f.value, "f")) ||
        (iequals(f.name, "Expect") && !iequals(f.value, "100-continue"))) {
      return false;
    }
  }
  return true;
}

std::shared_ptr<CachedResponse> make_cache_entry(const CacheCandidate& response,
                                                 std::string_view url, std::string_view host,
                                                 std::uint16_t port, std::string_view path,
                                                 unsigned now) {
  if (response.cache_kind == HTTPAPI_CACHE_NONE || response.status < 200 ||
      response.status == 206 ||
      (response.cache_kind == HTTPAPI_CACHE_TIME_TO_LIVE && response.cache_seconds == 0)) {
    return nullptr;
  }
  auto entry = std::make_shared<CachedResponse>();
  char code[4] = {static_cast<char>('0' + response.status / 100),
                  static_cast<char>('0' + response.status / 10 % 10),
                  static_cast<char>('0' + response.status % 10), ' '};
  entry->head.append("HTTP/1.1 ").append(code, 4).append(response.reason).append("\r\n");
  bool has_type = false;
  ipc::HeaderListReader reader(response.headers);
  std::string_view name, value;
  while (reader.next(name, value)) {
    if (iequals(name, "Transfer-Encoding")) return nullptr;
    if (iequals(name, "Content-Length")) {
      std::uint64_t length = 0;
      if (!http1::syntax::parse_decimal(value, length) || length != response.body.size()) {
        return nullptr;
      }
      continue;  // written once below
    }
    // Per exchange, not per representation: Date is fresh on every hit, Connection follows
    // the request being answered.
    if (iequals(name, "Date") || iequals(name, "Connection") || iequals(name, "Keep-Alive")) {
      continue;
    }
    has_type = has_type || iequals(name, "Content-Type");
    entry->has_server = entry->has_server || iequals(name, "Server");
    entry->head.append(name).append(": ").append(value).append("\r\n");
  }
  // HTTP.sys caches nothing without a Content-Type (conformance case A068).
  if (!reader.ok() || !has_type) return nullptr;
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, response.body.size()).ptr;
  entry->head.append("Content-Length: ").append(digits, end).append("\r\n");
  entry->body.assign(response.body);
  entry->url.assign(url);
  entry->host.assign(host);
  entry->port = port;
  entry->path.assign(path);
  entry->status = response.status;
  if (response.cache_kind == HTTPAPI_CACHE_TIME_TO_LIVE) {
    const std::uint64_t expires = std::uint64_t{now} + response.cache_seconds;
    entry->expires_at = expires > UINT32_MAX ? UINT32_MAX : static_cast<unsigned>(expires);
  }
  entry->last_used.store(now, std::memory_order_relaxed);
  return entry;
}

void append_cache_hit(std::string& out, const CachedResponse& entry, std::string_view date,
                      std::string_view server, bool close, bool http10_keep_alive) {
  out.append(entry.head).append("Date: ").append(date).append("\r\n");
  if (!entry.has_server && !server.empty()) out.append("Server: ").append(server).append("\r\n");
  if (close) {
    out.append("Connection: close\r\n");
  } else if (http10_keep_alive) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n").append(entry.body);
}

}  // namespace httpapi::daemon
