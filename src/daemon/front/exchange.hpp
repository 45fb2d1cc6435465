// One request and its response, whatever protocol carries them: admission (cooking the URL,
// the response cache, routing, the URL group's connection limit), the request sent to its
// queue, the body handed to the application as it reads it, the application's response
// passed on to the protocol session, and the response cache fed with what may be kept.
// Each pipelined HTTP/1.1 request has one (in its Http1Stream); an HTTP/2 stream would be
// one too. Reused from one request to the next, so its buffers keep their capacity.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/front/exchange_stream.hpp"
#include "daemon/front/request_log.hpp"
#include "daemon/front/response_part.hpp"
#include "daemon/front/self_answer.hpp"
#include "daemon/front/send_attachments.hpp"
#include "daemon/logging/access_record.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/metrics/worker_metrics.hpp"
#include "http1/request_parser.hpp"
#include "http1/url_cooker.hpp"
#include "route/prefix_table.hpp"

namespace httpapi::daemon {

class Connection;

class Exchange {
 public:
  explicit Exchange(ExchangeStream& stream) : stream_(stream), started_us_(batch_us()) {}
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // The connection it serves from now on (a pooled stream moves between connections).
  void attach(Connection& connection) noexcept { connection_ = &connection; }
  // A parsed request head (its views valid for the call): answered at once from the cache
  // or by the service, or sent to its queue (then with_app()).
  void start(const http1::RequestHead& head);
  // Ends the exchange: the next request may reuse the object.
  void clear();
  // The service answers the request itself (a head the parser refused, a 404, a 503):
  // noted for the access log, then written by the protocol.
  void reject(const SelfAnswer& answer);

  std::uint64_t request_id() const noexcept { return request_id_; }
  // The service holds the request: it waits in its queue or an application has it.
  bool with_app() const noexcept { return with_app_; }
  // The application channel its response comes through (0 before the first piece).
  std::uint64_t channel() const noexcept { return channel_; }
  void relayed_by(std::uint64_t channel_id) noexcept { channel_ = channel_id; }
  RequestLog& log() noexcept { return log_; }
  const RequestLog& log() const noexcept { return log_; }

  // More body input arrived: a read the application is waiting on may be answered.
  void on_body_input();
  // From the service loop (Connection::on_*).
  void on_response(const ResponsePart& part, SendAttachments& attachments);
  void on_read_body(std::uint32_t max);
  void on_fail(const SelfAnswer& answer, const std::string& queue_name);
  void on_cancel();
  // The connection closed under the exchange.
  void on_connection_closed();
  // The request is over for its protocol (its response complete, or its stream or
  // connection ended): it is counted in the metrics and its access-log line goes to the
  // log, once (docs/access-logs.md, docs/metrics.md).
  // `cut_short`: the client did not get the whole response.
  void log_access(bool cut_short);

 private:
  void submit(const http1::RequestHead& head, const http1::CookedUrl& url,
              const route::Match& match);
  void refuse(const route::Target& target, std::string_view log_reason);
  void end_connection_if_draining();
  // A URL the service answers itself (daemon/builtin/builtin_urls.hpp).
  void answer_builtin(const http1::RequestHead& head, const http1::CookedUrl& url,
                      std::uint32_t builtin);
  void reset(std::string_view log_reason);
  void abort(std::string_view log_reason);
  void leave_service();
  bool write_chunks(std::string_view list, SendAttachments& attachments);
  void store_in_cache(const ResponsePart& head, std::string_view body);
  void note_request(const http1::RequestHead& head);
  void note_answer(int status, std::string_view reason);
  void note_first_byte() noexcept;
  void count_request() noexcept;

  Connection* connection_ = nullptr;
  ExchangeStream& stream_;
  RequestLog log_;
  std::string cooked_;  // the cooked URL (a reused buffer)
  std::uint64_t request_id_ = 0;
  std::uint64_t channel_ = 0;
  bool with_app_ = false;
  std::uint32_t pending_read_ = 0;  // the application's read waiting for body bytes
  bool goaway_ = false;  // HTTPAPI_SEND_FLAG_GOAWAY came: the connection ends after this
  // set when its answer may go into the response cache (cache_rules.hpp)
  bool cacheable_ = false;
  std::uint64_t cache_generation_ = 0;
  std::string cache_url_;
  // The access log: what is known of the request and its answer so far (its strings keep
  // their capacity from request to request), when it started, and where its line goes.
  AccessRecord access_;
  std::uint64_t started_us_;         // monotonic: the head arrived
  std::uint64_t first_byte_us_ = 0;  // monotonic: the final response head went out; 0 before
  // The metrics' counters of the queue it was routed to (null: no queue).
  metrics::QueueSlot* metrics_queue_ = nullptr;
  std::uint64_t access_group_ = 0;  // its URL group logs it; 0: the server-wide log, if on
  bool access_logged_ = false;
};

}  // namespace httpapi::daemon
