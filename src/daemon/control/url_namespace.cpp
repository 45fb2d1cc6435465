#include "daemon/control/url_namespace.hpp"

#include <algorithm>

namespace httpapi::daemon {
namespace {

bool same_bucket(const route::UrlPrefix& a, const route::UrlPrefix& b) {
  return a.secure == b.secure && a.port == b.port && a.host_kind == b.host_kind &&
         a.host == b.host;
}

}  // namespace

std::size_t UrlNamespace::load(const std::vector<config::Reservation>& reservations) {
  entries_.clear();
  std::size_t skipped = 0;
  for (const auto& r : reservations) {
    ReservationEntry entry;
    if (route::parse_url_prefix(r.prefix, entry.prefix) != route::PrefixError::none) {
      ++skipped;
      continue;
    }
    entry.acl = r.acl;
    entries_.push_back(std::move(entry));
  }
  return skipped;
}

const ReservationEntry* UrlNamespace::find(std::string_view canonical) const {
  for (const auto& e : entries_) {
    if (e.prefix.text == canonical) return &e;
  }
  return nullptr;
}

void UrlNamespace::add(ReservationEntry entry) { entries_.push_back(std::move(entry)); }

bool UrlNamespace::remove(std::string_view canonical) {
  const auto before = entries_.size();
  std::erase_if(entries_, [&](const ReservationEntry& e) { return e.prefix.text == canonical; });
  return entries_.size() != before;
}

const ReservationEntry* UrlNamespace::governing(const route::UrlPrefix& prefix,
                                                bool strictly_above) const {
  const ReservationEntry* best = nullptr;
  for (const auto& e : entries_) {
    if (!same_bucket(e.prefix, prefix)) continue;
    if (!prefix.path.starts_with(e.prefix.path)) continue;
    if (strictly_above && e.prefix.path.size() == prefix.path.size()) continue;
    if (!best || e.prefix.path.size() > best->prefix.path.size()) best = &e;
  }
  return best;
}

bool UrlNamespace::grants(const ReservationEntry& entry, const PeerIdentity& peer,
                          bool delegate) {
  return std::any_of(entry.acl.begin(), entry.acl.end(), [&](const config::AclEntry& a) {
    const bool who = a.kind == config::AclEntry::Kind::user ? a.id == peer.uid
                                                            : peer.in_group(a.id);
    return who && (delegate ? a.delegate : a.listen);
  });
}

bool UrlNamespace::may_listen(const PeerIdentity& peer, const route::UrlPrefix& prefix) const {
  if (peer.is_root()) return true;
  if (const ReservationEntry* r = governing(prefix, false)) return grants(*r, peer, false);
  // As on Windows: anyone may serve http://localhost above the privileged ports.
  return !prefix.secure && prefix.host_kind == route::HostKind::explicit_name &&
         prefix.host == "localhost" && prefix.port > 1024;
}

bool UrlNamespace::may_reserve(const PeerIdentity& peer, const route::UrlPrefix& prefix) const {
  if (peer.is_root()) return true;
  const ReservationEntry* parent = governing(prefix, true);
  return parent && grants(*parent, peer, true);
}

}  // namespace httpapi::daemon
