// What httpcfg sends and how it shows what comes back: the JSON commands of the admin
// protocol (docs/protocol.md, docs/httpcfg.md), user and group names, and the human output.
// Pure functions apart from the passwd/group look-ups, so they are easy to test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace httpcfg {

using Json = nlohmann::ordered_json;

struct Identity {
  enum class Kind : std::uint8_t { user, group };
  Kind kind = Kind::user;
  std::uint32_t id = 0;
};

// A user or group given on the command line: a name from the passwd/group database, or a
// numeric id. nullopt when it is neither.
std::optional<std::uint32_t> resolve_user(const std::string& text);
std::optional<std::uint32_t> resolve_group(const std::string& text);
// "alice (1001)", or "uid 1001" when the id has no name here.
std::string describe(Identity::Kind kind, std::uint32_t id);

// The JSON commands.
Json urlacl_add_command(const std::string& url, const std::vector<Identity>& acl,
                        bool delegate);
Json urlacl_delete_command(const std::string& url);
Json urlacl_show_command();
Json iplisten_command(const std::string& verb, const std::string& address);  // add|delete
// An IP:PORT entry of the IP listen list: add with the PROXY protocol and its trusted
// networks, or delete (docs/proxy-protocol.md).
Json iplisten_endpoint_command(const std::string& verb, const std::string& ipport,
                               bool proxy_protocol, const std::string& trusted);
Json iplisten_show_command();
Json servicestate_command();
Json cachestate_command();
Json settings_command(const std::string& verb, const std::string& key,
                      const std::string& value);  // set|delete|show

// A certificate binding as sslcert add/update sends it: the PEM text of the files httpcfg
// read (the service never reads the administrator's files), the options as given.
struct SslcertBinding {
  std::string ipport;        // exactly one of ipport and hostnameport
  std::string hostnameport;
  struct Pair {
    std::string certificate_pem;
    std::string key_pem;
  };
  std::vector<Pair> certificates;
  std::string client_cert;   // "" when not given: the service's default (none)
  std::string ca_pem;
  std::string min_tls;       // "" when not given: 1.2
  bool disable_http2 = false;
  bool disable_session_id = false;
};
Json sslcert_command(const std::string& verb, const SslcertBinding& binding);  // add|update
// delete, or show (both endpoints empty: every binding).
Json sslcert_endpoint_command(const std::string& verb, const std::string& ipport,
                              const std::string& hostnameport);

// Keeps only the reservation whose URL equals `url` (compared case-insensitively, as
// routing does). Returns false when there is none.
bool filter_reservations(Json& reservations_answer, const std::string& url);

// Human output of the show commands, from the service's JSON answer. Missing fields are
// shown as absent, never make them fail.
std::string format_urlacl(const Json& answer);
std::string format_iplisten(const Json& answer);
std::string format_servicestate(const Json& answer);
std::string format_cachestate(const Json& answer);
std::string format_settings(const Json& answer);
std::string format_sslcert(const Json& answer);

// The text of an httpapi_error value ("access denied"), and the advice for a failed command.
std::string status_text(std::uint32_t status);
std::string advice(const std::string& command, std::uint32_t status, const std::string& subject);

}  // namespace httpcfg
