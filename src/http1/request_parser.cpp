// Request-head parser. One linear pass over the head, line by line as lines arrive:
//  - every complete line is checked against the size limits and its syntax, so a malformed
//    line is rejected without waiting for the blank line (HTTP.sys answers before the head
//    is complete, too). Progress lives in HeadScanner, so bytes are examined once however
//    the head is segmented;
//  - on the way, field lines go into the caller's storage and the fields that matter here
//    (Host, framing, Connection, Upgrade, Expect) are noted; at the blank line the
//    cross-field rules are applied. When earlier calls already validated part of the head
//    (the storage of those calls is gone: the daemon passes a fresh array each time), the
//    complete head is parsed again from its start, once.
// Each line is first tried by a fast path (SSE2 scans, no per-byte branches beyond a table
// lookup for tokens) that accepts only lines the full rules accept and gives the same
// result. Anything unusual — a line cut off by the end of the input, a CTL, an error of any
// kind — goes to the general code, which decides the exact answer.
// Errors are decided in byte order: the first line that breaks a rule decides, and a size
// limit counts as broken at the byte that crosses it. That makes the answer independent of
// how the input was split across calls (the fuzzers check this).
#include "http1/request_parser.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "http1/header_id.hpp"
#include "http1/syntax.hpp"

namespace httpapi::http1 {
namespace {

using syntax::is;
using syntax::is_tchar;

struct RequestLine {
  std::string_view method;
  std::string_view target;
  TargetForm form = TargetForm::origin;
  std::string_view authority;  // absolute-form or authority-form host[:port]
  int major = 1;
  int minor = 1;
};

// RFC 9112 §3.2.1-3.2.4: which target forms a method may use, and the authority they carry.
Error classify_target(std::string_view method, std::string_view target, RequestLine& out) {
  // A fragment is never sent by a conforming client (RFC 9112 §3.2); accepting it would
  // make the raw and cooked URLs disagree about where the path ends.
  if (target.find('#') != std::string_view::npos) return Error::invalid_url;
  const bool connect = syntax::equals(method, "CONNECT");
  if (target.front() == '/') {
    out.form = TargetForm::origin;
    return connect ? Error::invalid_url : Error::none;
  }
  if (target == "*") {
    out.form = TargetForm::asterisk;
    return syntax::equals(method, "OPTIONS") ? Error::none : Error::invalid_url;
  }
  syntax::Authority parts;
  if (connect) {
    out.form = TargetForm::authority;
    out.authority = target;
    // CONNECT names a tunnel endpoint: host and port are both required.
    if (!syntax::split_authority(target, parts) || parts.port.empty()) return Error::invalid_url;
    return Error::none;
  }
  const std::size_t colon = target.find("://");
  if (colon == std::string_view::npos) return Error::invalid_url;
  const std::string_view scheme = target.substr(0, colon);
  if (!syntax::iequals(scheme, "http") && !syntax::iequals(scheme, "https")) {
    return Error::invalid_url;
  }
  const std::string_view rest = target.substr(colon + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  // Userinfo is deprecated for http(s) (RFC 9110 §4.2.4) and a classic spoofing vector.
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return Error::invalid_url;
  }
  out.form = TargetForm::absolute;
  out.authority = authority;
  return syntax::split_authority(authority, parts) ? Error::none : Error::invalid_hostname;
}

// NUL and CR may appear nowhere inside a line (the terminating CR is already stripped):
// both are classic request-smuggling tools, so they get a plain 400 before anything else.
using syntax::has_nul_or_cr;
using syntax::parse_field_line;

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3), single spaces.
Error parse_request_line(std::string_view line, const Limits& limits, RequestLine& out) {
  if (has_nul_or_cr(line)) return Error::bad_request;
  std::size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == line.size()) return Error::bad_request;  // "foo": not a request line at all
  if (i == 0 || line[i] != ' ') return Error::invalid_verb;
  out.method = line.substr(0, i);

