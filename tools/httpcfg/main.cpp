// httpcfg: the administration tool of httpapi, the `netsh http` of Linux (docs/httpcfg.md).
//
// Every command is one JSON admin call to the running httpapid over its control socket; the
// service checks the caller's identity (SO_PEERCRED), applies the change to its
// configuration store and to the live routing table, and answers. httpcfg never opens the
// configuration database itself: the store belongs to the service, and a change made behind
// its back would neither be checked nor take effect. When httpapid is not running, httpcfg
// says so and exits with status 3.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "admin_client.hpp"
#include "commands.hpp"
#include "upgrade_command.hpp"
#include "drain_commands.hpp"
#include "host_state_commands.hpp"

namespace {

using httpcfg::Identity;
using httpcfg::Json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotRunning = 3;

struct Options {
  std::string state_dir;
  std::string url;
  std::vector<std::string> users;
  std::vector<std::string> groups;
  bool delegate = false;
  std::string address;
  std::string key;
  std::string value;
  bool json = false;
  // sslcert
  std::string ipport;
  std::string hostnameport;
  // iplisten --ipport
  bool proxy_protocol = false;
  std::string trusted;
  std::vector<std::string> cert_files;
  std::vector<std::string> key_files;
  std::string client_cert;
  std::string ca_file;
  std::string min_tls;
  bool disable_http2 = false;
  bool disable_session_id = false;
  std::string binary;  // upgrade --binary
  // drain
  std::optional<std::int64_t> grace;
  std::optional<std::int64_t> timeout;
  // export / import
  std::string file;
};

// Breaks `text` into lines of at most `width` columns at spaces; existing newlines stay.
std::string wrap(const std::string& text, std::size_t width) {
  std::string out;
  std::size_t column = 0;
  std::istringstream lines(text);
  std::string line;
  bool first_line = true;
  while (std::getline(lines, line)) {
    if (!first_line) out += '\n';
    first_line = false;
    column = 0;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      if (column > 0 && column + 1 + word.size() > width) {
        out += '\n';
        column = 0;
      } else if (column > 0) {
        out += ' ';
        ++column;
      }
      out += word;
      column += word.size();
    }
  }
  return out;
}

constexpr std::size_t kHelpWidth = 79;
constexpr std::size_t kHelpColumn = 28;

// Help that reads like a man page on an 80-column terminal: paragraphs wrapped, option
// descriptions wrapped beside their names, and one summary sentence per subcommand in the
// parent's list (the whole description heads the subcommand's own help).
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() { column_width(kHelpColumn); }
  std::string make_description(const CLI::App* app) const override {
    return wrap(app->get_description(), kHelpWidth) + "\n\n";
  }
  std::string make_option_desc(const CLI::Option* option) const override {
    return wrap(option->get_description(), kHelpWidth - kHelpColumn);
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::string summary = sub->get_description();
    if (const auto end = summary.find(". "); end != std::string::npos) summary.resize(end + 1);
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_name(), wrap(summary, kHelpWidth - kHelpColumn),
                             kHelpColumn);
    return out.str();
  }
};

// Every error is one line on stderr: "httpcfg: <what failed>: <reason>; <what to do>".
void error_line(const std::string& text) {
  std::string line = "httpcfg: " + text;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }

// Sends `command` to the service. On success returns kExitOk with the answer's detail;
// otherwise reports the failure and returns the exit status.
int call_service(const Options& options, const Json& command, const std::string& what,
                 const std::string& subject, std::string& detail) {
  const std::string path = httpcfg::control_socket_path(options.state_dir);
  httpcfg::AdminClient client;
  std::string error;
  switch (client.connect(path, error)) {
    case httpcfg::ConnectStatus::ok:
      break;
    case httpcfg::ConnectStatus::not_running:
      error_line(fmt::format("httpapid is not running (no control socket at {}); start it, or "
                             "pass --state-dir / set HTTPAPI_CONTROL",
                             path));
      return kExitNotRunning;
    case httpcfg::ConnectStatus::failed:
      error_line(fmt::format("cannot talk to httpapid at {}: {}; check that httpapid is running "
                             "and that httpcfg and httpapid come from the same release",
                             path, error));
      return kExitFailed;
  }
  httpcfg::Answer answer;
  const std::string name = command.value("command", "");
  if (!client.call(command.dump(), answer, error)) {
    error_line(fmt::format("{}: {}; see httpapid's log for why", what, error));
    return kExitFailed;
  }
  if (answer.status != 0) {
    const std::string reason =
        answer.detail.empty() ? httpcfg::status_text(answer.status) : answer.detail;
    // A reason that already says what to do ("...; delete it first") is shown as it is.
    if (reason.find("; ") != std::string::npos) {
      error_line(fmt::format("{}: {}", what, reason));
    } else {
      error_line(fmt::format("{}: {}; {}", what, reason,
                             httpcfg::advice(name, answer.status, subject)));
    }
    return kExitFailed;
  }
  detail = std::move(answer.detail);
  return kExitOk;
}

