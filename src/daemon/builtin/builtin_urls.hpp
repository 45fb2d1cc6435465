// URLs httpapid answers itself, without an application: the health URL (health_url.hpp), and
// whatever else the service can say over HTTP (metrics). Each one is named by a setting whose
// value is its URL (empty: off). The URL is registered in the routing table like an
// application's prefix: it takes its port (opening it, or sharing it with applications),
// competes by longest match, clashes with an application's identical prefix
// (ALREADY_EXISTS), and shows in `httpcfg show servicestate` under "builtin_urls". A request
// routed to it is answered on the I/O thread that read it, over HTTP/1.1 or HTTP/2, and
// access-logged like any other (docs/operations.md, "Built-in URLs").
//
// To add one: a setting in the registry (policy/settings.cpp, a URL setting), a handler, and
// one BuiltinUrls::add() call in Service's constructor. The handler is called on any I/O
// thread, concurrently: it reads only what is safe to read from there (atomics, snapshots).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace httpapi::daemon {

struct CachedResponse;

// What a handler learns of the request (views valid for the call).
struct BuiltinRequest {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view path;    // cooked, as sent: "/healthz"
  std::string_view query;   // raw, without the '?' ("" when there is none)
};

// What it answers: a status, fields (Content-Type and the like; the service adds
// Content-Length, Date, Server and the connection's own fields) and a body. A HEAD request
// gets the fields and the length without the body, whatever the handler returns.
struct BuiltinAnswer {
  std::uint16_t status = 200;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
};

using BuiltinHandler = std::function<BuiltinAnswer(const BuiltinRequest&)>;

class BuiltinUrls {
 public:
  // Before the I/O threads start (the table is read without a lock from then on). `setting`
  // is the key of the URL setting that names it. Returns its id (route::Target::builtin).
  std::uint32_t add(std::string setting, BuiltinHandler handler);

  // --- any thread
  // The answer of built-in URL `id` (a 404 for an id it does not know).
  BuiltinAnswer answer(std::uint32_t id, const BuiltinRequest& request) const;

  // --- service loop
  // The ids in order (1..count()) and the setting of each.
  std::uint32_t count() const noexcept { return static_cast<std::uint32_t>(entries_.size()); }
  const std::string& setting(std::uint32_t id) const { return entries_.at(id - 1).setting; }

 private:
  struct Entry {
    std::string setting;
    BuiltinHandler handler;
  };
  std::vector<Entry> entries_;
};

// The answer as the response cache keeps a response ("HTTP/1.1 ..." head with
// Content-Length, the body), so each protocol writes it as it writes a cache hit. A HEAD
// request's entry has no body.
void render_builtin(const BuiltinAnswer& answer, bool head_only, CachedResponse& out);

// The URL a URL setting names, as a prefix: the path gets its trailing '/' when it has none
// ("http://127.0.0.1:9181/healthz" -> "http://127.0.0.1:9181/healthz/", which routing
// matches for the request /healthz too). "" stays "".
std::string builtin_prefix_text(std::string_view url);

}  // namespace httpapi::daemon