  const std::string_view after_method = line.substr(i + 1);
  const std::size_t sp = after_method.find(' ');
  out.target = after_method.substr(0, sp);
  if (out.target.size() > limits.max_field_length) return Error::url_too_long;
  // No second space: an HTTP/0.9 request line, which we do not serve.
  if (out.target.empty() || sp == std::string_view::npos) return Error::bad_request;
  if (!syntax::all_of(out.target, syntax::k_target)) return Error::invalid_url;

  const std::string_view version = after_method.substr(sp + 1);
  if (version.size() != 8 || !version.starts_with("HTTP/") || !syntax::is_digit(version[5]) ||
      version[6] != '.' || !syntax::is_digit(version[7])) {
    return Error::bad_request;
  }
  out.major = version[5] - '0';
  out.minor = version[7] - '0';
  // HTTP/0.x is not a version anyone speaks over this syntax: plain 400, as HTTP.sys does
  // (A025). Anything newer than 1.1, including 1.2-1.9, is answered 505.
  if (out.major == 0) return Error::bad_request;
  if (out.major != 1 || out.minor > 1) return Error::version_not_supported;
  return classify_target(out.method, out.target, out);
}

// The first `limit + 1` head bytes decide between 414 and the generic "request too long":
// if the target alone already exceeds a field's length, the URL is what is too long.
Error overflow_error(std::string_view input, HeadScanner scanner, const Limits& limits) {
  if (scanner.in_fields) return Error::request_too_long;
  std::string_view line = input.substr(0, syntax::sat_add(limits.max_request_bytes, 1));
  line.remove_prefix(std::min(scanner.request_line, line.size()));
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return Error::request_too_long;
  const std::string_view target = line.substr(sp + 1, line.find(' ', sp + 1) - sp - 1);
  return target.size() > limits.max_field_length ? Error::url_too_long : Error::request_too_long;
}

// Size limits for the line starting at scanner.line_start, once `held` bytes of input have
// arrived; `field_too_long` says the line's content is known to exceed max_field_length.
// A header line breaks MaxFieldLength at byte line_start + max_field_length + 2 (the first
// byte count at which its content must exceed the limit whatever follows); the head breaks
// MaxRequestBytes at byte max_request_bytes + 1. The earlier crossing decides.
Error limit_error(std::string_view input, HeadScanner scanner, const Limits& limits,
                  std::size_t held, bool field_too_long) {
  const std::size_t request_cross = syntax::sat_add(limits.max_request_bytes, 1);
  if (scanner.in_fields && field_too_long) {
    const std::size_t field_cross =
        syntax::sat_add(scanner.line_start, syntax::sat_add(limits.max_field_length, 2));
    if (field_cross <= request_cross) return Error::field_too_long;
  }
  if (held >= request_cross) return overflow_error(input, scanner, limits);
  return field_too_long && scanner.in_fields ? Error::field_too_long : Error::none;
}

struct FramingFields {
  bool cl_seen = false;
  bool cl_invalid = false;
  bool cl_conflict = false;
  std::uint64_t cl = 0;
  bool te_seen = false;
  std::size_t te_codings = 0;  // transfer-codings listed across all TE lines
  std::size_t te_chunked = 0;  // how many of them are "chunked"
  bool te_last_chunked = false;
};

void note_transfer_encoding(std::string_view value, FramingFields& f) {
  f.te_seen = true;
  std::string_view element;
  while (syntax::next_list_element(value, element)) {
    ++f.te_codings;
    f.te_last_chunked = syntax::iequals(element, "chunked");
    if (f.te_last_chunked) ++f.te_chunked;
  }
}

struct Semantics {
  std::size_t host_count = 0;
  std::string_view host;
  FramingFields framing;
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool conn_upgrade = false;
  bool upgrade_field = false;
  bool expect_continue = false;
};

