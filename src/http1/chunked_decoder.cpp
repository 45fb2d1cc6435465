// Chunked transfer coding (RFC 9112 §7.1), strict framing: every framing line ends in CRLF.
// A bare LF in a size line, after data or in the trailers is a 400: lenient LF handling in
// chunk framing is what the 2025 request-smuggling fixes (HTTP.sys included) closed.
#include "http1/chunked_decoder.hpp"

#include <algorithm>
#include <cstring>

#include "http1/syntax.hpp"

namespace httpapi::http1 {
namespace {

using syntax::is;
using syntax::is_ows;

// Longest size line we wait for: the hex digits (leading zeros allowed) plus extensions.
// Leading zeros beyond this are not a real client.
constexpr std::size_t k_max_size_digits = 64;

// memchr over [from, s.size()); never called with a null pointer for an empty range.
std::size_t find_lf(std::string_view s, std::size_t from) {
  if (from >= s.size()) return std::string_view::npos;
  const void* p = std::memchr(s.data() + from, '\n', s.size() - from);
  return p == nullptr ? std::string_view::npos
                      : static_cast<std::size_t>(static_cast<const char*>(p) - s.data());
}

std::size_t skip_ows(std::string_view s, std::size_t i) {
  while (i < s.size() && is_ows(s[i])) ++i;
  return i;
}

std::size_t skip_token(std::string_view s, std::size_t i) {
  while (i < s.size() && syntax::is_tchar(s[i])) ++i;
  return i;
}

// quoted-string starting at s[i] == '"'; returns the index after the closing quote, or 0.
std::size_t skip_quoted(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '"') return i + 1;
    if (s[i] == '\\') {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (++i == s.size() || !is(s[i], syntax::k_field)) return 0;
    } else if (!is(s[i], syntax::k_qdtext)) {
      return 0;
    }
  }
  return 0;
}

// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
bool valid_extensions(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    i = skip_ows(s, i);
    if (i == s.size() || s[i] != ';') return false;  // whitespace alone is not an extension
    i = skip_ows(s, i + 1);
    const std::size_t name_end = skip_token(s, i);
    if (name_end == i) return false;
    i = skip_ows(s, name_end);
    if (i < s.size() && s[i] == '=') {
      i = skip_ows(s, i + 1);
      if (i < s.size() && s[i] == '"') {
        i = skip_quoted(s, i);
        if (i == 0) return false;
      } else {
        const std::size_t value_end = skip_token(s, i);
        if (value_end == i) return false;
        i = value_end;
      }
    }
  }
  return true;
}

// A size line of 1 to 16 hex digits and CRLF, nothing else (most size lines): returns its
// length including the CRLF and its value, or 0 when the line is anything else (including
// not complete yet). Such a line cannot overflow nor exceed the line limits.
std::size_t plain_size_line(const char* s, std::size_t n, std::uint64_t& size) {
  std::size_t digits = 0;
  std::uint64_t value = 0;
  while (digits < n && digits < 16) {
    const int v = syntax::hex_table[static_cast<unsigned char>(s[digits])];
    if (v < 0) break;
    value = (value << 4) | static_cast<std::uint64_t>(v);
    ++digits;
  }
  if (digits == 0 || n - digits < 2 || s[digits] != '\r' || s[digits + 1] != '\n') return 0;
  size = value;
  return digits + 2;
}

