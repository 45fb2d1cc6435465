// The TCP ports httpapid listens on, and on which addresses. A port opens when the first prefix
// on it registers and closes when the last one goes (HTTP.sys's behaviour: nothing listens
// that nobody serves). Its addresses follow its registrations and the IP listen list
// (BindPlan, docs/listening.md); each bound address has one SO_REUSEPORT socket per I/O
// thread, so the kernel spreads connections over the threads.
//
// When the addresses change (a wildcard registration arrives or leaves, the listen list
// changes), the change is made without a gap: every new socket is bound and listening before
// any old one is given up; a socket whose address stays is kept; an old socket's queue of
// connections the kernel completed is accepted before it closes. Either every new socket of
// a change binds or nothing changes. Service loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "daemon/control/bind_plan.hpp"
#include "route/prefix_table.hpp"

namespace httpapi::daemon {

class IoWorker;

class Listeners {
 public:
  // The IP listen list's addresses (empty: all).
  using ListenList = std::function<std::vector<std::string>()>;
  Listeners(const std::vector<std::unique_ptr<IoWorker>>& workers, ListenList listen_list)
      : workers_(workers), listen_list_(std::move(listen_list)) {}

  // Binds `port` as its registrations in `routes` say now (closes it when it has none).
  // Returns HTTPAPI_OK, or the error for the application with `detail` saying why:
  // SHARING_VIOLATION when a program outside httpapid holds an address (named, with the
  // program when /proc tells), ACCESS_DENIED for a privileged port without the capability,
  // else INVALID_PARAMETER (an address that is not this machine's). On failure nothing
  // changed. Connections speak TLS when the port's prefixes are https.
  std::uint32_t update(std::uint16_t port, const route::PrefixTable& routes,
                       std::string& detail);
  // Every open port again, all or nothing: the IP listen list changed.
  std::uint32_t update_all(const route::PrefixTable& routes, std::string& detail);

  std::vector<std::uint16_t> ports() const;
  bool secure(std::uint16_t port) const;

  // The upgrade hand-over (docs/operations.md, "Upgrades"): every listening socket, and in
  // the new process the same sockets taken over, spread over its I/O threads. The sockets
  // stay open throughout, so their accept queues never close. The registrations handed
  // over with them then bind the ports as update() does, keeping the sockets they still need.
  struct Socket {
    std::uint16_t port = 0;
    bool secure = false;
    int fd = -1;  // owned by the I/O thread it was given to
  };
  std::vector<Socket> sockets() const;
  void adopt(const std::vector<Socket>& sockets);
  // What binds where and why, for httpcfg show servicestate. `marks` are the PROXY protocol
  // marks (host as ConfigStore writes it, port).
  nlohmann::json describe(const std::vector<std::pair<std::string, std::uint16_t>>& marks) const;

 private:
  struct Port {
    bool secure = false;
    BindPlan plan;
    std::map<std::string, std::vector<int>> sockets;  // address -> one socket per I/O thread
  };
  struct Change;  // listeners.cpp
  std::uint32_t apply(const std::vector<std::uint16_t>& ports, const route::PrefixTable& routes,
                      std::string& detail);
  std::uint32_t prepare(std::uint16_t port, const route::PrefixTable& routes, Change& change,
                        std::string& detail);
  void commit(Change& change);

  const std::vector<std::unique_ptr<IoWorker>>& workers_;
  ListenList listen_list_;
  std::map<std::uint16_t, Port> ports_;
};

}  // namespace httpapi::daemon
