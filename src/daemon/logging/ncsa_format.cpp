#include "daemon/logging/ncsa_format.hpp"

#include <cstdlib>

#include <fmt/format.h>

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
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
}

void append_ncsa_line(std::string& out, const AccessRecord& r, CivilClock& clock) {
  const CivilTime t = clock.at(r.time_ms);
  const long offset_minutes = t.utc_offset_seconds / 60;
  append_or_dash(out, r.client_ip);
  fmt::format_to(std::back_inserter(out), " - - [{:02}/{}/{:04}:{:02}:{:02}:{:02} {}{:02}{:02}] \"",
                 t.day, kMonths[(t.month - 1) % 12], t.year, t.hour, t.minute, t.second,
                 offset_minutes < 0 ? '-' : '+', std::labs(offset_minutes) / 60,
                 std::labs(offset_minutes) % 60);
  if (r.method.empty()) {
    out += '-';
  } else {
    append_ncsa_quoted(out, r.method);
    out += ' ';
    append_ncsa_quoted(out, r.uri);
    out += ' ';
    out += protocol_name(r);
  }
  fmt::format_to(std::back_inserter(out), "\" {} {}\n", r.status, r.bytes_out);
}

}  // namespace httpapi::daemon
