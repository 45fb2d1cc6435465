// Range processing for whole representations (see ranges.hpp).
#include "client/ranges.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>

#include "http1/byte_ranges.hpp"
#include "http1/syntax.hpp"

namespace httpapi::client {
namespace {

using http1::syntax::iequals;

// More ranges than this in one field and the field is ignored (the whole representation is
// sent): a long list of tiny ranges costs the server far more than it saves the client.
constexpr std::size_t kMaxRanges = 64;

std::string_view view(httpapi_bytes b) { return b.data ? std::string_view(b.data, b.length) : ""; }

std::string_view header_value(const httpapi_response& response, std::string_view name) {
  for (size_t i = 0; i < response.header_count; ++i) {
    const httpapi_header& h = response.headers[i];
    if (iequals(view(h.name), name)) return view(h.value);
  }
  return {};
}

// If-Range (RFC 9110 §13.1.5): the range applies only while the representation is the one
// the client has. An entity-tag must match the response's ETag strongly (weak tags never
// match); a date must equal the response's Last-Modified exactly.
bool if_range_holds(std::string_view if_range, const httpapi_response& response) {
  if (if_range.empty()) return true;
  if (if_range.front() == '"') {
    const std::string_view etag = header_value(response, "ETag");
    return !etag.empty() && etag.front() == '"' && etag == if_range;
  }
  if (if_range.starts_with("W/")) return false;
  const std::string_view modified = header_value(response, "Last-Modified");
  return !modified.empty() && modified == if_range;
}

std::string number(std::uint64_t n, int base = 10) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n, base).ptr;
  return {digits, end};
}

// "bytes FIRST-LAST/LENGTH"
std::string content_range(const http1::ByteRange& r, std::uint64_t length) {
  return "bytes " + number(r.offset) + "-" + number(r.offset + r.length - 1) + "/" +
         number(length);
}

// Unlikely to occur inside a representation; parts are found by it, not by lengths.
std::string boundary() {
  static std::atomic<std::uint64_t> counter{0};
  const auto seed = static_cast<std::uint64_t>(std::time(nullptr)) ^
                    reinterpret_cast<std::uintptr_t>(&counter);
  return "httpapi-" + number(seed, 16) + "-" +
         number(counter.fetch_add(1, std::memory_order_relaxed), 16);
}

// Appends the chunks holding bytes [offset, offset + length) of the representation.
void append_slice(std::span<const httpapi_data_chunk> representation, std::uint64_t offset,
                  std::uint64_t length, std::vector<httpapi_data_chunk>& out) {
  for (const httpapi_data_chunk& chunk : representation) {
    if (length == 0) return;
    if (offset >= chunk.length) {
      offset -= chunk.length;
      continue;
    }
    httpapi_data_chunk piece = chunk;
    piece.length = std::min(length, chunk.length - offset);
    if (chunk.kind == HTTPAPI_CHUNK_MEMORY) {
      piece.data = static_cast<const char*>(chunk.data) + offset;
    } else {
      piece.offset = chunk.offset + offset;
    }
    out.push_back(piece);
    length -= piece.length;
    offset = 0;
  }
}

void append_text(RangedResponse& out, std::string text) {
  out.storage.push_back(std::move(text));
  const std::string& stored = out.storage.back();
  httpapi_data_chunk chunk{};
  chunk.kind = HTTPAPI_CHUNK_MEMORY;
  chunk.data = stored.data();
  chunk.length = stored.size();
  out.body.push_back(chunk);
}

void add(RangedResponse& out, std::string_view name, std::string value) {
  out.storage.push_back(std::move(value));
  const std::string& stored = out.storage.back();
  out.headers.push_back({{name.data(), name.size()}, {stored.data(), stored.size()}});
}

}  // namespace

void process_ranges(const httpapi_request_info& info, const httpapi_response& response,
                    std::span<const httpapi_data_chunk> representation, std::uint64_t size,
                    RangedResponse& out) {
  std::string_view content_type;
  for (size_t i = 0; i < response.header_count; ++i) {
    const httpapi_header& h = response.headers[i];
    const std::string_view name = view(h.name);
    if (iequals(name, "Content-Length") || iequals(name, "Accept-Ranges")) continue;
    if (iequals(name, "Content-Type")) content_type = view(h.value);
    out.headers.push_back(h);
  }
  add(out, "Accept-Ranges", "bytes");
  out.status = response.status;
  out.body.assign(representation.begin(), representation.end());
  const std::string_view range = view(info.known_headers[HTTPAPI_HEADER_RANGE]);
  if (response.status != 200 || range.empty() || view(info.method) != "GET" ||
      !if_range_holds(view(info.known_headers[HTTPAPI_HEADER_IF_RANGE]), response)) {
    return;
  }
  http1::RangeSpec specs[kMaxRanges];
  std::size_t spec_count = 0;
  if (http1::parse_range(range, specs, spec_count) != http1::RangeSyntax::ok) return;
  http1::ByteRange ranges[kMaxRanges];
  std::size_t count = 0;
  switch (http1::resolve_ranges(std::span<const http1::RangeSpec>(specs, spec_count), size,
                                ranges, count)) {
    case http1::RangeOutcome::full:
      return;
    case http1::RangeOutcome::unsatisfiable:
      out.status = 416;
      out.body.clear();
      add(out, "Content-Range", "bytes */" + number(size));
      return;
    case http1::RangeOutcome::partial:
      break;
  }
  out.status = 206;
  out.body.clear();
  if (count == 1) {
    const http1::ByteRange& r = ranges[0];
    append_slice(representation, r.offset, r.length, out.body);
    add(out, "Content-Range", content_range(r, size));
    return;
  }
  // multipart/byteranges (RFC 9110 §14.6): each part with its own Content-Range.
  const std::string separator = boundary();
  for (std::size_t i = 0; i < count; ++i) {
    const http1::ByteRange& r = ranges[i];
    std::string part_head = "\r\n--" + separator + "\r\n";
    if (!content_type.empty()) part_head.append("Content-Type: ").append(content_type).append("\r\n");
    part_head.append("Content-Range: ").append(content_range(r, size)).append("\r\n\r\n");
    append_text(out, std::move(part_head));
    append_slice(representation, r.offset, r.length, out.body);
  }
  append_text(out, "\r\n--" + separator + "--\r\n");
  // The part types replace the representation's type in the response itself.
  std::erase_if(out.headers, [](const httpapi_header& h) {
    return iequals(view(h.name), "Content-Type");
  });
  add(out, "Content-Type", "multipart/byteranges; boundary=" + separator);
}

}  // namespace httpapi::client
