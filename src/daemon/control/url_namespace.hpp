// The URL namespace: reservations (URL ACLs) and the access decisions made from them
// (DESIGN.md §4, reference §3.3). The namespace is closed by default: root may do anything;
// another user may register a prefix only where the longest reservation of the same bucket
// grants it *listen*, or on http://localhost:PORT/ with PORT > 1024 when no reservation
// covers it; reservations below an existing one need *delegate* on it.
#pragma once

#include <string_view>
#include <vector>

#include "config/config_store.hpp"
#include "daemon/loop/peer_identity.hpp"
#include "route/url_prefix.hpp"

namespace httpapi::daemon {

struct ReservationEntry {
  route::UrlPrefix prefix;
  std::vector<config::AclEntry> acl;
};

class UrlNamespace {
 public:
  // Replaces the reservations; entries whose prefix no longer parses are skipped (and
  // counted in the return value, for a log line).
  std::size_t load(const std::vector<config::Reservation>& reservations);

  const ReservationEntry* find(std::string_view canonical) const;
  void add(ReservationEntry entry);
  bool remove(std::string_view canonical);
  const std::vector<ReservationEntry>& all() const noexcept { return entries_; }

  // The longest reservation in the bucket of `prefix` (same scheme, port, host kind and
  // host) whose path is a prefix of prefix.path; strictly shorter when `strictly_above`.
  const ReservationEntry* governing(const route::UrlPrefix& prefix, bool strictly_above) const;

  bool may_listen(const PeerIdentity& peer, const route::UrlPrefix& prefix) const;
  // May `peer` add or delete the reservation `prefix`?
  bool may_reserve(const PeerIdentity& peer, const route::UrlPrefix& prefix) const;

 private:
  static bool grants(const ReservationEntry& entry, const PeerIdentity& peer, bool delegate);
  std::vector<ReservationEntry> entries_;
};

}  // namespace httpapi::daemon
