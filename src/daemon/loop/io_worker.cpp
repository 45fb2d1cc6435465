#include "daemon/loop/io_worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/diagnostics.hpp"
#include "daemon/front/connection.hpp"
#include "daemon/front/socket_options.hpp"
#include "daemon/front/tcp_transport.hpp"
#include "daemon/front/tls_transport.hpp"
#include "daemon/service.hpp"
#include "daemon/loop/socket_address.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// Free HTTP/1.1 streams (and buffers) a worker keeps from one second to the next: what its
// connections' pipelines needed at once, within reason.
constexpr std::size_t kSpareStreams = 256;

}  // namespace

IoWorker::IoWorker(Service& service, unsigned index) : service_(service), loop_(index) {
  loop_.every_second([this] { tick(); });
  loop_.on_batch_end([this] { flush_connections(); });
}

IoWorker::~IoWorker() {
  connections_.clear();
  for (auto& [port, listening] : listeners_) {
    for (int fd : listening.fds) ::close(fd);
  }
}

// A listener with connections waiting stays readable, and epoll is level-triggered: without
// a descriptor to accept into, the loop would spin. Connections wait in the backlog instead
// until a connection closes or the next tick.
void IoWorker::pause_accepting() {
  if (accept_paused_) return;
  accept_paused_ = true;
  for (auto& [port, listening] : listeners_) {
    for (int fd : listening.fds) loop_.unwatch(fd);
  }
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (now.tv_sec < next_exhaustion_report_) return;  // once a minute is enough to be seen
  next_exhaustion_report_ = now.tv_sec + 60;
  diagnose("httpapid: out of file descriptors with {} connections on I/O thread {}; "
                   "new connections wait until one closes (raise the limit: ulimit -n, "
                   "LimitNOFILE=)\n", connections_.size(), index());
}

void IoWorker::resume_accepting() {
  if (!accept_paused_) return;
  accept_paused_ = false;
  for (auto& [port, listening] : listeners_) {
    for (int fd : listening.fds) watch_listener(fd, listening.secure);
  }
}

void IoWorker::start_thread() {
  thread_ = std::thread([this] {
    try {
      loop_.run();
    } catch (...) {
      stop_on_internal_error("I/O");
    }
  });
}

void IoWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void IoWorker::add_listener(std::uint16_t port, int fd, bool secure) {
  if (!accepting_) {
    ::close(fd);
    return;
  }
  Listening& listening = listeners_[port];
  listening.fds.push_back(fd);
  listening.secure = secure;
  if (!accept_paused_) watch_listener(fd, secure);
}

void IoWorker::watch_listener(int fd, bool secure) {
  loop_.watch(fd, EPOLLIN, [this, fd, secure](std::uint32_t) { on_accept(fd, secure); });
}

void IoWorker::remove_listener(std::uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return;
  for (int fd : it->second.fds) {
    loop_.unwatch(fd);
    ::close(fd);
  }
  listeners_.erase(it);
}

void IoWorker::retire_listener(std::uint16_t port, int fd) {
  const auto it = listeners_.find(port);
  if (it == listeners_.end()) return;
  std::vector<int>& fds = it->second.fds;
  const auto found = std::find(fds.begin(), fds.end(), fd);
  if (found == fds.end()) return;
  // Bounded: new connections for the socket's address go to the sockets that replaced it,
  // so its queue only shrinks; the bound guards against a descriptor shortage.
  pollfd waiting{fd, POLLIN, 0};
  for (int round = 0; round < 64 && !accept_paused_ && ::poll(&waiting, 1, 0) == 1; ++round) {
    on_accept(fd, it->second.secure);
  }
  loop_.unwatch(fd);
  ::close(fd);
  fds.erase(found);
  if (fds.empty()) listeners_.erase(it);
}

void IoWorker::stop_accepting() {
  accepting_ = false;
  while (!listeners_.empty()) remove_listener(listeners_.begin()->first);
  std::vector<Connection*> all;
  for (auto& [id, connection] : connections_) all.push_back(&connection);
  for (Connection* connection : all) connection->begin_shutdown();
  if (connections_.empty()) service_.worker_drained(index());
}

