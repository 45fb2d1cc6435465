// The protocol a connection speaks: turns the bytes its Connection buffered into exchanges,
// and their responses back into bytes on the connection's output. Http1Session is the one
// protocol today; an HTTP/2 session is the second, carrying many exchanges at once. The
// Connection below it knows nothing of HTTP; the Exchange above it nothing of framing.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "daemon/front/request_log.hpp"
#include "daemon/policy/timers.hpp"

namespace httpapi::daemon {

class Exchange;

// Response bytes in memory, and file ranges, not written yet.
struct PendingOutput {
  std::size_t bytes = 0;
  std::size_t files = 0;
};

class ProtocolSession {
 public:
  virtual ~ProtocolSession() = default;

  // The connection's input grew (by `new_bytes`, after holding `had_unconsumed` bytes), or
  // the peer closed its side (Connection::peer_eof()).
  virtual void on_input(std::uint64_t now, std::size_t had_unconsumed,
                        std::size_t new_bytes) = 0;
  // Once a second: the timers that belong to the protocol (header wait, idle, entity body,
  // drain). The connection keeps the minimum send rate and lingering close itself.
  virtual void on_tick(std::uint64_t now, const Timers& timers) = 0;
  // The service stops: take no new exchange, close once the ones in flight are done.
  virtual void begin_shutdown() = 0;
  // The connection closed: exchanges still with an application are gone.
  virtual void on_close() = 0;
  // The exchange the service means by `request_id`, while it is with its application.
  virtual Exchange* exchange(std::uint64_t request_id) = 0;
  // The request the connection's own error-log lines are about (a slow reader, a short file).
  virtual const RequestLog& current_request() const = 0;
  // Response bytes held back behind earlier responses (HTTP/1.1 pipelining), and the
  // application channels involved: the one answering the first response in line, which
  // must keep flowing, and those answering later ones, which may be paused while too much
  // waits (Connection::update_throttle).
  virtual PendingOutput waiting_output() const = 0;
  virtual std::uint64_t head_channel() const = 0;
  virtual void later_channels(std::vector<std::uint64_t>& out) const = 0;
  // For httpcfg show servicestate.
  virtual std::string_view state_name() const = 0;
  // Nothing in flight and no state a fresh connection would lack: during an upgrade the
  // socket may go to the new httpapid as it is (HTTP/1.1 between requests; never HTTP/2).
  virtual bool between_requests() const { return false; }
  // The client read its backlog (Connection::output_backlogged() went false).
  virtual void output_drained() {}
};

}  // namespace httpapi::daemon
