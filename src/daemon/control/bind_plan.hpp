// Which local addresses a port binds, decided from its registrations and the IP listen list
// (HTTP.sys's ListenEndpoint made exact; docs/listening.md). Pure: no sockets, no store.
//
// - Every registration on the port names an IP literal (http://127.0.0.2:8080/,
//   http://[::1]:8080/): the port binds exactly those addresses, so another server may hold
//   the same port number on other addresses.
// - Some registration needs other addresses (+, *, a host name): the port binds the
//   addresses of the IP listen list, or every address when the list is empty. The IP-literal
//   registrations those addresses reach are bound as well, on their own sockets: the kernel
//   prefers an exact address to a wildcard, so when the last wide registration leaves, the
//   wildcard socket closes without one connection for a literal's address being refused.
//   A literal the listen list leaves out is not bound (it is reported as unbound).
#pragma once

#include <string>
#include <vector>

#include "route/url_prefix.hpp"

namespace httpapi::daemon {

struct BindAddress {
  // "" = every address (IPv6 dual-stack); "0.0.0.0" = every IPv4 address, "::" = every IPv6
  // address; else one address in canonical form ("127.0.0.2", "::1").
  std::string address;
  std::vector<std::string> registrations;  // the IP-literal registrations naming it
  std::string why;                         // one line for httpcfg show servicestate
};

struct BindPlan {
  bool exact = false;  // every registration names an IP literal
  std::vector<BindAddress> addresses;   // sorted by address, each once
  std::vector<std::string> wide;        // the registrations that need more than literals
  std::vector<std::string> unbound;     // IP-literal registrations the listen list leaves out
  std::string why;                      // one line: why the port binds as it does
};

// `registrations`: the port's prefixes as parse_url_prefix made them. `listen_list`: the IP
// listen list's addresses in canonical form (ConfigStore::listen_addresses()).
BindPlan plan_binding(const std::vector<route::UrlPrefix>& registrations,
                      const std::vector<std::string>& listen_list);

// Does a socket bound to `wide` (a BindAddress::address) accept connections for `address`?
// "" reaches every address, "0.0.0.0" every IPv4 one, "::" every IPv6 one (IPV6_V6ONLY).
bool reaches(const std::string& wide, const std::string& address);

// "127.0.0.2:8080", "[::1]:8080", "*:8080" for "" (every address), "0.0.0.0:8080", "[::]:8080".
std::string bind_address_text(const std::string& address, unsigned port);

}  // namespace httpapi::daemon
