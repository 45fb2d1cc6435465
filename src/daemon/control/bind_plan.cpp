#include "daemon/control/bind_plan.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace httpapi::daemon {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// "http://+:8080/ needs" or "http://+:8080/ and 2 more need": the line stays short with many.
std::string who_needs(const std::vector<std::string>& wide) {
  if (wide.size() == 1) return wide.front() + " needs";
  return fmt::format("{} and {} more need", wide.front(), wide.size() - 1);
}

BindPlan exact_plan(const std::map<std::string, std::vector<std::string>>& literals) {
  BindPlan plan;
  plan.exact = true;
  plan.why = "every registration names an IP address: only those are bound";
  for (const auto& [address, names] : literals) {
    plan.addresses.push_back({address, names, fmt::format("named by {}", join(names))});
  }
  return plan;
}

}  // namespace

bool reaches(const std::string& wide, const std::string& address) {
  if (wide.empty() || wide == address) return true;
  const bool v6 = address.find(':') != std::string::npos;
  if (wide == "0.0.0.0") return !v6;
  if (wide == "::") return v6;
  return false;
}

std::string bind_address_text(const std::string& address, unsigned port) {
  if (address.empty()) return fmt::format("*:{}", port);
  if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}:{}", address, port);
}

BindPlan plan_binding(const std::vector<route::UrlPrefix>& registrations,
                      const std::vector<std::string>& listen_list) {
  std::map<std::string, std::vector<std::string>> literals;  // address -> registrations
  std::vector<std::string> wide;
  for (const route::UrlPrefix& prefix : registrations) {
    if (prefix.host_kind == route::HostKind::ip_literal) {
      literals[prefix.host].push_back(prefix.text);
    } else {
      wide.push_back(prefix.text);
    }
  }
  if (wide.empty()) return exact_plan(literals);

  BindPlan plan;
  plan.wide = wide;
  std::vector<std::string> wide_addresses = listen_list;
  std::sort(wide_addresses.begin(), wide_addresses.end());
  wide_addresses.erase(std::unique(wide_addresses.begin(), wide_addresses.end()),
                       wide_addresses.end());
  std::map<std::string, BindAddress> bound;
  if (wide_addresses.empty()) {
    plan.why = fmt::format("{} more than IP addresses; the IP listen list is empty: every "
                           "address", who_needs(wide));
    wide_addresses.push_back("");
    bound[""] = {"", {}, "every address (the IP listen list is empty)"};
  } else {
    plan.why = fmt::format("{} more than IP addresses: the IP listen list's addresses",
                           who_needs(wide));
    for (const std::string& address : wide_addresses) {
      bound[address] = {address, {}, "in the IP listen list"};
    }
  }
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  for (const auto& literal : literals) {
    const std::string& address = literal.first;
    const std::vector<std::string>& names = literal.second;
    const auto reaching = std::find_if(wide_addresses.begin(), wide_addresses.end(),
                                       [&](const std::string& w) { return reaches(w, address); });
    if (reaching == wide_addresses.end()) {
      plan.unbound.insert(plan.unbound.end(), names.begin(), names.end());
      continue;
    }
    BindAddress& entry = bound[address];
    entry.address = address;
    entry.registrations = names;
    if (!entry.why.empty()) {  // the listen list names it too
      entry.why += fmt::format("; named by {}", join(names));
      continue;
    }
    entry.why = fmt::format("named by {}; bound besides {} so that the port can go back to IP "
                            "addresses only without refusing a connection",
                            join(names), reaching->empty() ? std::string("every address")
                                                           : *reaching);
  }
  for (auto& [address, entry] : bound) plan.addresses.push_back(std::move(entry));
  return plan;
}

}  // namespace httpapi::daemon