// Index of the headers the parser itself interprets, -1 for all others. Same answer as
// known_request_header() for these six; `name` is a token (every byte a tchar).
int interpreted_header(std::string_view name) noexcept {
  const char* p = name.data();
  switch (name.size()) {
    case 4:
      return syntax::token_equals_lower(p, "host", 4) ? static_cast<int>(HeaderId::host) : -1;
    case 6:
      return syntax::token_equals_lower(p, "expect", 6) ? static_cast<int>(HeaderId::expect) : -1;
    case 7:
      return syntax::token_equals_lower(p, "upgrade", 7) ? static_cast<int>(HeaderId::upgrade)
                                                          : -1;
    case 10:
      return syntax::token_equals_lower(p, "connection", 10)
                 ? static_cast<int>(HeaderId::connection)
                 : -1;
    case 14:
      return syntax::token_equals_lower(p, "content-length", 14)
                 ? static_cast<int>(HeaderId::content_length)
                 : -1;
    case 17:
      return syntax::token_equals_lower(p, "transfer-encoding", 17)
                 ? static_cast<int>(HeaderId::transfer_encoding)
                 : -1;
    default:
      return -1;
  }
}

// False for name lengths none of the interpreted headers has (most fields).
constexpr bool may_be_interpreted(std::size_t length) noexcept {
  constexpr std::uint32_t lengths = 1U << 4 | 1U << 6 | 1U << 7 | 1U << 10 | 1U << 14 | 1U << 17;
  return length < 32 && ((lengths >> length) & 1U) != 0;
}

// Notes one valid field line. False when it is a malformed Content-Length: that is fatal
// whatever follows, so it is answered as soon as its line ends, like malformed lines.
bool note_field(std::string_view name, std::string_view value, Semantics& s) {
  switch (static_cast<HeaderId>(interpreted_header(name))) {
    case HeaderId::host:
      ++s.host_count;
      s.host = value;
      break;
    case HeaderId::content_length: {
      std::uint64_t v = 0;
      // Strict: one decimal number. "5, 5" list forms, signs, hex and inner spaces are 400s.
      if (!syntax::parse_decimal(value, v)) return false;
      FramingFields& f = s.framing;
      if (f.cl_seen && f.cl != v) f.cl_conflict = true;  // identical repeats are accepted (A040)
      f.cl_seen = true;
      f.cl = v;
      break;
    }
    case HeaderId::transfer_encoding:
      note_transfer_encoding(value, s.framing);
      break;
    case HeaderId::connection: {
      std::string_view rest = value;
      std::string_view token;
      while (syntax::next_list_element(rest, token)) {
        s.conn_close |= syntax::iequals(token, "close");
        s.conn_keep_alive |= syntax::iequals(token, "keep-alive");
        s.conn_upgrade |= syntax::iequals(token, "upgrade");
      }
      break;
    }
    case HeaderId::upgrade:
      s.upgrade_field = true;
      break;
    case HeaderId::expect:
      // Other expectations are ignored rather than answered 417 (docs/http1.md).
      s.expect_continue |= syntax::iequals(value, "100-continue");
      break;
    default:
      break;
  }
  return true;
}

[[gnu::always_inline]] inline Error check_host(std::string_view input, const RequestLine& rl,
                                              const Semantics& s, const Limits& limits) {
  if (s.host_count > 1) return Error::bad_request;
  const bool http11 = rl.minor == 1;
  if (s.host_count == 0) {
    return http11 && limits.require_host ? Error::bad_request : Error::none;
  }
  if (s.host.empty()) return http11 ? Error::invalid_hostname : Error::none;
  const auto begin = static_cast<std::size_t>(s.host.data() - input.data());
  const std::size_t end = begin + s.host.size();
  // Most Host values are a short name without a port: all reg-name characters is valid.
  if (syntax::all_reg_name_short(input.data(), begin, end)) return Error::none;
  syntax::Authority parts;
  return syntax::split_authority_in(input, begin, end, parts) ? Error::none
                                                              : Error::invalid_hostname;
}

