#include "http1/response_head.hpp"

#include <charconv>

#include "http1/reason_phrase.hpp"
#include "http1/syntax.hpp"

namespace httpapi::http1 {
namespace {

// What the application's own fields settle.
struct AppFields {
  ResponseError error = ResponseError::none;
  bool has_length = false;
  std::uint64_t length = 0;
  bool has_coding = false;  // Transfer-Encoding: the application frames the body itself
  bool has_date = false;
  bool has_server = false;
  bool has_connection = false;
  bool close = false;  // its Connection field names "close"
};

AppFields append_app_fields(std::span<const Field> fields, std::string& head) {
  AppFields app;
  for (const Field& field : fields) {
    const std::string_view name = field.name, value = field.value;
    if (!valid_response_field(name, value)) return {ResponseError::bad_field};
    if (syntax::iequals(name, "Content-Length")) {
      std::uint64_t parsed = 0;
      if (!syntax::parse_decimal(value, parsed)) return {ResponseError::bad_length};
      if (app.has_length && parsed != app.length) return {ResponseError::conflicting_length};
      app.has_length = true;
      app.length = parsed;
    } else if (syntax::iequals(name, "Transfer-Encoding")) {
      app.has_coding = true;
    } else if (syntax::iequals(name, "Connection")) {
      app.has_connection = true;
      app.close = app.close || syntax::list_contains(value, "close");
    } else if (syntax::iequals(name, "Date")) {
      app.has_date = true;
    } else if (syntax::iequals(name, "Server")) {
      app.has_server = true;
    }
    head.append(name).append(": ").append(value).append("\r\n");
  }
  return app;
}

void append_status_line(int status, std::string_view reason, std::string& head) {
  const char code[4] = {static_cast<char>('0' + status / 100),
                        static_cast<char>('0' + status / 10 % 10),
                        static_cast<char>('0' + status % 10), ' '};
  head.append("HTTP/1.1 ").append(code, 4).append(reason.empty() ? reason_phrase(status) : reason);
  head.append("\r\n");
}

// The framing of a final response, and the field that announces it, if any.
void choose_framing(const ResponseInput& in, const AppFields& app, bool status_allows_body,
                    ResponsePlan& plan, std::string& head) {
  if (app.has_coding) {
    plan.framing = ResponseFraming::raw;
  } else if (app.has_length) {
    plan.framing = ResponseFraming::length;
    plan.declared_length = app.length;
  } else if (!status_allows_body) {
    plan.framing = ResponseFraming::length;
  } else if (!in.more_data) {
    plan.framing = ResponseFraming::length;
    plan.declared_length = in.body_size;
    // A HEAD answered without body bytes gets no length (the application may just not have
    // sent the body), unless it gave the body as chunks: then their size is the length.
    if (!in.head_request || in.body_size > 0 || in.body_as_chunks) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, in.body_size).ptr;
      head.append("Content-Length: ").append(digits, end).append("\r\n");
    }
  } else if (in.version_minor >= 1 && !in.no_auto_chunking) {
    plan.framing = ResponseFraming::chunked;
    if (!in.head_request) head += "Transfer-Encoding: chunked\r\n";
  } else {
    plan.framing = ResponseFraming::close_delimited;
    plan.close_after = true;
  }
}

}  // namespace

bool valid_response_field(std::string_view name, std::string_view value) noexcept {
  return syntax::is_token(name) && syntax::all_of(value, syntax::k_field);
}

ResponsePlan plan_response(const ResponseInput& in, std::span<const Field> fields,
                           std::string& head) {
  ResponsePlan plan;
  if (in.status < 100 || in.status > 999) return {ResponseError::bad_status};
  if (!syntax::all_of(in.reason, syntax::k_field)) return {ResponseError::bad_reason};
  head.reserve(head.size() + 128);
  append_status_line(in.status, in.reason, head);
  const AppFields app = append_app_fields(fields, head);
  if (app.error != ResponseError::none) return {app.error};

  if (in.status < 200 && in.status != 101) {
    plan.kind = ResponseKind::interim;
    // RFC 9110 §15.2: an HTTP/1.0 client does not understand 1xx; it is not sent one.
    if (in.version_minor >= 1) {
      head += "\r\n";
    } else {
      head.clear();
    }
    return plan;
  }
  if (in.opaque) {
    // The library refuses these too; a request with a body, or HTTP/1.0, cannot be upgraded.
    if (in.status != 101 || in.request_has_body || in.version_minor == 0) {
      return {ResponseError::opaque_refused};
    }
    plan.kind = ResponseKind::opaque;
    plan.framing = ResponseFraming::raw;
    plan.close_after = true;
    head += "\r\n";
    return plan;
  }

  const bool status_allows_body = in.status != 204 && in.status != 304 && in.status != 101;
  plan.body_allowed = status_allows_body && !in.head_request;
  plan.close_after = !in.keep_alive || app.close || in.disconnect || in.shutting_down;
  choose_framing(in, app, status_allows_body, plan, head);
  if (!app.has_date) head.append("Date: ").append(in.date).append("\r\n");
  if (!app.has_server && !in.server.empty()) {
    head.append("Server: ").append(in.server).append("\r\n");
  }
  if (!app.has_connection) {
    if (plan.close_after) {
      head += "Connection: close\r\n";
    } else if (in.version_minor == 0) {
      head += "Connection: keep-alive\r\n";
    }
  }
  head += "\r\n";
  return plan;
}

}  // namespace httpapi::http1
