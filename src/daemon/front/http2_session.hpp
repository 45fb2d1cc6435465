// HTTP/2 on one connection (RFC 9113), on nghttp2: the library does the framing, HPACK, the
// stream states and flow control; this session feeds it the connection's input, writes what
// it produces to the connection's output, and turns each request stream into an
// Http2Stream whose Exchange goes through the same admission, routing, queues, cache and
// limits as an HTTP/1.1 request. Streams of one connection may be with different
// applications at once; each answers on its own stream, with no head of line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "daemon/front/http2_stream.hpp"
#include "daemon/front/protocol_session.hpp"

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

  // nghttp2's callbacks (http2_session.cpp), as members.
  int on_begin_headers(std::int32_t stream_id);
  int on_header(std::int32_t stream_id, std::uint8_t frame_type, std::string_view name,
                std::string_view value);
  int on_frame(std::int32_t stream_id, std::uint8_t frame_type, std::uint8_t flags,
               bool request_headers);
  int on_data(std::int32_t stream_id, std::string_view data);
  int on_frame_sent(std::int32_t stream_id, std::uint8_t flags);
  int on_stream_close(std::int32_t stream_id, std::uint32_t error_code);

 private:
  Http2Stream* find(std::int32_t stream_id);
  void finish_if_done();

  Connection& connection_;
  nghttp2_session* session_ = nullptr;
  // The open streams by id; closed ones wait in `closed_` until no call is running on them.
  std::map<std::int32_t, std::unique_ptr<Http2Stream>> streams_;
  std::vector<std::unique_ptr<Http2Stream>> closed_;
  int in_nghttp2_ = 0;     // inside mem_recv or mem_send: their callbacks must not re-enter
  bool send_wanted_ = false;
  bool failed_ = false;    // nghttp2 refused the input: the connection ends after GOAWAY
  std::uint64_t last_activity_;
};

}  // namespace httpapi::daemon
