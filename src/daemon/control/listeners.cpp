#include "daemon/control/listeners.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

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

}  // namespace

std::uint32_t Listeners::open(std::uint16_t port, bool secure, std::string& detail) {
  if (ports_.count(port)) return HTTPAPI_OK;
  std::vector<std::string> addresses = listen_list_();
  if (addresses.empty()) addresses.push_back("");
  std::vector<std::pair<unsigned, int>> fds;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    for (const std::string& address : addresses) {
      int error = 0;
      const int fd = make_listener(address, port, error);
      if (fd >= 0) {
        fds.emplace_back(static_cast<unsigned>(i), fd);
        continue;
      }
      for (auto& opened : fds) ::close(opened.second);
      const std::string where = address.empty() ? fmt::format("port {}", port)
                                                : fmt::format("{} port {}", address, port);
      detail = fmt::format("cannot listen on {}: {}", where, std::strerror(error));
      if (error == EADDRINUSE) {
        detail = fmt::format("{} is in use by a program outside httpapid", where);
        return HTTPAPI_ERROR_SHARING_VIOLATION;
      }
      return error == EACCES ? HTTPAPI_ERROR_ACCESS_DENIED : HTTPAPI_ERROR_INVALID_PARAMETER;
    }
  }
  for (const auto& [index, fd] : fds) {
    sockets_.push_back({port, secure, fd});
    IoWorker* worker = workers_[index].get();
    worker->loop().post(
        [worker, port, secure, fd = fd] { worker->add_listener(port, fd, secure); });
  }
  ports_.insert(port);
  if (secure) secure_.insert(port);
  diagnose("httpapid: listening on port {}{}\n", port, secure ? " (https)" : "");
  return HTTPAPI_OK;
}

void Listeners::adopt(const std::vector<Socket>& sockets) {
  std::size_t next = 0;
  for (const Socket& socket : sockets) {
    IoWorker* worker = workers_[next++ % workers_.size()].get();
    worker->loop().post([worker, socket] {
      worker->add_listener(socket.port, socket.fd, socket.secure);
    });
    sockets_.push_back(socket);
    if (ports_.insert(socket.port).second) {
      diagnose("httpapid: listening on port {}{} (handed over)\n", socket.port,
               socket.secure ? " (https)" : "");
    }
    if (socket.secure) secure_.insert(socket.port);
  }
}

void Listeners::close_unused(const route::PrefixTable& routes) {
  for (auto it = ports_.begin(); it != ports_.end();) {
    if (routes.has_port(*it)) {
      ++it;
      continue;
    }
    const std::uint16_t port = *it;
    for (auto& worker : workers_) {
      IoWorker* w = worker.get();
      w->loop().post([w, port] { w->remove_listener(port); });
    }
    std::erase_if(sockets_, [port](const Socket& s) { return s.port == port; });
    diagnose("httpapid: port {} closed (no prefix left)\n", port);
    secure_.erase(port);
    it = ports_.erase(it);
  }
}

}  // namespace httpapi::daemon
