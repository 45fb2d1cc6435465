#include "tls/endpoint.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

namespace httpapi::tls {
namespace {

constexpr std::size_t kMaxName = 253;
constexpr std::size_t kMaxLabel = 63;

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Splits "HOST:PORT" at the last colon (an IPv6 host is bracketed); "" or the reason.
std::string split(std::string_view text, std::string_view& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return fmt::format("'{}' has no port; write HOST:PORT, e.g. 0.0.0.0:443", text);
  }
  const std::string_view digits = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
      value > 65535) {
    return fmt::format("'{}' is not a port; give a number from 1 to 65535", digits);
  }
  host = text.substr(0, colon);
  port = static_cast<std::uint16_t>(value);
  return "";
}

std::string parse_address(std::string_view text, std::string& host) {
  std::string bare(text);
  const bool bracketed = bare.size() >= 2 && bare.front() == '[' && bare.back() == ']';
  if (bracketed) bare = bare.substr(1, bare.size() - 2);
  unsigned char buffer[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  if (!bracketed && inet_pton(AF_INET, bare.c_str(), buffer) == 1) {
    host = inet_ntop(AF_INET, buffer, out, sizeof out);
    return "";
  }
  if (bracketed && inet_pton(AF_INET6, bare.c_str(), buffer) == 1) {
    host = inet_ntop(AF_INET6, buffer, out, sizeof out);
    return "";
  }
  if (!bracketed && inet_pton(AF_INET6, bare.c_str(), buffer) == 1) {
    return fmt::format("'{0}' is an IPv6 address without brackets; write [{0}]:PORT", bare);
  }
  return fmt::format("'{}' is not an IP address; give an IPv4 address, an IPv6 one in brackets, "
                     "0.0.0.0 or [::] for any address (a host name goes with --hostnameport)",
                     text);
}

std::string parse_hostname(std::string_view text, std::string& host) {
  const std::string original(text);
  const auto refuse = [&](const std::string& why) {
    return fmt::format("'{}' is not a valid host name: {}", original, why);
  };
  if (text.empty()) return refuse("it is empty; give a DNS name such as www.example.com");
  if (text.size() > kMaxName) return refuse("it is longer than 253 characters");
  host.clear();
  std::size_t labels = 0;
  bool wildcard = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view label = text.substr(start, end - start);
    if (label.empty()) return refuse("it has an empty label (two dots, or a dot at an end)");
    if (label == "*" && labels == 0) {
      wildcard = true;
    } else {
      if (label.size() > kMaxLabel) return refuse("a label is longer than 63 characters");
      if (label.front() == '-' || label.back() == '-') {
        return refuse("a label begins or ends with '-'");
      }
      for (char c : label) {
        if (!is_label_char(lower(c))) {
          return refuse(c == '*' ? "'*' may only be the whole first label, as in *.example.com"
                                 : "only letters, digits, '-' and '.' may appear");
        }
      }
    }
    if (!host.empty()) host += '.';
    for (char c : label) host += lower(c);
    ++labels;
    start = end + 1;
  }
  if (wildcard && labels < 3) {
    return refuse("a wildcard needs at least two labels after '*.', as in *.example.com");
  }
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buffer) == 1) {
    return refuse("it is an IP address; bind an address with --ipport");
  }
  return "";
}

}  // namespace

std::string parse_endpoint(std::string_view text, CertBinding::Kind kind, std::string& host,
                           std::uint16_t& port) {
  std::string_view host_text;
  if (std::string error = split(text, host_text, port); !error.empty()) return error;
  return kind == CertBinding::Kind::ip_port ? parse_address(host_text, host)
                                            : parse_hostname(host_text, host);
}

std::string endpoint_text(const CertBinding& binding) {
  const bool v6 = binding.kind == CertBinding::Kind::ip_port &&
                  binding.host.find(':') != std::string::npos;
  return (v6 ? "[" + binding.host + "]" : binding.host) + ":" + std::to_string(binding.port);
}

bool is_any_address(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

}  // namespace httpapi::tls
