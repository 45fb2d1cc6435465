// Test harness for the http1 parsers: every input is placed flush against a PROT_NONE
// guard page (so any read past the end faults at once), and run whole, split in two at
// every offset (the daemon's pattern: keep the unconsumed bytes, append more, call again),
// and byte by byte. All runs must agree; the harness returns the whole-input result.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http1/chunked_decoder.hpp"
#include "http1/request_parser.hpp"
#include "../../support/guarded_bytes.hpp"

namespace httpapi::http1::test {

using httpapi::test::Guarded;

// Everything a head parse produced, copied out of the buffer so runs can be compared.
struct ParsedHead {
  Status status = Status::incomplete;
  Error error = Error::none;
  std::size_t consumed = 0;
  std::string method, target, host;
  TargetForm form = TargetForm::origin;
  int major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  Framing framing = Framing::none;
  std::uint64_t content_length = 0;
  bool keep_alive = false, expect_continue = false, upgrade = false;
  std::size_t head_length = 0;
  bool views_inside = true;  // every view pointed into the input buffer

  bool operator==(const ParsedHead&) const = default;
  bool ok() const { return status == Status::complete; }
  std::string field(std::string_view name) const {
    for (auto& [n, v] : fields) {
      if (n == name) return v;
    }
    return "<absent>";
  }
};

inline ParsedHead capture(const Guarded& buf, const HeadResult& r, const RequestHead& h) {
  ParsedHead p;
  p.status = r.status;
  p.error = r.error;
  p.consumed = r.consumed;
  if (r.status != Status::complete) return p;
  p.method = h.method;
  p.target = h.target;
  p.host = h.host;
  p.form = h.target_form;
  p.major = h.version_major;
  p.minor = h.version_minor;
  p.views_inside = buf.contains(h.method) && buf.contains(h.target) && buf.contains(h.host);
  for (std::size_t i = 0; i < h.field_count; ++i) {
    p.fields.emplace_back(h.fields[i].name, h.fields[i].value);
    p.views_inside = p.views_inside && buf.contains(h.fields[i].name) &&
                     buf.contains(h.fields[i].value);
  }
  p.framing = h.framing;
  p.content_length = h.content_length;
  p.keep_alive = h.keep_alive;
  p.expect_continue = h.expect_continue;
  p.upgrade = h.upgrade;
  p.head_length = h.head_length;
  return p;
}

// One call on a guarded copy of `input`.
inline ParsedHead parse_once(std::string_view input, const Limits& limits, HeadScanner& scanner,
                             std::size_t capacity) {
  Guarded buf(input);
  std::vector<Field> storage(capacity);
  RequestHead head;
  const HeadResult r = parse_request_head(buf.view(), limits, storage, head, scanner);
  return capture(buf, r, head);
}

// Feeds growing prefixes (the given cut points, then the whole input) until not incomplete.
inline ParsedHead parse_in_steps(std::string_view input, const Limits& limits,
                                 const std::vector<std::size_t>& cuts, std::size_t capacity) {
  HeadScanner scanner;
  for (std::size_t cut : cuts) {
    ParsedHead p = parse_once(input.substr(0, cut), limits, scanner, capacity);
    if (p.status != Status::incomplete) return p;
  }
  return parse_once(input, limits, scanner, capacity);
}

struct Agreement {
  ParsedHead whole;
  std::string disagreement;  // empty when every segmentation agreed with the whole run
};

// Whole, every two-way split, and byte by byte (byte-by-byte only up to `max_bytewise`).
inline Agreement parse_all_ways(std::string_view input, const Limits& limits = {},
                                std::size_t capacity = 64, std::size_t max_split = 4096) {
  Agreement a;
  HeadScanner scanner;
  a.whole = parse_once(input, limits, scanner, capacity);
  if (!a.whole.views_inside) a.disagreement = "a view points outside the input";
  if (input.size() > max_split) return a;
  for (std::size_t k = 0; k < input.size() && a.disagreement.empty(); ++k) {
    if (!(parse_in_steps(input, limits, {k}, capacity) == a.whole)) {
      a.disagreement = "split at " + std::to_string(k);
    }
  }
  if (a.disagreement.empty()) {
    std::vector<std::size_t> cuts;
    for (std::size_t k = 1; k < input.size(); ++k) cuts.push_back(k);
    if (!(parse_in_steps(input, limits, cuts, capacity) == a.whole)) {
      a.disagreement = "byte by byte";
    }
  }
  return a;
}

// Everything the chunked decoder produced.
struct DecodedBody {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::incomplete;
  Error error = Error::none;
  std::string body;
  std::string trailers;
  std::size_t consumed = 0;  // total bytes of the input the decoder used
  bool views_inside = true;
  bool operator==(const DecodedBody&) const = default;
};

// Feeds `input` in pieces ending at `cuts` (then the rest), keeping the unconsumed tail
// between calls like the daemon does. Each call sees a fresh guarded copy.
inline DecodedBody decode_in_steps(std::string_view input, const ChunkedLimits& limits,
                                   const std::vector<std::size_t>& cuts) {
  DecodedBody d;
  ChunkedDecoder decoder;
  std::size_t start = 0;  // input offset of the first unconsumed byte
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    if (end < start) continue;
    while (true) {
      Guarded buf(input.substr(start, end - start));
      const ChunkedDecoder::Step step = decoder.decode(buf.view(), limits);
      d.views_inside = d.views_inside && buf.contains(step.data) && buf.contains(step.trailers);
      if (step.consumed > end - start) d.views_inside = false;
      start += step.consumed;
      d.consumed = start;
      d.status = step.status;
      d.error = step.error;
      if (step.status == ChunkedDecoder::Status::data) {
        d.body.append(step.data);
        if (step.data.empty()) d.views_inside = false;  // data steps must make progress
        continue;
      }
      if (step.status == ChunkedDecoder::Status::done) d.trailers = step.trailers;
      // After an error the connection is closed: how much framing was consumed before the
      // failing byte depends on segmentation and means nothing.
      if (step.status == ChunkedDecoder::Status::error) d.consumed = 0;
      if (step.status != ChunkedDecoder::Status::incomplete) return d;
      break;
    }
  }
  return d;
}

struct ChunkedAgreement {
  DecodedBody whole;
  std::string disagreement;
};

inline ChunkedAgreement decode_all_ways(std::string_view input, const ChunkedLimits& limits = {},
                                        std::size_t max_split = 4096) {
  ChunkedAgreement a;
  a.whole = decode_in_steps(input, limits, {});
  if (!a.whole.views_inside) a.disagreement = "a view points outside the input";
  if (input.size() > max_split) return a;
  for (std::size_t k = 0; k < input.size() && a.disagreement.empty(); ++k) {
    if (!(decode_in_steps(input, limits, {k}) == a.whole)) {
      a.disagreement = "split at " + std::to_string(k);
    }
  }
  if (a.disagreement.empty()) {
    std::vector<std::size_t> cuts;
    for (std::size_t k = 1; k < input.size(); ++k) cuts.push_back(k);
    if (!(decode_in_steps(input, limits, cuts) == a.whole)) a.disagreement = "byte by byte";
  }
  return a;
}

}  // namespace httpapi::http1::test
