// JSON lines: one object per request, one line each (docs/access-logs.md lists the keys).
// Times are ISO 8601 in UTC with milliseconds; text the client sent is escaped so every
// line is valid JSON whatever the bytes were.
#pragma once

#include <string>
#include <string_view>

#include "daemon/logging/access_format.hpp"

namespace httpapi::daemon {

void append_json_line(std::string& out, const AccessRecord& record, CivilClock& utc);

// A JSON string with its quotes: '"', '\' and control characters escaped; valid UTF-8 is
// kept as it is, and each byte that is not part of valid UTF-8 is written as the code point
// of the same value (\u00XX), so the line stays valid JSON.
void append_json_string(std::string& out, std::string_view text);

}  // namespace httpapi::daemon
