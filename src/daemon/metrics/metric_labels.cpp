#include "daemon/metrics/metric_labels.hpp"

namespace httpapi::daemon::metrics {
namespace {

template <std::size_t N>
std::optional<std::size_t> index_of(const std::array<std::string_view, N>& names,
                                    std::string_view name) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace

Protocol protocol_of(int version_major, int version_minor) noexcept {
  if (version_major >= 2) return Protocol::http2;
  return version_minor == 0 ? Protocol::http10 : Protocol::http11;
}

std::size_t status_class(int status) noexcept {
  if (status < 100 || status > 599) return 0;
  return static_cast<std::size_t>(status / 100);
}

std::size_t unavailable_reason(std::string_view log_reason) noexcept {
  return index_of(kUnavailableReasons, log_reason).value_or(kUnavailableReasons.size() - 1);
}

std::optional<std::size_t> timer_reason(std::string_view log_reason) noexcept {
  return index_of(kTimerReasons, log_reason);
}

ConnectionState connection_state_of(std::string_view state_name) noexcept {
  if (state_name == "idle" || state_name == "http/2 idle") return ConnectionState::idle;
  if (state_name == "reading request") return ConnectionState::reading;
  if (state_name == "proxy header" || state_name == "tls handshake") {
    return ConnectionState::handshake;
  }
  if (state_name == "closing" || state_name == "closed") return ConnectionState::closing;
  return ConnectionState::active;  // with application, sending response, http/2 streams...
}

std::optional<std::size_t> refusal_reason(std::string_view log_reason) noexcept {
  return index_of(kRefusalReasons, log_reason);
}

}  // namespace httpapi::daemon::metrics
