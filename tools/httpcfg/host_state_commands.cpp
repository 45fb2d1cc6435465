#include "host_state_commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

namespace httpcfg {

Json export_command() { return {{"command", "state.export"}}; }

Json import_command(const Json& document) {
  return {{"command", "state.import"}, {"state", document}};
}

std::string read_state_document(const std::string& path, Json& document) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return fmt::format("cannot read {}: {}; give the file 'httpcfg export --file' wrote", path,
                         std::strerror(errno));
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  document = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return fmt::format("{} is not a JSON object; give the file 'httpcfg export' wrote",
                       path == "-" ? "the standard input" : path);
  }
  return "";
}

std::string write_private_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot write {}: {}", path, std::strerror(errno));
  // An existing file keeps its mode on open: it holds keys now, so it is made private.
  std::size_t written = 0;
  bool ok = ::fchmod(fd, 0600) == 0;
  while (ok && written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<std::size_t>(n);
  }
  const int error = errno;
  ok = ::close(fd) == 0 && ok;
  return ok ? "" : fmt::format("cannot write {}: {}", path, std::strerror(error));
}

std::string format_import(const Json& answer) {
  return fmt::format("Host state imported: {} added, {} updated, {} deleted, {} unchanged\n",
                     answer.value("added", 0), answer.value("updated", 0),
                     answer.value("deleted", 0), answer.value("unchanged", 0));
}

}  // namespace httpcfg
