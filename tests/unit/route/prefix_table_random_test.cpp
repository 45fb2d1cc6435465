// Differential test: random registrations, removals and requests drawn from a small
// vocabulary (so that they collide often), PrefixTable against the naive router.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "naive_router.hpp"
#include "route/prefix_table.hpp"

namespace httpapi::route {
namespace {

template <typename T, std::size_t N>
const T& pick(std::mt19937& rng, const T (&items)[N]) {
  return items[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng)];
}

std::string random_case(std::mt19937& rng, std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z' && rng() % 4 == 0) c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string random_path(std::mt19937& rng, bool prefix) {
  static const char* const kSegments[] = {"a", "b", "ab", "A", "c.d", "x"};
  std::string path = "/";
  const unsigned depth = rng() % 4;
  for (unsigned i = 0; i < depth; ++i) {
    path += pick(rng, kSegments);
    if (prefix || i + 1 < depth || rng() % 2 == 0) path += '/';
  }
  return path;
}

std::string random_prefix(std::mt19937& rng) {
  static const char* const kHosts[] = {"+", "*", "a.example", "B.example", "127.0.0.1",
                                       "[::1]", "10.0.0.1", "[::ffff:10.0.0.2]"};
  static const char* const kPorts[] = {"80", "81", "443"};
  const std::string scheme = rng() % 5 == 0 ? "https://" : "http://";
  return scheme + pick(rng, kHosts) + ":" + pick(rng, kPorts) + random_path(rng, true);
}

void expect_same(const Match& got, const Match& want, const std::string& what) {
  ASSERT_EQ(got.kind, want.kind) << what;
  if (want.kind != MatchKind::found) return;
  EXPECT_EQ(got.prefix, want.prefix) << what;
  EXPECT_EQ(got.target.queue_id, want.target.queue_id) << what;
  EXPECT_EQ(got.ip_routed, want.ip_routed) << what;
}

TEST(PrefixTableRandom, AgreesWithNaiveRouter) {
  static const char* const kRequestHosts[] = {"a.example", "b.example", "c.example",
                                              "127.0.0.1", "[::1]", "localhost"};
  static const char* const kLocalIps[] = {"127.0.0.1", "::1", "::ffff:127.0.0.1", "10.0.0.1",
                                          "10.0.0.2", "::ffff:10.0.0.2", "192.168.1.1", ""};
  static const std::uint16_t kPorts[] = {80, 81, 443, 8080};
  std::mt19937 rng(20240601);
  for (int round = 0; round < 200; ++round) {
    PrefixTable table;
    const int ops = 1 + static_cast<int>(rng() % 40);
    for (int op = 0; op < ops; ++op) {
      const std::string text = random_prefix(rng);
      UrlPrefix p;
      ASSERT_EQ(parse_url_prefix(text, p), PrefixError::none) << text;
      if (rng() % 6 == 0) {
        table.remove(p.text);
      } else {
        table.add(p, Target{static_cast<std::uint64_t>(op + 1), 0, rng() % 3});
      }
      if (rng() % 20 == 0) table.remove_group(rng() % 3);
    }
    for (int q = 0; q < 100; ++q) {
      const bool secure = rng() % 4 == 0;
      const std::uint16_t port = pick(rng, kPorts);
      const std::string host = random_case(rng, pick(rng, kRequestHosts));
      const std::string local_ip = pick(rng, kLocalIps);
      const std::string path = random_case(rng, random_path(rng, false));
      const std::string what = std::to_string(port) + " " + host + " " + local_ip + " " + path;
      expect_same(table.match(secure, port, host, local_ip, path),
                  testing::naive_match(table.entries(), secure, port, host, local_ip, path),
                  what);
    }
  }
}

}  // namespace
}  // namespace httpapi::route
