// The TCP ports httpapid listens on. A port opens when the first prefix on it registers and
// closes when the last one goes (HTTP.sys's behaviour: nothing listens that nobody serves).
// An open port has one SO_REUSEPORT socket per I/O thread and listen-list address (every
// address when the list is empty), so the kernel spreads connections over the threads.
// Service loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "route/prefix_table.hpp"

namespace httpapi::daemon {

class IoWorker;

class Listeners {
 public:
  // The addresses to listen on when a port opens: the IP listen list (empty: all).
  using ListenList = std::function<std::vector<std::string>()>;
  Listeners(const std::vector<std::unique_ptr<IoWorker>>& workers, ListenList listen_list)
      : workers_(workers), listen_list_(std::move(listen_list)) {}

  // Opens `port` unless it is open. Returns HTTPAPI_OK, or the error for the application
  // with `detail` saying why: SHARING_VIOLATION when a program outside httpapid holds the
  // port, ACCESS_DENIED for a privileged port without the capability, else
  // INVALID_PARAMETER (an address of the listen list that is not this machine's).
  // Its connections speak TLS when `secure` (an https prefix opened it).
  std::uint32_t open(std::uint16_t port, bool secure, std::string& detail);
  // Closes every open port on which `routes` has no prefix left.
  void close_unused(const route::PrefixTable& routes);
  const std::set<std::uint16_t>& ports() const noexcept { return ports_; }

  // The upgrade hand-over (docs/operations.md, "Upgrades"): every listening socket, and in
  // the new process the same sockets taken over, spread over its I/O threads. The sockets
  // stay open throughout, so their accept queues never close.
  struct Socket {
    std::uint16_t port = 0;
    bool secure = false;
    int fd = -1;  // owned by the I/O thread it was given to
  };
  std::vector<Socket> sockets() const { return sockets_; }
  void adopt(const std::vector<Socket>& sockets);
  bool secure(std::uint16_t port) const { return secure_.count(port) > 0; }

 private:
  const std::vector<std::unique_ptr<IoWorker>>& workers_;
  ListenList listen_list_;
  std::set<std::uint16_t> ports_;
  std::set<std::uint16_t> secure_;  // the ports of https prefixes
  std::vector<Socket> sockets_;     // what the I/O threads were given, for a hand-over
};

}  // namespace httpapi::daemon