[[gnu::always_inline]] inline Error check_framing(const RequestLine& rl, const FramingFields& f,
                                                 const Limits& limits) {
  if (f.cl_invalid || f.cl_conflict) return Error::bad_request;
  // Both present is the request-smuggling pattern (RFC 9112 §6.3 allows rejecting it).
  if (f.te_seen && f.cl_seen) return Error::bad_request;
  if (f.te_seen) {
    if (f.te_codings == 0 || f.te_chunked > 1) return Error::bad_request;
    // We decode only chunked; any other coding, or chunked not alone, is not implemented.
    if (f.te_codings != 1 || !f.te_last_chunked) return Error::not_implemented;
    return Error::none;
  }
  if (f.cl_seen) return f.cl > limits.max_body_bytes ? Error::entity_too_large : Error::none;
  if (syntax::equals(rl.method, "POST") || syntax::equals(rl.method, "PUT")) {
    return Error::length_required;
  }
  return Error::none;
}

// Copies a view through two registers. A plain copy of a view that was just written as two
// 8-byte stores compiles to one 16-byte load, which the CPU cannot forward from those stores:
// it waits for them to reach the cache, a stall of a dozen cycles or more per copy.
inline std::string_view fresh_view(std::string_view from) noexcept {
  const char* data = from.data();
  std::size_t size = from.size();
#if defined(__GNUC__)
  asm("" : "+r"(data), "+r"(size));  // keep them in general registers: no vector copy
#endif
  return {data, size};
}

// scanner = from, member by member through registers (see fresh_view).
inline void store_scanner(HeadScanner& to, const HeadScanner& from) noexcept {
  std::size_t scanned = from.scanned;
  std::size_t line_start = from.line_start;
  std::size_t request_line = from.request_line;
  std::size_t field_lines = from.field_lines;
#if defined(__GNUC__)
  asm("" : "+r"(scanned), "+r"(line_start), "+r"(request_line), "+r"(field_lines));
#endif
  to.scanned = scanned;
  to.line_start = line_start;
  to.request_line = request_line;
  to.field_lines = field_lines;
  to.in_fields = from.in_fields;
}

// The blank line ending at `end` completed the head; `rl`, `sem` and the first `count`
// entries of `storage` describe all of it.
[[gnu::always_inline]] inline HeadResult finish(std::string_view input, const RequestLine& rl,
                                               const Semantics& sem, std::span<Field> storage,
                                               std::size_t count, std::size_t end,
                                               const Limits& limits, RequestHead& head) {
  // The request line is known even when the head is refused: the error log shows it.
  head.method = fresh_view(rl.method);
  head.target = fresh_view(rl.target);
  head.target_form = rl.form;
  head.version_major = rl.major;
  head.version_minor = rl.minor;
  Error error = check_host(input, rl, sem, limits);
  if (error == Error::none) error = check_framing(rl, sem.framing, limits);
  if (error != Error::none) return {Status::error, error, 0};

  const bool http11 = rl.minor == 1;
  head.fields = storage.data();
  head.field_count = count;
  head.host = fresh_view(rl.form == TargetForm::origin || rl.form == TargetForm::asterisk
                             ? sem.host
                             : rl.authority);
  const FramingFields& f = sem.framing;
  head.framing = f.te_seen ? Framing::chunked : f.cl_seen ? Framing::content_length : Framing::none;
  head.content_length = f.cl_seen ? f.cl : 0;
  // close wins over keep-alive; a chunked HTTP/1.0 message has faulty framing by
  // definition (RFC 9112 §6.1), so its connection is not reused either.
  head.keep_alive = !sem.conn_close && (http11 || sem.conn_keep_alive) &&
                    !(f.te_seen && !http11);
  head.expect_continue = http11 && sem.expect_continue;
  head.upgrade = http11 && sem.conn_upgrade && sem.upgrade_field;  // RFC 9110 §7.8
  head.head_length = end;
  return {Status::complete, Error::none, end};
}

// ---- fast path --------------------------------------------------------------------------
// The fast functions look at the line starting at `start` and succeed only when it is
// complete (its LF is in the input) and valid; they then report where its LF is and where
// its content ends (before the CR, if any). On failure what they wrote is not used.

