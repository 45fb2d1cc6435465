#include "tls/binding_selector.hpp"

#include <algorithm>
#include <cctype>

namespace httpapi::tls {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "*.example.com" covers "a.example.com": one label, not none, not two.
bool wildcard_covers(std::string_view pattern, std::string_view name) {
  if (pattern.size() < 3 || pattern.substr(0, 2) != "*.") return false;
  const std::size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  return iequals(name.substr(dot + 1), pattern.substr(2));
}

const CertBinding* find(std::span<const CertBinding> bindings, auto&& matches) {
  const auto it = std::find_if(bindings.begin(), bindings.end(), matches);
  return it == bindings.end() ? nullptr : &*it;
}

}  // namespace

const CertBinding* select_binding(std::span<const CertBinding> bindings, std::string_view sni,
                                  std::string_view local_ip, std::uint16_t port) {
  using Kind = CertBinding::Kind;
  if (local_ip.substr(0, 7) == "::ffff:" && local_ip.find('.') != std::string_view::npos) {
    local_ip.remove_prefix(7);
  }
  if (!sni.empty()) {
    if (auto* b = find(bindings, [&](const CertBinding& c) {
          return c.kind == Kind::hostname_port && c.port == port && iequals(c.host, sni);
        })) {
      return b;
    }
    if (auto* b = find(bindings, [&](const CertBinding& c) {
          return c.kind == Kind::hostname_port && c.port == port && wildcard_covers(c.host, sni);
        })) {
      return b;
    }
  }
  if (auto* b = find(bindings, [&](const CertBinding& c) {
        return c.kind == Kind::ip_port && c.port == port && c.host == local_ip;
      })) {
    return b;
  }
  return find(bindings, [&](const CertBinding& c) {
    return c.kind == Kind::ip_port && c.port == port && (c.host == "0.0.0.0" || c.host == "::");
  });
}

}  // namespace httpapi::tls
