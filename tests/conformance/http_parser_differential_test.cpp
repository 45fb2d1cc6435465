// Differential test against Debian's http-parser (libhttp-parser-dev 2.9). A deterministic
// generator produces well-formed requests (methods, origin and absolute targets, headers,
// Content-Length and chunked bodies with extensions and trailers) and malformed mutations.
// Well-formed requests must be accepted by both with identical fields; each mutation kind
// has a declared expectation (kDeviations): the same verdict, or "we are stricter" for the
// categories where we deliberately reject what http-parser accepts. The test also fails if
// a declared-stricter category never actually differs (the list stays honest).
#include <gtest/gtest.h>
#include <http_parser.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace httpapi::http1 {
namespace {

// ---- the two parsers, reduced to one comparable result ------------------------------

enum class Verdict { accept, reject, incomplete };

struct Result {
  Verdict verdict = Verdict::incomplete;
  std::string method, url;
  int major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool keep_alive = false;
  bool upgrade = false;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  return s;
}

struct Collector {
  Result r;
  bool in_value = false;
  bool headers_done = false;
  bool complete = false;
};

Collector& collector(http_parser* p) { return *static_cast<Collector*>(p->data); }

int on_url(http_parser* p, const char* at, size_t n) {
  collector(p).r.url.append(at, n);
  return 0;
}
int on_field(http_parser* p, const char* at, size_t n) {
  Collector& c = collector(p);
  if (c.headers_done) return 0;  // trailer fields are not compared
  if (c.in_value || c.r.fields.empty()) c.r.fields.emplace_back();
  c.in_value = false;
  c.r.fields.back().first.append(at, n);
  return 0;
}
int on_value(http_parser* p, const char* at, size_t n) {
  Collector& c = collector(p);
  if (c.headers_done) return 0;
  c.in_value = true;
  c.r.fields.back().second.append(at, n);
  return 0;
}
int on_headers_complete(http_parser* p) {
  Collector& c = collector(p);
  c.headers_done = true;
  c.r.method = http_method_str(static_cast<http_method>(p->method));
  c.r.major = p->http_major;
  c.r.minor = p->http_minor;
  c.r.keep_alive = http_should_keep_alive(p) != 0;
  return 0;
}
int on_body(http_parser* p, const char* at, size_t n) {
  collector(p).r.body.append(at, n);
  return 0;
}
int on_message_complete(http_parser* p) {
  collector(p).complete = true;
  return 0;
}

Result run_http_parser(const std::string& input) {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_url = on_url;
  settings.on_header_field = on_field;
  settings.on_header_value = on_value;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  Collector c;
  parser.data = &c;
  const size_t parsed = http_parser_execute(&parser, &settings, input.data(), input.size());
  c.r.upgrade = parser.upgrade != 0;
  for (auto& f : c.r.fields) f.second = trim(f.second);
  if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
    c.r.verdict = Verdict::reject;
  } else if (c.complete || (parser.upgrade && c.headers_done)) {
    c.r.verdict = Verdict::accept;
  } else {
    c.r.verdict = Verdict::incomplete;
  }
  (void)parsed;
  return c.r;
}

Result run_ours(const std::string& input) {
  Result r;
  test::Guarded buf(input);
  Field fields[64];
  RequestHead head;
  HeadScanner scanner;
  const HeadResult h = parse_request_head(buf.view(), {}, fields, head, scanner);
  if (h.status != Status::complete) {
    r.verdict = h.status == Status::error ? Verdict::reject : Verdict::incomplete;
    return r;
  }
  r.method = head.method;
  r.url = head.target;
  r.major = head.version_major;
  r.minor = head.version_minor;
  for (std::size_t i = 0; i < head.field_count; ++i) {
    r.fields.emplace_back(head.fields[i].name, head.fields[i].value);
  }
  r.keep_alive = head.keep_alive;
  r.upgrade = head.upgrade || head.target_form == TargetForm::authority;
  std::string_view rest = buf.view().substr(h.consumed);
  if (r.upgrade) {  // http-parser stops at upgrades, before any body
    r.verdict = Verdict::accept;
    return r;
  }
  if (head.framing == Framing::content_length) {
    if (rest.size() < head.content_length) return r;  // incomplete
    r.body = rest.substr(0, head.content_length);
  } else if (head.framing == Framing::chunked) {
    ChunkedDecoder decoder;
    while (true) {
      const ChunkedDecoder::Step s = decoder.decode(rest, {});
      rest.remove_prefix(s.consumed);
      if (s.status == ChunkedDecoder::Status::data) {
        r.body.append(s.data);
        continue;
      }
      if (s.status == ChunkedDecoder::Status::error) r.verdict = Verdict::reject;
      if (s.status != ChunkedDecoder::Status::done) return r;
      break;
    }
  }
  r.verdict = Verdict::accept;
  return r;
}

