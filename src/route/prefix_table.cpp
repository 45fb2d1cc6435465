// The routing table. Registrations live in `entries_`; `ports_` indexes them by port, then
// bucket, then host/address, then path hash, so that match() costs one pass over the
// request path per bucket it consults and never allocates. The rules are in
// docs/routing.md.
#include "route/prefix_table.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace httpapi::route {
namespace {

using detail::HostPaths;
using detail::IpPaths;
using detail::PathSet;
using detail::PortIndex;
using Address = std::array<std::uint8_t, 16>;

constexpr std::uint32_t kNoEntry = std::numeric_limits<std::uint32_t>::max();

constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// FNV-1a over lower-cased bytes: the request path is hashed incrementally while it is
// scanned, so each '/' boundary costs one step, not a rehash.
constexpr std::uint64_t kHashBasis = 14695981039346656037ull;
constexpr std::uint64_t hash_step(std::uint64_t h, char c) noexcept {
  return (h ^ static_cast<unsigned char>(to_lower(c))) * 1099511628211ull;
}

std::uint64_t hash_path(std::string_view path) noexcept {
  std::uint64_t h = kHashBasis;
  for (char c : path) h = hash_step(h, c);
  return h;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

bool iless(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(to_lower(a[i]));
    const auto y = static_cast<unsigned char>(to_lower(b[i]));
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

// The path rule: `path` matches `prefix` when it starts with it, or when path + "/" equals
// it ("/app" reaches "/app/").
bool path_matches(std::string_view prefix, std::string_view path) noexcept {
  if (prefix.size() <= path.size()) return iequal(prefix, path.substr(0, prefix.size()));
  return prefix.size() == path.size() + 1 && prefix.back() == '/' &&
         iequal(prefix.substr(0, path.size()), path);
}

// Textual address -> 16 bytes, IPv4 mapped into ::ffff:0:0/96 so that a dual-stack socket's
// "::ffff:1.2.3.4" equals "1.2.3.4". Brackets and a zone id ("%eth0") are ignored.
bool parse_address(std::string_view text, Address& out) noexcept {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  text = text.substr(0, text.find('%'));
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return false;
  if (text.find('\0') != std::string_view::npos) return false;  // inet_pton would stop there
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') != std::string_view::npos) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, buf, &a6) != 1) return false;
    std::memcpy(out.data(), &a6, out.size());
    return true;
  }
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) != 1) return false;
  out = Address{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::memcpy(out.data() + 12, &a4, 4);
  return true;
}

// The entry of `set` whose path has length `len` and matches `path`, given the hash of
// that candidate path; kNoEntry when there is none.
std::uint32_t find_candidate(const PathSet& set, const std::vector<PrefixTable::Entry>& entries,
                             std::uint64_t hash, std::size_t len, std::string_view path) noexcept {
  auto it = std::lower_bound(set.keys.begin(), set.keys.end(), hash,
                             [](const PathSet::Key& k, std::uint64_t h) { return k.hash < h; });
  for (; it != set.keys.end() && it->hash == hash; ++it) {
    const std::string& prefix = entries[it->entry].prefix.path;
    if (prefix.size() == len && path_matches(prefix, path)) return it->entry;
  }
  return kNoEntry;
}

// Longest prefix in `set` matching `path` (non-empty). Candidates are exactly the
// '/'-ended prefixes of the path, plus path + "/"; scanning forward, the last hit is the
// longest.
std::uint32_t longest_match(const PathSet& set, const std::vector<PrefixTable::Entry>& entries,
                            std::string_view path) noexcept {
  std::uint32_t best = kNoEntry;
  std::uint64_t h = kHashBasis;
  const std::size_t limit = std::min(path.size(), set.max_len);
  for (std::size_t i = 0; i < limit; ++i) {
    h = hash_step(h, path[i]);
    if (path[i] != '/') continue;
    if (const std::uint32_t e = find_candidate(set, entries, h, i + 1, path); e != kNoEntry) {
      best = e;
    }
  }
  // The loop consumed the whole path when it is shorter than the longest prefix.
  if (path.size() < set.max_len && path.back() != '/') {
    h = hash_step(h, '/');
    if (const std::uint32_t e = find_candidate(set, entries, h, path.size() + 1, path);
        e != kNoEntry) {
      best = e;
    }
  }
  return best;
}

const PathSet* find_host(const std::vector<HostPaths>& hosts, std::string_view host) noexcept {
  auto it = std::lower_bound(hosts.begin(), hosts.end(), host,
                             [](const HostPaths& h, std::string_view v) { return iless(h.host, v); });
  return (it != hosts.end() && iequal(it->host, host)) ? &it->paths : nullptr;
}

const PathSet* find_address(const std::vector<IpPaths>& addresses,
                            const Address& address) noexcept {
  auto it = std::lower_bound(addresses.begin(), addresses.end(), address,
                             [](const IpPaths& a, const Address& v) { return a.address < v; });
  return (it != addresses.end() && it->address == address) ? &it->paths : nullptr;
}

void insert_path(PathSet& set, std::string_view path, std::uint32_t entry) {
  const PathSet::Key key{hash_path(path), entry};
  auto it = std::upper_bound(set.keys.begin(), set.keys.end(), key.hash,
                             [](std::uint64_t h, const PathSet::Key& k) { return h < k.hash; });
  set.keys.insert(it, key);
  set.max_len = std::max(set.max_len, path.size());
}

PathSet& host_set(std::vector<HostPaths>& hosts, const std::string& host) {
  auto it = std::lower_bound(hosts.begin(), hosts.end(), host,
                             [](const HostPaths& h, const std::string& v) { return iless(h.host, v); });
  if (it == hosts.end() || !iequal(it->host, host)) it = hosts.insert(it, HostPaths{host, {}});
  return it->paths;
}

PathSet& address_set(std::vector<IpPaths>& addresses, const Address& address) {
  auto it = std::lower_bound(addresses.begin(), addresses.end(), address,
                             [](const IpPaths& a, const Address& v) { return a.address < v; });
  if (it == addresses.end() || it->address != address) {
    it = addresses.insert(it, IpPaths{address, {}});
  }
  return it->paths;
}

// The set a prefix belongs to, or nullptr when it has none (an IP literal that does not
// parse: only possible for a prefix not produced by parse_url_prefix).
const PathSet* bucket_of(const PortIndex& index, const UrlPrefix& prefix) noexcept {
  switch (prefix.host_kind) {
    case HostKind::strong_wildcard:
      return &index.strong;
    case HostKind::explicit_name:
      return find_host(index.hosts, prefix.host);
    case HostKind::ip_literal: {
      Address address{};
      return parse_address(prefix.host, address) ? find_address(index.addresses, address)
                                                 : nullptr;
    }
    case HostKind::weak_wildcard:
      return &index.weak;
  }
  return nullptr;
}

bool contains_path(const PathSet& set, const std::vector<PrefixTable::Entry>& entries,
                   std::string_view path) noexcept {
  if (path.empty()) return false;
  return find_candidate(set, entries, hash_path(path), path.size(), path) != kNoEntry;
}

}  // namespace