// A framing line must end in CRLF; returns the content without it, or false on a bare LF.
bool strip_crlf(std::string_view line_with_lf, std::string_view& content) {
  if (line_with_lf.size() < 2 || line_with_lf[line_with_lf.size() - 2] != '\r') return false;
  content = line_with_lf.substr(0, line_with_lf.size() - 2);
  return true;
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::fail(Error error) noexcept {
  state_ = State::failed;
  error_ = error;
  Step step;
  step.status = Status::error;
  step.error = error;
  return step;
}

// Parses the size line at input[pos...]. On success advances pos past it and moves to the
// data or trailer state; returns a Step only to report incomplete or error.
ChunkedDecoder::Step ChunkedDecoder::size_line(std::string_view input, std::size_t& pos,
                                               const ChunkedLimits& limits) noexcept {
  const std::string_view rest = input.substr(pos);
  const std::size_t max_line = syntax::sat_add(k_max_size_digits, limits.max_extension_bytes);
  const std::size_t lf = find_lf(rest, scanned_);
  if (lf == std::string_view::npos) {
    scanned_ = rest.size();
    // Content is at least size - 1 bytes (the last byte may be the CR): already too long?
    if (rest.size() >= syntax::sat_add(max_line, 2)) return fail(Error::bad_request);
    Step step;
    step.consumed = pos;
    return step;
  }
  scanned_ = 0;
  std::string_view line;
  if (!strip_crlf(rest.substr(0, lf + 1), line)) return fail(Error::bad_request);
  if (line.size() > max_line) return fail(Error::bad_request);

  std::uint64_t size = 0;
  std::size_t i = 0;
  for (; i < line.size(); ++i) {
    const int digit = syntax::hex_table[static_cast<unsigned char>(line[i])];
    if (digit < 0) break;
    if (size > (UINT64_MAX >> 4)) return fail(Error::bad_request);  // would overflow
    size = (size << 4) | static_cast<std::uint64_t>(digit);
  }
  const std::string_view extensions = line.substr(i);
  if (i == 0 || extensions.size() > limits.max_extension_bytes ||
      !valid_extensions(extensions)) {
    return fail(Error::bad_request);
  }
  // Refuse a chunk that would take the body over the limit before receiving any of it.
  if (size > limits.max_body_bytes - std::min(body_bytes_, limits.max_body_bytes)) {
    return fail(Error::entity_too_large);
  }
  pos += lf + 1;
  chunk_remaining_ = size;
  state_ = size == 0 ? State::trailers : State::data;
  trailer_line_ = 0;
  return Step{};
}

// trailer-section = *( field-line CRLF ) CRLF, returned whole when its end has arrived.
ChunkedDecoder::Step ChunkedDecoder::trailers(std::string_view input, std::size_t pos,
                                              const ChunkedLimits& limits) noexcept {
  const std::string_view section = input.substr(pos);
  // Fast path: no trailers, the section is just the final CRLF.
  if (scanned_ == 0 && section.size() >= 2 && section[0] == '\r' && section[1] == '\n') {
    state_ = State::finished;
    Step step;
    step.status = Status::done;
    step.consumed = pos + 2;
    step.trailers = section.substr(0, 0);
    trailer_line_ = 0;
    return step;
  }
  while (true) {
    const std::size_t lf = find_lf(section, scanned_);
    if (lf == std::string_view::npos) {
      scanned_ = section.size();
      // The section is at least size - 1 bytes (a final CR may start the last CRLF).
      if (section.size() >= syntax::sat_add(limits.max_trailer_bytes, 2)) {
        return fail(Error::request_too_long);
      }
      Step step;
      step.consumed = pos;
      return step;
    }
    const std::string_view raw = section.substr(trailer_line_, lf + 1 - trailer_line_);
    // Size before syntax: the limit is crossed at an earlier byte than this line's end
    // whenever it applies, and the byte-order rule keeps split and whole input agreeing.
    const bool last = raw == "\r\n";
    if (last ? trailer_line_ > limits.max_trailer_bytes : lf + 1 > limits.max_trailer_bytes) {
      return fail(Error::request_too_long);
    }
    std::string_view line;
    if (!strip_crlf(raw, line)) return fail(Error::bad_request);
    if (last) {
      state_ = State::finished;
      Step step;
      step.status = Status::done;
      step.consumed = pos + lf + 1;
      step.trailers = section.substr(0, trailer_line_);
      scanned_ = trailer_line_ = 0;
      return step;
    }
    Field field;
    if (syntax::has_nul_or_cr(line) || syntax::parse_field_line(line, field) != Error::none) {
      return fail(Error::bad_request);
    }
    trailer_line_ = scanned_ = lf + 1;
  }
}

ChunkedDecoder::Step ChunkedDecoder::decode(std::string_view input,
                                            const ChunkedLimits& limits) noexcept {
  std::size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::size_line: {
        if (scanned_ == 0) {  // fast path: a plain size line, as size_line() would take it
          std::uint64_t size = 0;
          const std::size_t length = plain_size_line(input.data() + pos, input.size() - pos, size);
          if (length != 0 &&
              size <= limits.max_body_bytes - std::min(body_bytes_, limits.max_body_bytes)) {
            pos += length;
            chunk_remaining_ = size;
            state_ = size == 0 ? State::trailers : State::data;
            trailer_line_ = 0;
            break;
          }
        }
        const Step step = size_line(input, pos, limits);
        if (step.status == Status::error || state_ == State::size_line) return step;
        break;
      }
      case State::data: {
        if (pos == input.size()) {
          Step step;
          step.consumed = pos;
          return step;
        }
        const std::size_t take = static_cast<std::size_t>(
            std::min<std::uint64_t>(chunk_remaining_, input.size() - pos));
        chunk_remaining_ -= take;
        body_bytes_ += take;
        if (chunk_remaining_ == 0) state_ = State::data_crlf;
        Step step;
        step.status = Status::data;
        step.data = input.substr(pos, take);
        step.consumed = pos + take;
        return step;
      }
      case State::data_crlf: {
        // Check each byte as soon as it is here: a wrong one fails without waiting.
        const std::string_view rest = input.substr(pos);
        if (!rest.empty() && rest[0] != '\r') return fail(Error::bad_request);
        if (rest.size() >= 2 && rest[1] != '\n') return fail(Error::bad_request);
        if (rest.size() < 2) {
          Step step;
          step.consumed = pos;
          return step;
        }
        pos += 2;
        state_ = State::size_line;
        break;
      }
      case State::trailers:
        return trailers(input, pos, limits);
      case State::finished: {
        Step step;
        step.status = Status::done;
        return step;
      }
      case State::failed: {
        Step step;
        step.status = Status::error;
        step.error = error_;
        return step;
      }
    }
  }
}

int parse_trailer_fields(std::string_view trailers, Field* storage, std::size_t capacity) noexcept {
  std::size_t count = 0;
  while (!trailers.empty()) {
    const std::size_t lf = trailers.find('\n');
    std::string_view line = trailers.substr(0, lf);
    if (lf != std::string_view::npos) {
      if (line.empty() || line.back() != '\r') return -1;  // CRLF required, as in decode()
      line.remove_suffix(1);
    }
    trailers.remove_prefix(lf == std::string_view::npos ? trailers.size() : lf + 1);
    if (line.empty()) break;  // the blank line that ends a section, if the caller kept it
    if (count == capacity || syntax::has_nul_or_cr(line) ||
        syntax::parse_field_line(line, storage[count]) != Error::none) {
      return -1;
    }
    ++count;
  }
  return static_cast<int>(count);
}

}  // namespace httpapi::http1
