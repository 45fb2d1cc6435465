#include "daemon/front/http1_session.hpp"

#include <array>

#include "daemon/front/connection.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/loop/monotonic_clock.hpp"
#include "daemon/policy/settings.hpp"

namespace httpapi::daemon {
namespace {

constexpr std::size_t kMaxFields = 256;
// An idle keep-alive connection gives its buffers back after this long.
constexpr std::uint64_t kReleaseIdleMs = 1000;

const RequestLog kNoRequest;

}  // namespace

Http1Session::Http1Session(Connection& connection, std::uint64_t now)
    : connection_(connection), last_activity_(now), head_started_(now) {}

// The exchanges were told at on_close; their streams serve other connections now.
Http1Session::~Http1Session() {
  for (auto& stream : line_) pool().give(std::move(stream));
}

Http1StreamPool& Http1Session::pool() { return connection_.worker().http1_streams(); }

// ---- requests ---------------------------------------------------------------------------

void Http1Session::on_input(std::uint64_t now, std::size_t had_unconsumed,
                            std::size_t new_bytes) {
  last_activity_ = now;
  if (had_unconsumed == 0 && may_parse_next()) head_started_ = now;
  // HTTP.sys re-arms the entity-body timer on every arrival of body data.
  if (new_bytes > 0 && !line_.empty() && !line_.back()->body_done()) {
    line_.back()->body_arrived(now);
  }
  process();
}

// Runs the line as far as the input allows. Streams report back while it runs (a cache hit
// or a refusal completes at once); they are picked up by the loop, not by a nested run.
void Http1Session::process() {
  if (processing_) return;
  processing_ = true;
  while (!connection_.closing() && !connection_.closed() && advance()) {
  }
  processing_ = false;
  if (connection_.closing() || connection_.closed() || !line_.empty()) return;
  // Nothing in flight, and nothing more will come (the client half-closed, leaving at most
  // a head that can never complete) or be taken (shutdown): finish writing, then close.
  if (connection_.peer_eof() || (connection_.shutting_down() && connection_.input().empty())) {
    connection_.close_gracefully();
  }
}

// One step; false when nothing more can be done until more input or a response arrives.
bool Http1Session::advance() {
  retire_finished();
  if (connection_.closing() || connection_.closed()) return false;
  if (!line_.empty() && !line_.back()->body_done()) {
    Http1Stream& last = *line_.back();
    if (!last.response_complete()) {
      last.exchange().on_body_input();
    } else if (last.closes_connection()) {
      return false;  // the rest of the body does not matter: nothing follows it
    } else if (!last.drain_body()) {  // its application did not read it all: dropped
      connection_.close_now();
      return false;
    }
    if (!last.body_done()) return false;
    head_started_ = monotonic_ms();  // the next head starts after the body
    return true;
  }
  if (!may_parse_next() || connection_.input().empty()) return false;
  return parse_head();
}

// A client that sends requests and does not read the answers waits (TCP backpressure) once
// its backlog is past the high mark: answers made at once, such as cache hits, would
// otherwise grow it without bound.
bool Http1Session::may_parse_next() const {
  if (connection_.output_backlogged()) return false;
  if (line_.empty()) return true;
  if (connection_.shutting_down()) return false;
  if (line_.size() >= connection_.settings().max_pipelined_requests) return false;
  return line_.back()->lets_next_request_in();
}

bool Http1Session::parse_head() {
  const std::string_view input = connection_.input();
  // One field array per thread: the views are used up before the next parse, and a fresh
  // array per call would cost more than parsing a small request.
  thread_local std::array<http1::Field, kMaxFields> fields;
  http1::RequestHead head;
  const auto result =
      http1::parse_request_head(input, connection_.settings().limits, fields, head, scanner_);
  switch (result.status) {
    case http1::Status::incomplete:
      return false;
    case http1::Status::error: {
      const bool at_head = line_.empty();
      new_stream().refuse_head(input, head, answer_for(result.error), at_head);
      return true;
    }
    case http1::Status::complete: {
      scanner_ = {};
      served_any_ = true;
      const bool at_head = line_.empty();
      connection_.consume(head.head_length);  // the views in `head` stay valid: nothing is read
      const std::uint64_t now = batch_ms();
      head_started_ = now;
      new_stream().start(head, at_head, now);
      return true;
    }
  }
  return false;
}

Http1Stream& Http1Session::new_stream() {
  line_.push_back(pool().take());
  line_.back()->attach(*this, connection_);
  return *line_.back();
}

void Http1Session::stream_completed() { process(); }

// Streams at the head of the line whose work is done leave it; the next one's response
// then goes to the connection.
void Http1Session::retire_finished() {
  while (!line_.empty() && line_.front()->finished()) {
    std::unique_ptr<Http1Stream> done = std::move(line_.front());
    line_.erase(line_.begin());
    const bool closes = done->closes_connection();
    pool().give(std::move(done));
    if (closes) return end_line();
    if (line_.empty()) {
      head_started_ = last_activity_ = batch_ms();  // the idle timer starts now
    } else {
      line_.front()->become_head();
    }
  }
}

// The connection ends after the response just completed: requests behind it are dropped
// (their applications are told they are gone).
void Http1Session::end_line() {
  for (auto& stream : line_) {
    stream->exchange().on_connection_closed();
    pool().give(std::move(stream));
  }
  line_.clear();
  connection_.close_gracefully();
}

// ---- the connection's life --------------------------------------------------------------

void Http1Session::begin_shutdown() {
  if (line_.empty() && connection_.input().empty()) {
    connection_.close_gracefully();
    connection_.flush();
  }
}

void Http1Session::on_close() {
  for (const auto& stream : line_) stream->exchange().on_connection_closed();
}

Exchange* Http1Session::exchange(std::uint64_t request_id) {
  for (const auto& stream : line_) {
    Exchange& exchange = stream->exchange();
    if (exchange.with_app() && exchange.request_id() == request_id) return &exchange;
  }
  return nullptr;
}

const RequestLog& Http1Session::current_request() const {
  return line_.empty() ? kNoRequest : line_.front()->exchange().log();
}

PendingOutput Http1Session::waiting_output() const {
  PendingOutput total;
  for (const auto& stream : line_) {
    const PendingOutput waiting = stream->waiting_output();
    total.bytes += waiting.bytes;
    total.files += waiting.files;
  }
  return total;
}

std::uint64_t Http1Session::head_channel() const {
  return line_.empty() ? 0 : line_.front()->exchange().channel();
}

void Http1Session::later_channels(std::vector<std::uint64_t>& out) const {
  for (std::size_t i = 1; i < line_.size(); ++i) {
    const Http1Stream& stream = *line_[i];
    if (const PendingOutput waiting = stream.waiting_output(); waiting.bytes || waiting.files) {
      out.push_back(stream.exchange().channel());
    }
  }
}

void Http1Session::on_tick(std::uint64_t now, const Timers& t) {
  if (line_.empty()) {
    if (!connection_.input().empty()) {
      if (expired(head_started_, now, t.header_wait)) {
        connection_.log_error(kNoRequest, 0, "Timer_HeaderWait");
        connection_.close_now();
      }
    } else if (!connection_.output_empty()) {
      last_activity_ = now;  // still sending the last response: not idle yet
    } else if (expired(last_activity_, now, t.idle_connection)) {
      if (served_any_) connection_.log_error(kNoRequest, 0, "Timer_ConnectionIdle");
      connection_.close_now();
    } else if (now - last_activity_ >= kReleaseIdleMs) {
      release_idle_buffers();
    }
    return;
  }
  Http1Stream& last = *line_.back();
  if (!last.body_done() && !(last.response_complete() && last.closes_connection())) {
    if (last.response_complete()) {
      // Not re-armed by arriving bytes: the whole drain must fit. HTTP.sys has no log
      // reason of its own for it; the body did not arrive in time, so Timer_EntityBody.
      if (expired(last.drain_started(), now, t.drain_entity_body)) {
        connection_.log_error(last.exchange().log(), 0, "Timer_EntityBody");
        connection_.close_now();
      }
    } else if (!last.waiting_for_body()) {
      last.body_arrived(now);  // the wait is not the client's: the timer starts over
    } else if (expired(last.body_clock(), now, t.entity_body)) {
      connection_.log_error(last.exchange().log(), 0, "Timer_EntityBody");
      connection_.close_now();
    }
    return;
  }
  // The next pipelined head, behind requests still in flight.
  if (may_parse_next() && !connection_.input().empty() &&
      expired(head_started_, now, t.header_wait)) {
    connection_.log_error(kNoRequest, 0, "Timer_HeaderWait");
    connection_.close_now();
  }
}

// Called with nothing in flight: the line's streams are back in the pool already.
void Http1Session::release_idle_buffers() {
  connection_.release_idle_buffers();
  std::vector<std::unique_ptr<Http1Stream>>().swap(line_);
}

std::string_view Http1Session::state_name() const {
  if (line_.empty()) return connection_.input().empty() ? "idle" : "reading request";
  const Http1Stream& first = *line_.front();
  if (first.response_complete()) return "draining body";
  return first.response_started() ? "sending response" : "with application";
}

}  // namespace httpapi::daemon
