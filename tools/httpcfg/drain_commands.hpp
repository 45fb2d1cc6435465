// httpcfg drain and resume (docs/operations.md, "Draining"): their JSON commands and how the
// built-in URLs and the drain's progress read in `httpcfg show servicestate`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "commands.hpp"

namespace httpcfg {

// `grace` and `timeout` in seconds; nullopt leaves the service's default (10 s and 30 s).
Json drain_command(std::optional<std::int64_t> grace, std::optional<std::int64_t> timeout);
Json resume_command();

// A duration given on the command line that no service would take (negative): the error
// line's text, or "" when it is fine. The service checks the upper bound.
std::string check_drain_seconds(const char* option, std::optional<std::int64_t> seconds);

// The "Built-in URLs" and "Drain" sections of show servicestate ("" when the answer has
// neither: an older httpapid).
std::string format_builtin_and_drain(const Json& servicestate);

}  // namespace httpcfg
