// HTTP/2 on one connection (RFC 9113), on nghttp2: the library does the framing, HPACK, the
// stream states and flow control; this session feeds it the connection's input, writes what
// it produces to the connection's output, and turns each request stream into an
// Http2Stream whose Exchange goes through the same admission, routing, queues, cache and
// limits as an HTTP/1.1 request. Streams of one connection may be with different
// applications at once; each answers on its own stream, with no head of line.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "daemon/front/http2_abuse_guard.hpp"
#include "daemon/front/http2_stream.hpp"
#include "daemon/front/protocol_session.hpp"
#include "daemon/policy/min_send_rate.hpp"

struct nghttp2_session;

namespace httpapi::daemon {

class Connection;

class Http2Session final : public ProtocolSession {
 public:
  Http2Session(Connection& connection, std::uint64_t now);
  ~Http2Session() override;
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // Does `input` start the way an HTTP/2 connection must (the client preface)? `partial`
  // says it may still: fewer bytes than the preface, all of them matching.
  static bool starts_with_preface(std::string_view input, bool& partial);

  // ProtocolSession
  void on_input(std::uint64_t now, std::size_t had_unconsumed, std::size_t new_bytes) override;
  void on_tick(std::uint64_t now, const Timers& timers) override;
  void begin_shutdown() override;
  void on_close() override;
  Exchange* exchange(std::uint64_t request_id) override;
  const RequestLog& current_request() const override;
  std::string_view state_name() const override;
  PendingOutput waiting_output() const override;
  std::uint64_t head_channel() const override;
  void later_channels(std::vector<std::uint64_t>& out) const override;

  // --- its streams
  nghttp2_session* nghttp2() noexcept { return session_; }
  Connection& connection() noexcept { return connection_; }
  // A stream has frames to send: written now, or when nghttp2 returns to the session.
  void send_pending();

  // nghttp2 took `bytes` of a stream's response body: the client's windows let them through.
  void response_taken(std::size_t bytes) { window_rate_.sent(bytes); }

  // nghttp2's callbacks (http2_session.cpp), as members.
  int on_begin_frame(std::int32_t stream_id, std::uint8_t frame_type, std::uint8_t flags,
                     std::size_t length);
  int on_begin_headers(std::int32_t stream_id);
  int on_header(std::int32_t stream_id, std::uint8_t frame_type, std::string_view name,
                std::string_view value);
  // `payload`: a DATA frame's bytes without its padding.
  int on_frame(std::int32_t stream_id, std::uint8_t frame_type, std::uint8_t flags,
               bool request_headers, std::size_t payload);
  int on_invalid_frame(std::int32_t stream_id, int lib_error);
  int on_data(std::int32_t stream_id, std::string_view data);
  int on_frame_sent(std::int32_t stream_id, std::uint8_t frame_type, std::uint8_t flags,
                    std::uint32_t error_code);
  int on_stream_close(std::int32_t stream_id, std::uint32_t error_code);

 private:
  Http2Stream* find(std::int32_t stream_id);
  void finish_if_done();
  // One more abusive event; past its budget the connection ends. False once it is ending.
  bool note(Http2Abuse kind);
  bool new_stream_id(std::int32_t stream_id);
  void closed_while_sending(std::int32_t stream_id);
  // nghttp2 reset `stream` because the client broke the protocol on it: logged and counted.
  void stream_refused(Http2Stream& stream, std::uint32_t error_code);
  // Ends the connection for abuse: logged with `reason`, GOAWAY ENHANCE_YOUR_CALM.
  void calm_down(std::string_view reason);
  // The timers only HTTP/2 has: a header block left unfinished, responses stalled behind
  // the client's closed windows. True when they ended the connection.
  bool stream_timers(std::uint64_t now, const Timers& timers);

  Connection& connection_;
  nghttp2_session* session_ = nullptr;
  // The open streams by id; closed ones wait in `closed_` until no call is running on them.
  std::map<std::int32_t, std::unique_ptr<Http2Stream>> streams_;
  std::vector<std::unique_ptr<Http2Stream>> closed_;
  int in_nghttp2_ = 0;     // inside mem_recv or mem_send: their callbacks must not re-enter
  bool send_wanted_ = false;
  bool failed_ = false;    // nghttp2 refused the input: the connection ends after GOAWAY
  std::uint64_t last_activity_;
  std::uint64_t now_;      // of the input nghttp2 is reading, for the abuse guard
  Http2AbuseGuard abuse_;
  bool calmed_ = false;    // ended for abuse: nothing more reaches an application
  bool logged_ = false;    // this input's connection error is in the error log already
  // A HEADERS frame whose block has not ended (no END_HEADERS yet), since when.
  bool header_block_open_ = false;
  std::uint64_t header_block_since_ = 0;
  // The highest stream id the client opened, and the last streams closed while the client
  // was still sending on them.
  std::int32_t last_client_stream_ = 0;
  std::array<std::int32_t, 64> closed_sending_{};
  std::size_t closed_sending_next_ = 0;
  // The last streams that closed, whatever their state: a HEADERS on one of them is
  // STREAM_CLOSED (RFC 9113 §5.1), on an id never opened PROTOCOL_ERROR (§5.1.1).
  std::array<std::int32_t, 64> closed_recently_{};
  std::size_t closed_recently_next_ = 0;
  // Responses waiting for the client's windows pay the same minimum rate as a socket.
  MinSendRate window_rate_;
};

}  // namespace httpapi::daemon
