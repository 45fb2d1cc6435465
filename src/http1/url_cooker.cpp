// Cooked URL construction (docs/urls.md). The path is decoded into `out` first and then
// canonicalized in place: HTTP.sys resolves "%2e%2e" and "%2F" like their literal forms
// (A015, A016), so decoding must come before slash collapsing and dot removal, and the
// canonical form can only shrink, which is what makes the in-place rewrite safe.
#include "http1/url_cooker.hpp"

#include <cstring>

#include "http1/syntax.hpp"

namespace httpapi::http1 {
namespace {

// A bounded writer over `out`: every write checks room, so nothing lands past out.size().
struct Writer {
  std::span<char> out;
  std::size_t pos = 0;
  bool overflow = false;

  void put(char c) noexcept {
    if (pos == out.size()) {
      overflow = true;
      return;
    }
    out[pos++] = c;
  }
  void put(std::string_view s) noexcept {
    if (out.size() - pos < s.size()) {
      overflow = true;
      s = s.substr(0, out.size() - pos);
    }
    if (!s.empty()) std::memcpy(out.data() + pos, s.data(), s.size());
    pos += s.size();
  }
  std::string_view view(std::size_t from) const noexcept {
    return {out.data() + from, pos - from};
  }
};

struct TargetParts {
  std::string_view authority;  // from the target itself (absolute-form, authority-form)
  std::string_view path;       // raw path, empty when the form has none
  std::string_view query;      // raw, without '?'
};

Error split_target(std::string_view target, TargetForm form, TargetParts& parts) noexcept {
  if (target.empty() || target.find('#') != std::string_view::npos ||
      !syntax::all_of(target, syntax::k_target)) {
    return Error::invalid_url;
  }
  std::string_view rest = target;
  switch (form) {
    case TargetForm::origin:
      if (target.front() != '/') return Error::invalid_url;
      break;
    case TargetForm::absolute: {
      const std::size_t sep = target.find("://");
      if (sep == std::string_view::npos) return Error::invalid_url;
      rest = target.substr(sep + 3);
      const std::size_t end = rest.find_first_of("/?");
      parts.authority = rest.substr(0, end);
      if (parts.authority.empty()) return Error::invalid_hostname;
      rest.remove_prefix(parts.authority.size());
      break;
    }
    case TargetForm::asterisk:
      if (target != "*") return Error::invalid_url;
      return Error::none;  // path "/" (docs/urls.md): the raw URL still says "*"
    case TargetForm::authority:
      parts.authority = target;
      return Error::none;
  }
  const std::size_t q = rest.find('?');
  parts.path = rest.substr(0, q);
  if (q != std::string_view::npos) parts.query = rest.substr(q + 1);
  return Error::none;
}

// Writes the lower-cased host (without port) and validates it; IPv6 local addresses get
// their brackets here.
Error write_host(std::string_view authority, std::string_view local_address, Writer& w) noexcept {
  const std::size_t start = w.pos;
  if (authority.empty()) {
    const bool bare_v6 = local_address.find(':') != std::string_view::npos &&
                         !local_address.starts_with('[');
    if (bare_v6) w.put('[');
    w.put(local_address);
    if (bare_v6) w.put(']');
    if (w.overflow) return Error::invalid_url;
    authority = w.view(start);
  }
  syntax::Authority parts;
  if (!syntax::split_authority(authority, parts)) return Error::invalid_hostname;
  w.pos = start;
  for (char c : parts.host) w.put(syntax::to_lower(c));
  return w.overflow ? Error::invalid_url : Error::none;
}

void write_port(std::uint16_t port, Writer& w) noexcept {
  char digits[5];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + port % 10);
    port = static_cast<std::uint16_t>(port / 10);
  } while (port != 0);
  while (n > 0) w.put(digits[--n]);
}

// Percent-decodes `raw` into the writer, '\' becoming '/'. Bad escapes and decoded
// control characters are invalid (HTTP.sys AllowRestrictedChars=0).
Error decode_path(std::string_view raw, Writer& w) noexcept {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (raw.size() - i < 3) return Error::invalid_url;  // "%", "%4" at the end
      const int hi = syntax::hex_value(raw[i + 1]);
      const int lo = syntax::hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return Error::invalid_url;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\\') c = '/';  // raw or escaped (%5C): a separator either way (A015)
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return Error::invalid_url;
    w.put(c);
  }
  return w.overflow ? Error::invalid_url : Error::none;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80;  // allowed range of the second byte
    unsigned hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // overlong
      if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // overlong
      if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 overlong lead, or F5-FF
    }
    if (s.size() - i < len) return false;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < 0x80 || b > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

