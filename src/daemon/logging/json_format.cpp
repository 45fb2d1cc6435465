#include "daemon/logging/json_format.hpp"

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

// The length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t length = 0;
  std::uint32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  std::uint32_t code = b0 & (0x7f >> length);
  for (std::size_t i = 1; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    code = (code << 6) | (b & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

void append_text_or_null(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += "null";
  } else {
    append_json_string(out, text);
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (byte < 0x20 || byte == 0x7f) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", byte);
          } else {
            out += c;
          }
      }
      ++i;
      continue;
    }
    if (const std::size_t length = utf8_sequence(text.substr(i)); length > 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", byte);
      ++i;
    }
  }
  out += '"';
}

void append_json_line(std::string& out, const AccessRecord& r, CivilClock& utc) {
  const CivilTime t = utc.at(r.time_ms);
  const SplitUri uri = split_uri(r.uri);
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"client\":", t.year,
                 t.month, t.day, t.hour, t.minute, t.second, t.millisecond);
  append_json_string(out, r.client_ip);
  fmt::format_to(it, ",\"client_port\":{},\"server\":", r.client_port);
  append_json_string(out, r.server_ip);
  fmt::format_to(it, ",\"server_port\":{},\"method\":", r.server_port);
  append_text_or_null(out, r.method);
  out += ",\"uri\":";
  append_text_or_null(out, uri.stem);
  out += ",\"query\":";
  append_text_or_null(out, uri.query);
  out += ",\"host\":";
  append_text_or_null(out, r.host);
  out += ",\"protocol\":";
  append_text_or_null(out, protocol_name(r));
  out += ",\"tls\":";
  append_text_or_null(out, r.tls_protocol);
  fmt::format_to(it,
                 ",\"status\":{},\"substatus\":{},\"win32_status\":{},\"bytes_in\":{},"
                 "\"bytes_out\":{},\"time_taken_ms\":{},\"queue\":",
                 r.status, r.substatus, r.win32_status, r.bytes_in, r.bytes_out,
                 r.time_taken_ms);
  append_text_or_null(out, r.queue);
  fmt::format_to(it, ",\"cache\":\"{}\",\"reason\":", cache_name(r.cache));
  append_text_or_null(out, r.reason);
  out += ",\"user_agent\":";
  append_text_or_null(out, r.user_agent);
  out += ",\"referer\":";
  append_text_or_null(out, r.referer);
  out += "}\n";
}

}  // namespace httpapi::daemon
