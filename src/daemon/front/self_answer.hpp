// Responses the service writes itself (HTTP.sys's error pages), and their log reasons.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http1/errors.hpp"

namespace httpapi::daemon {

// Parser errors come with their answer (http1::answer_for); the routing and queue answers
// are made here.
using SelfAnswer = http1::ErrorAnswer;

SelfAnswer not_found();                                       // host matched, no path
SelfAnswer service_unavailable(std::string_view log_reason);  // QueueFull, N/A, ...
// The 503 a queue's verbosity asks for (HTTPAPI_503_*): basic gives status 0 (reset the
// connection, send nothing), full names the reason on the page.
SelfAnswer service_unavailable(std::string_view log_reason, std::uint32_t verbosity);

// The whole response: status line, Content-Type, Server, Date, Content-Length,
// Connection: close, and HTTP.sys's small HTML page. HEAD requests get no body.
std::string render_self_answer(const SelfAnswer& answer, bool head_only,
                               std::string_view server_header);

}  // namespace httpapi::daemon