void PrefixTable::index_entry(std::uint32_t entry) {
  const UrlPrefix& prefix = entries_[entry].prefix;
  PortIndex& index = ports_[prefix.port];
  index.secure = prefix.secure;
  switch (prefix.host_kind) {
    case HostKind::strong_wildcard:
      insert_path(index.strong, prefix.path, entry);
      break;
    case HostKind::explicit_name:
      insert_path(host_set(index.hosts, prefix.host), prefix.path, entry);
      break;
    case HostKind::ip_literal: {
      Address address{};
      // Kept in entries_ but unreachable if the literal does not parse (see bucket_of).
      if (parse_address(prefix.host, address)) {
        insert_path(address_set(index.addresses, address), prefix.path, entry);
      }
      break;
    }
    case HostKind::weak_wildcard:
      insert_path(index.weak, prefix.path, entry);
      break;
  }
}

void PrefixTable::rebuild_index() {
  ports_.clear();
  for (std::size_t i = 0; i < entries_.size(); ++i) index_entry(static_cast<std::uint32_t>(i));
}

PrefixTable::AddResult PrefixTable::add(const UrlPrefix& prefix, const Target& target) {
  if (auto it = ports_.find(prefix.port); it != ports_.end()) {
    if (it->second.secure != prefix.secure) return AddResult::scheme_conflict;
    const PathSet* set = bucket_of(it->second, prefix);
    if (set != nullptr && contains_path(*set, entries_, prefix.path)) {
      return AddResult::already_exists;
    }
  }
  // The index cannot see an IP literal that does not parse (never produced by
  // parse_url_prefix); compare such a prefix by text.
  if (Address unused{}; prefix.host_kind == HostKind::ip_literal &&
                        !parse_address(prefix.host, unused)) {
    for (const Entry& e : entries_) {
      if (e.prefix.text == prefix.text) return AddResult::already_exists;
    }
  }
  entries_.push_back(Entry{prefix, target});
  index_entry(static_cast<std::uint32_t>(entries_.size() - 1));
  return AddResult::added;
}

