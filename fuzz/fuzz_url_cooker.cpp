// Fuzzes cook_url: never writes outside `out` (the buffer is exactly the documented
// capacity), every view lies inside it, the cooked path is canonical, and cooking a
// canonical path again changes nothing.
#include <vector>

#include "fuzz_support.hpp"
#include "http1/url_cooker.hpp"

using namespace httpapi::http1;
using httpapi::fuzz::inside;

namespace {

bool canonical(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.find("//") != std::string_view::npos || path.find('\\') != std::string_view::npos) return false;
  std::size_t at = 1;
  while (at <= path.size()) {
    const std::size_t end = std::min(path.find('/', at), path.size());
    const std::string_view seg = path.substr(at, end - at);
    if (seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
    }
    at = end + 1;
  }
  return true;
}

bool plain_ascii(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7F || c == '%' || c == '?' || c == '#') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto form = static_cast<TargetForm>(data[0] % 4);
  Limits limits;
  if (data[0] & 4) {
    limits.url_segment_max_length = data[1] % 8;
    limits.url_segment_max_count = data[1] / 32;
  }
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  // The host is a data-derived prefix of the rest, the target what follows.
  const std::size_t cut = std::min<std::size_t>(data[1] % 24, rest.size());
  const std::string_view host = rest.substr(0, cut);
  const std::string_view target = rest.substr(cut);
  const bool secure = data[0] & 8;

  std::vector<char> out(cooked_url_capacity(target, host));
  CookedUrl url;
  const Error e = cook_url(target, form, host, "2001:db8::1", 8443, secure, limits, out, url);
  if (e != Error::none) {
    FUZZ_CHECK(e == Error::invalid_url || e == Error::url_too_long || e == Error::invalid_hostname);
    return 0;
  }
  const std::string_view all(out.data(), out.size());
  FUZZ_CHECK(inside(all, url.full) && inside(all, url.host) && inside(all, url.path) &&
             inside(all, url.query));
  FUZZ_CHECK(url.full.data() == out.data());
  FUZZ_CHECK(url.full.starts_with(secure ? "https://" : "http://"));
  FUZZ_CHECK(url.port == 8443);
  FUZZ_CHECK(canonical(url.path));
  for (char c : url.host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));

  // Idempotence: a canonical, escape-free path cooks to itself.
  if (plain_ascii(url.path)) {
    std::vector<char> again(cooked_url_capacity(url.path, url.host));
    CookedUrl url2;
    FUZZ_CHECK(cook_url(url.path, TargetForm::origin, url.host, "", 8443, secure, limits, again,
                        url2) == Error::none);
    FUZZ_CHECK(url2.path == url.path && url2.host == url.host);
  }
  return 0;
}
