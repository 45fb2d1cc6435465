// W3C extended log file format as IIS and HTTP.sys write it (HttpLoggingTypeW3C): a
// #Fields directive names the columns, one line per request, fields separated by spaces,
// a missing value written '-', date and time in UTC. The fields are HTTP.sys's
// HTTP_LOG_FIELD_* bits (HTTPAPI_LOG_FIELD_* in httpapi.h), written in IIS's order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/logging/access_format.hpp"

namespace httpapi::daemon {

// IIS's default selection: date time s-ip cs-method cs-uri-stem cs-uri-query s-port
// cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status
// time-taken.
std::uint64_t w3c_default_fields();
// Every field this service can write; a selection with other bits is refused.
std::uint64_t w3c_known_fields();
// "date time s-ip ..." for `fields` (0: the default set), in IIS's order.
std::string w3c_field_names(std::uint64_t fields);

std::string w3c_header(const AccessStyle& style, std::int64_t now_ms);
void append_w3c_line(std::string& out, const AccessStyle& style, const AccessRecord& record,
                     CivilClock& utc);

// One W3C value: '-' when empty, a space as '+' (as IIS writes User-Agent), control
// characters and DEL as %XX, so a value never splits a line or a column.
void append_w3c_value(std::string& out, std::string_view value);

}  // namespace httpapi::daemon
