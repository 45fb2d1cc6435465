#include "daemon/logging/w3c_format.hpp"

#include <unistd.h>

#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>

#include <fmt/format.h>

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

// A field's value: text (escaped when written), a number, or the request's date or time.
// No member initializers: a line keeps an array of these, filled before it is read.
struct Value {
  enum class Kind : std::uint8_t { text, number, date, time } kind;
  std::string_view text;
  std::uint64_t number;
};

Value text(std::string_view value) { return {Value::Kind::text, value, 0}; }
Value number(std::uint64_t value) { return {Value::Kind::number, {}, value}; }

Value value_of(Field field, const AccessStyle& style, const AccessRecord& r, const SplitUri& uri) {
  switch (field) {
    case Field::date: return {Value::Kind::date, {}, 0};
    case Field::time: return {Value::Kind::time, {}, 0};
    case Field::site_name: return text(style.site_name);
    case Field::computer_name: return text(computer_name());
    case Field::server_ip: return text(r.server_ip);
    case Field::method: return text(r.method);
    case Field::uri_stem: return text(uri.stem);
    case Field::uri_query: return text(uri.query);
    case Field::server_port: return number(r.server_port);
    case Field::user_name: return text(r.username);
    case Field::client_ip: return text(r.client_ip);
    case Field::client_port: return number(r.client_port);
    case Field::version: return text(protocol_name(r));
    case Field::user_agent: return text(r.user_agent);
    case Field::cookie: return text(r.cookie);
    case Field::referer: return text(r.referer);
    case Field::host: return text(r.host);
    case Field::status: return number(r.status);
    case Field::substatus: return number(r.substatus);
    case Field::win32_status: return number(r.win32_status);
    case Field::bytes_sent: return number(r.bytes_out);
    case Field::bytes_received: return number(r.bytes_in);
    case Field::time_taken: return number(r.time_taken_ms);
    case Field::reason: return text(r.reason);
    case Field::queue_name: return text(r.queue);
    case Field::tls_protocol: return text(r.tls_protocol);
    case Field::cache: return text(cache_name(r.cache));
  }
  return {};
}

// The most a value can take: every byte of a text escaped (%XX), 20 digits, a date, a time.
std::size_t room_for(const Value& value) {
  switch (value.kind) {
    case Value::Kind::text: return value.text.empty() ? 1 : 3 * value.text.size();
    case Value::Kind::number: return 20;
    case Value::Kind::date: return 10;
    case Value::Kind::time: return 8;
  }
  return 0;
}

// The writers below fill room already made: a line is sized for its longest form once, then
// cut to what was written, instead of a capacity check for every piece of it.
char* put_padded(char* at, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return at + width;
}

char* put_w3c_text(char* at, std::string_view value) {
  if (value.empty()) {
    *at++ = '-';
    return at;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte != 0x7f) {
      *at++ = c;
    } else if (byte == ' ') {
      *at++ = '+';
    } else {
      at[0] = '%';
      at[1] = kHex[byte >> 4];
      at[2] = kHex[byte & 0xf];
      at += 3;
    }
  }
  return at;
}

// A line's date and time change once a second: they are rendered then, not for every line.
struct RenderedSecond {
  std::int64_t second;
  char date[10];  // YYYY-MM-DD
  char time[8];   // hh:mm:ss
};

const RenderedSecond& rendered_second(std::int64_t ms, CivilClock& utc) {
  thread_local constinit RenderedSecond cache{std::numeric_limits<std::int64_t>::min(), {}, {}};
  const std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second == cache.second) return cache;
  const CivilTime t = utc.at(ms);
  char* at = put_padded(cache.date, static_cast<unsigned>(t.year), 4);
  *at++ = '-';
  at = put_padded(at, static_cast<unsigned>(t.month), 2);
  *at++ = '-';
  put_padded(at, static_cast<unsigned>(t.day), 2);
  at = put_padded(cache.time, static_cast<unsigned>(t.hour), 2);
  *at++ = ':';
  at = put_padded(at, static_cast<unsigned>(t.minute), 2);
  *at++ = ':';
  put_padded(at, static_cast<unsigned>(t.second), 2);
  cache.second = second;
  return cache;
}

char* put_value(char* at, const Value& value, const RenderedSecond& when) {
  switch (value.kind) {
    case Value::Kind::text: return put_w3c_text(at, value.text);
    case Value::Kind::number: return std::to_chars(at, at + 20, value.number).ptr;
    case Value::Kind::date:
      std::memcpy(at, when.date, sizeof when.date);
      return at + sizeof when.date;
    case Value::Kind::time:
      std::memcpy(at, when.time, sizeof when.time);
      return at + sizeof when.time;
  }
  return at;
}

// The fields a style writes, in kFields' order: worked out when the set changes, not for
// every line.
struct FieldList {
  std::uint64_t fields;
  std::size_t count;
  Field order[std::size(kFields)];
};

const FieldList& field_list(std::uint64_t fields) {
  thread_local constinit FieldList list{0, 0, {}};
  if (list.fields == fields) return list;
  list.count = 0;
  for (const FieldName& f : kFields) {
    if (fields & f.bit) list.order[list.count++] = f.field;
  }
  list.fields = fields;
  return list;
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
  const FieldList& list = field_list(effective(style.fields));
  const SplitUri uri = split_uri(record.uri);
  Value values[std::size(kFields)];
  std::size_t room = 1;  // the newline
  for (std::size_t i = 0; i < list.count; ++i) {
    values[i] = value_of(list.order[i], style, record, uri);
    room += 1 + room_for(values[i]);
  }
  const RenderedSecond& when = rendered_second(record.time_ms, utc);
  const std::size_t start = out.size();
  out.resize(start + room);
  char* const line = out.data() + start;
  char* at = line;
  for (std::size_t i = 0; i < list.count; ++i) {
    if (i > 0) *at++ = ' ';
    at = put_value(at, values[i], when);
  }
  *at++ = '\n';
  out.resize(start + static_cast<std::size_t>(at - line));
}

void append_w3c_value(std::string& out, std::string_view value) {
  const std::size_t start = out.size();
  out.resize(start + room_for(text(value)));
  char* const begin = out.data() + start;
  out.resize(start + static_cast<std::size_t>(put_w3c_text(begin, value) - begin));
}

}  // namespace httpapi::daemon
