// One client connection, owned by the I/O worker that accepted it: the byte stream (its
// Transport), the input buffer, the output queue and everything about getting bytes to the
// client at the right pace (bandwidth limit, minimum send rate, pausing the application,
// lingering close), and the URL group whose limits it counts against. What the bytes mean
// is its ProtocolSession's business; the requests are the session's Exchanges.
//
// Idle keep-alive connections can be many (bench/idle.sh), so what only a busy connection
// needs is not kept by an idle one: the input and output buffers come from the I/O thread's
// BufferPool, the output queue and minimum-send-rate judgement from its SendStatePool, the
// requests' state from its Http1StreamPool, each given back as soon as it is empty; the
// local endpoint and its IP's text are shared with the other connections accepted on it
// (IoWorker::local_endpoint), and the client's IP text is made when a log line asks for it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/front/output_queue.hpp"
#include "daemon/front/protocol_session.hpp"
#include "daemon/front/request_log.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/front/self_answer.hpp"
#include "daemon/front/send_attachments.hpp"
#include "daemon/front/send_state.hpp"
#include "daemon/front/tcp_address.hpp"
#include "daemon/front/transport.hpp"
#include "daemon/loop/event_loop.hpp"
#include "daemon/front/local_endpoints.hpp"
#include "daemon/loop/socket_address.hpp"
#include "daemon/policy/group_limits.hpp"
#include "proxy/header_parser.hpp"

namespace httpapi::daemon {

class IoWorker;
class Service;
struct Settings;

// What the PROXY protocol asks of a connection (docs/proxy-protocol.md): nothing (an
// unmarked endpoint), a header before anything else (a trusted peer on a marked endpoint),
// or no header (any other peer on a marked endpoint).
enum class ProxyMode : std::uint8_t { none, required, refused };

// A connection that arrived through a PROXY header: the header (its TLV views point into
// `bytes`) and the balancer's own address, the connection's real peer.
struct ProxiedBy {
  std::string bytes;
  proxy::Header header;
  sockaddr_storage balancer{};
};

class Connection final : public EventLoop::Watcher {
 public:
  Connection(IoWorker& worker, std::unique_ptr<Transport> transport, std::uint64_t id,
             const sockaddr_storage& local, const sockaddr_storage& remote,
             ProxyMode proxy = ProxyMode::none);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t id() const noexcept { return id_; }
  std::string remote_text() const;
  std::string local_text() const;
  std::string_view state_name() const noexcept;

  // --- the I/O worker
  void on_events(std::uint32_t events) override;
  void on_tick(std::uint64_t now);  // the timers (docs/timers.md)
  void begin_shutdown();            // stop taking new requests; close when idle
  // During an upgrade: when the connection is plain TCP, not proxied, between HTTP/1.1
  // requests with nothing buffered either way, gives up its socket (unwatched, still open;
  // the caller owns it and destroys the connection) and returns it; else -1. Bytes the
  // client sent meanwhile wait in the socket for the new process.
  int hand_off();
  // From the service loop, for request `request_id` if it is still here.
  void on_response(std::uint64_t request_id, std::uint64_t channel_id, const ResponsePart& part,
                   SendAttachments attachments);
  void on_read_body(std::uint64_t request_id, std::uint32_t max);
  void on_fail(std::uint64_t request_id, const SelfAnswer& answer,
               const std::string& queue_name);
  void on_cancel(std::uint64_t request_id);

  // --- its protocol session and exchanges
  IoWorker& worker() noexcept { return worker_; }
  Service& service() noexcept;
  const Settings& settings() const noexcept;

  // The input not consumed yet; the views stay valid until the next read from the socket.
  std::string_view input() const noexcept {
    return std::string_view(in_).substr(in_start_);
  }
  void consume(std::size_t bytes) noexcept { in_start_ += bytes; }
  // No more is read until some is consumed: TCP pushes back on the client from there.
  bool input_full() const noexcept;
  bool peer_eof() const noexcept { return peer_eof_; }
  // More response bytes wait for the client than it reads: answers the service makes
  // itself (cache hits, built-in URLs, refusals) must not pile up behind them.
  bool output_backlogged() const noexcept { return output_backlogged_; }

