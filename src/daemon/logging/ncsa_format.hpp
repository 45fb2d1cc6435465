// NCSA Common Log Format, as HTTP.sys writes it (HttpLoggingTypeNCSA): remote host, '-',
// user, [dd/Mon/yyyy:hh:mm:ss +zzzz], "request line", status, bytes sent. The time is the
// log's (local or UTC) with its offset.
#pragma once

#include <string>
#include <string_view>

#include "daemon/logging/access_format.hpp"

namespace httpapi::daemon {

void append_ncsa_line(std::string& out, const AccessRecord& record, CivilClock& clock);

// The request line inside its quotes: '"' and '\' escaped with '\', control characters
// and DEL as \xHH (Apache's escaping), so the line parses whatever the client sent.
void append_ncsa_quoted(std::string& out, std::string_view text);

}  // namespace httpapi::daemon
