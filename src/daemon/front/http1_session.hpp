// HTTP/1.1 on one connection: request heads parsed from the connection's input, each request
// an Http1Stream with its Exchange. Pipelined requests are admitted and sent to their queues
// at once, up to the max_pipelined_requests setting, possibly to different applications;
// their responses go out strictly in request order (RFC 9112 §9.3.2), a later one waiting in
// its stream's queue. A request with a body holds back the next head until the body is read
// (the framing says where the next head starts), and one that may switch protocols (Upgrade,
// CONNECT) or ends the connection holds back everything after it.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "daemon/front/http1_stream.hpp"
#include "daemon/front/http1_stream_pool.hpp"
#include "daemon/front/protocol_session.hpp"

namespace httpapi::daemon {

class Connection;

class Http1Session final : public ProtocolSession {
 public:
  Http1Session(Connection& connection, std::uint64_t now);
  ~Http1Session() override;

  // ProtocolSession
  void on_input(std::uint64_t now, std::size_t had_unconsumed, std::size_t new_bytes) override;
  void on_tick(std::uint64_t now, const Timers& timers) override;
  void begin_shutdown() override;
  void on_close() override;
  Exchange* exchange(std::uint64_t request_id) override;
  const RequestLog& current_request() const override;
  std::string_view state_name() const override;
  bool between_requests() const override { return line_.empty(); }
  void output_drained() override { process(); }
  PendingOutput waiting_output() const override;
  std::uint64_t head_channel() const override;
  void later_channels(std::vector<std::uint64_t>& out) const override;

  // --- its streams
  // A stream's response is complete (or it ended): the line moves on.
  void stream_completed();
  bool is_last(const Http1Stream& stream) const noexcept {
    return !line_.empty() && line_.back().get() == &stream;
  }

 private:
  void process();
  bool advance();
  bool may_parse_next() const;
  bool parse_head();
  Http1Stream& new_stream();
  void retire_finished();
  void end_line();
  Http1StreamPool& pool();
  void release_idle_buffers();

  Connection& connection_;
  // The requests in flight, in request order; the first one writes to the connection. Their
  // streams come from, and go back to, the I/O thread's Http1StreamPool.
  std::vector<std::unique_ptr<Http1Stream>> line_;
  http1::HeadScanner scanner_;  // the next head, resumed as its bytes arrive
  bool processing_ = false;
  bool served_any_ = false;
  // Timer clocks, monotonic milliseconds (timers.hpp).
  std::uint64_t last_activity_;
  std::uint64_t head_started_;
};

}  // namespace httpapi::daemon
