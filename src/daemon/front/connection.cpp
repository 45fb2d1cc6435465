#include "daemon/front/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "daemon/front/exchange.hpp"
#include "daemon/front/http1_session.hpp"
#include "daemon/front/http2_session.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/loop/socket_address.hpp"
#include "daemon/service.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {
namespace {

// The largest PROXY header taken (version 2 with TLVs); a v1 line is at most 107 bytes.
constexpr std::size_t kMaxProxyHeader = 4096;
// Enough of the first bytes to tell a PROXY header from anything else (v2's signature).
constexpr std::size_t kProxySignature = 12;

// Unconsumed input held per connection; past this the socket is not read until the session
// (or the application reading a body) consumes some.
constexpr std::size_t kMaxBuffered = 256 * 1024;
constexpr std::uint64_t kLingerMs = 2000;
// Response bytes queued for a slow client before the application is asked to pause, and
// the level at which it may resume.
constexpr std::size_t kOutputHighWater = 1024 * 1024;
constexpr std::size_t kOutputLowWater = 256 * 1024;
// File ranges queued before the application is asked to pause: each holds a descriptor.
constexpr std::size_t kMaxQueuedFiles = 64;
// The most one write or sendfile call is asked to take.
constexpr std::size_t kMaxWrite = 4 * 1024 * 1024;

// With hysteresis: too much once past the high marks, little enough again below the low ones.
bool backlogged(bool was, PendingOutput pending) {
  return was ? pending.bytes >= kOutputLowWater || pending.files > kMaxQueuedFiles / 2
             : pending.bytes > kOutputHighWater || pending.files > kMaxQueuedFiles;
}

void release(std::string& buffer) {
  if (buffer.capacity() > std::string().capacity()) std::string().swap(buffer);
}

}  // namespace

Connection::Connection(IoWorker& worker, std::unique_ptr<Transport> transport, std::uint64_t id,
                       const sockaddr_storage& local, const sockaddr_storage& remote,
                       ProxyMode proxy)
    : worker_(worker), transport_(std::move(transport)), id_(id), opened_(monotonic_ms()),
      local_(&worker.local_endpoint(local)), remote_(remote),
      proxy_mode_(proxy) {
  session_ = std::make_unique<Http1Session>(*this, monotonic_ms());
  interest_ = EPOLLIN | EPOLLRDHUP | edge_trigger();
  worker_.loop().watch(transport_->descriptor(), interest_, *this);
}

Connection::~Connection() {
  if (sending_) worker_.send_states().give(std::move(sending_));
  if (transport_->descriptor() >= 0) worker_.loop().unwatch(transport_->descriptor());
  if (bandwidth_timer_ >= 0) {
    worker_.loop().unwatch(bandwidth_timer_);
    ::close(bandwidth_timer_);
  }
  leave_group();
}

Service& Connection::service() noexcept { return worker_.service(); }
const Settings& Connection::settings() const noexcept { return worker_.settings(); }

// Edge-triggered is safe because every path that stops short of a drained socket changes
// the interest when it resumes (EPOLL_CTL_MOD polls the socket again): on_readable reads
// until a short read (to the end of stream once epoll reported the peer's FIN, which comes
// with no edge of its own when it arrived with the data) unless the input is full, which
// drops EPOLLIN until there is room; write_output writes until the socket refuses unless the
// bandwidth limit waits, which drops EPOLLOUT until its timer.
std::uint32_t Connection::edge_trigger() const noexcept {
  return transport_->short_read_drains() ? EPOLLET : 0u;
}

bool Connection::input_full() const noexcept { return in_.size() - in_start_ >= kMaxBuffered; }

// ---- input ------------------------------------------------------------------------------

void Connection::on_events(std::uint32_t events) {
  if (closed()) return;
  if (events & EPOLLOUT) {
    flush();
    if (!closed() && transport_->read_wants_writable()) on_readable();
  }
  if (closed()) return;
  if (events & EPOLLRDHUP) peer_shut_down_ = true;
  if (events & (EPOLLIN | EPOLLRDHUP)) on_readable();
  if (closed()) return;
  // Both directions are gone (reset, or our shutdown plus theirs): nothing can be delivered.
  if (events & (EPOLLHUP | EPOLLERR)) close_now();
}

