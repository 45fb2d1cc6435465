// Runs every llhttp request vector (shared/conformance/llhttp/request/*.md) through our
// head parser and chunked decoder and compares with llhttp's expected event log:
// accept/reject, method, URL, version, header names and values, body, keep-alive, upgrade.
//
// Vectors where we deliberately differ are listed, with a reason each, in
// llhttp-deviations.txt. The test fails when a vector differs and is not listed, and when a
// listed vector no longer differs (or no longer exists), so the list stays honest.
//
// The comparison runs with Limits::require_host = false: nearly every llhttp vector is an
// HTTP/1.1 request without Host, which we reject (RFC 9112 §3.2). That one rule is checked
// here as a category instead of listing 100 vectors: every vector is also run with the
// production limits, and a difference between the two runs is allowed only for vectors that
// contain an HTTP/1.1 request without exactly one Host.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace httpapi::http1 {
namespace {

namespace fs = std::filesystem;

// ---- reading the markdown vectors ----------------------------------------------------

struct Vector {
  std::string id;  // "file.md / heading", "#2" appended to repeated headings
  std::string type;
  std::string input;  // after llhttp's md-test escape processing
  std::vector<std::string> log;
};

std::string utf8(unsigned code) {
  std::string s;
  if (code < 0x80) {
    s += static_cast<char>(code);
  } else {
    s += static_cast<char>(0xC0 | (code >> 6));
    s += static_cast<char>(0x80 | (code & 0x3F));
  }
  return s;
}

// The rules of llhttp's test/md-test.ts: drop the trailing newline, join "\"-continued
// lines, newlines become CRLF, then \r \n \t \f \xNN and \NNN (octal) escapes. JavaScript
// strings hold code points, written out as UTF-8: \xff becomes C3 BF.
std::string unescape_input(std::string raw) {
  if (!raw.empty() && raw.back() == '\n') raw.pop_back();
  std::string joined;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == '\n') {
      ++i;
      continue;
    }
    joined += raw[i] == '\n' ? std::string("\r\n") : std::string(1, raw[i]);
  }
  std::string out;
  for (std::size_t i = 0; i < joined.size(); ++i) {
    const char c = joined[i];
    if (c != '\\' || i + 1 == joined.size()) {
      out += c;
      continue;
    }
    const char e = joined[i + 1];
    if (e == 'r' || e == 'n' || e == 't' || e == 'f') {
      out += e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : '\f';
      ++i;
    } else if (e == 'x' && i + 2 < joined.size() && std::isxdigit(static_cast<unsigned char>(joined[i + 2]))) {
      std::size_t j = i + 2;
      unsigned v = 0;
      while (j < joined.size() && std::isxdigit(static_cast<unsigned char>(joined[j]))) {
        v = v * 16 + static_cast<unsigned>(std::stoi(std::string(1, joined[j]), nullptr, 16));
        ++j;
      }
      out += utf8(v);
      i = j - 1;
    } else if (e >= '0' && e <= '7') {
      std::size_t j = i + 1;
      unsigned v = 0;
      while (j < joined.size() && j < i + 4 && joined[j] >= '0' && joined[j] <= '7') {
        v = v * 8 + static_cast<unsigned>(joined[j] - '0');
        ++j;
      }
      out += utf8(v);
      i = j - 1;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<Vector> read_vectors(const fs::path& file) {
  std::ifstream in(file);
  std::vector<Vector> vectors;
  std::map<std::string, int> seen;
  std::string line, heading, type, block, fence;
  Vector current;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (in_block) {
      if (line == "```") {
        in_block = false;
        if (fence == "http") {
          current = Vector{};
          std::string id = file.filename().string() + " / " + heading;
          if (++seen[id] > 1) id += " #" + std::to_string(seen[id]);
          current.id = id;
          current.type = type;
          current.input = unescape_input(block);
        } else if (fence == "log" && !current.id.empty()) {
          std::istringstream lines(block);
          for (std::string l; std::getline(lines, l);) current.log.push_back(l);
          vectors.push_back(current);
          current = Vector{};
        }
        continue;
      }
      block += line + "\n";
      continue;
    }
    if (line.starts_with("```")) {
      fence = line.substr(3);
      block.clear();
      in_block = true;
    } else if (line.starts_with("#")) {
      heading = line.substr(line.find_first_not_of("# "));
    } else if (line.starts_with("<!-- meta=")) {
      const std::size_t t = line.find("\"type\"");
      const std::size_t q1 = line.find('"', line.find(':', t) + 1);
      type = line.substr(q1 + 1, line.find('"', q1 + 1) - q1 - 1);
    }
  }
  return vectors;
}

// ---- the expected outcome, from llhttp's log ------------------------------------------

enum class End { clean, error, upgrade, closed_with_data };

const char* to_string(End e) {
  switch (e) {
    case End::clean: return "end of input";
    case End::error: return "error";
    case End::upgrade: return "upgrade/CONNECT stop";
    case End::closed_with_data: return "data after Connection: close";
  }
  return "?";
}

struct Message {
  std::string method, url;
  int major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  bool chunked = false;
  bool has_length = false;
  std::uint64_t content_length = 0;
  bool keep_alive = false;
  bool upgrade = false;
  std::string body;
  bool complete = false;
};

struct Outcome {
  std::vector<Message> messages;
  End end = End::clean;
  bool mid_message = false;  // input ended inside a message (llhttp's finish != 0)
  bool finish_known = false;
  std::string detail;        // our error, for diagnostics
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  return s;
}

std::string span_value(const std::string& line) {
  const std::size_t open = line.find("=\"");
  std::string v = line.substr(open + 2, line.size() - open - 3);
  // md-test also turns \t and \f into the characters in the expected log.
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() && (v[i + 1] == 't' || v[i + 1] == 'f')) {
      out += v[i + 1] == 't' ? '\t' : '\f';
      ++i;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string field_of(const std::string& line, const std::string& key) {
  const std::size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size() + 2;
  return line.substr(start, line.find(' ', start) - start);
}

Outcome expected_outcome(const Vector& v) {
  Outcome o;
  Message m;
  std::string last_span;
  bool in_message = false;
  bool headers_done = false;  // the current message is o.messages.back()
  for (const std::string& line : v.log) {
    const std::size_t sp = line.find(' ');
    const std::string event = line.substr(sp + 1);
    if (event.starts_with("len=")) {
      const std::size_t k = event.find("span[") + 5;
      const std::string kind = event.substr(k, event.find(']', k) - k);
      const std::string value = span_value(line);
      const bool continues = kind == last_span;
      last_span = kind;
      if (kind == "method") m.method += value;
      if (kind == "url") m.url += value;
      if (kind == "header_field") {
        if (!continues) m.fields.emplace_back();
        m.fields.back().first += value;
      }
      if (kind == "header_value") {
        if (m.fields.empty()) m.fields.emplace_back();
        m.fields.back().second += value;
      }
      if (kind == "body") m.body += value;
      continue;
    }
    last_span.clear();
    if (event == "message begin") {
      m = Message{};
      in_message = true;
      headers_done = false;
    } else if (event.starts_with("headers complete")) {
      const std::string version = field_of(line, "v");
      m.major = version[0] - '0';
      m.minor = version[2] - '0';
      const unsigned long flags = std::stoul(field_of(line, "flags"), nullptr, 16);
      m.chunked = (flags & 0x8) != 0;
      m.has_length = (flags & 0x20) != 0;
      m.content_length = std::stoull(field_of(line, "content_length"));
      m.keep_alive = m.minor == 1 ? (flags & 0x2) == 0 : (flags & 0x1) != 0;
      m.upgrade = (flags & 0x14) == 0x14;
      o.messages.push_back(m);
      headers_done = true;
    } else if (event == "message complete") {
      if (!o.messages.empty()) {
        o.messages.back().body = m.body;
        o.messages.back().complete = true;
      }
      in_message = false;
    } else if (event.starts_with("error")) {
      if (in_message && headers_done) o.messages.back().body = m.body;
      const int code = std::stoi(field_of(line, "code"));
      o.end = code == 22 || code == 23 ? End::upgrade : code == 5 ? End::closed_with_data
                                                                   : End::error;
      return o;
    } else if (line.starts_with("off=NULL finish=")) {
      o.finish_known = true;
      o.mid_message = line != "off=NULL finish=0";
    }
  }
  if (in_message && headers_done) o.messages.back().body = m.body;
  return o;
}

// ---- our outcome ---------------------------------------------------------------------

std::string error_name(Error e) { return std::string(answer_for(e).log_reason); }

Outcome our_outcome(const std::string& input, const Limits& limits, std::string& segmentation) {
  Outcome o;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const test::Agreement a = test::parse_all_ways(std::string_view(input).substr(pos), limits, 128);
    if (!a.disagreement.empty() && segmentation.empty()) segmentation = a.disagreement;
    const test::ParsedHead& h = a.whole;
    if (h.status == Status::incomplete) {
      o.mid_message = true;
      return o;
    }
    if (h.status == Status::error) {
      o.end = End::error;
      o.detail = error_name(h.error);
      return o;
    }
    pos += h.consumed;
    Message m;
    m.method = h.method;
    m.url = h.target;
    m.major = h.major;
    m.minor = h.minor;
    m.fields = h.fields;
    m.chunked = h.framing == Framing::chunked;
    m.has_length = h.framing == Framing::content_length;
    m.content_length = h.content_length;
    m.keep_alive = h.keep_alive;
    m.upgrade = h.upgrade;
    o.messages.push_back(m);
    Message& msg = o.messages.back();
    // What the daemon does next: CONNECT has no content (RFC 9110 §9.3.6) and turns into a
    // tunnel at once; an upgrade happens after the request's own body (RFC 9110 §7.8).
    if (h.form == TargetForm::authority) {
      o.end = End::upgrade;
      return o;
    }
    if (h.framing == Framing::content_length) {
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>(h.content_length, input.size() - pos));
      msg.body = input.substr(pos, take);
      pos += take;
      if (take < h.content_length) {
        o.mid_message = true;
        return o;
      }
    } else if (h.framing == Framing::chunked) {
      const test::ChunkedAgreement c = test::decode_all_ways(std::string_view(input).substr(pos));
      if (!c.disagreement.empty() && segmentation.empty()) segmentation = "chunked: " + c.disagreement;
      msg.body = c.whole.body;
      if (c.whole.status == ChunkedDecoder::Status::error) {
        o.end = End::error;
        o.detail = "chunked " + error_name(c.whole.error);
        return o;
      }
      if (c.whole.status != ChunkedDecoder::Status::done) {
        o.mid_message = true;
        return o;
      }
      pos += c.whole.consumed;
    }
    msg.complete = true;
    if (h.upgrade) {
      o.end = End::upgrade;
      return o;
    }
    if (!h.keep_alive) {
      if (pos < input.size()) o.end = End::closed_with_data;
      return o;
    }
  }
  return o;
}

