// Fuzzes parse_header: the whole input and the same input in two calls (split at a
// data-derived point, the daemon's keep-and-append pattern; the first call on its own heap
// copy so a view that wrongly survives it is caught) must agree; an incomplete answer never
// comes for a prefix that holds a whole header; views lie inside the input; a complete
// header consumed no more than it was given.
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "proxy/header_parser.hpp"

using namespace httpapi::proxy;
using httpapi::fuzz::inside;

namespace {

void check_views(std::string_view in, const Tlvs& t) {
  for (std::string_view v : {t.alpn, t.authority, t.ssl_version, t.ssl_cn, t.ssl_cipher,
                             t.ssl_sig_alg, t.ssl_key_alg}) {
    FUZZ_CHECK(inside(in, v));
  }
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // A small limit now and then, so the too_long paths are reached.
  const Limits limits{size > 0 && data[0] % 4 == 0 ? std::size_t{64} : std::size_t{4096}};

  Header whole;
  const Result w = parse_header(in, limits, whole);
  if (w.status == Status::complete) {
    FUZZ_CHECK(w.consumed > 0 && w.consumed <= in.size());
    FUZZ_CHECK(whole.version == 1 || whole.version == 2);
    check_views(in, whole.tlvs);
    // The header alone parses the same.
    Header alone;
    const Result a = parse_header(in.substr(0, w.consumed), limits, alone);
    FUZZ_CHECK(a.status == Status::complete && a.consumed == w.consumed);
  } else {
    FUZZ_CHECK(w.consumed == 0);
  }

  const std::size_t cut = httpapi::fuzz::split_point(in);
  std::vector<char> first(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut));
  Header split;
  Result s = parse_header(std::string_view(first.data(), first.size()), limits, split);
  if (s.status == Status::complete) {
    // Complete on a prefix: the whole input must have found the same header.
    FUZZ_CHECK(w.status == Status::complete && s.consumed == w.consumed);
    check_views(std::string_view(first.data(), first.size()), split.tlvs);
  } else if (s.status == Status::error) {
    FUZZ_CHECK(w.status == Status::error && w.error == s.error);
  } else {
    // Incomplete: every byte given is header, so the header cannot end inside them.
    FUZZ_CHECK(w.status != Status::complete || w.consumed > cut);
    s = parse_header(in, limits, split);
    FUZZ_CHECK(s.status == w.status && s.error == w.error && s.consumed == w.consumed);
    if (s.status == Status::complete) {
      FUZZ_CHECK(split.proxied == whole.proxied && split.version == whole.version);
      FUZZ_CHECK(!whole.proxied || (same_address(split.source, whole.source) &&
                                    same_address(split.destination, whole.destination)));
      FUZZ_CHECK(split.tlvs.alpn == whole.tlvs.alpn && split.tlvs.ssl_cn == whole.tlvs.ssl_cn);
    }
  }
  (void)looks_like_header(in);
  return 0;
}
