#include "daemon/logging/w3c_format.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "daemon/logging/log_text.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

enum class Field : std::uint8_t {
  date, time, site_name, computer_name, server_ip, method, uri_stem, uri_query, server_port,
  user_name, client_ip, client_port, version, user_agent, cookie, referer, host, status,
  substatus, win32_status, bytes_sent, bytes_received, time_taken, reason, queue_name,
  tls_protocol, cache,
};

struct FieldName {
  std::uint64_t bit;
  std::string_view name;
  Field field;
};

// IIS's order (its logging dialog and its files), then HTTP.sys's error-log fields, then
// this service's own (x-: W3C's prefix for application-defined fields).
constexpr FieldName kFields[] = {
    {HTTPAPI_LOG_FIELD_DATE, "date", Field::date},
    {HTTPAPI_LOG_FIELD_TIME, "time", Field::time},
    {HTTPAPI_LOG_FIELD_SITE_NAME, "s-sitename", Field::site_name},
    {HTTPAPI_LOG_FIELD_COMPUTER_NAME, "s-computername", Field::computer_name},
    {HTTPAPI_LOG_FIELD_SERVER_IP, "s-ip", Field::server_ip},
    {HTTPAPI_LOG_FIELD_METHOD, "cs-method", Field::method},
    {HTTPAPI_LOG_FIELD_URI_STEM, "cs-uri-stem", Field::uri_stem},
    {HTTPAPI_LOG_FIELD_URI_QUERY, "cs-uri-query", Field::uri_query},
    {HTTPAPI_LOG_FIELD_SERVER_PORT, "s-port", Field::server_port},
    {HTTPAPI_LOG_FIELD_USER_NAME, "cs-username", Field::user_name},
    {HTTPAPI_LOG_FIELD_CLIENT_IP, "c-ip", Field::client_ip},
    {HTTPAPI_LOG_FIELD_CLIENT_PORT, "c-port", Field::client_port},
    {HTTPAPI_LOG_FIELD_VERSION, "cs-version", Field::version},
    {HTTPAPI_LOG_FIELD_USER_AGENT, "cs(User-Agent)", Field::user_agent},
    {HTTPAPI_LOG_FIELD_COOKIE, "cs(Cookie)", Field::cookie},
    {HTTPAPI_LOG_FIELD_REFERER, "cs(Referer)", Field::referer},
    {HTTPAPI_LOG_FIELD_HOST, "cs-host", Field::host},
    {HTTPAPI_LOG_FIELD_STATUS, "sc-status", Field::status},
    {HTTPAPI_LOG_FIELD_SUB_STATUS, "sc-substatus", Field::substatus},
    {HTTPAPI_LOG_FIELD_WIN32_STATUS, "sc-win32-status", Field::win32_status},
    {HTTPAPI_LOG_FIELD_BYTES_SENT, "sc-bytes", Field::bytes_sent},
    {HTTPAPI_LOG_FIELD_BYTES_RECV, "cs-bytes", Field::bytes_received},
    {HTTPAPI_LOG_FIELD_TIME_TAKEN, "time-taken", Field::time_taken},
    {HTTPAPI_LOG_FIELD_REASON, "s-reason", Field::reason},
    {HTTPAPI_LOG_FIELD_QUEUE_NAME, "s-queuename", Field::queue_name},
    {HTTPAPI_LOG_FIELD_TLS_PROTOCOL, "x-tls-protocol", Field::tls_protocol},
    {HTTPAPI_LOG_FIELD_CACHE, "x-cache", Field::cache},
};

std::uint64_t effective(std::uint64_t fields) { return fields ? fields : w3c_default_fields(); }

const std::string& computer_name() {
  static const std::string name = [] {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0) return std::string();
    return std::string(buffer);
  }();
  return name;
}

void append_number(std::string& out, std::uint64_t value) { append_decimal(out, value); }