// Do the 8 bytes at p start with "HTTP/1."?
inline bool http_1_dot(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    // "HTTP/1." as a little-endian word, a constant: built with memcpy at run time it went
    // through the stack, and the 8-byte load could not be forwarded from the 4-byte stores.
    constexpr std::uint64_t expected = 0x2E312F50545448ULL;
    return (word & 0x00FFFFFFFFFFFFFFULL) == expected;
  } else {
    return std::memcmp(p, "HTTP/1.", 7) == 0;
  }
}

// "GET " and "POST " are most requests: recognised with one compare. Returns the index of
// the space after the method, or `start` when it is another method (or too short).
inline std::size_t common_method(const char* s, std::size_t start, std::size_t n) {
  if (n - start < 5) return start;
  std::uint32_t word;
  std::memcpy(&word, s + start, 4);
  std::uint32_t get;
  std::uint32_t post;
  std::memcpy(&get, "GET ", 4);
  std::memcpy(&post, "POST", 4);
  if (word == get) return start + 3;
  if (word == post && s[start + 4] == ' ') return start + 4;
  return start;
}

enum class FastLine : std::uint8_t { unknown, line, blank };

// "token SP VCHAR-without-# SP HTTP/1.x" ending in CRLF or LF, which the full rules accept.
[[gnu::always_inline]] inline FastLine fast_request_line(const char* s, std::size_t n,
                                                         std::size_t start, const Limits& limits,
                                                         RequestLine& rl, std::size_t& lf,
                                                         std::size_t& content_end) {
  std::size_t i = common_method(s, start, n);
  if (i == start) {
    i = syntax::scan_tchar(s, start, n);
    if (i == start || i >= n || s[i] != ' ') return FastLine::unknown;
  }
  const std::size_t t = i + 1;
  i = syntax::scan_target(s, t, n);
  if (i == t || i >= n || s[i] != ' ') return FastLine::unknown;
  const std::size_t v = i + 1;
  if (n - v < 9 || !http_1_dot(s + v)) return FastLine::unknown;
  const char minor = s[v + 7];
  if (minor != '0' && minor != '1') return FastLine::unknown;
  const std::size_t e = v + 8;
  if (s[e] == '\n') {
    lf = e;
  } else if (s[e] == '\r' && e + 1 < n && s[e + 1] == '\n') {
    lf = e + 1;
  } else {
    return FastLine::unknown;
  }
  content_end = e;
  rl.method = std::string_view(s + start, t - 1 - start);
  rl.target = std::string_view(s + t, i - t);
  if (rl.target.size() > limits.max_field_length) return FastLine::unknown;
  rl.major = 1;
  rl.minor = minor - '0';
  if (s[t] == '/' && !syntax::equals(rl.method, "CONNECT")) {
    rl.form = TargetForm::origin;
  } else if (classify_target(rl.method, rl.target, rl) != Error::none) {
    return FastLine::unknown;
  }
  return FastLine::line;
}

// What fast_field_line found: positions in the input (kept in registers, not in a Field:
// copying a Field just written piecewise would stall on store forwarding).
struct FastField {
  FastLine kind = FastLine::unknown;
  std::size_t name_end = 0;
  std::size_t value_start = 0;
  std::size_t value_end = 0;
  std::size_t lf = 0;
  std::size_t content_end = 0;
};

