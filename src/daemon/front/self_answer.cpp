#include "daemon/front/self_answer.hpp"

#include <fmt/format.h>

#include "daemon/front/http_date.hpp"
#include "http1/reason_phrase.hpp"

namespace httpapi::daemon {

SelfAnswer not_found() {
  return {404, http1::reason_phrase(404), "Not Found", "The requested resource is not found.",
          "NotFound"};
}

SelfAnswer service_unavailable(std::string_view log_reason) {
  return {503, http1::reason_phrase(503), "Service Unavailable", "The service is unavailable.",
          log_reason};
}

SelfAnswer service_unavailable(std::string_view log_reason, std::uint32_t verbosity) {
  SelfAnswer answer = service_unavailable(log_reason);
  if (verbosity == 0) {
    answer.status = 0;
  } else if (verbosity >= 2) {
    if (log_reason == "QueueFull") {
      answer.message = "The service is unavailable: its request queue is full.";
    } else if (log_reason == "Disabled") {
      answer.message = "The service is unavailable: its request queue is not active.";
    } else if (log_reason == "Timer_ReqQueue") {
      answer.message = "The service is unavailable: the request waited too long in its queue.";
    } else if (log_reason == "ConnLimit") {
      answer.message = "The service is unavailable: it has as many connections as it takes.";
    } else if (log_reason == "Connection_Abandoned_By_ReqQueue") {
      answer.message = "The service is unavailable: the application left without answering.";
    } else if (log_reason == "AppShutdown") {
      answer.message = "The service is unavailable: the application shut down its request queue.";
    }
  }
  return answer;
}

std::string render_self_answer(const SelfAnswer& answer, bool head_only,
                               std::string_view server_header) {
  // HTTP.sys's page, byte for byte in structure (reference §4.3).
  const std::string page = fmt::format(
      "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/"
      "strict.dtd\">\r\n<HTML><HEAD><TITLE>{}</TITLE>\r\n<META HTTP-EQUIV=\"Content-Type\" "
      "Content=\"text/html; charset=us-ascii\"></HEAD>\r\n<BODY><h2>{}</h2>\r\n<hr><p>HTTP "
      "Error {}. {}</p>\r\n</BODY></HTML>\r\n",
      answer.reason, answer.heading, answer.status, answer.message);
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/html; charset=us-ascii\r\n", answer.status,
      answer.reason);
  if (!server_header.empty()) out += fmt::format("Server: {}\r\n", server_header);
  out += fmt::format("Date: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                     http_date_now(), page.size());
  if (!head_only) out += page;
  return out;
}

}  // namespace httpapi::daemon
