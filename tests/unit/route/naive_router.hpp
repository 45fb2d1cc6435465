// A deliberately naive router written straight from docs/routing.md: a linear scan over all
// registrations, bucket by bucket. PrefixTable must agree with it on every request; the
// differential unit test and the fuzz target check that.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "route/prefix_table.hpp"

namespace httpapi::route::testing {

inline std::string naive_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Address text -> 16 bytes (IPv4 mapped); false when it is not an address.
inline bool naive_address(std::string_view text, std::array<unsigned char, 16>& out) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (const auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);
  if (s.find('\0') != std::string::npos) return false;
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    return true;
  }
  in_addr a4{};
  if (s.find(':') == std::string::npos && inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(out.data() + 12, &a4, 4);
    return true;
  }
  return false;
}

inline bool naive_same_address(std::string_view a, std::string_view b) {
  std::array<unsigned char, 16> x{};
  std::array<unsigned char, 16> y{};
  return naive_address(a, x) && naive_address(b, y) && x == y;
}

inline bool naive_host_matches(const UrlPrefix& p, std::string_view host,
                               std::string_view local_ip) {
  switch (p.host_kind) {
    case HostKind::strong_wildcard:
    case HostKind::weak_wildcard:
      return true;
    case HostKind::explicit_name:
      return naive_lower(p.host) == naive_lower(host);
    case HostKind::ip_literal:
      return naive_same_address(p.host, local_ip);
  }
  return false;
}

inline bool naive_path_matches(const std::string& prefix, const std::string& path) {
  return path.starts_with(prefix) || path + "/" == prefix;
}

inline Match naive_match(const std::vector<PrefixTable::Entry>& entries, bool secure,
                         std::uint16_t port, std::string_view host, std::string_view local_ip,
                         std::string_view raw_path) {
  const std::string path =
      (raw_path.empty() || raw_path.front() != '/') ? std::string("/") : naive_lower(raw_path);
  Match result;
  bool host_matched = false;
  for (HostKind bucket : {HostKind::strong_wildcard, HostKind::explicit_name,
                          HostKind::ip_literal, HostKind::weak_wildcard}) {
    const PrefixTable::Entry* best = nullptr;
    for (const PrefixTable::Entry& e : entries) {
      if (e.prefix.port != port || e.prefix.secure != secure || e.prefix.host_kind != bucket) {
        continue;
      }
      if (!naive_host_matches(e.prefix, host, local_ip)) continue;
      host_matched = true;
      const std::string prefix_path = naive_lower(e.prefix.path);
      if (naive_path_matches(prefix_path, path) &&
          (best == nullptr || prefix_path.size() > best->prefix.path.size())) {
        best = &e;
      }
    }
    if (best != nullptr) {
      result.kind = MatchKind::found;
      result.target = best->target;
      result.ip_routed = bucket == HostKind::ip_literal;
      result.prefix = best->prefix.text;
      return result;
    }
  }
  result.kind = host_matched ? MatchKind::no_path : MatchKind::no_host;
  return result;
}

}  // namespace httpapi::route::testing
