// One client connection speaking HTTP/1.1, owned by the I/O worker that accepted it.
//
// Requests are taken one at a time: the head is parsed and routed, the request goes to its
// queue, and the next pipelined request is parsed only when this one's response is complete
// and its body consumed. Responses arrive from the service loop as decoded ResponseParts
// and are framed here (Content-Length, chunking, close-delimited, HEAD) as
// http1::plan_response decides.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/front/body_reader.hpp"
#include "daemon/policy/group_limits.hpp"
#include "daemon/policy/min_send_rate.hpp"
#include "daemon/front/output_queue.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/front/self_answer.hpp"
#include "daemon/front/send_attachments.hpp"
#include "daemon/front/tcp_address.hpp"
#include "daemon/front/transport.hpp"
#include "http1/chunked_decoder.hpp"
#include "http1/request_parser.hpp"
#include "http1/response_head.hpp"
#include "route/prefix_table.hpp"

namespace httpapi::daemon {

class IoWorker;

class HttpConnection {
 public:
  HttpConnection(IoWorker& worker, std::unique_ptr<Transport> transport, std::uint64_t id,
                 const sockaddr_storage& local, const sockaddr_storage& remote);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  std::uint64_t id() const noexcept { return id_; }
  std::string remote_text() const;
  std::string local_text() const;
  std::string_view phase_name() const noexcept;

  void on_events(std::uint32_t events);
  void on_response(std::uint64_t request_id, std::uint64_t channel_id, ResponsePart part,
                   SendAttachments attachments);
  void on_read_body(std::uint64_t request_id, std::uint32_t max);
  void on_fail(std::uint64_t request_id, const SelfAnswer& answer,
               const std::string& queue_name);
  void on_cancel(std::uint64_t request_id);
  void on_tick(std::uint64_t now_ms);  // the timers (docs/timers.md)
  void begin_shutdown();  // stop taking new requests; close when idle

 private:
  enum class Phase : std::uint8_t {
    reading_head,  // waiting for (the rest of) a request head
    with_app,      // the request is queued or with the application
    draining,      // response done; discarding the rest of the request body
    closing,       // flushing the last bytes, then close
    closed,
  };
  using ResponseFraming = http1::ResponseFraming;

  void on_readable();
  void process();
  bool parse_head();
  void start_request(const http1::RequestHead& head);
  bool enter_group(std::uint64_t group_id);
  void leave_group();
  void refuse_request(const route::Target& target, std::string_view log_reason);
  Timers timers() const;
  bool waiting_for_body() const;
  void remember_request_line(std::string_view input, const http1::RequestHead& head);
  void reject(const SelfAnswer& answer);
  void reset(std::string_view log_reason);
  std::size_t decode_body(std::size_t max, std::string* out);
  void try_fulfil_body_read();
  void finish_exchange();
  void release_idle_buffers();

  bool write_response_head(const ResponsePart& head, std::uint64_t body_size);
  void append_body(std::string_view data);
  void append_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length);
  void append_chunks(std::string_view list, SendAttachments& attachments);
  void become_opaque();
  void finish_response(std::string_view trailers = {});
  void serve_cached(const CachedResponse& entry);
  void store_in_cache(const ResponsePart& head, std::string_view body);
  void send_last_chunk(std::string_view trailers);
  void abort(std::string_view log_reason);

  void log_error(int status, std::string_view reason);
  void send(std::string_view bytes);
  void flush();
  void update_interest();
  void update_throttle();
  bool wait_for_bandwidth();
  void close_now();

  IoWorker& worker_;
  std::unique_ptr<Transport> transport_;
  std::uint64_t id_;
  TcpAddress local_;
  TcpAddress remote_;
  std::string local_ip_;
  std::string remote_ip_;
  std::uint16_t local_port_;

  Phase phase_ = Phase::reading_head;
  std::string in_;
  std::size_t in_start_ = 0;  // bytes of in_ already consumed
  OutputQueue output_;
  bool peer_eof_ = false;
  bool shutting_down_ = false;
  std::uint32_t interest_ = 0;
  // Timer clocks, monotonic milliseconds (timers.hpp).
  std::uint64_t last_activity_ = 0;
  std::uint64_t head_started_ = 0;
  bool lingering_ = false;
  std::uint64_t response_channel_ = 0;   // the application channel sending our responses
  std::uint64_t throttled_channel_ = 0;  // non-zero while we asked it to pause
  std::uint64_t linger_started_ = 0;
  bool served_any_ = false;
  http1::HeadScanner scanner_;
  std::string cooked_;  // the cooked URL of the request in progress (reused buffer)

  // The URL group that routed the latest request: its timers and limits apply, and the
  // connection counts against its connection limit until it closes.
  std::shared_ptr<GroupLimits> group_;
  std::uint64_t group_id_ = 0;
  MinSendRate send_rate_;
  int bandwidth_timer_ = -1;     // timerfd: sending resumes under the group's bandwidth limit
  bool bandwidth_wait_ = false;  // output waits for bandwidth, not for the socket

  // the request in progress
  std::uint64_t request_id_ = 0;
  std::string method_;
  std::string uri_;         // for the error log
  std::string queue_name_;  // for the error log, when the queue answered for it
  int version_minor_ = 1;
  bool head_only_ = false;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  BodyReader body_;
  std::uint32_t pending_read_ = 0;
  // set when its answer may go into the response cache (cache_rules.hpp)
  bool cacheable_request_ = false;
  std::uint64_t cache_generation_ = 0;
  std::string cache_url_;
  std::uint64_t body_clock_ = 0;     // entity-body timer: when body bytes last arrived
  std::uint64_t drain_started_ = 0;  // drain timer

  // its response
  bool response_started_ = false;
  ResponseFraming framing_ = ResponseFraming::length;
  std::uint64_t declared_length_ = 0;
  std::uint64_t body_sent_ = 0;
  bool body_allowed_ = true;
  bool close_after_ = false;
  bool opaque_ = false;  // a 101 with OPAQUE was sent: the connection is a byte stream
};

}  // namespace httpapi::daemon