void Connection::on_readable() {
  if (proxy_mode_ != ProxyMode::none && !read_proxy_header()) return;
  if (in_start_ == in_.size()) {
    in_.clear();
    in_start_ = 0;
    if (in_.capacity() <= BufferPool::kInline) in_ = worker_.buffers().take();
  } else if (in_start_ > 64 * 1024) {
    in_.erase(0, in_start_);
    in_start_ = 0;
  }
  const std::size_t had_unconsumed = in_.size() - in_start_;
  const std::size_t had = in_.size();
  char buffer[64 * 1024];
  while (!peer_eof_ && !input_full()) {
    const ssize_t n = transport_->read(buffer, sizeof buffer);
    if (n > 0) {
      if (closing()) continue;  // lingering: discard what still arrives
      in_.append(buffer, static_cast<std::size_t>(n));
      // A short read took all the data; the end of stream behind it is read, not waited for.
      if (static_cast<std::size_t>(n) < sizeof buffer && !peer_shut_down_) break;
      continue;
    }
    if (n == 0) {
      peer_eof_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (const std::string_view failure = transport_->failure(); !failure.empty()) {
      log_error(RequestLog{}, 0, failure);
    }
    close_now();
    return;
  }
  if (closing()) {
    if (peer_eof_) close_now();
    return;
  }
  if (transport_->handshaking()) return peer_eof_ ? close_now() : update_interest();
  if (!protocol_chosen_ && !choose_protocol()) {
    return peer_eof_ ? close_now() : update_interest();
  }
  session_->on_input(batch_ms(), had_unconsumed, in_.size() - had);
  if (closed()) return;
  flush();
  // Everything read was used (the parsed heads' views are used up by now): the buffer goes
  // to the next connection that reads.
  if (!closed() && in_start_ == in_.size() && BufferPool::pooled(in_)) {
    worker_.buffers().give(std::exchange(in_, {}));
    in_start_ = 0;
  }
}

// ---- the PROXY protocol stage (docs/proxy-protocol.md) -----------------------------------

// Runs before the transport reads anything (before the TLS handshake on https ports): the
// socket's bytes are peeked, and only the header's own bytes are taken off it, so what
// follows stays for the transport. True once the stage is over; false while it waits for
// more, or when it closed the connection.
bool Connection::read_proxy_header() {
  char peeked[kMaxProxyHeader];
  const std::size_t have = proxied_ ? proxied_->bytes.size() : 0;
  const std::size_t room =
      proxy_mode_ == ProxyMode::required ? kMaxProxyHeader - have : kProxySignature;
  ssize_t n;
  do {
    n = ::recv(transport_->descriptor(), peeked, room, MSG_PEEK);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      update_interest();
      return false;
    }
    close_now();
    return false;
  }
  const std::string_view bytes(peeked, static_cast<std::size_t>(n));
  return proxy_mode_ == ProxyMode::refused ? refuse_proxy_header(bytes)
                                           : take_proxy_header(bytes);
}

// A peer the endpoint does not trust: no header may come from it, whatever source it claims.
// Its first bytes are only looked at; a mere prefix of a signature goes on to the protocol
// (on https ports the handshake fails on it anyway; docs/proxy-protocol.md).
bool Connection::refuse_proxy_header(std::string_view peeked) {
  if (proxy::looks_like_header(peeked) == proxy::Looks::yes) {
    log_error(RequestLog{}, 0, "Proxy_Untrusted");
    close_now();
    return false;
  }
  proxy_mode_ = ProxyMode::none;
  return true;
}

// The required header: its bytes so far plus those peeked, parsed again (at most 4 KiB, and
// usually one segment). An incomplete header's bytes are all header, so they are taken off
// the socket at once and never peeked twice.
bool Connection::take_proxy_header(std::string_view peeked) {
  if (!proxied_) proxied_ = std::make_unique<ProxiedBy>();
  ProxiedBy& p = *proxied_;
  if (peeked.empty()) {  // the peer's end
    log_error(RequestLog{}, 0, p.bytes.empty() ? "Proxy_Missing" : "Proxy_Truncated");
    close_now();
    return false;
  }
  const std::size_t had = p.bytes.size();
  p.bytes.append(peeked);
  const proxy::Result result = proxy::parse_header(p.bytes, proxy::Limits{kMaxProxyHeader},
                                                   p.header);
  if (result.status == proxy::Status::error) {
    const std::string reason = result.error == proxy::Error::not_proxy
                                   ? "Proxy_Missing"
                                   : fmt::format("Proxy_{}", proxy::error_name(result.error));
    log_error(RequestLog{}, 0, reason);
    close_now();
    return false;
  }
  const bool complete = result.status == proxy::Status::complete;
  std::size_t take = complete ? result.consumed - had : peeked.size();
  char discard[kMaxProxyHeader];
  while (take > 0) {  // peeked already: the bytes are there
    const ssize_t n = ::recv(transport_->descriptor(), discard, take, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_now();
      return false;
    }
    take -= static_cast<std::size_t>(n);
  }
  if (!complete) {
    update_interest();
    return false;
  }
  proxy_mode_ = ProxyMode::none;
  if (!p.header.proxied) {  // v1 UNKNOWN, v2 LOCAL: the balancer's own connection
    proxied_.reset();
    return true;
  }
  // Kept for the connection's life: only the header's bytes, the TLVs' views parsed again
  // into them (idle keep-alive connections can be many).
  p.bytes.resize(result.consumed);
  p.bytes.shrink_to_fit();
  proxy::parse_header(p.bytes, proxy::Limits{kMaxProxyHeader}, p.header);
  p.balancer = remote_;
  remote_ = p.header.source;
  return true;
}