  void send(std::string_view bytes) { output().append(bytes); }
  // The queue to append output to (taken from the I/O thread's pool when the connection has
  // none): call it for each append, never keep the reference, since a flush that empties the
  // queue gives it back.
  OutputQueue& output();
  // Whether anything waits to be written, without taking a queue.
  bool output_empty() const noexcept { return !sending_ || sending_->queue.empty(); }
  PendingOutput output_pending() const noexcept {
    return sending_ ? PendingOutput{sending_->queue.buffered(), sending_->queue.files()}
                    : PendingOutput{};
  }
  void flush();
  // Owe nothing more: finish writing, half-close, read what the client still sends, close.
  void close_gracefully() noexcept;
  void close_now();
  // 503 verbosity "basic": a reset instead of an answer.
  void reset_now();
  bool closing() const noexcept { return state_ == State::closing; }
  bool closed() const noexcept { return state_ == State::closed; }
  bool shutting_down() const noexcept { return shutting_down_; }

  // Counts against URL group `group_id`'s connection limit (false when it is reached) and
  // lives by its timers from now on.
  bool enter_group(std::uint64_t group_id);
  Timers timers() const;

  const TcpAddress& local() const noexcept { return local_->address; }
  const TcpAddress& remote() const noexcept { return remote_; }
  // Every request's routing reads it: kept once per local endpoint by the I/O worker.
  const std::string& local_ip() const noexcept { return local_->ip; }
  // Only logs read it: made when asked for (no allocation).
  IpText remote_ip() const noexcept { return IpText(remote_); }
  std::uint16_t remote_port() const noexcept { return remote_.port(); }
  const tls::SessionInfo* tls_session() const noexcept { return transport_->tls_session(); }
  // Set once a PROXY header named the client (remote() is then the client's address); null
  // otherwise, also for v1 UNKNOWN and v2 LOCAL, which keep the real peer.
  const ProxiedBy* proxied_by() const noexcept {
    return proxy_mode_ == ProxyMode::none ? proxied_.get() : nullptr;
  }
  std::uint16_t local_port() const noexcept { return local_->address.port(); }

  void log_error(const RequestLog& request, int status, std::string_view reason);
  // An idle connection gives its buffers back (they can be many and wait minutes).
  void release_idle_buffers();

 private:
  enum class State : std::uint8_t { open, closing, closed };

  void on_readable();
  bool read_proxy_header();
  bool refuse_proxy_header(std::string_view peeked);
  bool take_proxy_header(std::string_view peeked);
  bool choose_protocol();
  void leave_group();
  void update_interest();
  std::uint32_t edge_trigger() const noexcept;
  void update_throttle();
  bool wait_for_bandwidth();
  bool write_output(SendState& sending);
  void give_back_send_state();

  // Members ordered by size, so that no padding is left between them.
  IoWorker& worker_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<ProtocolSession> session_;
  std::uint64_t id_;
  std::uint64_t opened_;  // CLOCK_MONOTONIC ms: a TLS handshake must end within header_wait
  std::uint64_t linger_started_ = 0;
  const LocalEndpoint* local_;  // IoWorker::local_endpoint
  std::unique_ptr<ProxiedBy> proxied_;  // during the stage, and after it when proxied
  // While there is output to write: its queue and the client's minimum send rate.
  std::unique_ptr<SendState> sending_;
  std::string in_;
  std::size_t in_start_ = 0;  // bytes of in_ already consumed
  // Application channels this connection asked the service to pause (sorted), and why.
  std::vector<std::uint64_t> paused_;

  // The URL group that routed the latest request: its timers and limits apply, and the
  // connection counts against its connection limit until it closes.
  std::shared_ptr<GroupLimits> group_;
  std::uint64_t group_id_ = 0;
  TcpAddress remote_;
  std::uint32_t interest_ = 0;
  int bandwidth_timer_ = -1;  // timerfd: sending resumes under the group's bandwidth limit

  State state_ = State::open;
  ProxyMode proxy_mode_;          // none once the PROXY stage is over
  bool peer_eof_ = false;
  bool peer_shut_down_ = false;  // epoll reported EPOLLRDHUP: the FIN is there to be read
  bool shutting_down_ = false;
  bool lingering_ = false;
  bool protocol_chosen_ = false;  // the session matches what the client speaks
  bool bandwidth_wait_ = false;  // output waits for bandwidth, not for the socket
  bool flush_queued_ = false;    // IoWorker::flush_later will write the output
  bool output_backlogged_ = false;   // too much waits for the client to read it
  bool waiting_backlogged_ = false;  // too much waits behind earlier pipelined responses
};

}  // namespace httpapi::daemon
