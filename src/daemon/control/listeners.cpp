#include "daemon/control/listeners.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/control/port_holder.hpp"
#include "daemon/diagnostics.hpp"
#include "daemon/loop/io_worker.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

// Binds `address` ("" = every address, dual-stack when IPv6 exists) on `port`.
int make_listener(const std::string& address, std::uint16_t port, int& error) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET6;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (address.empty() || address == "::") {
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_any;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else {
    error = EINVAL;
    return -1;
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && address.empty()) {  // no IPv6 on this machine: IPv4 wildcard
    family = AF_INET;
    storage = {};
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    v4->sin_port = htons(port);
    length = sizeof *v4;
    fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) {
    error = errno;
    return -1;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (family == AF_INET6) {
    // The wildcard serves IPv4 too; an explicit IPv6 address only itself.
    const int v6only = address.empty() ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      ::listen(fd, 4096) != 0) {
    error = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

// What the application and the log are told when `address` of `port` cannot be bound.
std::uint32_t bind_failure(const std::string& address, std::uint16_t port, int error,
                           const BindPlan& plan, std::string& detail) {
  const std::string where = address.empty() ? fmt::format("every address of port {}", port)
                                            : bind_address_text(address, port);
  if (error == EADDRINUSE) {
    const std::string holder = describe_port_holder(address, port);
    detail = fmt::format("{} is in use by a program outside httpapid{}{}", where,
                         holder.empty() ? "" : ": ", holder);
    detail += plan.exact ? std::string("; stop it, or register another address or port")
                         : fmt::format("; stop it, or register URLs naming IP addresses (e.g. "
                                       "http://127.0.0.2:{}/) to share the port with it",
                                       port);
    return HTTPAPI_ERROR_SHARING_VIOLATION;
  }
  detail = fmt::format("cannot listen on {}: {}", where, std::strerror(error));
  if (error == EADDRNOTAVAIL) detail += " (not an address of this machine)";
  return error == EACCES ? HTTPAPI_ERROR_ACCESS_DENIED : HTTPAPI_ERROR_INVALID_PARAMETER;
}

// What make_listener was given for the socket `fd` is bound to: "" for the dual-stack
// wildcard, "::" for the IPv6-only one, else the address's text.
std::string bound_address(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) {
      int v6only = 0;
      socklen_t size = sizeof v6only;
      getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &size);
      return v6only ? "::" : "";
    }
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof text);
  }
  return text;
}

std::vector<route::UrlPrefix> registrations_on(std::uint16_t port,
                                               const route::PrefixTable& routes) {
  std::vector<route::UrlPrefix> out;
  for (const route::PrefixTable::Entry& entry : routes.entries()) {
    if (entry.prefix.port == port) out.push_back(entry.prefix);
  }
  return out;
}

}  // namespace

// The sockets a change opens, by port, before any of them is handed to an I/O thread.
struct Listeners::Change {
  struct PortChange {
    std::uint16_t port = 0;
    bool close = false;  // no registration left on it
    bool secure = false;
    BindPlan plan;
    std::map<std::string, std::vector<int>> opened;
  };
  std::vector<PortChange> ports;

  ~Change() {  // what commit() did not take: the change failed
    for (PortChange& port : ports) {
      for (auto& [address, fds] : port.opened) {
        for (const int fd : fds) ::close(fd);
      }
    }
  }
};

std::uint32_t Listeners::update(std::uint16_t port, const route::PrefixTable& routes,
                                std::string& detail) {
  return apply({port}, routes, detail);
}

std::uint32_t Listeners::update_all(const route::PrefixTable& routes, std::string& detail) {
  return apply(ports(), routes, detail);
}

std::uint32_t Listeners::apply(const std::vector<std::uint16_t>& ports,
                               const route::PrefixTable& routes, std::string& detail) {
  Change change;
  for (const std::uint16_t port : ports) {
    if (const std::uint32_t status = prepare(port, routes, change, detail);
        status != HTTPAPI_OK) {
      diagnose(LogLevel::warning, "httpapid: {}\n", detail);
      return status;
    }
  }
  commit(change);
  return HTTPAPI_OK;
}

std::uint32_t Listeners::prepare(std::uint16_t port, const route::PrefixTable& routes,
                                 Change& change, std::string& detail) {
  const std::vector<route::UrlPrefix> registrations = registrations_on(port, routes);
  const auto current = ports_.find(port);
  if (registrations.empty()) {
    if (current != ports_.end()) change.ports.push_back({port, true, false, {}, {}});
    return HTTPAPI_OK;
  }
  Change::PortChange& next = change.ports.emplace_back();
  next.port = port;
  next.secure = registrations.front().secure;
  next.plan = plan_binding(registrations, listen_list_());
  for (const BindAddress& bind : next.plan.addresses) {
    if (current != ports_.end() && current->second.sockets.count(bind.address)) continue;
    std::vector<int>& fds = next.opened[bind.address];
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      int error = 0;
      const int fd = make_listener(bind.address, port, error);
      if (fd < 0) return bind_failure(bind.address, port, error, next.plan, detail);
      fds.push_back(fd);
    }
  }
  return HTTPAPI_OK;
}