// The protocol is known at the first input: ALPN's choice on TLS, and on a cleartext port
// the HTTP/2 client preface (prior knowledge) or else HTTP/1.1. The Http1Session made in
// the constructor has seen nothing yet (it only kept the timers of a connection that sent
// nothing), so it is replaced whole. False while the input may still become the preface.
bool Connection::choose_protocol() {
  bool h2 = false;
  if (const tls::SessionInfo* tls = tls_session()) {
    h2 = tls->alpn == "h2";
  } else if (settings().http2_cleartext) {
    bool partial = false;
    h2 = Http2Session::starts_with_preface(input(), partial);
    if (partial && !peer_eof_) return false;
  }
  protocol_chosen_ = true;
  if (h2) session_ = std::make_unique<Http2Session>(*this, monotonic_ms());
  return true;
}

// ---- from the service loop --------------------------------------------------------------

void Connection::on_response(std::uint64_t request_id, std::uint64_t channel_id,
                             const ResponsePart& part, SendAttachments attachments) {
  Exchange* exchange = session_->exchange(request_id);
  if (!exchange) return;  // stale
  exchange->relayed_by(channel_id);
  exchange->on_response(part, attachments);
  if (closed() || flush_queued_) return;
  flush_queued_ = true;
  worker_.flush_later(id_);
}

void Connection::on_read_body(std::uint64_t request_id, std::uint32_t max) {
  Exchange* exchange = session_->exchange(request_id);
  if (!exchange) {
    service().body_ready(request_id, {}, {}, ipc::kBodyGone);
    return;
  }
  exchange->on_read_body(max);
  if (!closed()) flush();
}

void Connection::on_fail(std::uint64_t request_id, const SelfAnswer& answer,
                         const std::string& queue_name) {
  Exchange* exchange = session_->exchange(request_id);
  if (!exchange) return;
  exchange->on_fail(answer, queue_name);
  if (!closed()) flush();
}

void Connection::on_cancel(std::uint64_t request_id) {
  Exchange* exchange = session_->exchange(request_id);
  if (!exchange) return;
  exchange->on_cancel();
  if (!closed()) flush();
}

// ---- timers and lifecycle ---------------------------------------------------------------

void Connection::begin_shutdown() {
  shutting_down_ = true;
  if (!closing() && !closed()) session_->begin_shutdown();
}

int Connection::hand_off() {
  if (state_ != State::open || proxy_mode_ != ProxyMode::none || proxied_ || peer_eof_ ||
      bandwidth_wait_ || !paused_.empty() || in_start_ != in_.size() || !output_empty() ||
      transport_->handshaking() || transport_->tls_session() ||
      transport_->has_buffered_input()) {
    return -1;
  }
  if (protocol_chosen_ && !session_->between_requests()) return -1;
  const int fd = transport_->release();  // -1 for TLS, which keeps its socket
  if (fd < 0) return -1;
  worker_.loop().unwatch(fd);
  state_ = State::closed;
  return fd;
}

void Connection::on_tick(std::uint64_t now) {
  const Timers t = timers();
  if (sending_ && sending_->send_rate.too_slow(t.min_send_rate, sending_->queue.next_piece(),
                                               now)) {
    log_error(session_->current_request(), 0, "Timer_MinBytesPerSecond");
    return close_now();
  }
  if ((transport_->handshaking() || proxy_mode_ != ProxyMode::none) &&
      expired(opened_, now, t.header_wait)) {
    // The PROXY header or the TLS handshake did not finish.
    log_error(RequestLog{}, 0, "Timer_HeaderWait");
    return close_now();
  }
  switch (state_) {
    case State::closing:
      if (output_empty() && now - linger_started_ >= kLingerMs) close_now();
      return;
    case State::open:
      return session_->on_tick(now, t);
    case State::closed:
      return;
  }
}

