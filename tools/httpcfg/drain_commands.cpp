#include "drain_commands.hpp"

#include <fmt/format.h>

namespace httpcfg {

Json drain_command(std::optional<std::int64_t> grace, std::optional<std::int64_t> timeout) {
  Json command{{"command", "drain"}};
  if (grace) command["grace"] = *grace;
  if (timeout) command["timeout"] = *timeout;
  return command;
}

Json resume_command() { return {{"command", "resume"}}; }

std::string check_drain_seconds(const char* option, std::optional<std::int64_t> seconds) {
  if (!seconds || *seconds >= 0) return {};
  return fmt::format("{} takes whole seconds, 0 or more, not {}; e.g. httpcfg drain --grace 10 "
                     "--timeout 30",
                     option, *seconds);
}

std::string format_builtin_and_drain(const Json& answer) {
  std::string out;
  if (const auto builtins = answer.find("builtin_urls");
      builtins != answer.end() && builtins->is_array()) {
    out += fmt::format("\nBuilt-in URLs: {}\n", builtins->size());
    if (!builtins->empty()) out += "\n";
    for (const Json& b : *builtins) {
      out += fmt::format("    {}   (setting {})\n", b.value("url", ""), b.value("setting", ""));
    }
  }
  const auto drain = answer.find("drain");
  if (drain == answer.end() || !drain->is_object()) return out;
  const std::string state = drain->value("state", "serving");
  out += fmt::format("\nDrain: {}", state);
  const auto connections = drain->value("connections", std::uint64_t{0});
  const auto in_flight = drain->value("requests_in_flight", std::uint64_t{0});
  const auto left = drain->value("seconds_left", std::uint64_t{0});
  if (state == "grace") {
    out += fmt::format(" (health URL 503, still serving: {} s left of {} s grace; then at most "
                       "{} s to finish)",
                       left, drain->value("grace_seconds", 0), drain->value("timeout_seconds", 0));
  } else if (state == "closing") {
    out += fmt::format(" (no longer listening; {} s left before the connections left are "
                       "closed)",
                       left);
  } else if (state == "drained") {
    out += " (no client connection left; stop the service when ready)";
  }
  out += fmt::format("\n    Connections: {}   Requests in flight: {}", connections, in_flight);
  if (state != "serving") {
    out += fmt::format("   Closed at the timeout: {}",
                       drain->value("closed_at_timeout", std::uint64_t{0}));
  }
  out += "\n";
  return out;
}

}  // namespace httpcfg