void IoWorker::retire(std::uint64_t grace_ms) {
  accepting_ = false;
  retiring_ = true;
  retire_deadline_ = monotonic_ms() + grace_ms;
  while (!listeners_.empty()) remove_listener(listeners_.begin()->first);
  hand_off_idle();
  if (connections_.empty()) service_.worker_drained(index());
}

// Every batch while retiring: a connection is between requests only for a moment under load.
void IoWorker::hand_off_idle() {
  std::vector<std::uint64_t> gone;
  for (auto& [id, connection] : connections_) {
    const int fd = connection.hand_off();
    if (fd < 0) continue;
    service_.hand_off_connection(fd);
    gone.push_back(id);
  }
  for (const std::uint64_t id : gone) {
    connections_.erase(id);
    service_.connections().remove();
  }
  if (!gone.empty() && connections_.empty()) service_.worker_drained(index());
}

void IoWorker::adopt_connection(int fd) {
  sockaddr_storage local{};
  sockaddr_storage remote{};
  socklen_t length = sizeof local;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  length = sizeof remote;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &length) != 0 ||
      !service_.connections().try_add(kUnlimited)) {  // it was counted in the old process
    ::close(fd);
    return;
  }
  const std::uint64_t id = service_.next_connection_id();
  connections_.try_emplace(id, *this, std::make_unique<TcpTransport>(fd), id, local, remote,
                           ProxyMode::none);
}

std::size_t IoWorker::close_all() {
  std::vector<Connection*> all;
  for (auto& [id, connection] : connections_) {
    if (!connection.closed()) all.push_back(&connection);
  }
  for (Connection* connection : all) connection->close_now();
  return all.size();
}

void IoWorker::on_accept(int listen_fd, bool secure) {
  for (int accepted = 0; accepted < 64; ++accepted) {
    sockaddr_storage remote{};
    socklen_t length = sizeof remote;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&remote), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        pause_accepting();
      }
      return;
    }
    sockaddr_storage local{};
    length = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    const std::uint32_t limit = settings_.max_connections;
    if (!service_.connections().try_add(limit == 0 ? kUnlimited : limit)) {
      refuse(fd, local, remote, "Connections_Refused");
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::uint64_t id = service_.next_connection_id();
    std::unique_ptr<Transport> transport;
    if (secure) {
      HandshakeLimit::Slot slot;
      if (!service_.handshakes().try_take(remote, settings_.max_tls_handshakes_per_source,
                                          slot)) {
        service_.connections().remove();
        refuse(fd, local, remote, "TLS_Handshake_Limit");
        continue;
      }
      transport = std::make_unique<TlsTransport>(fd, tls_, std::move(slot));
    } else {
      transport = std::make_unique<TcpTransport>(fd);
    }
    connections_.try_emplace(id, *this, std::move(transport), id, local, remote,
                             proxy_mode(local, remote));
    metrics_.accepted();
  }
}

// On a marked endpoint a trusted peer must send a PROXY header and any other peer must not
// (docs/proxy-protocol.md). Trust is the real TCP peer's, never the header's.
ProxyMode IoWorker::proxy_mode(const sockaddr_storage& local,
                               const sockaddr_storage& remote) const noexcept {
  if (!proxy_endpoints_ || proxy_endpoints_->empty()) return ProxyMode::none;
  const proxy::ProxyEndpoint* mark = proxy_endpoints_->find(local);
  if (!mark) return ProxyMode::none;
  return mark->trusted.trusts(remote) ? ProxyMode::required : ProxyMode::refused;
}

// At the server-wide connection limit (or its source's TLS handshake limit) a new connection
// is reset at once, so the client fails fast instead of waiting in the listen backlog
// (HTTP.sys's Connections_Refused).
void IoWorker::refuse(int fd, const sockaddr_storage& local, const sockaddr_storage& remote,
                      std::string_view reason) {
  const std::string client_ip = ip_text(remote);
  const std::string server_ip = ip_text(local);
  ErrorLogEntry entry;
  entry.client_ip = client_ip;
  entry.client_port = port_of(remote);
  entry.server_ip = server_ip;
  entry.server_port = port_of(local);
  entry.reason = reason;
  service_.error_log().write(entry);
  metrics_.refused(reason);
  reset_on_close(fd);
  ::close(fd);
}