// Runs a show command: prints the service's JSON (--json) or the human form.
int show(const Options& options, const Json& command, const std::string& what,
         std::string (*format)(const Json&), const std::string& url_filter = {}) {
  std::string detail;
  if (int status = call_service(options, command, what, url_filter, detail); status != kExitOk) {
    return status;
  }
  Json answer = Json::parse(detail, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    error_line(fmt::format("{}: httpapid's answer is not a JSON object; use the httpcfg of the "
                           "same release as httpapid",
                           what));
    return kExitFailed;
  }
  if (!url_filter.empty() && !httpcfg::filter_reservations(answer, url_filter)) {
    error_line(fmt::format("no reservation for {}; list them all with 'httpcfg urlacl show'",
                           url_filter));
    return kExitFailed;
  }
  print(options.json ? answer.dump(2) + "\n" : format(answer));
  return kExitOk;
}

// Runs a command that changes the configuration and prints `done` on success.
int change(const Options& options, const Json& command, const std::string& what,
           const std::string& subject, const std::string& done) {
  std::string detail;
  if (int status = call_service(options, command, what, subject, detail); status != kExitOk) {
    return status;
  }
  print(done + "\n");
  if (!detail.empty()) print(detail + "\n");
  return kExitOk;
}

int urlacl_add(const Options& options) {
  if (options.users.empty() && options.groups.empty()) {
    error_line("urlacl add needs at least one --user or --group; e.g. httpcfg urlacl add "
               "--url http://+:80/app/ --user www-data");
    return kExitUsage;
  }
  std::vector<Identity> acl;
  std::set<std::pair<int, std::uint32_t>> seen;
  for (const std::string& name : options.users) {
    const auto uid = httpcfg::resolve_user(name);
    if (!uid) {
      error_line(fmt::format("unknown user '{}': not in the user database and not a numeric "
                             "uid; give an existing user name or a uid",
                             name));
      return kExitUsage;
    }
    if (seen.emplace(0, *uid).second) acl.push_back({Identity::Kind::user, *uid});
  }
  for (const std::string& name : options.groups) {
    const auto gid = httpcfg::resolve_group(name);
    if (!gid) {
      error_line(fmt::format("unknown group '{}': not in the group database and not a numeric "
                             "gid; give an existing group name or a gid",
                             name));
      return kExitUsage;
    }
    if (seen.emplace(1, *gid).second) acl.push_back({Identity::Kind::group, *gid});
  }
  return change(options, httpcfg::urlacl_add_command(options.url, acl, options.delegate),
                fmt::format("cannot add the reservation for {}", options.url), options.url,
                "URL reservation successfully added");
}

// A PEM file named on the command line, read as the administrator running httpcfg. False
// with the error reported when it cannot be read.
constexpr std::size_t kMaxPemBytes = 1024 * 1024;

bool read_pem_file(const std::string& what, const std::string& path, std::string& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info{};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    error_line(fmt::format("cannot read the {} file {}: {}; check the path and that you may "
                           "read it",
                           what, path, std::strerror(errno)));
    if (fd >= 0) ::close(fd);
    return false;
  }
  if (!S_ISREG(info.st_mode) || static_cast<std::size_t>(info.st_size) > kMaxPemBytes) {
    error_line(fmt::format("the {} file {} is {}; give a PEM file", what, path,
                           S_ISREG(info.st_mode) ? "larger than 1 MiB" : "not a regular file"));
    ::close(fd);
    return false;
  }
  text.clear();
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
      if (text.size() <= kMaxPemBytes) continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int error = errno;
    ::close(fd);
    if (n == 0) return true;
    error_line(n < 0 ? fmt::format("cannot read the {} file {}: {}", what, path,
                                   std::strerror(error))
                     : fmt::format("the {} file {} is larger than 1 MiB; give a PEM file", what,
                                   path));
    return false;
  }
}