// ---- comparing -----------------------------------------------------------------------

std::string describe(const Outcome& o) {
  std::ostringstream s;
  s << o.messages.size() << " message(s), then " << to_string(o.end);
  if (!o.detail.empty()) s << " (" << o.detail << ")";
  if (o.mid_message) s << ", mid-message";
  return s.str();
}

// When both reject, a head that llhttp reported complete but whose request it then
// refused (an invalid Transfer-Encoding, say) is the same rejection as ours of that head.
void drop_unfinished(Outcome& o) {
  while (!o.messages.empty() && !o.messages.back().complete) o.messages.pop_back();
}

// Empty when they agree, else what differs.
std::string compare(Outcome want, Outcome got) {
  if (want.end == End::error && got.end == End::error) {
    drop_unfinished(want);
    drop_unfinished(got);
  }
  if (want.messages.size() != got.messages.size() || want.end != got.end) {
    return "llhttp: " + describe(want) + "; ours: " + describe(got);
  }
  if (want.finish_known && want.mid_message != got.mid_message) {
    return "llhttp finish says mid-message=" + std::to_string(want.mid_message);
  }
  for (std::size_t i = 0; i < want.messages.size(); ++i) {
    const Message& w = want.messages[i];
    const Message& g = got.messages[i];
    const std::string at = "message " + std::to_string(i + 1) + ": ";
    if (w.method != g.method) return at + "method '" + w.method + "' vs '" + g.method + "'";
    if (w.url != g.url) return at + "url '" + w.url + "' vs '" + g.url + "'";
    if (w.major != g.major || w.minor != g.minor) return at + "version";
    if (w.fields.size() != g.fields.size()) return at + "field count";
    for (std::size_t f = 0; f < w.fields.size(); ++f) {
      if (w.fields[f].first != g.fields[f].first || trim(w.fields[f].second) != g.fields[f].second) {
        return at + "field '" + w.fields[f].first + ": " + w.fields[f].second + "' vs '" +
               g.fields[f].first + ": " + g.fields[f].second + "'";
      }
    }
    if (w.chunked != g.chunked) return at + "chunked framing";
    if (w.has_length != g.has_length || (w.has_length && w.content_length != g.content_length)) {
      return at + "content length";
    }
    if (w.keep_alive != g.keep_alive) return at + "keep-alive";
    if (w.upgrade != g.upgrade) return at + "upgrade";
    if (w.body != g.body) return at + "body '" + w.body + "' vs '" + g.body + "'";
  }
  return "";
}

