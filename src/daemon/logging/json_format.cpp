#include "daemon/logging/json_format.hpp"

#include "daemon/logging/log_text.hpp"

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

// ,"key":value
void append_key_number(std::string& out, std::string_view key, std::uint64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  append_decimal(out, value);
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
  // Runs of characters that need no escape (printable ASCII, valid UTF-8) are appended whole.
  std::size_t run = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
      ++i;
      continue;
    }
    if (byte >= 0x80) {
      if (const std::size_t length = utf8_sequence(text.substr(i)); length > 0) {
        i += length;
        continue;
      }
    }
    out.append(text.substr(run, i - run));
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: append_hex_byte(out, "\\u00", byte);  // controls, DEL, bytes not UTF-8
    }
    run = ++i;
  }
  out.append(text.substr(run));
  out += '"';
}

void append_json_line(std::string& out, const AccessRecord& r, CivilClock& utc) {
  const CivilTime t = utc.at(r.time_ms);
  const SplitUri uri = split_uri(r.uri);
  out += "{\"time\":\"";
  append_date(out, t);
  out += 'T';
  append_clock(out, t);
  out += '.';
  append_padded(out, static_cast<unsigned>(t.millisecond), 3);
  out += "Z\",\"client\":";
  append_json_string(out, r.client_ip);
  append_key_number(out, "client_port", r.client_port);
  out += ",\"server\":";
  append_json_string(out, r.server_ip);
  append_key_number(out, "server_port", r.server_port);
  out += ",\"method\":";
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
  append_key_number(out, "status", r.status);
  append_key_number(out, "substatus", r.substatus);
  append_key_number(out, "win32_status", r.win32_status);
  append_key_number(out, "bytes_in", r.bytes_in);
  append_key_number(out, "bytes_out", r.bytes_out);
  append_key_number(out, "time_taken_ms", r.time_taken_ms);
  out += ",\"queue\":";
  append_text_or_null(out, r.queue);
  out += ",\"cache\":\"";
  out += cache_name(r.cache);
  out += "\",\"reason\":";
  append_text_or_null(out, r.reason);
  out += ",\"user_agent\":";
  append_text_or_null(out, r.user_agent);
  out += ",\"referer\":";
  append_text_or_null(out, r.referer);
  out += ",\"username\":";
  append_text_or_null(out, r.username);
  out += "}\n";
}

}  // namespace httpapi::daemon