bool Connection::enter_group(std::uint64_t group_id) {
  if (group_ && group_id_ == group_id) return true;
  std::shared_ptr<GroupLimits> limits = service().group_limits(group_id);
  if (limits && !limits->try_add_connection()) return false;
  leave_group();
  group_ = std::move(limits);
  group_id_ = group_id;
  return true;
}

void Connection::leave_group() {
  if (group_) group_->remove_connection();
  group_.reset();
}

Timers Connection::timers() const {
  const Timers& server = settings().timers;
  return group_ ? group_->timers(server) : server;
}

// Buffers keep their capacity between requests, which saves an allocation per request on a
// busy keep-alive connection; an idle one gives them back (bench/idle.sh). Called with
// nothing buffered.
void Connection::release_idle_buffers() {
  release(in_);
  in_start_ = 0;
  if (sending_ && sending_->queue.empty()) give_back_send_state();
}

std::string Connection::remote_text() const { return endpoint_text(remote_); }
std::string Connection::local_text() const { return endpoint_text(local()); }

std::string_view Connection::state_name() const noexcept {
  switch (state_) {
    case State::open:
      if (proxy_mode_ != ProxyMode::none) return "proxy header";
      return transport_->handshaking() ? "tls handshake" : session_->state_name();
    case State::closing: return "closing";
    case State::closed: return "closed";
  }
  return "unknown";
}

void Connection::log_error(const RequestLog& request, int status, std::string_view reason) {
  const std::string version =
      request.method.empty()
          ? ""
          : fmt::format("HTTP/{}.{}", request.version_major, request.version_minor);
  const IpText client_ip = remote_ip();
  ErrorLogEntry entry;
  entry.client_ip = client_ip;
  entry.client_port = remote_port();
  entry.server_ip = local_ip();
  entry.server_port = local_port();
  entry.version = version;
  entry.method = request.method;
  entry.uri = request.uri;
  entry.status = status;
  entry.reason = reason;
  entry.queue = request.queue;
  service().error_log().write(entry);
  worker_.metrics().log_reason(reason);
}

// ---- output -----------------------------------------------------------------------------

OutputQueue& Connection::output() {
  if (!sending_) sending_ = worker_.send_states().take();
  return sending_->queue;
}

// The state goes back as soon as all is written, for the next connection with output: an
// idle connection then holds none (given back a second later instead, the states of a
// burst of connections would lie freed between them, and malloc would keep those pages).
// A queue that kept a buffer too large for the BufferPool keeps it, and its state, until
// the connection is idle (release_idle_buffers), so that a run of large responses does not
// allocate it again for each one.
void Connection::give_back_send_state() {
  worker_.send_states().give(std::move(sending_));
}

void Connection::flush() {
  flush_queued_ = false;
  bandwidth_wait_ = false;
  if (sending_) {
    if (!write_output(*sending_)) return;  // closed
    if (sending_->queue.empty() && !sending_->queue.holds_memory()) give_back_send_state();
  }
  update_throttle();
  if (output_empty() && closing() && !lingering_) {
    // Half-close and read what the client still sends, so our last response is not
    // destroyed by a reset when unread request bytes are in the kernel buffer.
    lingering_ = true;
    linger_started_ = monotonic_ms();
    transport_->shutdown_write();
    if (peer_eof_) return close_now();
  }
  update_interest();
}

