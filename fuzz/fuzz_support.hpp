// Shared helpers for the http1 fuzzers: invariant checks that abort (libFuzzer reports the
// input), and a split position derived from the data so segmentation is fuzzed too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

namespace httpapi::fuzz {

inline bool inside(std::string_view outer, std::string_view inner) {
  return inner.empty() ||
         (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

// A position in [0, size] that depends on all of the data, so mutations move it around.
inline std::size_t split_point(std::string_view data) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : data) h = (h ^ c) * 16777619u;
  return data.empty() ? 0 : h % (data.size() + 1);
}

}  // namespace httpapi::fuzz
