// httpcfg upgrade (docs/httpcfg.md, docs/operations.md "Upgrades"): the JSON command and
// the line shown when the new httpapid took over.
#pragma once

#include <string>

#include "commands.hpp"

namespace httpcfg {

// `binary` as given ("" = the running binary's path); a relative path is made absolute
// here, since httpapid's working directory is not the administrator's.
Json upgrade_command(const std::string& binary);
// "httpapid upgraded: PID 123 replaced PID 120 ..." from the service's answer.
std::string format_upgrade(const std::string& detail);

}  // namespace httpcfg
