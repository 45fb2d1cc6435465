#include "http1/header_id.hpp"

#include <array>

#include "http1/syntax.hpp"

namespace httpapi::http1 {
namespace {

constexpr std::array<std::string_view, known_request_header_count> k_names = {
    "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma", "Trailer",
    "Transfer-Encoding", "Upgrade", "Via", "Warning", "Allow", "Content-Length",
    "Content-Type", "Content-Encoding", "Content-Language", "Content-Location", "Content-MD5",
    "Content-Range", "Expires", "Last-Modified", "Accept", "Accept-Charset", "Accept-Encoding",
    "Accept-Language", "Authorization", "Cookie", "Expect", "From", "Host", "If-Match",
    "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Max-Forwards",
    "Proxy-Authorization", "Referer", "Range", "TE", "Translate", "User-Agent",
};

// Lookup is a hash on (length, first char, last char) into a small open-addressed table,
// then one case-insensitive compare: every request runs this for every header line, and
// the 41 names are distinct under this key except for a few collisions that probing
// resolves.
constexpr std::size_t k_slots = 128;

constexpr std::size_t slot_of(std::string_view name) noexcept {
  const auto first = static_cast<std::size_t>(syntax::to_lower(name.front()));
  const auto last = static_cast<std::size_t>(syntax::to_lower(name.back()));
  return (name.size() * 31 + first * 7 + last) % k_slots;
}

constexpr std::array<std::int8_t, k_slots> make_slots() {
  std::array<std::int8_t, k_slots> slots{};
  for (auto& s : slots) s = -1;
  for (std::size_t id = 0; id < k_names.size(); ++id) {
    std::size_t slot = slot_of(k_names[id]);
    while (slots[slot] != -1) slot = (slot + 1) % k_slots;
    slots[slot] = static_cast<std::int8_t>(id);
  }
  return slots;
}

constexpr std::array<std::int8_t, k_slots> k_slot_table = make_slots();

}  // namespace

int known_request_header(std::string_view name) noexcept {
  if (name.empty() || name.size() > 19) return -1;  // longest known name is 19 bytes
  for (std::size_t slot = slot_of(name);; slot = (slot + 1) % k_slots) {
    const int id = k_slot_table[slot];
    if (id < 0) return -1;
    if (syntax::iequals(k_names[static_cast<std::size_t>(id)], name)) return id;
  }
}

std::string_view known_request_header_name(int id) noexcept {
  if (id < 0 || id >= known_request_header_count) return {};
  return k_names[static_cast<std::size_t>(id)];
}

HeaderMerge header_merge_rule(int id) noexcept {
  switch (static_cast<HeaderId>(id)) {
    // Fields defined as comma-separated lists: joining repeats is lossless (RFC 9110 §5.3).
    case HeaderId::cache_control:
    case HeaderId::connection:
    case HeaderId::keep_alive:
    case HeaderId::pragma:
    case HeaderId::trailer:
    case HeaderId::transfer_encoding:
    case HeaderId::upgrade:
    case HeaderId::via:
    case HeaderId::warning:
    case HeaderId::allow:
    case HeaderId::content_encoding:
    case HeaderId::content_language:
    case HeaderId::accept:
    case HeaderId::accept_charset:
    case HeaderId::accept_encoding:
    case HeaderId::accept_language:
    case HeaderId::expect:
    case HeaderId::if_match:
    case HeaderId::if_none_match:
    case HeaderId::te:
      return HeaderMerge::comma;
    case HeaderId::cookie:
      return HeaderMerge::semicolon;
    // Singletons: a second value cannot be combined with the first without changing its
    // meaning (dates, lengths, credentials, a single URI or product string).
    case HeaderId::date:
    case HeaderId::content_length:
    case HeaderId::content_type:
    case HeaderId::content_location:
    case HeaderId::content_md5:
    case HeaderId::content_range:
    case HeaderId::expires:
    case HeaderId::last_modified:
    case HeaderId::authorization:
    case HeaderId::from:
    case HeaderId::host:
    case HeaderId::if_modified_since:
    case HeaderId::if_range:
    case HeaderId::if_unmodified_since:
    case HeaderId::max_forwards:
    case HeaderId::proxy_authorization:
    case HeaderId::referer:
    case HeaderId::range:
    case HeaderId::translate:
    case HeaderId::user_agent:
      return HeaderMerge::first;
  }
  return HeaderMerge::comma;  // unknown headers: A033, joined with ", "
}

bool merges_with_comma(int id) noexcept { return header_merge_rule(id) == HeaderMerge::comma; }

}  // namespace httpapi::http1
