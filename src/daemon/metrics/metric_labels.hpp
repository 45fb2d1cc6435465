// The fixed label values of the metrics (docs/metrics.md): each a small enum, so that the
// request path counts into an array slot and never builds or compares label text, and the
// number of series stays bounded whatever clients send.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace httpapi::daemon::metrics {

// The protocol a request came in: label protocol="HTTP/1.0" | "HTTP/1.1" | "HTTP/2".
enum class Protocol : std::uint8_t { http10, http11, http2 };
inline constexpr std::size_t kProtocols = 3;
inline constexpr std::array<std::string_view, kProtocols> kProtocolNames = {
    "HTTP/1.0", "HTTP/1.1", "HTTP/2"};
Protocol protocol_of(int version_major, int version_minor) noexcept;

// The status class of the answer: label code="1xx" ... "5xx", or "none" when the request
// ended with no response at all (the client left, the connection was reset).
inline constexpr std::size_t kStatusClasses = 6;
inline constexpr std::array<std::string_view, kStatusClasses> kStatusClassNames = {
    "none", "1xx", "2xx", "3xx", "4xx", "5xx"};
std::size_t status_class(int status) noexcept;

// Why the service answered 503 itself (or reset the connection in its place, for a queue
// whose 503 verbosity is "basic"): the error log's reasons (docs/queues.md). "other" holds
// any reason added later and not listed here.
inline constexpr std::array<std::string_view, 8> kUnavailableReasons = {
    "QueueFull",      "Disabled",   "N/A",         "ConnLimit", "Timer_ReqQueue",
    "AppShutdown",    "Connection_Abandoned_By_ReqQueue", "other"};
std::size_t unavailable_reason(std::string_view log_reason) noexcept;

// The timers whose expiry the error log records (docs/timers.md), by their log reason.
inline constexpr std::array<std::string_view, 5> kTimerReasons = {
    "Timer_HeaderWait", "Timer_ConnectionIdle", "Timer_EntityBody", "Timer_MinBytesPerSecond",
    "Timer_ReqQueue"};
// nullopt: `log_reason` is not a timer's.
std::optional<std::size_t> timer_reason(std::string_view log_reason) noexcept;

// A connection's state, sampled once a second by its I/O thread: label state=...
// handshake: TLS handshake or PROXY header not done; reading: a request head is arriving;
// active: a request is with an application or its response is being sent (HTTP/2: a
// stream is open); idle: kept alive, nothing in flight; closing: lingering before close.
enum class ConnectionState : std::uint8_t { handshake, reading, active, idle, closing };
inline constexpr std::size_t kConnectionStates = 5;
inline constexpr std::array<std::string_view, kConnectionStates> kConnectionStateNames = {
    "handshake", "reading", "active", "idle", "closing"};
// From the state httpcfg show servicestate names (Connection::state_name).
ConnectionState connection_state_of(std::string_view state_name) noexcept;

// Connections reset at accept: label reason= the error log's reason.
inline constexpr std::array<std::string_view, 2> kRefusalReasons = {"Connections_Refused",
                                                                    "TLS_Handshake_Limit"};
std::optional<std::size_t> refusal_reason(std::string_view log_reason) noexcept;

// Channels on the control socket, by role: label role=...
inline constexpr std::array<std::string_view, 3> kChannelRoles = {"session", "queue", "admin"};

// The queue label of a request the service answered before any queue (400, 404), of one
// routed to a queue without a name, and of queues past the per-thread limit of labels.
inline constexpr std::string_view kNoQueue = "";
inline constexpr std::string_view kUnnamedQueue = "(unnamed)";
inline constexpr std::string_view kOtherQueues = "(other)";

}  // namespace httpapi::daemon::metrics
