#include "daemon/logging/ncsa_format.hpp"

#include <cstdlib>

#include "daemon/logging/log_text.hpp"

namespace httpapi::daemon {
namespace {

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void append_or_dash(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += '-';
    return;
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte <= 0x20 || byte == 0x7f) ? '-' : c;
  }
}

}  // namespace

void append_ncsa_quoted(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      append_hex_byte(out, "\\x", byte);
    } else {
      out += c;
    }
  }
}

void append_ncsa_line(std::string& out, const AccessRecord& r, CivilClock& clock) {
  const CivilTime t = clock.at(r.time_ms);
  const long offset_minutes = t.utc_offset_seconds / 60;
  append_or_dash(out, r.client_ip);
  out += " - ";
  append_or_dash(out, r.username);
  out += " [";
  append_padded(out, static_cast<unsigned>(t.day), 2);
  out += '/';
  out += kMonths[(t.month - 1) % 12];
  out += '/';
  append_padded(out, static_cast<unsigned>(t.year), 4);
  for (const int part : {t.hour, t.minute, t.second}) {
    out += ':';
    append_padded(out, static_cast<unsigned>(part), 2);
  }
  out += ' ';
  out += offset_minutes < 0 ? '-' : '+';
  append_padded(out, static_cast<unsigned>(std::labs(offset_minutes) / 60), 2);
  append_padded(out, static_cast<unsigned>(std::labs(offset_minutes) % 60), 2);
  out += "] \"";
  if (r.method.empty()) {
    out += '-';
  } else {
    append_ncsa_quoted(out, r.method);
    out += ' ';
    append_ncsa_quoted(out, r.uri);
    out += ' ';
    out += protocol_name(r);
  }
  out += "\" ";
  append_decimal(out, r.status);
  out += ' ';
  append_decimal(out, r.bytes_out);
  out += '\n';
}

}  // namespace httpapi::daemon
