// Fuzzes parse_url_prefix and PrefixTable.
//
// The whole input, and each of its lines, is parsed as a prefix: parsing must never crash,
// and an accepted prefix's canonical text must parse to itself (idempotent
// canonicalisation). Lines are also a small script driving a table:
//   +<prefix>                       add (target = line number, group = line number % 3)
//   -<text>                         remove
//   !<digit>                        remove_group
//   ?<s|h> <port> <host> <ip> <path>   match; must agree with the naive router
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "naive_router.hpp"
#include "route/prefix_table.hpp"
#include "route/url_prefix.hpp"

namespace {

using namespace httpapi::route;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz_url_prefix: %s: \"%.*s\"\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void check_parse(std::string_view text) {
  UrlPrefix first;
  if (parse_url_prefix(text, first) != PrefixError::none) return;
  if (first.path.empty() || first.path.front() != '/' || first.path.back() != '/') {
    fail("accepted prefix with a bad path", text);
  }
  if (first.port == 0) fail("accepted port 0", text);
  UrlPrefix second;
  if (parse_url_prefix(first.text, second) != PrefixError::none) {
    fail("canonical text does not parse", first.text);
  }
  if (second.text != first.text || second.host != first.host || second.path != first.path ||
      second.port != first.port || second.secure != first.secure ||
      second.host_kind != first.host_kind) {
    fail("canonicalisation is not idempotent", text);
  }
}

// Splits off the next space-separated field.
std::string_view next_field(std::string_view& rest) {
  const std::size_t sp = rest.find(' ');
  const std::string_view field = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  return field;
}

std::uint16_t to_port(std::string_view s) {
  unsigned value = 0;
  for (char c : s) value = value * 10 + static_cast<unsigned char>(c) % 10;
  return static_cast<std::uint16_t>(value);
}

void check_match(const PrefixTable& table, std::string_view line) {
  std::string_view rest = line;
  const bool secure = next_field(rest) == "s";
  const std::uint16_t port = to_port(next_field(rest));
  const std::string_view host = next_field(rest);
  const std::string_view ip = next_field(rest);
  const std::string_view path = rest;
  const Match got = table.match(secure, port, host, ip, path);
  const Match want =
      httpapi::route::testing::naive_match(table.entries(), secure, port, host, ip, path);
  if (got.kind != want.kind) fail("match kind differs from the naive router", line);
  if (got.kind != MatchKind::found) return;
  if (got.prefix != want.prefix || got.ip_routed != want.ip_routed ||
      got.target.queue_id != want.target.queue_id) {
    fail("match differs from the naive router", line);
  }
}

void run_line(PrefixTable& table, std::string_view line, std::uint64_t number) {
  check_parse(line);
  if (line.empty()) return;
  const std::string_view arg = line.substr(1);
  switch (line.front()) {
    case '+': {
      UrlPrefix p;
      if (parse_url_prefix(arg, p) == PrefixError::none) {
        table.add(p, Target{number, number, number % 3});
      }
      break;
    }
    case '-':
      table.remove(arg);
      break;
    case '!':
      table.remove_group(arg.empty() ? 0 : static_cast<unsigned char>(arg.front()) % 3);
      break;
    case '?':
      check_match(table, arg);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_parse(input);
  PrefixTable table;
  std::string_view rest = input;
  std::uint64_t number = 1;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    run_line(table, rest.substr(0, nl), number++);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  return 0;
}