bool PrefixTable::remove(std::string_view canonical_text) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.prefix.text == canonical_text; });
  if (it == entries_.end()) {
    // Tolerate a non-canonical spelling of a registered prefix.
    UrlPrefix parsed;
    if (parse_url_prefix(canonical_text, parsed) != PrefixError::none) return false;
    it = std::find_if(entries_.begin(), entries_.end(),
                      [&](const Entry& e) { return e.prefix.text == parsed.text; });
    if (it == entries_.end()) return false;
  }
  entries_.erase(it);
  rebuild_index();  // entry indices after `it` shifted
  return true;
}

std::size_t PrefixTable::remove_group(std::uint64_t group_id) {
  const std::size_t removed =
      std::erase_if(entries_, [&](const Entry& e) { return e.target.group_id == group_id; });
  if (removed != 0) rebuild_index();
  return removed;
}

Match PrefixTable::match(bool secure, std::uint16_t port, std::string_view host,
                         std::string_view local_ip, std::string_view path) const {
  Match result;  // no_host until some bucket accepts the host
  const auto port_it = ports_.find(port);
  if (port_it == ports_.end() || port_it->second.secure != secure) return result;
  const PortIndex& index = port_it->second;
  // A cooked path always starts with '/'; anything else (the "*" of OPTIONS *) is routed
  // as the root.
  if (path.empty() || path.front() != '/') path = "/";

  bool host_matched = false;
  // A bucket (or host/address group) "matches the host" when it is non-empty; it wins when
  // one of its paths matches too. Otherwise the search goes on to the next bucket.
  const auto try_set = [&](const PathSet* set, bool ip_routed) noexcept {
    if (set == nullptr || set->keys.empty()) return false;
    host_matched = true;
    const std::uint32_t e = longest_match(*set, entries_, path);
    if (e == kNoEntry) return false;
    result.kind = MatchKind::found;
    result.target = entries_[e].target;
    result.ip_routed = ip_routed;
    result.prefix = entries_[e].prefix.text;
    return true;
  };

  if (try_set(&index.strong, false)) return result;
  if (!index.hosts.empty() && try_set(find_host(index.hosts, host), false)) return result;
  if (!index.addresses.empty()) {
    Address address{};
    if (parse_address(local_ip, address) && try_set(find_address(index.addresses, address), true)) {
      return result;
    }
  }
  if (try_set(&index.weak, false)) return result;
  result.kind = host_matched ? MatchKind::no_path : MatchKind::no_host;
  return result;
}

bool PrefixTable::has_port(std::uint16_t port) const { return ports_.contains(port); }

std::vector<std::uint16_t> PrefixTable::ports() const {
  std::vector<std::uint16_t> out;
  out.reserve(ports_.size());
  for (const auto& [port, index] : ports_) out.push_back(port);
  return out;
}

std::size_t PrefixTable::size() const noexcept { return entries_.size(); }

}  // namespace httpapi::route
