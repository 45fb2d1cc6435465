#include "upgrade_command.hpp"

#include <climits>
#include <cstdlib>

#include <fmt/format.h>

namespace httpcfg {

Json upgrade_command(const std::string& binary) {
  Json command = {{"command", "upgrade"}};
  if (binary.empty()) return command;
  char resolved[PATH_MAX];
  command["binary"] = ::realpath(binary.c_str(), resolved) ? std::string(resolved) : binary;
  return command;
}

std::string format_upgrade(const std::string& detail) {
  const Json answer = Json::parse(detail, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) return "httpapid upgraded\n";
  return fmt::format("httpapid upgraded: PID {} serves now; PID {} hands its connections over "
                     "and exits\n",
                     answer.value("new_pid", 0), answer.value("old_pid", 0));
}

}  // namespace httpcfg