// A blank line, or "token ':' value" with a value of VCHAR, obs-text, SP and HTAB.
[[gnu::always_inline]] inline FastField fast_field_line(const char* s, std::size_t n,
                                                        std::size_t start) {
  FastField f;
  if (start >= n) return f;
  if (static_cast<unsigned char>(s[start]) <= '\r') {  // CR or LF: the blank line, or a CTL
    const std::size_t at = start + (s[start] == '\r' ? 1 : 0);
    if (at >= n || s[at] != '\n') return f;
    f.kind = FastLine::blank;
    f.lf = at;
    f.content_end = start;
    return f;
  }
  std::size_t i = syntax::scan_tchar(s, start, n);
  if (i == start || i >= n || s[i] != ':') return f;
  f.name_end = i++;
  if (i < n && s[i] == ' ') ++i;  // the usual single space
  while (i < n && syntax::is_ows(s[i])) ++i;
  f.value_start = i;
  while (true) {
    i = syntax::scan_value(s, i, n);
    if (i >= n) return f;
    if (s[i] == '\t') {
      ++i;
      continue;
    }
    if (s[i] == '\n') {
      f.lf = i;
      break;
    }
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
      f.lf = i + 1;
      break;
    }
    return f;
  }
  f.content_end = i;
  std::size_t value_end = i;
  while (value_end > f.value_start && syntax::is_ows(s[value_end - 1])) --value_end;
  f.value_end = value_end;
  f.kind = FastLine::line;
  return f;
}

// Runs the fast path over consecutive lines from sc.line_start (== sc.scanned), committing
// each line it accepts exactly as the general code would: complete, valid, limits not
// reached, a free storage slot, a well-formed Content-Length. Stops before the first line
// it cannot take (the general code then decides that line); returns true when it consumed
// the blank line ending the head.
[[gnu::always_inline]] inline bool fast_lines(const char* s, std::size_t n, const Limits& limits,
                                              std::size_t request_cross, std::span<Field> storage,
                                              HeadScanner& sc, RequestLine& rl, Semantics& sem) {
  std::size_t pos = sc.line_start;
  std::size_t lf = 0;
  std::size_t content_end = 0;
  if (!sc.in_fields) {
    if (fast_request_line(s, n, pos, limits, rl, lf, content_end) != FastLine::line ||
        lf + 1 >= request_cross) {  // the target is within max_field_length: checked there
      return false;
    }
    pos = lf + 1;
    sc.in_fields = true;
  }
  std::size_t count = sc.field_lines;
  bool blank = false;
  while (true) {
    const FastField f = fast_field_line(s, n, pos);
    if (f.kind == FastLine::unknown || f.lf + 1 >= request_cross ||
        f.content_end - pos > limits.max_field_length) {
      break;
    }
    if (f.kind == FastLine::blank) {
      pos = f.lf + 1;
      blank = true;
      break;
    }
    const std::string_view name(s + pos, f.name_end - pos);
    const std::string_view value(s + f.value_start, f.value_end - f.value_start);
    if (count == storage.size()) break;
    if (may_be_interpreted(name.size())) {
      if (name.size() == 4 && syntax::token_equals_lower(name.data(), "host", 4)) {
        ++sem.host_count;  // note_field() inline for the one field every request has
        sem.host = value;
      } else if (!note_field(name, value, sem)) {
        break;
      }
    }
    Field& slot = storage[count++];
    slot.name = name;
    slot.value = value;
    pos = f.lf + 1;
  }
  sc.line_start = sc.scanned = pos;
  sc.field_lines = count;
  return blank;
}

// The content of the line [start, lf): without the CR of a CRLF (a bare LF also ends lines).
inline std::size_t content_end_of(const char* s, std::size_t start, std::size_t lf) {
  return lf > start && s[lf - 1] == '\r' ? lf - 1 : lf;
}

