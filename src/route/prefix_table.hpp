// The routing table: registered prefixes by port, matched by the exact rules of DESIGN.md §4.
// Not thread-safe; the daemon builds an immutable snapshot for its I/O threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "route/url_prefix.hpp"

namespace httpapi::route {

// What a registration routes to: opaque to the table.
struct Target {
  std::uint64_t queue_id = 0;     // the daemon's request-queue id
  std::uint64_t url_context = 0;  // the application's 64-bit context
  std::uint64_t group_id = 0;     // the URL group that registered it
  // How the front end answers a request it refuses for the queue itself (ConnLimit): the
  // queue's 503 verbosity (HTTPAPI_503_*) and its name for the error log. The name's bytes
  // are owned by whoever publishes the table.
  std::uint32_t verbosity = 1;
  std::string_view queue_name = {};
  // The URL group writes an access log of its own (the daemon's access log has its config).
  bool access_log = false;
  // Not 0: a URL the service answers itself (daemon/builtin/builtin_urls.hpp), by this id;
  // queue_id, url_context and group_id are 0 then.
  std::uint32_t builtin = 0;
};

enum class MatchKind : std::uint8_t {
  found,          // target valid
  no_host,        // nothing on this port matches the host -> 400 Invalid Hostname
  no_path,        // a host bucket matched, no path under it -> 404
};

struct Match {
  MatchKind kind = MatchKind::no_host;
  Target target;
  bool ip_routed = false;          // matched in the IP-literal bucket
  std::string_view prefix;         // the matched prefix's canonical text (owned by the table;
                                   // valid until the table is next modified)
};

// The table's private index (see PrefixTable); not part of the interface.
namespace detail {

// The paths registered in one bucket (for the explicit and IP buckets: under one host or
// address), found by a case-insensitive hash of each '/'-ended prefix of the request path.
struct PathSet {
  struct Key {
    std::uint64_t hash = 0;    // hash of the lower-cased prefix path
    std::uint32_t entry = 0;   // index into PrefixTable::entries()
  };
  std::vector<Key> keys;       // sorted by hash
  std::size_t max_len = 0;     // longest path in the set: the scan of a request path stops there
};

struct HostPaths {
  std::string host;            // lower-case DNS name
  PathSet paths;
};

struct IpPaths {
  std::array<std::uint8_t, 16> address{};  // IPv6, IPv4 as ::ffff:a.b.c.d
  PathSet paths;
};

struct PortIndex {
  bool secure = false;
  PathSet strong;                  // '+'
  std::vector<HostPaths> hosts;    // explicit names, sorted by host
  std::vector<IpPaths> addresses;  // IP literals, sorted by address
  PathSet weak;                    // '*'
};

}  // namespace detail

class PrefixTable {
 public:
  enum class AddResult : std::uint8_t { added, already_exists, scheme_conflict };

  // Same canonical prefix already present in its bucket -> already_exists; the port already
  // carries the other scheme -> scheme_conflict. On failure the table is unchanged.
  // `prefix` is one produced by parse_url_prefix.
  AddResult add(const UrlPrefix& prefix, const Target& target);

  // Removes the registration with this canonical text; false when absent.
  bool remove(std::string_view canonical_text);

  // Removes every registration of `group_id`; returns how many were removed.
  std::size_t remove_group(std::uint64_t group_id);

  // Matches a request that arrived on local `port` (over TLS when `secure`), with cooked
  // `host` (lower-case, IPv6 in brackets, no port), cooked `path`, and the local address it
  // arrived on (`local_ip`, textual, IPv6 without brackets). Case-insensitive on host and
  // path; "/app" matches "/app/".
  Match match(bool secure, std::uint16_t port, std::string_view host, std::string_view local_ip,
              std::string_view path) const;

  bool has_port(std::uint16_t port) const;
  std::vector<std::uint16_t> ports() const;
  std::size_t size() const noexcept;

  struct Entry {
    UrlPrefix prefix;
    Target target;
  };
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  // Rewrites every registration's target in place (targets are not part of the index).
  template <typename F>
  void update_targets(F&& update) {
    for (Entry& entry : entries_) update(entry.target);
  }

 private:
  void index_entry(std::uint32_t entry);
  void rebuild_index();

  std::vector<Entry> entries_;                        // in registration order
  std::map<std::uint16_t, detail::PortIndex> ports_;  // indexes entries_ by port and bucket
};

}  // namespace httpapi::route
