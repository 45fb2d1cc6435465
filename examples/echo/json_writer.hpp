// A JSON text written straight into a string, member by member: what httpapi-echo answers
// with. Building a tree first (nlohmann::json: a map per object, a string per value) then
// dumping it cost more than the rest of a request; this appends to one string the caller
// reuses, so an answer costs no allocation once the string has grown.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace echo {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // The name of the next member of an object; its value follows.
  JsonWriter& key(std::string_view name) {
    separate();
    quoted(name);
    out_ += ':';
    need_comma_ = false;
    return *this;
  }

  // Text as a JSON string: quotes, backslashes and control characters escaped, anything
  // else as it is, except bytes that are not UTF-8, each replaced by U+FFFD (a client may
  // send any bytes; the answer stays valid JSON).
  JsonWriter& string(std::string_view text) { return scalar([&] { quoted(text); }); }
  JsonWriter& number(std::uint64_t n) {
    return scalar([&] {
      char digits[20];
      out_.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
    });
  }
  JsonWriter& boolean(bool b) { return scalar([&] { out_ += b ? "true" : "false"; }); }
  JsonWriter& null() { return scalar([&] { out_ += "null"; }); }

 private:
  void separate() {
    if (need_comma_) out_ += ',';
  }
  JsonWriter& open(char bracket) {
    separate();
    out_ += bracket;
    need_comma_ = false;
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_ += bracket;
    need_comma_ = true;
    return *this;
  }
  template <typename Write>
  JsonWriter& scalar(Write write) {
    separate();
    write();
    need_comma_ = true;
    return *this;
  }
  void quoted(std::string_view text);
  void escape(unsigned char c);

  std::string& out_;
  bool need_comma_ = false;  // a value was written: the next one is separated from it
};

// The length of the UTF-8 sequence at the start of `s` (1 to 4), or 0 when it is not one
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
inline std::size_t utf8_sequence(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](std::size_t i) {
    return i < s.size() && (byte(i) & 0xC0) == 0x80;
  };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return continuation(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (c == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && byte(1) > 0x9F) return 0;  // a surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (c == 0xF0 && byte(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && byte(1) > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

inline void JsonWriter::quoted(std::string_view text) {
  const auto plain = [](unsigned char c) {
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
  };
  out_ += '"';
  while (!text.empty()) {
    std::size_t run = 0;  // printable ASCII goes out in one piece
    while (run < text.size() && plain(static_cast<unsigned char>(text[run]))) ++run;
    out_.append(text.substr(0, run));
    text.remove_prefix(run);
    if (text.empty()) break;
    const auto c = static_cast<unsigned char>(text.front());
    const std::size_t length = c < 0x80 ? 1 : utf8_sequence(text);
    if (c < 0x80) {
      escape(c);
    } else if (length == 0) {
      out_ += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    } else {
      out_.append(text.substr(0, length));
    }
    text.remove_prefix(std::max<std::size_t>(length, 1));
  }
  out_ += '"';
}

inline void JsonWriter::escape(unsigned char c) {
  switch (c) {
    case '"': out_ += "\\\""; return;
    case '\\': out_ += "\\\\"; return;
    case '\b': out_ += "\\b"; return;
    case '\f': out_ += "\\f"; return;
    case '\n': out_ += "\\n"; return;
    case '\r': out_ += "\\r"; return;
    case '\t': out_ += "\\t"; return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char code[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out_.append(code, sizeof code);
    }
  }
}

}  // namespace echo
