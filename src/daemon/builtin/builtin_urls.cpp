#include "daemon/builtin/builtin_urls.hpp"

#include <fmt/format.h>

#include "daemon/cache/response_cache.hpp"
#include "http1/reason_phrase.hpp"

namespace httpapi::daemon {

std::uint32_t BuiltinUrls::add(std::string setting, BuiltinHandler handler) {
  entries_.push_back({std::move(setting), std::move(handler)});
  return count();
}

BuiltinAnswer BuiltinUrls::answer(std::uint32_t id, const BuiltinRequest& request) const {
  if (id == 0 || id > entries_.size()) {
    return {404, {{"Content-Type", "text/plain"}}, "no such built-in URL\n"};
  }
  return entries_[id - 1].handler(request);
}

void render_builtin(const BuiltinAnswer& answer, bool head_only, CachedResponse& out) {
  out.status = answer.status;
  out.head = fmt::format("HTTP/1.1 {} {}\r\n", answer.status, http1::reason_phrase(answer.status));
  for (const auto& [name, value] : answer.fields) {
    out.head.append(name).append(": ").append(value).append("\r\n");
  }
  out.head.append(fmt::format("Content-Length: {}\r\n", answer.body.size()));
  out.body = head_only ? std::string() : answer.body;
}

std::string builtin_prefix_text(std::string_view url) {
  std::string text(url);
  if (text.empty() || text.back() == '/') return text;
  // Only a path that ends without '/' gets one: "http://h:1" (no path) is left to the
  // parser to refuse, and a query or fragment stays where it is, refused too.
  const std::size_t scheme = text.find("://");
  const std::size_t path = scheme == std::string::npos ? text.npos : text.find('/', scheme + 3);
  if (path != std::string::npos && text.find_first_of("?#") == std::string::npos) text += '/';
  return text;
}

}  // namespace httpapi::daemon