// The general parser: any input, any scanner state.
[[gnu::noinline]] HeadResult parse_general(std::string_view input, const Limits& limits,
                                           std::span<Field> field_storage, RequestHead& head,
                                           HeadScanner& scanner) noexcept {
  head.method = head.target = {};
  head.version_major = head.version_minor = 1;
  // A scanner that does not fit this input was not reset between requests: start over.
  if (scanner.scanned > input.size() || scanner.line_start > scanner.scanned) scanner = {};
  // What this call gathers describes the whole head only if it starts before the request
  // line has been accepted; otherwise the completed head is parsed again from its start.
  const bool whole_head = !scanner.in_fields;
  // The scanner is worked on in a local copy (registers, no aliasing with the field
  // storage) and stored back on every return.
  HeadScanner sc = scanner;
  auto leave = [&scanner, &sc](HeadResult r) {
    store_scanner(scanner, sc);
    return r;
  };
  auto fail = [&](Error e) { return leave({Status::error, e, 0}); };
  RequestLine rl;
  Semantics sem;
  // The blank line ending at `end` is in.
  auto head_complete = [&](std::size_t end) {
    if (whole_head) {
      return leave(finish(input, rl, sem, field_storage, sc.field_lines, end, limits, head));
    }
    HeadScanner again{};
    const HeadResult r = parse_general(input, limits, field_storage, head, again);
    scanner = again;
    return r;
  };
  const char* const s = input.data();
  const std::size_t n = input.size();
  const std::size_t request_cross = syntax::sat_add(limits.max_request_bytes, 1);
  std::size_t fast_gave_up = SIZE_MAX;  // the line the fast path last stopped at
  while (true) {
    const std::size_t start = sc.line_start;
    // The fast path takes the lines it can, from a line not searched before.
    if (sc.scanned == start && start != fast_gave_up) {
      if (fast_lines(s, n, limits, request_cross, field_storage, sc, rl, sem)) {
        return head_complete(sc.line_start);
      }
      fast_gave_up = sc.line_start;
      continue;
    }
    // The general code: one line, searched from where earlier calls left off.
    const std::size_t from = sc.scanned;
    const void* lf_ptr = from < n  // memchr must not see a null empty range
                             ? std::memchr(s + from, '\n', n - from)
                             : nullptr;
    if (lf_ptr == nullptr) {
      sc.scanned = n;
      const std::size_t partial = n - start;
      const Error e = limit_error(input, sc, limits, n,
                                  partial >= syntax::sat_add(limits.max_field_length, 2));
      if (e != Error::none) return fail(e);
      return leave({Status::incomplete, Error::none, 0});
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(lf_ptr) - s);
    const std::string_view line(s + start, content_end_of(s, start, lf) - start);
    const Error limit = limit_error(input, sc, limits, lf + 1,
                                    line.size() > limits.max_field_length);
    if (limit != Error::none) return fail(limit);
    sc.line_start = sc.scanned = lf + 1;

    if (!sc.in_fields) {
      if (line.empty()) {  // RFC 9112 §2.2: ignore empty lines before the request line
        sc.request_line = lf + 1;
        continue;
      }
      rl = RequestLine{};
      const Error e = parse_request_line(line, limits, rl);
      if (e != Error::none) return fail(e);
      sc.in_fields = true;
      continue;
    }
    if (line.empty()) return head_complete(lf + 1);
    if (++sc.field_lines > field_storage.size()) return fail(Error::request_too_long);
    if (syntax::has_nul_or_cr(line)) return fail(Error::bad_request);
    Field field;
    const Error e = syntax::parse_field_line(line, field);
    if (e != Error::none) return fail(e);
    if (!note_field(field.name, field.value, sem)) return fail(Error::bad_request);
    field_storage[sc.field_lines - 1] = field;
  }
}

}  // namespace

// Most heads arrive whole and plain: a fresh scanner and the fast path over every line. That
// case runs here without the general code's loop and bookkeeping; anything else (a head in
// pieces, an unusual line, an error) is parsed by parse_general from the start, so the fast
// attempt costs at most one extra pass over the bytes of a head's first segment.
HeadResult parse_request_head(std::string_view input, const Limits& limits,
                              std::span<Field> field_storage, RequestHead& head,
                              HeadScanner& scanner) noexcept {
  if (scanner.scanned == 0 && !scanner.in_fields) {
    HeadScanner sc{};
    RequestLine rl;
    Semantics sem;
    if (fast_lines(input.data(), input.size(), limits,
                   syntax::sat_add(limits.max_request_bytes, 1), field_storage, sc, rl, sem)) {
      const HeadResult r =
          finish(input, rl, sem, field_storage, sc.field_lines, sc.line_start, limits, head);
      store_scanner(scanner, sc);
      return r;
    }
    scanner = {};
  }
  return parse_general(input, limits, field_storage, head, scanner);
}

}  // namespace httpapi::http1