// An HTTP/1.1 request whose head lacks exactly one Host line.
bool has_http11_request_without_one_host(const Outcome& relaxed) {
  for (const Message& m : relaxed.messages) {
    const auto hosts = std::count_if(m.fields.begin(), m.fields.end(), [](const auto& f) {
      return f.first.size() == 4 && (f.first[0] | 0x20) == 'h' && (f.first[1] | 0x20) == 'o' &&
             (f.first[2] | 0x20) == 's' && (f.first[3] | 0x20) == 't';
    });
    if (m.minor == 1 && hosts != 1) return true;
  }
  return false;
}

std::map<std::string, std::string> read_deviations(const fs::path& file) {
  std::map<std::string, std::string> list;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t bar = line.find(" | ");
    EXPECT_NE(bar, std::string::npos) << "malformed deviation line: " << line;
    if (bar == std::string::npos) continue;
    const std::string reason = trim(line.substr(bar + 3));
    EXPECT_FALSE(reason.empty()) << "deviation without a reason: " << line;
    EXPECT_TRUE(list.emplace(line.substr(0, bar), reason).second) << "listed twice: " << line;
  }
  return list;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

TEST(LlhttpConformance, EveryRequestVector) {
  const fs::path dir = env("HTTPAPI_LLHTTP_REQUEST_DIR");
  const fs::path deviations_file = env("HTTPAPI_LLHTTP_DEVIATIONS");
  ASSERT_FALSE(dir.empty()) << "HTTPAPI_LLHTTP_REQUEST_DIR is not set";
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing";
  ASSERT_TRUE(fs::is_regular_file(deviations_file)) << deviations_file << " is missing";
  const auto deviations = read_deviations(deviations_file);

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no .md vectors in " << dir;

  Limits relaxed;
  relaxed.require_host = false;
  std::set<std::string> seen;
  std::size_t total = 0, agree = 0, listed = 0, host_rule = 0;
  for (const fs::path& file : files) {
    const std::vector<Vector> vectors = read_vectors(file);
    EXPECT_FALSE(vectors.empty()) << file << " holds no vector";
    for (const Vector& v : vectors) {
      ++total;
      seen.insert(v.id);
      const Outcome want = expected_outcome(v);
      std::string segmentation;
      const Outcome got = our_outcome(v.input, relaxed, segmentation);
      EXPECT_EQ(segmentation, "") << v.id << ": whole and segmented parses disagree";
      const std::string diff = compare(want, got);
      const auto entry = deviations.find(v.id);
      if (diff.empty()) {
        ++agree;
        EXPECT_EQ(entry, deviations.end())
            << v.id << ": listed in llhttp-deviations.txt but now agrees with llhttp";
      } else {
        ++listed;
        EXPECT_NE(entry, deviations.end())
            << v.id << " [" << v.type << "] differs from llhttp and is not listed: " << diff
            << "\n  input: " << testing::PrintToString(v.input);
      }
      // The production rule: only a missing/duplicate Host may change the outcome.
      std::string ignored;
      const Outcome strict = our_outcome(v.input, Limits{}, ignored);
      if (!compare(got, strict).empty()) {
        ++host_rule;
        EXPECT_TRUE(has_http11_request_without_one_host(got))
            << v.id << ": production limits change the outcome for another reason";
        EXPECT_EQ(strict.end, End::error) << v.id;
      }
    }
  }
  for (const auto& [id, reason] : deviations) {
    EXPECT_TRUE(seen.count(id)) << "llhttp-deviations.txt lists an unknown vector: " << id;
  }
  EXPECT_GT(total, 100u);
  std::printf("llhttp request vectors: %zu read, %zu agree, %zu listed deviations; "
              "%zu also rejected in production for a missing Host (HTTP/1.1)\n",
              total, agree, listed, host_rule);
}

}  // namespace
}  // namespace httpapi::http1
