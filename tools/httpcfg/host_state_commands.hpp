// httpcfg export and import (docs/scale-out.md): one host's reservations, IP listen list,
// certificate bindings and settings as a JSON document, to make every host behind a load
// balancer the same. The document holds private keys: httpcfg writes it mode 0600.
#pragma once

#include <string>

#include "commands.hpp"

namespace httpcfg {

Json export_command();
Json import_command(const Json& document);

// Reads the document at `path` ("-": standard input). "" or the reason it cannot be used.
std::string read_state_document(const std::string& path, Json& document);
// Writes `text` to `path`, created or truncated, mode 0600 (it holds keys). "" or the reason.
std::string write_private_file(const std::string& path, const std::string& text);

// "Host state imported: 3 added, 1 updated, 0 deleted, 5 unchanged".
std::string format_import(const Json& answer);

}  // namespace httpcfg
