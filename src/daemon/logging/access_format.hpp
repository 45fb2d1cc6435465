// The access-log formats (HTTP.sys's HttpServerLoggingProperty, docs/access-logs.md): W3C
// extended with IIS's selectable fields, NCSA common, and JSON lines; and how one log is
// styled: its format, its W3C fields, local or UTC time. Each format is a pure function from
// an AccessRecord to one line (w3c_format.hpp, ncsa_format.hpp, json_format.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/logging/access_record.hpp"
#include "daemon/logging/log_time.hpp"

namespace httpapi::daemon {

// Values as HTTPAPI_LOG_FORMAT_* (httpapi.h).
enum class AccessFormat : std::uint8_t { none = 0, w3c = 1, ncsa = 2, json = 3 };

// "w3c", "ncsa", "json", "none"; nullopt for anything else.
std::optional<AccessFormat> parse_access_format(std::string_view text);
std::string_view access_format_name(AccessFormat format);

struct AccessStyle {
  AccessFormat format = AccessFormat::w3c;
  std::uint64_t fields = 0;  // W3C: HTTPAPI_LOG_FIELD_* bits (0: IIS's default set)
  bool local_time = false;   // NCSA times and file rollover in local time (W3C and JSON: UTC)
  std::string site_name;     // W3C s-sitename: the log's name
};

// Appends the record's line (with its newline) to `out`. `clock` must be in the style's
// time (CivilClock(style.local_time)) for NCSA; W3C and JSON take a UTC clock.
void append_access_line(std::string& out, const AccessStyle& style, const AccessRecord& record,
                        CivilClock& utc, CivilClock& style_clock);

// What a new file starts with: W3C's directives (#Software, #Version, #Date, #Fields);
// nothing for the other formats.
std::string access_file_header(const AccessStyle& style, std::int64_t now_ms);

// The request target split as IIS logs it: the path (cs-uri-stem) and the query after '?'
// (cs-uri-query, empty when none). An absolute-form target loses its scheme and authority.
struct SplitUri {
  std::string_view stem;
  std::string_view query;
};
SplitUri split_uri(std::string_view target);

// "HTTP/1.1", "HTTP/1.0", "HTTP/2"; empty when no request line was read.
std::string_view protocol_name(const AccessRecord& record);

}  // namespace httpapi::daemon
