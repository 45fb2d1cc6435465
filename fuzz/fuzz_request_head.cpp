// Fuzzes parse_request_head: the whole input and the same input in two calls (split at a
// data-derived point, the daemon's keep-and-append pattern) must give the same answer;
// every view must lie inside the input; a complete head must cook or fail cleanly.
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "http1/request_parser.hpp"
#include "http1/url_cooker.hpp"

using namespace httpapi::http1;
using httpapi::fuzz::inside;

namespace {

struct Outcome {
  HeadResult result;
  RequestHead head;
  std::vector<char> first;  // the split run's first buffer, alive as long as its views
  std::string_view buffer;  // the buffer the final call parsed (views point into it)
};

void parse_whole(std::string_view in, const Limits& limits, std::span<Field> storage, Outcome& o) {
  HeadScanner scanner;
  o.buffer = in;
  o.result = parse_request_head(in, limits, storage, o.head, scanner);
}

// The first call sees a separate heap copy of the prefix, so a view or a read that
// wrongly survives into the second call is caught by ASan.
void parse_split(std::string_view in, std::size_t cut, const Limits& limits,
                 std::span<Field> storage, Outcome& o) {
  HeadScanner scanner;
  o.first.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut));
  o.buffer = std::string_view(o.first.data(), o.first.size());
  o.result = parse_request_head(o.buffer, limits, storage, o.head, scanner);
  if (o.result.status == Status::incomplete) {
    o.buffer = in;
    o.result = parse_request_head(in, limits, storage, o.head, scanner);
  }
}

std::ptrdiff_t offset(const Outcome& o, std::string_view v) { return v.data() - o.buffer.data(); }

void check_views(std::string_view in, const RequestHead& h) {
  FUZZ_CHECK(inside(in, h.method) && inside(in, h.target) && inside(in, h.host));
  for (std::size_t i = 0; i < h.field_count; ++i) {
    FUZZ_CHECK(inside(in, h.fields[i].name) && inside(in, h.fields[i].value));
  }
  FUZZ_CHECK(h.head_length <= in.size());
}

// Same answer and, when complete, the same fields at the same offsets.
void check_same(const Outcome& a, const Outcome& b) {
  FUZZ_CHECK(a.result.status == b.result.status);
  FUZZ_CHECK(a.result.error == b.result.error);
  if (a.result.status != Status::complete) return;
  FUZZ_CHECK(a.result.consumed == b.result.consumed);
  FUZZ_CHECK(offset(a, a.head.target) == offset(b, b.head.target));
  FUZZ_CHECK(a.head.method == b.head.method && a.head.target_form == b.head.target_form);
  FUZZ_CHECK(a.head.field_count == b.head.field_count);
  for (std::size_t i = 0; i < a.head.field_count; ++i) {
    FUZZ_CHECK(a.head.fields[i].name == b.head.fields[i].name);
    FUZZ_CHECK(offset(a, a.head.fields[i].value) == offset(b, b.head.fields[i].value));
  }
  FUZZ_CHECK(a.head.target == b.head.target && a.head.host == b.head.host);
  FUZZ_CHECK(a.head.framing == b.head.framing && a.head.content_length == b.head.content_length);
  FUZZ_CHECK(a.head.keep_alive == b.head.keep_alive && a.head.upgrade == b.head.upgrade);
  FUZZ_CHECK(a.head.expect_continue == b.head.expect_continue);
}

void check_cooking(const RequestHead& h, const Limits& limits) {
  std::vector<char> out(cooked_url_capacity(h.target, h.host));
  CookedUrl url;
  const Error e = cook_url(h.target, h.target_form, h.host, "192.0.2.1", 80, false, limits, out, url);
  if (e != Error::none) {
    FUZZ_CHECK(e == Error::invalid_url || e == Error::url_too_long || e == Error::invalid_hostname);
    // The head parser validated the host already, so only the path can fail.
    FUZZ_CHECK(e != Error::invalid_hostname);
    return;
  }
  const std::string_view all(out.data(), out.size());
  FUZZ_CHECK(inside(all, url.full) && inside(all, url.path) && inside(all, url.host));
  FUZZ_CHECK(!url.path.empty() && url.path.front() == '/');
  FUZZ_CHECK(url.path.find("//") == std::string_view::npos);
  FUZZ_CHECK(url.path.find('\\') == std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the limits, so both defaults and tight limits are explored.
  Limits limits;
  if (data[0] & 1) {
    limits.max_request_bytes = 64 + data[0];
    limits.max_field_length = 16 + (data[0] >> 2);
    limits.max_body_bytes = data[0];
  }
  limits.require_host = (data[0] & 2) == 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<Field> storage_a(data[0] & 4 ? 4 : 64);
  std::vector<Field> storage_b(storage_a.size());

  Outcome whole;
  parse_whole(in, limits, storage_a, whole);
  if (whole.result.status == Status::complete) {
    check_views(in, whole.head);
    check_cooking(whole.head, limits);
  } else {
    FUZZ_CHECK(whole.result.consumed == 0);
  }
  FUZZ_CHECK((whole.result.status == Status::error) == (whole.result.error != Error::none));
  Outcome split;
  parse_split(in, httpapi::fuzz::split_point(in), limits, storage_b, split);
  if (split.result.status == Status::complete) check_views(split.buffer, split.head);
  check_same(whole, split);
  return 0;
}