// sslcert add and update: the files read here, everything checked by the service.
// iplisten add/delete: an address, or an IP:PORT entry with its PROXY protocol options.
int iplisten_change(const Options& options, const std::string& verb) {
  const bool add = verb == "add";
  if (options.address.empty() == options.ipport.empty()) {
    error_line(fmt::format("iplisten {} needs exactly one of --address ADDRESS and --ipport "
                           "IP:PORT; e.g. httpcfg iplisten {} --address 127.0.0.1",
                           verb, verb));
    return kExitUsage;
  }
  if (!options.address.empty()) {
    if (options.proxy_protocol || !options.trusted.empty()) {
      error_line("--proxy-protocol and --trusted go with --ipport IP:PORT, not --address");
      return kExitUsage;
    }
    return change(options, httpcfg::iplisten_command(verb, options.address),
                  fmt::format("cannot {} {} {} the IP listen list", verb, options.address,
                              add ? "to" : "from"),
                  options.address, add ? "IP address successfully added"
                                       : "IP address successfully deleted");
  }
  if (add && (!options.proxy_protocol || options.trusted.empty())) {
    error_line("iplisten add --ipport needs --proxy-protocol and --trusted CIDR[,CIDR...]; e.g. "
               "httpcfg iplisten add --ipport 127.0.0.2:8080 --proxy-protocol --trusted "
               "127.0.0.1/32");
    return kExitUsage;
  }
  return change(options,
                httpcfg::iplisten_endpoint_command(verb, options.ipport, options.proxy_protocol,
                                                   options.trusted),
                fmt::format("cannot {} {} {} the IP listen list", verb, options.ipport,
                            add ? "to" : "from"),
                options.ipport, add ? "IP:PORT entry successfully added"
                                    : "IP:PORT entry successfully deleted");
}

int sslcert_change(const Options& options, const std::string& verb) {
  if (options.ipport.empty() == options.hostnameport.empty()) {
    error_line(fmt::format("sslcert {} needs exactly one of --ipport IP:PORT and --hostnameport "
                           "NAME:PORT; e.g. httpcfg sslcert {} --ipport 0.0.0.0:443 --cert "
                           "server.pem --key server.key",
                           verb, verb));
    return kExitUsage;
  }
  if (options.cert_files.empty() || options.cert_files.size() != options.key_files.size() ||
      options.cert_files.size() > 2) {
    error_line(fmt::format("sslcert {} needs one --cert FILE --key FILE pair, or two (an RSA and "
                           "an ECDSA one); got {} --cert and {} --key",
                           verb, options.cert_files.size(), options.key_files.size()));
    return kExitUsage;
  }
  httpcfg::SslcertBinding binding;
  binding.ipport = options.ipport;
  binding.hostnameport = options.hostnameport;
  for (std::size_t i = 0; i < options.cert_files.size(); ++i) {
    httpcfg::SslcertBinding::Pair pair;
    if (!read_pem_file("certificate", options.cert_files[i], pair.certificate_pem) ||
        !read_pem_file("key", options.key_files[i], pair.key_pem)) {
      return kExitUsage;
    }
    binding.certificates.push_back(std::move(pair));
  }
  if (!options.ca_file.empty() && !read_pem_file("CA", options.ca_file, binding.ca_pem)) {
    return kExitUsage;
  }
  binding.client_cert = options.client_cert;
  binding.min_tls = options.min_tls;
  binding.disable_http2 = options.disable_http2;
  binding.disable_session_id = options.disable_session_id;
  const std::string endpoint = options.ipport.empty() ? options.hostnameport : options.ipport;
  return change(options, httpcfg::sslcert_command(verb, binding),
                fmt::format("cannot {} the certificate binding for {}", verb, endpoint), endpoint,
                verb == "add" ? "SSL certificate successfully added"
                              : "SSL certificate successfully updated");
}

const char* const kMainFooter = R"(EXAMPLES:
  Reserve http://+:80/shop/ for the user shop, whose unprivileged program
  may then serve it:
      httpcfg urlacl add --url http://+:80/shop/ --user shop
  Serve https on port 443 with a certificate (httpcfg reads the files):
      httpcfg sslcert add --ipport 0.0.0.0:443 --cert srv.pem --key srv.key
  Show the reservations, the listen list, and what the service is doing now:
      httpcfg urlacl show
      httpcfg iplisten show
      httpcfg show servicestate --json

EXIT STATUS:
  0 success; 1 the service refused the command or failed; 2 wrong command line;
  3 httpapid is not running (no control socket).

ENVIRONMENT:
  HTTPAPI_CONTROL   the control socket, when --state-dir is not given.

FILES:
  /run/httpapi/control.sock (root),
  $XDG_RUNTIME_DIR/httpapi/control.sock (other users).
  httpcfg never edits httpapid's configuration database; the service owns it.

