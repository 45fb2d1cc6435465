#include "daemon/drain/drain.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/diagnostics.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {

std::string_view phase_name(Drain::Phase phase) noexcept {
  switch (phase) {
    case Drain::Phase::serving: return "serving";
    case Drain::Phase::grace: return "grace";
    case Drain::Phase::closing: return "closing";
    case Drain::Phase::drained: return "drained";
  }
  return "serving";
}

std::uint32_t Drain::begin(std::uint32_t grace, std::uint32_t timeout, std::uint64_t now_ms,
                           std::string& detail) {
  if (phase_ != Phase::serving) {
    detail = phase_ == Phase::grace
                 ? fmt::format("a drain is already running ({} s of grace left); 'httpcfg "
                               "resume' cancels it",
                               seconds_left(now_ms))
                 : fmt::format("the service is {} already; restart it to serve again",
                               phase_ == Phase::closing ? "closing its connections" : "drained");
    return HTTPAPI_ERROR_INVALID_STATE;
  }
  if (grace > kMaxSeconds || timeout > kMaxSeconds || timeout == 0) {
    detail = fmt::format("--grace takes 0 to {0} seconds and --timeout 1 to {0} (got {1} and "
                         "{2}); e.g. httpcfg drain --grace 10 --timeout 30",
                         kMaxSeconds, grace, timeout);
    return HTTPAPI_ERROR_INVALID_PARAMETER;
  }
  grace_ = grace;
  timeout_ = timeout;
  timed_out_ = false;
  closed_at_timeout_ = 0;
  phase_ = Phase::grace;
  phase_started_ms_ = now_ms;
  draining_.store(true, std::memory_order_relaxed);
  diagnose(LogLevel::notice,
           "httpapid: draining: the health URL answers 503; serving {} s more, then closing "
           "connections (at most {} s)\n",
           grace, timeout);
  if (grace == 0) start_closing(now_ms);
  return HTTPAPI_OK;
}

std::uint32_t Drain::resume(std::string& detail) {
  switch (phase_) {
    case Phase::serving:
      detail = "the service is not draining; nothing to resume";
      return HTTPAPI_ERROR_INVALID_STATE;
    case Phase::closing:
    case Phase::drained:
      detail = fmt::format("the drain's grace period is over and the service no longer listens "
                           "({}); restart it to serve again",
                           phase_name(phase_));
      return HTTPAPI_ERROR_INVALID_STATE;
    case Phase::grace: break;
  }
  phase_ = Phase::serving;
  draining_.store(false, std::memory_order_relaxed);
  diagnose(LogLevel::notice, "httpapid: drain cancelled: serving again\n");
  return HTTPAPI_OK;
}

void Drain::tick(std::uint64_t now_ms) {
  const std::uint64_t elapsed = now_ms - phase_started_ms_;
  if (phase_ == Phase::grace && elapsed >= std::uint64_t{grace_} * 1000) start_closing(now_ms);
  if (phase_ == Phase::closing && !timed_out_ && elapsed >= std::uint64_t{timeout_} * 1000) {
    timed_out_ = true;
    diagnose(LogLevel::warning,
             "httpapid: draining: {} connection(s) still open after {} s; closing them\n",
             actions_.open_connections(), timeout_);
    actions_.close_connections();
  }
}

void Drain::start_closing(std::uint64_t now_ms) {
  phase_ = Phase::closing;
  phase_started_ms_ = now_ms;
  diagnose(LogLevel::notice,
           "httpapid: draining: no longer listening; {} connection(s) finish their exchanges\n",
           actions_.open_connections());
  actions_.stop_accepting();
}

void Drain::all_connections_gone() {
  if (phase_ != Phase::closing) return;
  phase_ = Phase::drained;
  diagnose(LogLevel::notice, "httpapid: drained: no client connection left ({} closed at the "
                             "timeout); stop the service when you are ready\n",
           closed_at_timeout_);
}

std::uint64_t Drain::seconds_left(std::uint64_t now_ms) const {
  const std::uint64_t limit =
      std::uint64_t{phase_ == Phase::grace ? grace_ : timeout_} * 1000;
  const std::uint64_t elapsed = now_ms - phase_started_ms_;
  return elapsed >= limit ? 0 : (limit - elapsed + 999) / 1000;
}

nlohmann::json Drain::describe(std::uint64_t now_ms) const {
  nlohmann::json out = {{"state", phase_name(phase_)},
                        {"connections", actions_.open_connections()},
                        {"requests_in_flight", actions_.requests_in_flight()}};
  if (phase_ == Phase::serving) return out;
  out["grace_seconds"] = grace_;
  out["timeout_seconds"] = timeout_;
  out["seconds_left"] =
      phase_ == Phase::drained || (phase_ == Phase::closing && timed_out_) ? 0
                                                                            : seconds_left(now_ms);
  out["closed_at_timeout"] = closed_at_timeout_;
  return out;
}

std::string Drain::status(std::uint64_t now_ms) const {
  switch (phase_) {
    case Phase::serving: return {};
    case Phase::grace:
      return fmt::format("draining (grace, {} s left)", seconds_left(now_ms));
    case Phase::closing:
      return fmt::format("draining (closing, {} connection(s), {} request(s) in flight)",
                         actions_.open_connections(), actions_.requests_in_flight());
    case Phase::drained:
      return fmt::format("drained ({} connection(s) closed at the timeout)", closed_at_timeout_);
  }
  return {};
}

}  // namespace httpapi::daemon