void append_field(std::string& out, Field field, const AccessStyle& style,
                  const AccessRecord& r, const CivilTime& t) {
  switch (field) {
    case Field::date: return append_date(out, t);
    case Field::time: return append_clock(out, t);
    case Field::site_name: return append_w3c_value(out, style.site_name);
    case Field::computer_name: return append_w3c_value(out, computer_name());
    case Field::server_ip: return append_w3c_value(out, r.server_ip);
    case Field::method: return append_w3c_value(out, r.method);
    case Field::uri_stem: return append_w3c_value(out, split_uri(r.uri).stem);
    case Field::uri_query: return append_w3c_value(out, split_uri(r.uri).query);
    case Field::server_port: return append_number(out, r.server_port);
    case Field::user_name: return append_w3c_value(out, r.username);
    case Field::client_ip: return append_w3c_value(out, r.client_ip);
    case Field::client_port: return append_number(out, r.client_port);
    case Field::version: return append_w3c_value(out, protocol_name(r));
    case Field::user_agent: return append_w3c_value(out, r.user_agent);
    case Field::cookie: return append_w3c_value(out, r.cookie);
    case Field::referer: return append_w3c_value(out, r.referer);
    case Field::host: return append_w3c_value(out, r.host);
    case Field::status: return append_number(out, r.status);
    case Field::substatus: return append_number(out, r.substatus);
    case Field::win32_status: return append_number(out, r.win32_status);
    case Field::bytes_sent: return append_number(out, r.bytes_out);
    case Field::bytes_received: return append_number(out, r.bytes_in);
    case Field::time_taken: return append_number(out, r.time_taken_ms);
    case Field::reason: return append_w3c_value(out, r.reason);
    case Field::queue_name: return append_w3c_value(out, r.queue);
    case Field::tls_protocol: return append_w3c_value(out, r.tls_protocol);
    case Field::cache: return append_w3c_value(out, cache_name(r.cache));
  }
}

}  // namespace

std::uint64_t w3c_default_fields() {
  return HTTPAPI_LOG_FIELD_DATE | HTTPAPI_LOG_FIELD_TIME | HTTPAPI_LOG_FIELD_SERVER_IP |
         HTTPAPI_LOG_FIELD_METHOD | HTTPAPI_LOG_FIELD_URI_STEM | HTTPAPI_LOG_FIELD_URI_QUERY |
         HTTPAPI_LOG_FIELD_SERVER_PORT | HTTPAPI_LOG_FIELD_USER_NAME |
         HTTPAPI_LOG_FIELD_CLIENT_IP | HTTPAPI_LOG_FIELD_USER_AGENT | HTTPAPI_LOG_FIELD_REFERER |
         HTTPAPI_LOG_FIELD_STATUS | HTTPAPI_LOG_FIELD_SUB_STATUS |
         HTTPAPI_LOG_FIELD_WIN32_STATUS | HTTPAPI_LOG_FIELD_TIME_TAKEN;
}

std::uint64_t w3c_known_fields() {
  std::uint64_t all = 0;
  for (const FieldName& f : kFields) all |= f.bit;
  return all;
}

std::string w3c_field_names(std::uint64_t fields) {
  fields = effective(fields);
  std::string out;
  for (const FieldName& f : kFields) {
    if (!(fields & f.bit)) continue;
    if (!out.empty()) out += ' ';
    out += f.name;
  }
  return out;
}

std::string w3c_header(const AccessStyle& style, std::int64_t now_ms) {
  CivilClock utc(false);
  const CivilTime t = utc.at(now_ms);
  return fmt::format(
      "#Software: httpapi {}\n#Version: 1.0\n#Date: {:04}-{:02}-{:02} {:02}:{:02}:{:02}\n"
      "#Fields: {}\n",
      HTTPAPI_VERSION_STRING, t.year, t.month, t.day, t.hour, t.minute, t.second,
      w3c_field_names(style.fields));
}

void append_w3c_line(std::string& out, const AccessStyle& style, const AccessRecord& record,
                     CivilClock& utc) {
  const std::uint64_t fields = effective(style.fields);
  const CivilTime t = utc.at(record.time_ms);
  bool first = true;
  for (const FieldName& f : kFields) {
    if (!(fields & f.bit)) continue;
    if (!first) out += ' ';
    first = false;
    append_field(out, f.field, style, record, t);
  }
  out += '\n';
}

void append_w3c_value(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += '-';
    return;
  }
  // Runs of characters that need nothing are appended whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte > 0x20 && byte != 0x7f) continue;
    out.append(value.substr(run, i - run));
    if (byte == ' ') {
      out += '+';
    } else {
      append_hex_byte(out, "%", byte, true);
    }
    run = i + 1;
  }
  out.append(value.substr(run));
}

}  // namespace httpapi::daemon