void IoWorker::destroy_later(std::uint64_t connection_id) {
  loop_.post([this, connection_id] {
    if (connections_.erase(connection_id)) service_.connections().remove();
    resume_accepting();
    if (!accepting_ && connections_.empty()) service_.worker_drained(index());
  });
}

void IoWorker::flush_later(std::uint64_t connection_id) { to_flush_.push_back(connection_id); }

void IoWorker::read_later(std::uint64_t connection_id) {
  loop_.post([this, connection_id] {
    if (Connection* c = find(connection_id); c && !c->closed()) c->on_events(EPOLLIN);
  });
}

void IoWorker::flush_connections() {
  thread_local std::vector<std::uint64_t> flushing;
  flushing.swap(to_flush_);
  for (const std::uint64_t id : flushing) {
    if (Connection* c = find(id); c && !c->closed()) c->flush();
  }
  flushing.clear();
  if (retiring_) hand_off_idle();
}

nlohmann::json IoWorker::describe_connections() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, c] : connections_) {
    nlohmann::json entry = {{"id", id},
                            {"worker", index()},
                            {"remote", c.remote_text()},
                            {"local", c.local_text()},
                            {"state", c.state_name()}};
    if (const tls::SessionInfo* session = c.tls_session()) {
      entry["tls"] = {{"protocol", session->protocol},
                      {"cipher", session->cipher},
                      {"sni", session->sni}};
    }
    list.push_back(std::move(entry));
  }
  return list;
}

Connection* IoWorker::find(std::uint64_t connection_id) {
  auto it = connections_.find(connection_id);
  return it == connections_.end() ? nullptr : &it->second;
}

void IoWorker::deliver_response(std::uint64_t connection_id, std::uint64_t request_id,
                                std::uint64_t channel_id, ResponsePart&& part,
                                SendAttachments&& attachments) {
  if (Connection* c = find(connection_id)) {
    c->on_response(request_id, channel_id, part, std::move(attachments));
  }
  hand_off_buffers_.give(std::move(part.bytes));  // for the service loop's next response
}

void IoWorker::read_body(std::uint64_t connection_id, std::uint64_t request_id,
                         std::uint32_t max) {
  if (Connection* c = find(connection_id)) {
    c->on_read_body(request_id, max);
  } else {
    service_.body_ready(request_id, {}, {}, ipc::kBodyGone);
  }
}

void IoWorker::fail_request(std::uint64_t connection_id, std::uint64_t request_id,
                            SelfAnswer answer, const std::string& queue_name) {
  if (Connection* c = find(connection_id)) c->on_fail(request_id, answer, queue_name);
}

void IoWorker::cancel_request(std::uint64_t connection_id, std::uint64_t request_id) {
  if (Connection* c = find(connection_id)) c->on_cancel(request_id);
}

void IoWorker::tick() {
  resume_accepting();
  const std::uint64_t now = monotonic_ms();
  std::vector<Connection*> all;
  all.reserve(connections_.size());
  for (auto& [id, connection] : connections_) all.push_back(&connection);
  for (Connection* connection : all) connection->on_tick(now);
  if (retiring_ && retire_deadline_ != 0 && now >= retire_deadline_) {
    retire_deadline_ = 0;  // once: what could not move closes after its next response
    all.clear();
    for (auto& [id, connection] : connections_) all.push_back(&connection);
    for (Connection* connection : all) connection->begin_shutdown();
  }
  http1_streams_.trim(kSpareStreams);
  send_states_.trim(kSpareStreams);
  buffers_.trim(kSpareStreams);
  sample_connections();
}

// The connections gauge is counted here, once a second, rather than kept up at every change
// of state: the request path pays nothing for it.
void IoWorker::sample_connections() {
  std::array<std::uint64_t, metrics::kConnectionStates> counts{};
  for (const auto& [id, connection] : connections_) {
    ++counts[static_cast<std::size_t>(metrics::connection_state_of(connection.state_name()))];
  }
  metrics_.sample_connections(counts);
}

}  // namespace httpapi::daemon