See httpcfg(8) and docs/httpcfg.md.)";

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "httpcfg - administer httpapid, the HTTP Server API service (the netsh http of Linux).\n\n"
      "Reserves URL namespace for users and groups (urlacl), chooses which local addresses "
      "the service listens on (iplisten), binds certificates to https endpoints (sslcert), "
      "and shows its live state (show servicestate). "
      "Every command goes to the running httpapid through its control socket; the service "
      "decides by your identity what you may change.",
      "httpcfg"};
  app.formatter(std::make_shared<HelpFormatter>());
  app.set_version_flag("--version", std::string("httpcfg ") + HTTPAPI_VERSION_STRING,
                       "Print the version and exit");
  app.fallthrough();  // global options are accepted after the subcommand too
  app.require_subcommand(1);
  app.add_option("--state-dir", options.state_dir,
                 "httpapid's state directory; the control socket is DIR/control.sock "
                 "(default: $HTTPAPI_CONTROL, else /run/httpapi for root, "
                 "$XDG_RUNTIME_DIR/httpapi otherwise)")
      ->option_text("DIR");

  // urlacl
  CLI::App* urlacl = app.add_subcommand(
      "urlacl",
      "Add, delete and show URL reservations. A reservation is a URL prefix plus the users and "
      "groups allowed to register it (listen) and to reserve URLs below it (delegate). "
      "Without one, only root may register a prefix, except http://localhost:PORT/ with "
      "PORT > 1024.");
  urlacl->require_subcommand(1);
  urlacl->footer(R"(EXAMPLES:
  httpcfg urlacl add --url http://+:80/shop/ --user shop
  httpcfg urlacl add --url https://+:443/api/ --group api-team --delegate
  httpcfg urlacl delete --url http://+:80/shop/
  httpcfg urlacl show --url http://+:80/shop/)");

  CLI::App* urlacl_add_cmd = urlacl->add_subcommand(
      "add",
      "Reserve a URL prefix for users and groups. Each one named may register URLs under the "
      "prefix (listen); with --delegate each may also add reservations below it. The prefix "
      "is scheme://host:port/path/ with host + (every host name, strong wildcard), * (weak "
      "wildcard), a host name or an IP literal; the path ends in /. Adding needs root, or "
      "delegate rights on a reservation above the prefix. An existing reservation is not "
      "changed: delete it first.");
  urlacl_add_cmd->add_option("--url", options.url, "The URL prefix to reserve")
      ->required()
      ->option_text("PREFIX (required)");
  urlacl_add_cmd
      ->add_option("--user", options.users,
                   "A user who may listen (name or uid); repeat for more")
      ->option_text("NAME")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  urlacl_add_cmd
      ->add_option("--group", options.groups,
                   "A group whose members may listen (name or gid); repeat for more")
      ->option_text("NAME")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  urlacl_add_cmd->add_flag("--delegate", options.delegate,
                           "Also let them add reservations below this prefix");
  urlacl_add_cmd->footer(R"(EXAMPLES:
  httpcfg urlacl add --url http://+:80/shop/ --user shop
  httpcfg urlacl add --url http://+:8080/ --user alice --user bob --group web
  httpcfg urlacl add --url https://+:443/api/ --group api-team --delegate

Prints "URL reservation successfully added" on success.)");

  CLI::App* urlacl_delete = urlacl->add_subcommand(
      "delete",
      "Delete a URL reservation. The URL must match the reservation as 'httpcfg urlacl show' "
      "prints it. Registrations already made under it stay until their owners remove them, "
      "but nobody new may register there.");
  urlacl_delete->add_option("--url", options.url, "The reserved URL prefix")
      ->required()
      ->option_text("PREFIX (required)");
  urlacl_delete->footer(R"(EXAMPLE:
  httpcfg urlacl delete --url http://+:80/shop/)");

  CLI::App* urlacl_show = urlacl->add_subcommand(
      "show", "Show the URL reservations with their users, groups and rights.");
  urlacl_show->add_option("--url", options.url, "Show only this reservation")
      ->option_text("PREFIX");
  urlacl_show->add_flag("--json", options.json, "Print the service's answer as JSON");
  urlacl_show->footer(R"(EXAMPLES:
  httpcfg urlacl show
  httpcfg urlacl show --url http://+:80/shop/ --json)");

  // iplisten
  CLI::App* iplisten = app.add_subcommand(
      "iplisten",
      "Add, delete and show the IP listen list: the local addresses httpapid binds its ports "
      "on when their URLs need more than IP addresses (+, *, a host name; a port whose URLs "
      "all name IP addresses binds just those). Empty (the default) means all addresses. "
      "0.0.0.0 stands for every IPv4 address, :: for every IPv6 address. Changes apply at "
      "once to open ports (docs/listening.md).");
  iplisten->require_subcommand(1);
  iplisten->footer(R"(EXAMPLES:
  httpcfg iplisten add --address 127.0.0.1
  httpcfg iplisten delete --address 127.0.0.1
  httpcfg iplisten show)");
  CLI::App* iplisten_add = iplisten->add_subcommand(
      "add",
      "Add an address to the IP listen list (--address: an IPv4 or IPv6 address, no port), or "
      "mark an endpoint for the PROXY protocol (--ipport IP:PORT --proxy-protocol --trusted "
      "CIDR,...): connections accepted on that local address and port from a trusted network "
      "must start with a PROXY header (v1 or v2), and the requests then carry the client's "
      "address; other peers must not send one (docs/proxy-protocol.md).");
  iplisten_add->add_option("--address", options.address, "The local address")
      ->option_text("ADDRESS");
  iplisten_add->add_option("--ipport", options.ipport,
                           "The endpoint: 127.0.0.2:8080, [::1]:443, 0.0.0.0:80 (every IPv4 "
                           "address of the port), [::]:80 (every address)")
      ->option_text("IP:PORT");
  iplisten_add->add_flag("--proxy-protocol", options.proxy_protocol,
                         "Connections on the endpoint speak the PROXY protocol (with --ipport)");
  iplisten_add->add_option("--trusted", options.trusted,
                           "The balancers' networks, comma-separated CIDRs: a PROXY header is "
                           "believed only from these (with --proxy-protocol)")
      ->option_text("CIDR[,CIDR...]");
  iplisten_add->footer(R"(EXAMPLES:
  httpcfg iplisten add --address 127.0.0.1
  httpcfg iplisten add --address ::1
  httpcfg iplisten add --ipport 127.0.0.2:8080 --proxy-protocol \
      --trusted 127.0.0.1/32)");
  CLI::App* iplisten_delete = iplisten->add_subcommand(
      "delete", "Remove an address (--address) or an IP:PORT entry (--ipport) from the IP listen "
                "list.");
  iplisten_delete->add_option("--address", options.address, "The local address")
      ->option_text("ADDRESS");
  iplisten_delete->add_option("--ipport", options.ipport, "The IP:PORT entry")
      ->option_text("IP:PORT");
  iplisten_delete->footer(R"(EXAMPLES:
  httpcfg iplisten delete --address 127.0.0.1
  httpcfg iplisten delete --ipport 127.0.0.2:8080)");
  CLI::App* iplisten_show = iplisten->add_subcommand("show", "Show the IP listen list.");
  iplisten_show->add_flag("--json", options.json, "Print the service's answer as JSON");
  iplisten_show->footer(R"(EXAMPLE:
  httpcfg iplisten show --json)");

  // sslcert
  CLI::App* sslcert = app.add_subcommand(
      "sslcert",
      "Add, update, delete and show certificate bindings: which certificate an https endpoint "
      "presents and how it treats clients. An endpoint is IP:PORT (0.0.0.0:PORT and [::]:PORT "
      "mean any address; IPv6 in brackets) or, chosen by the name the client asks for (SNI), "
      "NAME:PORT (*.example.com:PORT covers one label). httpcfg reads the PEM files and hands "
      "their contents to httpapid, which checks them and keeps them in its store (mode 0600); "
      "keys are never shown.");
  sslcert->require_subcommand(1);
  sslcert->footer(R"(EXAMPLES:
  httpcfg sslcert add --ipport 0.0.0.0:443 --cert server.pem --key server.key
  httpcfg sslcert add --hostnameport www.example.com:443 \
      --cert www.pem --key www.key
  httpcfg sslcert update --ipport 0.0.0.0:443 --cert new.pem --key new.key
  httpcfg sslcert delete --hostnameport www.example.com:443
  httpcfg sslcert show --json)");
  const auto add_endpoint_options = [&options](CLI::App* command) {
    command->add_option("--ipport", options.ipport,
                        "The endpoint IP:PORT; 0.0.0.0:PORT or [::]:PORT for any address")
        ->option_text("IP:PORT");
    command->add_option("--hostnameport", options.hostnameport,
                        "The endpoint NAME:PORT, chosen by SNI; *.example.com:PORT covers one "
                        "label")
        ->option_text("NAME:PORT");
  };
  const auto add_binding_options = [&options, &add_endpoint_options](CLI::App* command) {
    add_endpoint_options(command);
    command
        ->add_option("--cert", options.cert_files,
                     "PEM certificate file: the server's certificate first, then any "
                     "intermediates; give --cert/--key twice for an RSA and an ECDSA one")
        ->option_text("FILE")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    command
        ->add_option("--key", options.key_files,
                     "PEM private key file of the --cert before it (unencrypted)")
        ->option_text("FILE")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    command
        ->add_option("--clientcert", options.client_cert,
                     "Client certificates: none (default), request (asked for, the "
                     "application learns whether it verified) or require (the handshake "
                     "fails without a trusted one); request and require need --ca")
        ->option_text("MODE")
        ->check(CLI::IsMember({"none", "request", "require"}));
    command
        ->add_option("--ca", options.ca_file,
                     "PEM file of the CA certificates trusted to issue client certificates")
        ->option_text("FILE");
    command->add_option("--min-tls", options.min_tls, "Lowest TLS version offered: 1.2 "
                                                      "(default) or 1.3")
        ->option_text("VERSION")
        ->check(CLI::IsMember({"1.2", "1.3"}));
    command->add_flag("--disablehttp2", options.disable_http2, "Do not offer HTTP/2 (ALPN h2)");
    command->add_flag("--disablesessionid", options.disable_session_id,
                      "No session resumption (neither session cache nor tickets)");
  };
  CLI::App* sslcert_add = sslcert->add_subcommand(
      "add",
      "Bind a certificate to an endpoint. The certificate must be valid now and match its "
      "key; a key must be unencrypted. An endpoint that already has a binding is refused: "
      "use update to replace it.");
  add_binding_options(sslcert_add);
  sslcert_add->footer(R"(EXAMPLES:
  httpcfg sslcert add --ipport 0.0.0.0:443 --cert server.pem --key server.key
  httpcfg sslcert add --ipport [::]:8443 --cert rsa.pem --key rsa.key \
      --cert ec.pem --key ec.key
  httpcfg sslcert add --hostnameport *.example.com:443 --cert w.pem \
      --key w.key --clientcert require --ca clients-ca.pem --min-tls 1.3

Prints "SSL certificate successfully added" on success.)");
  CLI::App* sslcert_update = sslcert->add_subcommand(
      "update",
      "Replace an endpoint's binding with a new one (certificates and options), live: new "
      "handshakes get it at once, established connections carry on.");
  add_binding_options(sslcert_update);
  sslcert_update->footer(R"(EXAMPLE:
  httpcfg sslcert update --ipport 0.0.0.0:443 --cert new.pem --key new.key)");
  CLI::App* sslcert_delete =
      sslcert->add_subcommand("delete", "Delete an endpoint's certificate binding.");
  add_endpoint_options(sslcert_delete);
  sslcert_delete->footer(R"(EXAMPLE:
  httpcfg sslcert delete --ipport 0.0.0.0:443)");
  CLI::App* sslcert_show = sslcert->add_subcommand(
      "show",
      "Show the certificate bindings: per endpoint its certificates (subject, names, issuer, "
      "validity, SHA-256 fingerprint, key type) and options. Never a key.");
  add_endpoint_options(sslcert_show);
  sslcert_show->add_flag("--json", options.json, "Print the service's answer as JSON");
  sslcert_show->footer(R"(EXAMPLES:
  httpcfg sslcert show
  httpcfg sslcert show --hostnameport www.example.com:443 --json)");

  // show
  CLI::App* show_cmd = app.add_subcommand("show", "Show the service's live state.");
  show_cmd->require_subcommand(1);
  show_cmd->footer(R"(EXAMPLE:
  httpcfg show servicestate)");
  CLI::App* servicestate = show_cmd->add_subcommand(
      "servicestate",
      "Show what httpapid is doing now: server sessions with their process and user, their URL "
      "groups with URLs and URL contexts, request queues with length and workers, listening "
      "endpoints, and open connections.");
  servicestate->add_flag("--json", options.json, "Print the service's answer as JSON");
  servicestate->footer(R"(EXAMPLES:
  httpcfg show servicestate
  httpcfg show servicestate --json | jq '.queues[] | {name, length}')");

  CLI::App* cachestate = show_cmd->add_subcommand(
      "cachestate",
      "Show the response cache: every cached URL with its status, size, hits, idle time and "
      "expiry, and the cache's limits (settings cache_*).");
  cachestate->add_flag("--json", options.json, "Print the service's answer as JSON");
  cachestate->footer(R"(EXAMPLES:
  httpcfg show cachestate
  httpcfg show cachestate --json | jq '.entries[].url')");

  CLI::App* settings_show = show_cmd->add_subcommand(
      "settings", "Show the server-wide limits and timers in force (HTTP.sys defaults, the "
                  "boot values of httpapid, and what 'httpcfg set setting' changed).");
  settings_show->add_flag("--json", options.json, "Print the service's answer as JSON");

  // set / delete setting
  CLI::App* set_cmd = app.add_subcommand("set", "Change a server-wide setting, live.");
  set_cmd->require_subcommand(1);
  CLI::App* setting_set = set_cmd->add_subcommand(
      "setting", "Change one server-wide limit or timer. It applies at once to new requests "
                 "and connections and is kept in the configuration store across restarts. "
                 "Keys: max_request_bytes, max_field_length, url_segment_max_length, "
                 "url_segment_max_count, max_body_bytes (0 = no limit), queue_length (for "
                 "queues created afterwards), server_header; the timers header_wait_seconds, "
                 "idle_connection_seconds, request_queue_seconds, entity_body_seconds, "
                 "drain_entity_body_seconds (1-65535 s, 65535 = never), min_send_rate "
                 "(bytes/s, 4294967295 = no check), max_connections (0 = no limit); the "
                 "response cache's cache_enabled (0 or 1), cache_max_response_bytes, "
                 "cache_max_total_bytes, cache_scavenger_seconds; access_log_format (w3c, "
                 "ncsa, json or none: the server-wide access log, logs/access/httpapid.log); "
                 "health_url (a URL httpapid answers itself, 200 while serving and 503 while "
                 "draining, for a load balancer's health check; empty = off). "
                 "See docs/timers.md, docs/cache.md, docs/access-logs.md and "
                 "docs/operations.md.");
  setting_set->add_option("--key", options.key, "The setting")->required();
  setting_set->add_option("--value", options.value, "Its new value")->required();
  setting_set->footer(R"(EXAMPLES:
  httpcfg set setting --key header_wait_seconds --value 30
  httpcfg set setting --key min_send_rate --value 240
  httpcfg set setting --key max_connections --value 10000
  httpcfg set setting --key health_url --value http://+:9181/healthz)");
  CLI::App* delete_cmd = app.add_subcommand("delete", "Undo a 'set'.");
  delete_cmd->require_subcommand(1);
  CLI::App* setting_delete = delete_cmd->add_subcommand(
      "setting", "Return a setting to the value httpapid was started with.");
  setting_delete->add_option("--key", options.key, "The setting")->required();
  setting_delete->footer(R"(EXAMPLE:
  httpcfg delete setting --key header_wait_seconds)");

  CLI::App* upgrade_cmd = app.add_subcommand(
      "upgrade",
      "Replace the running httpapid by a new binary without refusing a connection. The new "
      "process is started with the running one's options and takes over its listening "
      "sockets, its control socket and its registrations; the old one hands over or finishes "
      "its connections and exits, and applications reconnect by themselves. On failure the "
      "old one keeps serving and the reason is shown. Root only. See docs/operations.md.");
  upgrade_cmd->add_option("--binary", options.binary,
                          "The new httpapid (default: the running one's path, where a package "
                          "upgrade puts the new version)");
  upgrade_cmd->footer(R"(EXAMPLES:
  httpcfg upgrade
  httpcfg upgrade --binary /usr/local/sbin/httpapid)");
  // drain / resume (docs/operations.md)
  CLI::App* drain_cmd = app.add_subcommand(
      "drain",
      "Take this host out of service without losing a request (behind a load balancer). At "
      "once the health URL (setting health_url) answers 503 and every answer closes its "
      "connection (HTTP/2: GOAWAY), while requests are still served for the grace period so "
      "the balancer notices; then httpapid stops listening, lets the exchanges in flight "
      "finish, and closes the connections left after the timeout. Follow it with 'httpcfg "
      "show servicestate'; stop the service once it says drained. 'httpcfg resume' undoes a "
      "drain still in its grace period.");
  drain_cmd->add_option("--grace", options.grace,
                        "Seconds to go on serving after the health URL turns 503 (default 10)")
      ->option_text("S");
  drain_cmd->add_option("--timeout", options.timeout,
                        "Seconds the exchanges in flight have to finish once listening stopped "
                        "(default 30)")
      ->option_text("S");
  drain_cmd->footer(R"(EXAMPLES:
  httpcfg drain
  httpcfg drain --grace 5 --timeout 60
  httpcfg show servicestate --json | jq .drain)");
  CLI::App* resume_cmd = app.add_subcommand(
      "resume", "Cancel a drain still in its grace period: the health URL answers 200 again and "
                "connections stay open.");
  resume_cmd->footer(R"(EXAMPLE:
  httpcfg drain --grace 60
  httpcfg resume)");

  // export / import (docs/scale-out.md)
  CLI::App* export_cmd = app.add_subcommand(
      "export",
      "Write this host's state as JSON: URL reservations, the IP listen list, certificate "
      "bindings (with their private keys) and the stored settings. Import it on the other hosts "
      "behind the same load balancer to make them the same. Root only.");
  export_cmd->add_option("--file", options.file,
                         "Write it here, mode 0600 (default: standard output)")
      ->option_text("PATH");
  export_cmd->footer(R"(EXAMPLE:
  httpcfg export --file host-state.json)");
  CLI::App* import_cmd = app.add_subcommand(
      "import",
      "Make this host's state what an 'httpcfg export' document says: entries it lacks are "
      "deleted, the others added or updated, and the changes apply at once. Everything in "
      "the document is checked first; a document with any fault changes nothing. Root only.");
  import_cmd->add_option("--file", options.file, "The document ('-': standard input)")
      ->required()
      ->option_text("PATH (required)");
  import_cmd->footer(R"(EXAMPLES:
  httpcfg import --file host-state.json
  ssh web1 httpcfg export | httpcfg import --file -)");

  app.footer(kMainFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string where = "httpcfg";
    for (const CLI::App* level = &app; !level->get_subcommands().empty();) {
      level = level->get_subcommands().front();
      where += " " + level->get_name();
    }
    error_line(fmt::format("{}; run '{} --help' for usage", e.what(), where));
    return kExitUsage;
  }

  if (urlacl_add_cmd->parsed()) return urlacl_add(options);
  if (urlacl_delete->parsed()) {
    return change(options, httpcfg::urlacl_delete_command(options.url),
                  fmt::format("cannot delete the reservation for {}", options.url), options.url,
                  "URL reservation successfully deleted");
  }
  if (urlacl_show->parsed()) {
    return show(options, httpcfg::urlacl_show_command(), "cannot show the URL reservations",
                httpcfg::format_urlacl, options.url);
  }
  if (iplisten_add->parsed() || iplisten_delete->parsed()) {
    return iplisten_change(options, iplisten_add->parsed() ? "add" : "delete");
  }
  if (iplisten_show->parsed()) {
    return show(options, httpcfg::iplisten_show_command(), "cannot show the IP listen list",
                httpcfg::format_iplisten);
  }
  if (sslcert_add->parsed()) return sslcert_change(options, "add");
  if (sslcert_update->parsed()) return sslcert_change(options, "update");
  if (sslcert_delete->parsed() || sslcert_show->parsed()) {
    const bool del = sslcert_delete->parsed();
    if (!options.ipport.empty() && !options.hostnameport.empty()) {
      error_line("give one of --ipport and --hostnameport, not both");
      return kExitUsage;
    }
    if (del && options.ipport.empty() && options.hostnameport.empty()) {
      error_line("sslcert delete needs --ipport IP:PORT or --hostnameport NAME:PORT; e.g. "
                 "httpcfg sslcert delete --ipport 0.0.0.0:443");
      return kExitUsage;
    }
    const std::string endpoint = options.ipport.empty() ? options.hostnameport : options.ipport;
    const Json command = httpcfg::sslcert_endpoint_command(del ? "delete" : "show",
                                                           options.ipport, options.hostnameport);
    if (del) {
      return change(options, command,
                    fmt::format("cannot delete the certificate binding for {}", endpoint),
                    endpoint, "SSL certificate successfully deleted");
    }
    return show(options, command, "cannot show the certificate bindings",
                httpcfg::format_sslcert);
  }
  if (settings_show->parsed()) {
    return show(options, httpcfg::settings_command("show", "", ""), "cannot show the settings",
                httpcfg::format_settings);
  }
  if (setting_set->parsed()) {
    return change(options, httpcfg::settings_command("set", options.key, options.value),
                  fmt::format("cannot set {}", options.key), options.key,
                  "Setting successfully changed");
  }
  if (setting_delete->parsed()) {
    return change(options, httpcfg::settings_command("delete", options.key, ""),
                  fmt::format("cannot delete the setting {}", options.key), options.key,
                  "Setting successfully deleted");
  }
  if (servicestate->parsed()) {
    return show(options, httpcfg::servicestate_command(), "cannot show the service state",
                httpcfg::format_servicestate);
  }
  if (drain_cmd->parsed()) {
    for (const auto& [option, seconds] : {std::pair{"--grace", options.grace},
                                          std::pair{"--timeout", options.timeout}}) {
      if (const std::string problem = httpcfg::check_drain_seconds(option, seconds);
          !problem.empty()) {
        error_line(problem);
        return kExitUsage;
      }
    }
    return change(options, httpcfg::drain_command(options.grace, options.timeout),
                  "cannot drain the service", "",
                  "Draining: the health URL answers 503; see 'httpcfg show servicestate'");
  }
  if (resume_cmd->parsed()) {
    return change(options, httpcfg::resume_command(), "cannot resume the service", "",
                  "Drain cancelled: serving again");
  }
  if (export_cmd->parsed()) {
    std::string detail;
    if (int status = call_service(options, httpcfg::export_command(),
                                  "cannot export the host state", "", detail);
        status != kExitOk) {
      return status;
    }
    const Json document = Json::parse(detail, nullptr, /*allow_exceptions=*/false);
    const std::string text = (document.is_discarded() ? detail : document.dump(2)) + "\n";
    if (options.file.empty()) {
      print(text);
    } else if (const std::string problem = httpcfg::write_private_file(options.file, text);
               !problem.empty()) {
      error_line(problem);
      return kExitFailed;
    }
    return kExitOk;
  }
  if (import_cmd->parsed()) {
    Json document;
    if (const std::string problem = httpcfg::read_state_document(options.file, document);
        !problem.empty()) {
      error_line(problem);
      return kExitUsage;
    }
    std::string detail;
    if (int status = call_service(options, httpcfg::import_command(document),
                                  "cannot import the host state", "", detail);
        status != kExitOk) {
      return status;
    }
    const Json answer = Json::parse(detail, nullptr, /*allow_exceptions=*/false);
    print(httpcfg::format_import(answer.is_object() ? answer : Json::object()));
    return kExitOk;
  }
  if (cachestate->parsed()) {
    return show(options, httpcfg::cachestate_command(), "cannot show the response cache",
                httpcfg::format_cachestate);
  }
  if (upgrade_cmd->parsed()) {
    std::string detail;
    const int status = call_service(options, httpcfg::upgrade_command(options.binary),
                                    "cannot upgrade httpapid", options.binary, detail);
    if (status == kExitOk) print(httpcfg::format_upgrade(detail));
    return status;
  }
  error_line("no command given; run 'httpcfg --help'");
  return kExitUsage;
}