// ---- the generator -------------------------------------------------------------------

class Rng {  // splitmix64: deterministic on every platform, unlike <random> distributions
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool chance(std::size_t percent) { return below(100) < percent; }
  template <typename T, std::size_t N>
  const T& pick(const T (&items)[N]) { return items[below(N)]; }

 private:
  std::uint64_t state_;
};

struct Generated {
  std::string head_without_blank;  // request line and fields, each ending in CRLF
  std::string body_framing;        // what follows the blank line
  std::string method;
  bool chunked = false;
};

std::string token(Rng& rng, std::size_t max_len, bool url_safe = false) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!$&'*+^`|~#";
  const std::size_t n_chars = sizeof chars - (url_safe ? 2 : 1);  // '#' last: not in URLs
  std::string s;
  const std::size_t n = 1 + rng.below(max_len);
  for (std::size_t i = 0; i < n; ++i) s += chars[rng.below(n_chars)];
  return s;
}

std::string path_text(Rng& rng) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@";
  std::string s;
  const std::size_t segments = rng.below(5);
  for (std::size_t k = 0; k < segments; ++k) {
    s += '/';
    const std::size_t n = rng.below(12);
    for (std::size_t i = 0; i < n; ++i) {
      const char c = chars[rng.below(sizeof chars - 1)];
      if (c == '%') {
        s += "%41";
      } else {
        s += c;
      }
    }
  }
  return s.empty() ? "/" : s;
}

std::string value_text(Rng& rng) {
  std::string s;
  const std::size_t n = rng.below(30);
  for (std::size_t i = 0; i < n; ++i) {
    const char c = static_cast<char>(0x20 + rng.below(0x5F));  // SP .. '~'
    s += c;
  }
  return trim(s);
}