// Collapses '/' runs and removes "." and ".." segments (never above the root) in place
// over p[0, n), which starts with '/'. Returns the new length (at least 1: "/").
std::size_t canonicalize(char* p, std::size_t n) noexcept {
  std::size_t r = 0;
  std::size_t w = 0;  // output is a sequence of "/segment", trailing '/' added at the end
  bool trailing_slash = false;
  while (r < n) {
    while (r < n && p[r] == '/') ++r;
    if (r == n) {
      trailing_slash = true;
      break;
    }
    const std::size_t start = r;
    while (r < n && p[r] != '/') ++r;
    const std::string_view segment(p + start, r - start);
    if (segment == "." || segment == "..") {
      if (segment == "..") {
        while (w > 0 && p[w - 1] != '/') --w;  // drop the last segment's text...
        if (w > 0) --w;                         // ...and its '/'; at the root: nothing
      }
      trailing_slash = r == n;  // "/a/." and "/a/b/.." name a directory: "/a/"
      continue;
    }
    p[w++] = '/';
    for (std::size_t k = start; k < r; ++k) p[w++] = p[k];  // w < k: a forward copy is safe
    trailing_slash = false;
  }
  if (trailing_slash || w == 0) p[w++] = '/';
  return w;
}

// UrlSegmentMaxLength counts characters, as HTTP.sys does on its UTF-16 form: here one
// per code point (UTF-8 continuation bytes are not counted).
Error check_segments(std::string_view path, const Limits& limits) noexcept {
  std::size_t count = 0;
  std::size_t length = 0;
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (length > 0) ++count;
      length = 0;
      continue;
    }
    if ((static_cast<unsigned char>(path[i]) & 0xC0) != 0x80) ++length;
    if (limits.url_segment_max_length != 0 && length > limits.url_segment_max_length) {
      return Error::url_too_long;
    }
  }
  if (limits.url_segment_max_count != 0 && count > limits.url_segment_max_count) {
    return Error::url_too_long;
  }
  return Error::none;
}

}  // namespace

Error cook_url(std::string_view target, TargetForm form, std::string_view host,
               std::string_view local_address, std::uint16_t local_port, bool secure,
               const Limits& limits, std::span<char> out, CookedUrl& url) noexcept {
  TargetParts parts;
  Error error = split_target(target, form, parts);
  if (error != Error::none) return error;

  Writer w{out};
  w.put(secure ? "https://" : "http://");
  const std::size_t host_start = w.pos;
  // The target's own authority wins over the Host header (RFC 9112 §3.2.2).
  error = write_host(parts.authority.empty() ? host : parts.authority, local_address, w);
  if (error != Error::none) return error;
  const std::size_t host_end = w.pos;
  w.put(':');
  write_port(local_port, w);

  const std::size_t path_start = w.pos;
  if (parts.path.empty()) w.put('/');  // absolute-form without a path, '*', authority-form
  error = decode_path(parts.path, w);
  if (error != Error::none) return error;
  const std::string_view decoded = w.view(path_start);
  if (!valid_utf8(decoded)) return Error::invalid_url;
  w.pos = path_start + canonicalize(out.data() + path_start, decoded.size());
  const std::size_t path_end = w.pos;
  error = check_segments(w.view(path_start), limits);
  if (error != Error::none) return error;

  std::size_t query_start = w.pos;
  if (!parts.query.empty() || target.find('?') != std::string_view::npos) {
    w.put('?');
    query_start = w.pos;
    w.put(parts.query);
  }
  if (w.overflow) return Error::invalid_url;

  url.full = w.view(0);
  url.host = {out.data() + host_start, host_end - host_start};
  url.port = local_port;
  url.path = {out.data() + path_start, path_end - path_start};
  url.query = w.view(query_start);
  return Error::none;
}

}  // namespace httpapi::http1