// Writes what the group's bandwidth and the client's socket take; false when it closed the
// connection.
bool Connection::write_output(SendState& sending) {
  OutputQueue& output = sending.queue;
  BandwidthLimit* bandwidth =
      group_ && group_->bandwidth().limited() ? &group_->bandwidth() : nullptr;
  bool refused = false;  // the client's socket took less than it was given
  while (!output.empty()) {
    std::size_t length = static_cast<std::size_t>(
        std::min<std::uint64_t>(output.next_piece(), kMaxWrite));
    if (bandwidth && (length = bandwidth->take(length, monotonic_ms())) == 0) {
      if (!wait_for_bandwidth()) {
        close_now();
        return false;
      }
      break;
    }
    // A TLS record that could not be finished goes again whole, past the bandwidth share.
    length = std::max(length, transport_->must_repeat());
    const ssize_t n = output.write_some(*transport_, length);
    if (bandwidth) bandwidth->give_back(n > 0 ? length - static_cast<std::size_t>(n) : length);
    if (n > 0) {
      sending.send_rate.sent(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      refused = true;
      break;
    }
    // A file shorter than the range its application promised: the client was told a
    // length the connection can no longer keep.
    if (n < 0 && errno == ENODATA) log_error(session_->current_request(), 0, "Internal");
    close_now();
    return false;
  }
  if (refused) {
    sending.send_rate.refused(monotonic_ms());
  } else {
    sending.send_rate.took_everything();
  }
  return true;
}

// A client that reads slower than its applications answer: the applications' channels are
// paused (the service stops reading them) until the backlog shrinks. The head of the line is
// paused for the connection's own output; later pipelined responses for what waits behind it,
// but never through the head's channel, whose response must keep flowing for theirs to move.
void Connection::update_throttle() {
  const bool was_backlogged = output_backlogged_;
  output_backlogged_ = backlogged(output_backlogged_, output_pending());
  if (was_backlogged && !output_backlogged_ && !closed()) session_->output_drained();
  waiting_backlogged_ = backlogged(waiting_backlogged_, session_->waiting_output());
  if (paused_.empty() && !output_backlogged_ && !waiting_backlogged_) return;

  thread_local std::vector<std::uint64_t> want;
  want.clear();
  if (!closed()) {
    const std::uint64_t head = session_->head_channel();
    if (output_backlogged_ && head != 0) want.push_back(head);
    if (waiting_backlogged_) {
      const std::size_t first_later = want.size();
      session_->later_channels(want);
      want.erase(std::remove_if(want.begin() + static_cast<std::ptrdiff_t>(first_later),
                                want.end(),
                                [head](std::uint64_t c) { return c == 0 || c == head; }),
                 want.end());
    }
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
  }
  for (const std::uint64_t channel : paused_) {
    if (!std::binary_search(want.begin(), want.end(), channel)) {
      service().throttle(channel, false);
    }
  }
  for (const std::uint64_t channel : want) {
    if (!std::binary_search(paused_.begin(), paused_.end(), channel)) {
      service().throttle(channel, true);
    }
  }
  paused_.assign(want.begin(), want.end());
}

void Connection::update_interest() {
  std::uint32_t want = 0;
  if (!peer_eof_ && (!input_full() || closing())) want |= EPOLLIN | EPOLLRDHUP;
  if (!output_empty() && !bandwidth_wait_) want |= EPOLLOUT;
  if (transport_->read_wants_writable()) want |= EPOLLOUT;
  if ((want & EPOLLIN) && transport_->has_buffered_input()) worker_.read_later(id_);
  want |= edge_trigger();
  if (want != interest_) {
    interest_ = want;
    worker_.loop().modify(transport_->descriptor(), want);
  }
}

// Sleeps until the group's bandwidth allows more: on a timer, since the socket stays
// writable. False when no timer can be made (out of descriptors).
bool Connection::wait_for_bandwidth() {
  if (bandwidth_timer_ < 0) {
    bandwidth_timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (bandwidth_timer_ < 0) return false;
    worker_.loop().watch(bandwidth_timer_, EPOLLIN, [this](std::uint32_t) {
      std::uint64_t expirations;
      if (::read(bandwidth_timer_, &expirations, sizeof expirations) > 0 && !closed()) flush();
    });
  }
  bandwidth_wait_ = true;
  const std::uint64_t ms =
      group_->bandwidth().wait_ms(sending_ ? sending_->queue.next_piece() : 0, monotonic_ms());
  itimerspec when{};
  when.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  when.it_value.tv_nsec = static_cast<long>(ms % 1000) * 1000000;
  return timerfd_settime(bandwidth_timer_, 0, &when, nullptr) == 0;
}

void Connection::close_gracefully() noexcept {
  if (state_ == State::open) state_ = State::closing;
}

void Connection::reset_now() {
  transport_->reset_on_close();
  close_now();
}

void Connection::close_now() {
  if (closed()) return;
  state_ = State::closed;
  session_->on_close();
  update_throttle();
  worker_.loop().unwatch(transport_->descriptor());
  transport_->close();
  worker_.destroy_later(id_);
}

}  // namespace httpapi::daemon