Generated generate(Rng& rng) {
  static const char* methods[] = {"GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE",
                                  "OPTIONS", "PATCH", "PROPFIND", "MKCOL", "COPY", "MOVE",
                                  "LOCK", "SEARCH", "REPORT", "PURGE"};
  static const char* hosts[] = {"example.com", "example.com:8080", "127.0.0.1", "[::1]:443",
                                "a-b.c_d.example", "localhost"};
  Generated g;
  g.method = rng.pick(methods);
  std::string target = path_text(rng);
  if (rng.chance(30)) target += "?" + path_text(rng).substr(1) + "=" + token(rng, 10, true);
  if (rng.chance(10)) target = std::string("http://") + rng.pick(hosts) + target;
  const bool http10 = rng.chance(15);
  std::string head = g.method + " " + target + (http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  std::vector<std::string> lines;
  lines.push_back(std::string(rng.chance(20) ? "host" : "Host") + ": " + rng.pick(hosts));
  const std::size_t extra = rng.below(8);
  for (std::size_t i = 0; i < extra; ++i) {
    std::string name = token(rng, 12);
    if (name.size() >= 4) name = "X-" + name;  // keep clear of framing and Host fields
    lines.push_back(name + ":" + (rng.chance(80) ? " " : "") + value_text(rng));
  }
  if (rng.chance(20)) lines.push_back(rng.chance(50) ? "Connection: close" : "Connection: keep-alive");
  const bool wants_body = g.method == "POST" || g.method == "PUT" || rng.chance(10);
  std::string body;
  if (wants_body) {
    const std::size_t n = rng.below(40);
    for (std::size_t i = 0; i < n; ++i) body += static_cast<char>(rng.below(256));
    if (!http10 && rng.chance(40)) {
      g.chunked = true;
      lines.push_back(rng.chance(20) ? "Transfer-Encoding: Chunked" : "Transfer-Encoding: chunked");
      std::size_t at = 0;
      while (at < body.size()) {
        const std::size_t size = std::min(body.size() - at, 1 + rng.below(15));
        char hex[32];
        std::snprintf(hex, sizeof hex, rng.chance(20) ? "%zX" : "%zx", size);
        g.body_framing += hex;
        if (rng.chance(15)) g.body_framing += ";" + token(rng, 5) + (rng.chance(50) ? "=" + token(rng, 5) : "");
        g.body_framing += "\r\n" + body.substr(at, size) + "\r\n";
        at += size;
      }
      g.body_framing += "0\r\n";
      if (rng.chance(15)) g.body_framing += "X-Trailer: " + token(rng, 8) + "\r\n";
      g.body_framing += "\r\n";
    } else {
      lines.push_back("Content-Length: " + std::to_string(body.size()));
      g.body_framing = body;
    }
  }
  // Shuffle the field order a little (Host need not come first).
  for (std::size_t i = lines.size(); i > 1; --i) std::swap(lines[i - 1], lines[rng.below(i)]);
  for (const std::string& l : lines) head += l + "\r\n";
  g.head_without_blank = head;
  return g;
}

// ---- mutations -----------------------------------------------------------------------

enum class Expect { same, stricter };

struct Mutation {
  const char* name;
  Expect expect;
  const char* why;  // for `stricter`: the rule we apply and http-parser does not
  std::string (*apply)(const Generated&, Rng&);
};

std::string whole(const Generated& g) { return g.head_without_blank + "\r\n" + g.body_framing; }

std::string replace_first(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string insert_field(const Generated& g, const std::string& line) {
  return g.head_without_blank + line + "\r\n\r\n" + g.body_framing;
}

const Mutation kMutations[] = {
    {"well-formed", Expect::same, "", [](const Generated& g, Rng&) { return whole(g); }},
    {"bare LF line ends in the head", Expect::same, "",
     [](const Generated& g, Rng&) {
       std::string head = g.head_without_blank + "\r\n";
       std::string out;
       for (char c : head) {
         if (c != '\r') out += c;
       }
       return out + g.body_framing;
     }},
    {"truncated", Expect::same, "",
     [](const Generated& g, Rng& rng) {
       const std::string s = whole(g);
       return s.substr(0, rng.below(s.size()));
     }},
    {"differing Content-Length", Expect::same, "",
     [](const Generated& g, Rng&) { return insert_field(g, "Content-Length: 1\r\nContent-Length: 2"); }},
    {"Content-Length with sign", Expect::same, "",
     [](const Generated& g, Rng&) { return insert_field(g, "Content-Length: +1"); }},
    {"Content-Length with letters", Expect::same, "",
     [](const Generated& g, Rng&) { return insert_field(g, "Content-Length: 1a"); }},
    {"NUL in a value", Expect::same, "",
     [](const Generated& g, Rng&) { return insert_field(g, std::string("X-Nul: a\0b", 10)); }},
    {"bad chunk size", Expect::same, "",
     [](const Generated& g, Rng&) {
       return g.chunked ? replace_first(whole(g), "\r\n\r\n", "\r\n\r\nzz") : insert_field(g, "Content-Length: 1x");
     }},
    {"space in the request target", Expect::same, "",
     [](const Generated& g, Rng&) { return replace_first(whole(g), " HTTP/1.", "/a b HTTP/1."); }},
    {"no Host", Expect::stricter, "HTTP/1.1 requires exactly one Host (RFC 9112 §3.2)",
     [](const Generated& g, Rng&) {
       std::string s = whole(g);
       std::string out;
       std::size_t at = 0;
       while (at < s.size()) {  // drop the Host line (only in the head: trailers don't have one)
         const std::size_t eol = s.find("\r\n", at);
         const std::string line = s.substr(at, eol - at);
         if (!(line.size() > 5 && (line.starts_with("Host:") || line.starts_with("host:")))) out += line + "\r\n";
         if (eol == std::string::npos) break;
         at = eol + 2;
       }
       return replace_first(out, " HTTP/1.0\r\n", " HTTP/1.1\r\n");
     }},
    {"duplicate Host", Expect::stricter, "duplicate Host is 400 (RFC 9112 §3.2)",
     [](const Generated& g, Rng&) { return insert_field(g, "Host: other.example"); }},
    {"invalid Host", Expect::stricter, "Host must be host[:port] (invalid_hostname)",
     [](const Generated& g, Rng&) {
       std::string s = replace_first(whole(g), "Host: ", "Host: a/b");
       return replace_first(s, "host: ", "host: a/b");
     }},
    {"obs-fold", Expect::stricter, "obs-fold is 400 (RFC 9112 §5.2)",
     [](const Generated& g, Rng&) { return insert_field(g, "X-Folded: a\r\n b"); }},
    {"space before colon", Expect::stricter, "whitespace before ':' is invalid_header (RFC 9112 §5.1)",
     [](const Generated& g, Rng&) { return insert_field(g, "X-Space : a"); }},
    {"control character in a value", Expect::same, "",
     [](const Generated& g, Rng&) { return insert_field(g, "X-Ctl: a\x01" "b"); }},
    {"HTTP/2.0 request line", Expect::stricter, "only HTTP/1.0 and 1.1 are served (505)",
     [](const Generated& g, Rng&) { return replace_first(replace_first(whole(g), " HTTP/1.1\r\n", " HTTP/2.0\r\n"), " HTTP/1.0\r\n", " HTTP/2.0\r\n"); }},
    {"fragment in the target", Expect::stricter, "'#' is not part of a request-target (invalid_url)",
     [](const Generated& g, Rng&) { return replace_first(whole(g), " HTTP/1.", "#frag HTTP/1."); }},
    {"raw non-ASCII in the target", Expect::stricter, "raw bytes > 0x7F in the target are invalid_url",
     [](const Generated& g, Rng&) { return replace_first(whole(g), " HTTP/1.", "\xC3\xA4 HTTP/1."); }},
    {"POST without length", Expect::stricter, "POST/PUT without framing is 411 Length Required",
     [](const Generated& g, Rng&) {
       return "POST /x HTTP/1.1\r\n" + g.head_without_blank.substr(g.head_without_blank.find("\r\n") + 2) + "\r\n";
     }},
    {"Transfer-Encoding gzip, chunked", Expect::stricter, "only 'chunked' alone is implemented (501)",
     [](const Generated& g, Rng&) {
       std::string s = replace_first(whole(g), "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked");
       return replace_first(s, "Transfer-Encoding: Chunked", "Transfer-Encoding: gzip, chunked");
     }},
    {"bare LF in chunk framing", Expect::stricter, "chunk framing requires CRLF",
     [](const Generated& g, Rng&) {
       return g.chunked ? g.head_without_blank + "\r\n" + replace_first(g.body_framing, "\r\n", "\n")
                        : "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n";
     }},
    {"Content-Length list", Expect::same, "",
     [](const Generated& g, Rng&) { return insert_field(g, "Content-Length: 0, 0"); }},
    {"asterisk target on GET", Expect::stricter, "'*' only with OPTIONS (invalid_url)",
     [](const Generated& g, Rng&) {
       return "GET * HTTP/1.1\r\n" + g.head_without_blank.substr(g.head_without_blank.find("\r\n") + 2) + "\r\n" + g.body_framing;
     }},
};

bool same_fields(const Result& a, const Result& b) {
  return a.method == b.method && a.url == b.url && a.major == b.major && a.minor == b.minor &&
         a.fields == b.fields && a.body == b.body && a.keep_alive == b.keep_alive &&
         a.upgrade == b.upgrade;
}

TEST(HttpParserDifferential, GeneratedRequests) {
  Rng rng(0x485454504150ull);  // "HTTPAP"
  struct Tally {
    std::size_t runs = 0, same = 0, stricter = 0;
  };
  std::map<std::string, Tally> tally;
  const std::size_t kRounds = 3000;
  int failures = 0;
  for (std::size_t round = 0; round < kRounds; ++round) {
    const Generated g = generate(rng);
    for (const Mutation& m : kMutations) {
      const std::string input = m.apply(g, rng);
      const Result theirs = run_http_parser(input);
      const Result ours = run_ours(input);
      Tally& t = tally[m.name];
      ++t.runs;
      const bool agree = theirs.verdict == ours.verdict &&
                         (ours.verdict != Verdict::accept || same_fields(theirs, ours));
      if (agree) {
        ++t.same;
        continue;
      }
      const bool we_are_stricter = ours.verdict == Verdict::reject && theirs.verdict != Verdict::reject;
      if (m.expect == Expect::stricter && we_are_stricter) {
        ++t.stricter;
        continue;
      }
      ADD_FAILURE() << m.name << ": http-parser " << static_cast<int>(theirs.verdict) << " ("
                    << theirs.method << " " << theirs.url << "), ours " << static_cast<int>(ours.verdict)
                    << "\n  input: " << testing::PrintToString(input);
      if (++failures == 10) return;  // keep the log readable
    }
  }
  for (const Mutation& m : kMutations) {
    const Tally& t = tally[m.name];
    std::printf("%-36s runs %5zu  same %5zu  we-stricter %5zu\n", m.name, t.runs, t.same, t.stricter);
    if (m.expect == Expect::stricter) {
      EXPECT_GT(t.stricter, 0u) << m.name << " is declared stricter but never differed";
    }
  }
  EXPECT_GT(tally["well-formed"].same, kRounds * 99 / 100);
}

}  // namespace
}  // namespace httpapi::http1
