#include "daemon/control/cert_binding_json.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tls/certificate.hpp"
#include "tls/endpoint.hpp"

namespace httpapi::daemon {
namespace {

using json = nlohmann::json;

// A string field, or "" when it is absent; false when it is there but not a string.
bool optional_text(const json& command, const char* key, std::string& out) {
  const auto it = command.find(key);
  if (it == command.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool optional_flag(const json& command, const char* key, bool& out) {
  const auto it = command.find(key);
  if (it == command.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

// The certificates array: one or two {"certificate": PEM, "key": PEM}, each checked, of
// different key families.
std::string read_certificates(const json& command, std::int64_t now_unix,
                              tls::CertBinding& binding) {
  const auto it = command.find("certificates");
  if (it == command.end() || !it->is_array() || it->empty() || it->size() > 2) {
    return "a binding holds one or two certificates, each with its key (--cert FILE --key "
           "FILE, given twice for an RSA and an ECDSA one)";
  }
  std::string first_family;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    tls::CertKeyPair pair;
    if (!item.is_object() || !optional_text(item, "certificate", pair.certificate_pem) ||
        !optional_text(item, "key", pair.key_pem)) {
      return "each certificate is an object with \"certificate\" and \"key\" PEM strings";
    }
    const std::string which = it->size() == 1 ? "" : (i == 0 ? "first pair: " : "second pair: ");
    tls::CertificateInfo info;
    if (std::string reason = tls::check_pair(pair, now_unix, info); !reason.empty()) {
      return which + reason;
    }
    const std::string family = tls::key_family(info);
    if (i == 0) {
      first_family = family;
    } else if (family == first_family) {
      return "both certificates have " + family +
             " keys; a binding may hold one RSA and one ECDSA certificate (the client gets the "
             "one it supports), so give one of each or only one";
    }
    binding.certificates.push_back(std::move(pair));
  }
  return "";
}

std::string read_options(const json& command, tls::CertBinding& binding) {
  std::string mode = "none";
  if (!optional_text(command, "client_cert", mode)) return "client_cert must be a string";
  if (mode == "none") {
    binding.client_cert = tls::ClientCertMode::none;
  } else if (mode == "request") {
    binding.client_cert = tls::ClientCertMode::request;
  } else if (mode == "require") {
    binding.client_cert = tls::ClientCertMode::require;
  } else {
    return fmt::format("'{}' is not a client certificate mode; give none, request or require",
                       mode);
  }
  if (!optional_text(command, "ca", binding.ca_pem)) return "ca must be a PEM string";
  if (binding.client_cert != tls::ClientCertMode::none && binding.ca_pem.empty()) {
    return "--clientcert " + mode +
           " needs --ca FILE: the certificates of the issuers whose client certificates are "
           "trusted";
  }
  if (!binding.ca_pem.empty()) {
    int count = 0;
    if (std::string reason = tls::check_ca(binding.ca_pem, count); !reason.empty()) {
      return reason;
    }
  }
  std::string min_tls = "1.2";
  if (!optional_text(command, "min_tls", min_tls) || (min_tls != "1.2" && min_tls != "1.3")) {
    return "the minimum TLS version is 1.2 or 1.3 (older versions are never offered)";
  }
  binding.min_tls = min_tls == "1.3" ? tls::MinTls::v1_3 : tls::MinTls::v1_2;
  if (!optional_flag(command, "disable_http2", binding.disable_http2) ||
      !optional_flag(command, "disable_session_id", binding.disable_session_id)) {
    return "disable_http2 and disable_session_id are true or false";
  }
  return "";
}

const char* client_cert_text(tls::ClientCertMode mode) {
  switch (mode) {
    case tls::ClientCertMode::request: return "request";
    case tls::ClientCertMode::require: return "require";
    default: return "none";
  }
}

}  // namespace

std::string endpoint_from_command(const json& command, tls::CertBinding& binding) {
  std::string ipport;
  std::string hostnameport;
  if (!optional_text(command, "ipport", ipport) ||
      !optional_text(command, "hostnameport", hostnameport) ||
      ipport.empty() == hostnameport.empty()) {
    return "give exactly one of --ipport IP:PORT and --hostnameport NAME:PORT";
  }
  binding.kind = ipport.empty() ? tls::CertBinding::Kind::hostname_port
                                : tls::CertBinding::Kind::ip_port;
  return tls::parse_endpoint(ipport.empty() ? hostnameport : ipport, binding.kind, binding.host,
                             binding.port);
}

std::string binding_from_command(const json& command, std::int64_t now_unix,
                                 tls::CertBinding& binding) {
  binding = {};
  if (std::string reason = endpoint_from_command(command, binding); !reason.empty()) {
    return reason;
  }
  if (std::string reason = read_options(command, binding); !reason.empty()) return reason;
  return read_certificates(command, now_unix, binding);
}

json describe_binding(const tls::CertBinding& binding) {
  json certificates = json::array();
  for (const tls::CertKeyPair& pair : binding.certificates) {
    tls::CertificateInfo info;
    if (std::string reason = tls::describe_certificate(pair.certificate_pem, info);
        !reason.empty()) {
      certificates.push_back({{"error", reason}});
      continue;
    }
    certificates.push_back({{"subject", info.subject},
                            {"issuer", info.issuer},
                            {"dns_names", info.dns_names},
                            {"not_before", info.not_before},
                            {"not_after", info.not_after},
                            {"sha256", info.sha256},
                            {"key_type", info.key_type},
                            {"chain_length", info.chain_length}});
  }
  int ca_count = 0;
  if (!binding.ca_pem.empty()) tls::check_ca(binding.ca_pem, ca_count);
  return {{"endpoint", tls::endpoint_text(binding)},
          {"kind", binding.kind == tls::CertBinding::Kind::ip_port ? "ipport" : "hostnameport"},
          {"certificates", certificates},
          {"client_cert", client_cert_text(binding.client_cert)},
          {"ca_certificates", ca_count},
          {"min_tls", binding.min_tls == tls::MinTls::v1_3 ? "1.3" : "1.2"},
          {"disable_http2", binding.disable_http2},
          {"disable_session_id", binding.disable_session_id}};
}

}  // namespace httpapi::daemon
