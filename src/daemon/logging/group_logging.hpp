// What a URL group may ask of the access log (httpapi_url_group_set_logging): the checks
// of its arguments, turned into the writer's AccessLogConfig. The service writes the file,
// often as root, so an application names a log and never a path: NAME.log under
// STATE_DIR/logs/access/, NAME a short file name that cannot climb out of it.
#pragma once

#include <string>
#include <string_view>

#include "daemon/logging/access_log.hpp"
#include "ipc/messages.hpp"

namespace httpapi::daemon {

// 1 to 64 of [A-Za-z0-9._-], not starting with '.', not the server-wide log's name.
bool valid_log_name(std::string_view name);

// False, with `error` saying what is wrong and what is allowed, when the call is malformed.
// A call with format 0 (none) is valid and needs no config.
bool group_logging_config(const ipc::GroupLogging& call, AccessLogConfig& config,
                          std::string& error);

}  // namespace httpapi::daemon