void Listeners::commit(Change& change) {
  for (Change::PortChange& next : change.ports) {
    const std::uint16_t port = next.port;
    if (next.close) {
      for (auto& worker : workers_) {
        IoWorker* w = worker.get();
        w->loop().post([w, port] { w->remove_listener(port); });
      }
      diagnose("httpapid: port {} closed (no prefix left)\n", port);
      ports_.erase(port);
      continue;
    }
    Port& bound = ports_[port];
    const bool opening = bound.sockets.empty();
    bound.secure = next.secure;
    // Every new socket listens already (the kernel queues its connections): handing them
    // to the threads before the old ones go leaves no moment without a listener.
    for (auto& [address, fds] : next.opened) {
      for (std::size_t i = 0; i < fds.size(); ++i) {
        IoWorker* w = workers_[i].get();
        w->loop().post([w, port, fd = fds[i], secure = next.secure] {
          w->add_listener(port, fd, secure);
        });
      }
      if (!opening) diagnose("httpapid: port {} listens on {} too\n", port,
                             bind_address_text(address, port));
      bound.sockets[address] = std::move(fds);
    }
    next.opened.clear();
    for (auto it = bound.sockets.begin(); it != bound.sockets.end();) {
      const std::string& address = it->first;
      const bool wanted = std::any_of(next.plan.addresses.begin(), next.plan.addresses.end(),
                                      [&](const BindAddress& b) { return b.address == address; });
      if (wanted) {
        ++it;
        continue;
      }
      for (std::size_t i = 0; i < it->second.size(); ++i) {
        IoWorker* w = workers_[i % workers_.size()].get();
        w->loop().post([w, port, fd = it->second[i]] { w->retire_listener(port, fd); });
      }
      diagnose("httpapid: port {} no longer listens on {}\n", port,
               bind_address_text(address, port));
      it = bound.sockets.erase(it);
    }
    bound.plan = std::move(next.plan);
    if (opening) {
      diagnose("httpapid: listening on port {}{}: {}\n", port, next.secure ? " (https)" : "",
               bound.plan.why);
    }
  }
}

std::vector<std::uint16_t> Listeners::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& [port, bound] : ports_) out.push_back(port);
  return out;
}

std::vector<Listeners::Socket> Listeners::sockets() const {
  std::vector<Socket> out;
  for (const auto& [port, bound] : ports_) {
    for (const auto& [address, fds] : bound.sockets) {
      for (const int fd : fds) out.push_back({port, bound.secure, fd});
    }
  }
  return out;
}

// The address each socket is bound to comes from the socket itself, so the hand-over needs
// no more than port and scheme.
void Listeners::adopt(const std::vector<Socket>& sockets) {
  for (const Socket& socket : sockets) {
    Port& bound = ports_[socket.port];
    const bool opening = bound.sockets.empty();
    bound.secure = socket.secure;
    std::vector<int>& fds = bound.sockets[bound_address(socket.fd)];
    IoWorker* worker = workers_[fds.size() % workers_.size()].get();
    worker->loop().post([worker, socket] {
      worker->add_listener(socket.port, socket.fd, socket.secure);
    });
    fds.push_back(socket.fd);
    if (opening) {
      diagnose("httpapid: listening on port {}{} (handed over)\n", socket.port,
               socket.secure ? " (https)" : "");
    }
  }
}

bool Listeners::secure(std::uint16_t port) const {
  const auto it = ports_.find(port);
  return it != ports_.end() && it->second.secure;
}

// A mark on "[::]:PORT" covers every address of the port (docs/proxy-protocol.md); one on an
// address a wildcard socket reaches covers part of that socket's connections.
nlohmann::json Listeners::describe(
    const std::vector<std::pair<std::string, std::uint16_t>>& marks) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [port, bound] : ports_) {
    nlohmann::json bindings = nlohmann::json::array();
    for (const BindAddress& bind : bound.plan.addresses) {
      bool marked = false;
      nlohmann::json partly = nlohmann::json::array();
      for (const auto& [host, mark_port] : marks) {
        if (mark_port != port) continue;
        const std::string covers = host == "::" ? std::string() : host;
        if (reaches(covers, bind.address)) {
          marked = true;
        } else if (reaches(bind.address, covers)) {
          partly.push_back(bind_address_text(host, port));
        }
      }
      nlohmann::json b = {{"address", bind.address.empty() ? "*" : bind.address},
                          {"ipport", bind_address_text(bind.address, port)},
                          {"proxy_protocol", marked},
                          {"registrations", bind.registrations},
                          {"why", bind.why}};
      if (!marked && !partly.empty()) b["proxy_protocol_on"] = partly;
      bindings.push_back(std::move(b));
    }
    out.push_back({{"port", port},
                   {"scheme", bound.secure ? "https" : "http"},
                   {"exact", bound.plan.exact},
                   {"why", bound.plan.why},
                   {"bindings", bindings},
                   {"unbound", bound.plan.unbound}});
  }
  return out;
}

}  // namespace httpapi::daemon
