#include "commands.hpp"

#include "drain_commands.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "httpapi/httpapi.h"

namespace httpcfg {
namespace {

std::optional<std::uint32_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value >= 0xffffffffu) return std::nullopt;  // (uid_t)-1 means "no id"
  return static_cast<std::uint32_t>(value);
}

// Field access that tolerates a service answer with missing or mistyped fields.
std::uint64_t number(const Json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  return it->is_number_unsigned() ? it->get<std::uint64_t>()
                                  : static_cast<std::uint64_t>(it->get<std::int64_t>());
}

std::string text(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const Json& object, const char* key) {
  if (!object.is_object()) return false;
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const Json& list(const Json& object, const char* key) {
  static const Json empty = Json::array();
  if (!object.is_object()) return empty;
  const auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : empty;
}

const char* yes_no(bool value) { return value ? "Yes" : "No"; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::uint32_t id32(std::uint64_t value) { return static_cast<std::uint32_t>(value); }

// Lays out rows of cells in columns separated by three spaces; no trailing blanks.
std::string table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::optional<std::uint32_t> resolve_user(const std::string& name) {
  if (const passwd* entry = ::getpwnam(name.c_str())) return entry->pw_uid;
  return parse_id(name);
}

std::optional<std::uint32_t> resolve_group(const std::string& name) {
  if (const group* entry = ::getgrnam(name.c_str())) return entry->gr_gid;
  return parse_id(name);
}

std::string describe(Identity::Kind kind, std::uint32_t id) {
  if (kind == Identity::Kind::user) {
    if (const passwd* entry = ::getpwuid(id)) return fmt::format("{} ({})", entry->pw_name, id);
    return fmt::format("uid {}", id);
  }
  if (const group* entry = ::getgrgid(id)) return fmt::format("{} ({})", entry->gr_name, id);
  return fmt::format("gid {}", id);
}

Json urlacl_add_command(const std::string& url, const std::vector<Identity>& acl,
                        bool delegate) {
  Json entries = Json::array();
  for (const Identity& who : acl) {
    entries.push_back({{"kind", who.kind == Identity::Kind::user ? "user" : "group"},
                       {"id", who.id},
                       {"listen", true},
                       {"delegate", delegate}});
  }
  return {{"command", "urlacl.add"}, {"url", url}, {"acl", entries}};
}

Json urlacl_delete_command(const std::string& url) {
  return {{"command", "urlacl.delete"}, {"url", url}};
}

Json urlacl_show_command() { return {{"command", "urlacl.show"}}; }

Json iplisten_command(const std::string& verb, const std::string& address) {
  return {{"command", "iplisten." + verb}, {"address", address}};
}

Json iplisten_endpoint_command(const std::string& verb, const std::string& ipport,
                               bool proxy_protocol, const std::string& trusted) {
  Json command = {{"command", "iplisten." + verb}, {"ipport", ipport}};
  if (verb == "add") {
    command["proxy_protocol"] = proxy_protocol;
    command["trusted"] = trusted;
  }
  return command;
}

Json iplisten_show_command() { return {{"command", "iplisten.show"}}; }

Json servicestate_command() { return {{"command", "servicestate"}}; }

Json cachestate_command() { return {{"command", "cachestate"}}; }

Json settings_command(const std::string& verb, const std::string& key,
                      const std::string& value) {
  Json command{{"command", "settings." + verb}};
  if (verb != "show") command["key"] = key;
  if (verb == "set") command["value"] = value;
  return command;
}

Json sslcert_command(const std::string& verb, const SslcertBinding& binding) {
  Json command = sslcert_endpoint_command(verb, binding.ipport, binding.hostnameport);
  Json certificates = Json::array();
  for (const auto& pair : binding.certificates) {
    certificates.push_back({{"certificate", pair.certificate_pem}, {"key", pair.key_pem}});
  }
  command["certificates"] = certificates;
  if (!binding.client_cert.empty()) command["client_cert"] = binding.client_cert;
  if (!binding.ca_pem.empty()) command["ca"] = binding.ca_pem;
  if (!binding.min_tls.empty()) command["min_tls"] = binding.min_tls;
  command["disable_http2"] = binding.disable_http2;
  command["disable_session_id"] = binding.disable_session_id;
  return command;
}

Json sslcert_endpoint_command(const std::string& verb, const std::string& ipport,
                              const std::string& hostnameport) {
  Json command{{"command", "sslcert." + verb}};
  if (!ipport.empty()) command["ipport"] = ipport;
  if (!hostnameport.empty()) command["hostnameport"] = hostnameport;
  return command;
}

// Laid out like `netsh http show sslcert`: one block per binding, one line per fact.
std::string format_sslcert(const Json& answer) {
  const Json& bindings = list(answer, "bindings");
  if (bindings.empty()) return "No SSL certificate bindings.\n";
  std::string out;
  bool first = true;
  const auto line = [&out](const std::string& indent, const std::string& label,
                           const std::string& value) {
    out += fmt::format("{}{:<{}}: {}\n", indent, label, 25 - indent.size(), value);
  };
  for (const Json& b : bindings) {
    if (!first) out += "\n";
    first = false;
    line("    ", text(b, "kind") == "hostnameport" ? "Hostname:port" : "IP:port",
         text(b, "endpoint"));
    for (const Json& c : list(b, "certificates")) {
      if (!text(c, "error").empty()) {
        line("    ", "Certificate", "(unreadable: " + text(c, "error") + ")");
        continue;
      }
      line("    ", "Certificate", text(c, "subject"));
      std::string names;
      for (const Json& n : list(c, "dns_names")) {
        if (!names.empty()) names += ", ";
        names += n.is_string() ? n.get<std::string>() : n.dump();
      }
      line("        ", "Names (SAN)", names.empty() ? std::string("(none)") : names);
      line("        ", "Issuer", text(c, "issuer"));
      line("        ", "Valid", text(c, "not_before") + " to " + text(c, "not_after"));
      line("        ", "SHA-256", text(c, "sha256"));
      line("        ", "Key", text(c, "key_type"));
      const std::uint64_t chain = number(c, "chain_length");
      line("        ", "Chain",
           chain <= 1 ? std::string("the certificate alone")
                      : fmt::format("the certificate and {} intermediate{}", chain - 1,
                                    chain == 2 ? "" : "s"));
    }
    const std::string mode = text(b, "client_cert");
    const std::uint64_t ca = number(b, "ca_certificates");
    line("    ", "Client certificates",
         (mode.empty() ? std::string("none") : mode) +
             (ca ? fmt::format(" (trusting {} CA certificate{})", ca, ca == 1 ? "" : "s")
                 : std::string()));
    line("    ", "Minimum TLS version", text(b, "min_tls"));
    line("    ", "HTTP/2", flag(b, "disable_http2") ? "disabled" : "enabled");
    line("    ", "Session resumption", flag(b, "disable_session_id") ? "disabled" : "enabled");
  }
  return out;
}

std::string format_settings(const Json& answer) {
  std::string out = "Server-wide settings:\n";
  const auto it = answer.find("settings");
  if (it == answer.end() || !it->is_object()) return out;
  for (const auto& [key, value] : it->items()) {
    out += fmt::format("    {:<26}: {}\n", key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

bool filter_reservations(Json& answer, const std::string& url) {
  Json kept = Json::array();
  for (const Json& r : list(answer, "reservations")) {
    if (lower(text(r, "url")) == lower(url)) kept.push_back(r);
  }
  const bool found = !kept.empty();
  answer = Json{{"reservations", kept}};
  return found;
}

std::string format_urlacl(const Json& answer) {
  const Json& reservations = list(answer, "reservations");
  if (reservations.empty()) return "No URL reservations.\n";
  std::size_t width = 0;
  for (const Json& r : reservations) {
    for (const Json& entry : list(r, "acl")) {
      const auto kind = text(entry, "kind") == "group" ? Identity::Kind::group
                                                       : Identity::Kind::user;
      width = std::max(width, describe(kind, id32(number(entry, "id"))).size());
    }
  }
  std::string out;
  bool first = true;
  for (const Json& r : reservations) {
    if (!first) out += "\n";
    first = false;
    out += fmt::format("Reserved URL : {}\n", text(r, "url"));
    const Json& acl = list(r, "acl");
    if (acl.empty()) out += "    (no users or groups: only root may register or delegate here)\n";
    for (const Json& entry : acl) {
      const bool is_group = text(entry, "kind") == "group";
      const std::string who = describe(is_group ? Identity::Kind::group : Identity::Kind::user,
                                       id32(number(entry, "id")));
      out += fmt::format("    {:<7}{:<{}}  Listen: {:<3}  Delegate: {}\n",
                         is_group ? "Group:" : "User:", who, width,
                         yes_no(flag(entry, "listen")), yes_no(flag(entry, "delegate")));
    }
  }
  return out;
}

// The IP:PORT entries (PROXY protocol marks), after the addresses; nothing when none.
std::string format_listen_endpoints(const Json& endpoints) {
  std::string out;
  for (const Json& e : endpoints) {
    if (!e.is_object()) continue;
    out += fmt::format("    {}  PROXY protocol: {}  trusted: {}\n", e.value("ipport", "?"),
                       e.value("proxy_protocol", false) ? "yes" : "no", e.value("trusted", ""));
  }
  return out.empty() ? out : "IP:PORT entries:\n" + out;
}

std::string format_iplisten(const Json& answer) {
  const Json& addresses = list(answer, "addresses");
  std::string out;
  if (addresses.empty()) {
    out = "IP listen list: empty (httpapid listens on all addresses)\n";
  } else {
    out = "IP listen list:\n";
    for (const Json& a : addresses) {
      out += "    " + (a.is_string() ? a.get<std::string>() : a.dump()) + "\n";
    }
  }
  return out + format_listen_endpoints(list(answer, "endpoints"));
}

// One listening port: why it binds as it does, then each address with its PROXY protocol
// mark and reason, then the IP-literal registrations the IP listen list leaves unbound. A
// service from before per-address listening sends the port alone.
namespace {
std::string format_endpoint(const Json& endpoint) {
  std::string out = fmt::format("    port {}", number(endpoint, "port"));
  if (!endpoint.contains("bindings")) return out + "\n";
  out += fmt::format(" ({}): {}\n", text(endpoint, "scheme"), text(endpoint, "why"));
  std::vector<std::vector<std::string>> rows;
  for (const Json& b : list(endpoint, "bindings")) {
    std::string marked = flag(b, "proxy_protocol") ? "yes" : "no";
    std::vector<std::string> partly;
    for (const Json& on : list(b, "proxy_protocol_on")) {
      partly.push_back(on.is_string() ? on.get<std::string>() : on.dump());
    }
    // fmt, not operator+: GCC 12 at -O3 warns falsely on string concatenation (-Wrestrict).
    if (!partly.empty()) marked = fmt::format("on {}", fmt::join(partly, ","));
    rows.push_back({text(b, "ipport"), fmt::format("PROXY protocol: {}", marked), text(b, "why")});
  }
  out += table(rows, "        ");
  for (const Json& u : list(endpoint, "unbound")) {
    out += fmt::format("        not bound: {} (the IP listen list leaves its address out)\n",
                       u.is_string() ? u.get<std::string>() : u.dump());
  }
  return out;
}
}  // namespace

std::string format_servicestate(const Json& answer) {
  std::string out;
  const Json& sessions = list(answer, "sessions");
  out += fmt::format("Server sessions: {}\n", sessions.size());
  for (const Json& s : sessions) {
    out += fmt::format("\n    Server session {}\n", number(s, "id"));
    out += fmt::format("        Process: {}   User: {}\n", number(s, "pid"),
                       describe(Identity::Kind::user, id32(number(s, "uid"))));
    const Json& groups = list(s, "groups");
    if (groups.empty()) out += "        (no URL groups)\n";
    for (const Json& g : groups) {
      const std::uint64_t queue = number(g, "queue");
      out += queue ? fmt::format("        URL group {} -> request queue {}\n", number(g, "id"),
                                 queue)
                   : fmt::format("        URL group {} (not bound to a request queue)\n",
                                 number(g, "id"));
      std::vector<std::vector<std::string>> rows;
      for (const Json& u : list(g, "urls")) {
        rows.push_back({text(u, "url"), fmt::format("context {}", number(u, "context"))});
      }
      if (rows.empty()) out += "            (no URLs)\n";
      out += table(rows, "            ");
    }
  }

  const Json& queues = list(answer, "queues");
  out += fmt::format("\nRequest queues: {}\n", queues.size());
  for (const Json& q : queues) {
    const std::string name = text(q, "name");
    out += fmt::format("\n    Request queue {}  {}\n", number(q, "id"),
                       name.empty() ? std::string("(unnamed)") : "\"" + name + "\"");
    out += fmt::format("        Owner: {}\n",
                       describe(Identity::Kind::user, id32(number(q, "owner_uid"))));
    out += fmt::format(
        "        Length: {}   Workers: {}   Handles: {}   Persistent: {}   Controller: {}\n",
        number(q, "length"), number(q, "workers"), number(q, "handles"),
        yes_no(flag(q, "persistent")), yes_no(flag(q, "controller")));
  }

  const Json& endpoints = list(answer, "endpoints");
  out += fmt::format("\nListening endpoints: {}\n", endpoints.size());
  if (!endpoints.empty()) out += "\n";
  for (const Json& e : endpoints) out += format_endpoint(e);
  if (const std::string marks = format_listen_endpoints(list(answer, "proxy_protocol"));
      !marks.empty()) {
    out += "\nPROXY protocol " + marks;
  }

  out += format_builtin_and_drain(answer);

  const Json& connections = list(answer, "connections");
  out += fmt::format("\nConnections: {}\n", connections.size());
  if (!connections.empty()) {
    std::vector<std::vector<std::string>> rows{{"ID", "Worker", "State", "Remote", "Local"}};
    for (const Json& c : connections) {
      rows.push_back({std::to_string(number(c, "id")), std::to_string(number(c, "worker")),
                      text(c, "state"), text(c, "remote"), text(c, "local")});
    }
    out += '\n';  // appended in two steps: GCC 12's -Wrestrict misfires on "\n" + string
    out += table(rows, "    ");
  }

  // Lines the service could not write (stderr gone, log directory deleted, disk full).
  if (answer.contains("logging")) {
    const Json& logging = answer["logging"];
    out += fmt::format("\nLog lines lost: {} on stderr, {} in the error log\n",
                       number(logging, "stderr_lines_lost"),
                       number(logging, "error_log_lines_lost"));
    if (logging.contains("access_log_lines_written")) {
      out += fmt::format(
          "Access log lines: {} written, {} dropped (writer behind), {} lost (disk refused)\n",
          number(logging, "access_log_lines_written"),
          number(logging, "access_log_lines_dropped"),
          number(logging, "access_log_lines_lost"));
    }
  }
  return out;
}

// Laid out like `netsh http show cachestate`: one block per cached URL.
std::string format_cachestate(const Json& answer) {
  const Json& entries = list(answer, "entries");
  std::string out = fmt::format(
      "Response cache: {}, {} entries, {} bytes, {} hits\n"
      "    Limits: {} bytes per response, {} bytes in all, scavenged after {} s unused\n",
      flag(answer, "enabled") ? "enabled" : "disabled", entries.size(), number(answer, "bytes"),
      number(answer, "hits"), number(answer, "max_response_bytes"),
      number(answer, "max_total_bytes"), number(answer, "scavenger_seconds"));
  for (const Json& e : entries) {
    out += fmt::format("\n    URL: {}\n", text(e, "url"));
    out += fmt::format("        Status: {}   Bytes: {}   Hits: {}   Idle: {} s   Expires: {}\n",
                       number(e, "status"), number(e, "bytes"), number(e, "hits"),
                       number(e, "idle_seconds"),
                       e.contains("expires_in_seconds")
                           ? fmt::format("in {} s", number(e, "expires_in_seconds"))
                           : std::string("when flushed"));
  }
  return out;
}

std::string status_text(std::uint32_t status) {
  switch (status) {
    case HTTPAPI_OK: return "success";
    case HTTPAPI_ERROR_INVALID_PARAMETER: return "invalid parameter";
    case HTTPAPI_ERROR_ALREADY_EXISTS: return "already exists";
    case HTTPAPI_ERROR_ACCESS_DENIED: return "access denied";
    case HTTPAPI_ERROR_SHARING_VIOLATION: return "sharing violation";
    case HTTPAPI_ERROR_NOT_FOUND: return "not found";
    case HTTPAPI_ERROR_TIMEOUT: return "timed out";
    case HTTPAPI_ERROR_SERVICE_UNAVAILABLE: return "service unavailable";
    case HTTPAPI_ERROR_VERSION_MISMATCH: return "protocol version mismatch";
    case HTTPAPI_ERROR_NO_MEMORY: return "out of memory";
    case HTTPAPI_ERROR_INVALID_STATE: return "not valid now";
    case HTTPAPI_ERROR_PROTOCOL: return "protocol error";
    case HTTPAPI_ERROR_SHUTDOWN: return "shutting down";
    case HTTPAPI_ERROR_TOO_LARGE: return "too large";
    default: return fmt::format("error {}", status);
  }
}

std::string advice(const std::string& command, std::uint32_t status, const std::string& subject) {
  constexpr std::uint32_t kInvalid = HTTPAPI_ERROR_INVALID_PARAMETER;
  constexpr std::uint32_t kExists = HTTPAPI_ERROR_ALREADY_EXISTS;
  constexpr std::uint32_t kDenied = HTTPAPI_ERROR_ACCESS_DENIED;
  constexpr std::uint32_t kNotFound = HTTPAPI_ERROR_NOT_FOUND;
  const bool urlacl = command.rfind("urlacl.", 0) == 0;
  const bool iplisten = command.rfind("iplisten.", 0) == 0;
  const bool sslcert = command.rfind("sslcert.", 0) == 0;
  if (status == kDenied) {
    if (command == "urlacl.add") {
      return "run it as root, or as a user with delegate rights on a reservation above this "
             "URL";
    }
    return "run it as root";
  }
  if (status == kExists && urlacl) {
    return fmt::format("delete it first with 'httpcfg urlacl delete --url {}' to change it",
                       subject);
  }
  if (status == kExists && iplisten) return "see 'httpcfg iplisten show'";
  if (status == kExists && sslcert) return "replace it with 'httpcfg sslcert update'";
  if (status == kNotFound && sslcert) return "see the bindings with 'httpcfg sslcert show'";
  if (status == kInvalid && sslcert) return "see 'httpcfg sslcert add --help'";
  if (status == kNotFound && urlacl) {
    return "list the reservations with 'httpcfg urlacl show'; the URL must match one exactly";
  }
  if (status == kNotFound && iplisten) return "see 'httpcfg iplisten show'";
  if (status == kInvalid && urlacl) {
    return "a URL prefix is scheme://host:port/path/, e.g. http://+:80/app/ (see 'httpcfg "
           "urlacl add --help')";
  }
  if (status == kInvalid && iplisten) {
    return "give an IPv4 or IPv6 address without a port, e.g. 127.0.0.1 or ::1";
  }
  return "see httpapid's log for details";
}

}  // namespace httpcfg
