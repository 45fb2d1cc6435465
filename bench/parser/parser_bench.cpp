// Request-head parsing throughput: our http1::parse_request_head vs Debian's http-parser.
//
// Each benchmark parses one whole request head per iteration, as a server does for a fresh
// request:
//  - ours: a value-initialised HeadScanner and a declared RequestHead per request (as the
//    daemon does), header fields into a stack array of 256 slots (HttpConnection's
//    kMaxFields, src/daemon/front/http_connection.cpp);
//  - http-parser: http_parser_init(HTTP_REQUEST) + http_parser_execute with callbacks that
//    record what we produce: the method, the URL span, every header name/value span (into a
//    stack array of the same type and size) and "headers complete".
// Two groups:
//  - head/...               the field array lives in the benchmark's stack frame and is
//                           reused by every request: the parsers' own cost;
//  - head_fresh_storage/... a new array per request, exactly like HttpConnection::parse_head;
//                           both parsers then also pay its value-initialisation (8 KiB).
// chunked/... decodes a small chunked body: our ChunkedDecoder (fresh per body) vs
// http-parser resuming from a saved "head parsed, chunked body next" state.
//
// At startup every corpus entry goes once through both parsers: both must accept it and agree
// on the number of header fields (and, for chunked, on the decoded body size), otherwise the
// program aborts. Throughput is reported as bytes_per_second and items_per_second
// (requests/s); min and max over repetitions are computed as extra statistics.
#include <benchmark/benchmark.h>
#include <http_parser.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http1/chunked_decoder.hpp"
#include "http1/request_parser.hpp"

namespace {

using namespace httpapi;

constexpr std::size_t k_field_slots = 256;  // HttpConnection's kMaxFields

// ---- corpus -----------------------------------------------------------------------------

struct Entry {
  const char* name;
  std::string head;  // the bytes parsed: the request head including the blank line
};

const std::string k_json_body =
    R"({"customer_id":"c_8f3a2b","items":[{"sku":"A-1001","qty":2},{"sku":"B-2040","qty":1}],)"
    R"("currency":"EUR","note":"leave at the door"})";

std::vector<Entry> make_corpus() {
  std::vector<Entry> corpus;
  // Chrome 124 navigating to a page, as captured on the wire (values shortened a little).
  corpus.push_back(
      {"browser_get",
       "GET /docs/api/v2/orders?status=open&page=3 HTTP/1.1\r\n"
       "Host: www.example.com\r\n"
       "Connection: keep-alive\r\n"
       "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", "
       "\"Not-A.Brand\";v=\"99\"\r\n"
       "sec-ch-ua-mobile: ?0\r\n"
       "sec-ch-ua-platform: \"Windows\"\r\n"
       "Upgrade-Insecure-Requests: 1\r\n"
       "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
       "Gecko) Chrome/124.0.0.0 Safari/537.36\r\n"
       "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
       "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
       "Sec-Fetch-Site: same-origin\r\n"
       "Sec-Fetch-Mode: navigate\r\n"
       "Sec-Fetch-Dest: document\r\n"
       "Referer: https://www.example.com/docs/api/v2/\r\n"
       "Accept-Encoding: gzip, deflate, br, zstd\r\n"
       "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
       "Cookie: _ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; "
       "session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dQw4w9WgXcQ; theme=dark\r\n"
       "\r\n"});
  // A JSON API call; only the head is parsed (the body would be read by the application).
  corpus.push_back({"api_post",
                    "POST /api/v1/orders HTTP/1.1\r\n"
                    "Host: api.example.com\r\n"
                    "User-Agent: python-requests/2.31.0\r\n"
                    "Accept-Encoding: gzip, deflate\r\n"
                    "Accept: application/json\r\n"
                    "Connection: keep-alive\r\n"
                    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcGkifQ.s3cr3tS1gn\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: " +
                        std::to_string(k_json_body.size()) +
                        "\r\n"
                        "\r\n"});
  corpus.push_back({"minimal_get", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"});
  return corpus;
}

// The chunked body: the JSON document above in three chunks, one with an extension.
const std::string k_chunked_head =
    "POST /api/v1/upload HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string make_chunked_body() {
  const std::string_view json = k_json_body;
  const std::size_t a = 40;
  const std::size_t b = 50;
  char size_line[32];
  std::string out;
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", a);
  out += size_line;
  out += json.substr(0, a);
  std::snprintf(size_line, sizeof size_line, "\r\n%zx;part=2\r\n", b);
  out += size_line;
  out += json.substr(a, b);
  std::snprintf(size_line, sizeof size_line, "\r\n%zx\r\n", json.size() - a - b);
  out += size_line;
  out += json.substr(a + b);
  out += "\r\n0\r\n\r\n";
  return out;
}

// ---- ours -------------------------------------------------------------------------------

// One request: a fresh scanner and head, fields into `fields` (a stack array).
inline std::size_t parse_ours(std::string_view input, const http1::Limits& limits,
                              std::span<http1::Field> fields) {
  http1::RequestHead head;
  http1::HeadScanner scanner{};
  const http1::HeadResult r = http1::parse_request_head(input, limits, fields, head, scanner);
  benchmark::DoNotOptimize(head);
  benchmark::DoNotOptimize(fields.data());
  return r.status == http1::Status::complete ? head.field_count : SIZE_MAX;
}

// Decodes a whole chunked body; returns the decoded size (SIZE_MAX on failure).
inline std::size_t decode_ours(std::string_view body, const http1::ChunkedLimits& limits) {
  http1::ChunkedDecoder decoder;
  std::size_t total = 0;
  while (true) {
    const http1::ChunkedDecoder::Step step = decoder.decode(body, limits);
    body.remove_prefix(step.consumed);
    switch (step.status) {
      case http1::ChunkedDecoder::Status::data:
        benchmark::DoNotOptimize(step.data.data());
        total += step.data.size();
        continue;
      case http1::ChunkedDecoder::Status::done:
        return total;
      default:
        return SIZE_MAX;
    }
  }
}

// ---- http-parser ------------------------------------------------------------------------

// What the callbacks record: the same information parse_request_head delivers.
struct Spans {
  std::string_view url;
  http1::Field* fields = nullptr;  // k_field_slots of storage, same type as ours
  std::size_t field_count = 0;
  bool in_value = false;
  bool headers_complete = false;
  bool message_complete = false;
  std::size_t body_bytes = 0;
};

// Callbacks may be called more than once per element when the input is split; a span is
// extended then (inputs here are contiguous buffers).
inline void extend(std::string_view& span, const char* at, std::size_t n) {
  span = span.empty() ? std::string_view(at, n) : std::string_view(span.data(), span.size() + n);
}

int hp_on_url(http_parser* p, const char* at, std::size_t n) {
  extend(static_cast<Spans*>(p->data)->url, at, n);
  return 0;
}
int hp_on_header_field(http_parser* p, const char* at, std::size_t n) {
  auto* s = static_cast<Spans*>(p->data);
  if (s->in_value || s->field_count == 0) {
    if (s->field_count == k_field_slots) return 1;  // too many fields: fail, as we do
    s->fields[s->field_count++] = {};
    s->in_value = false;
  }
  extend(s->fields[s->field_count - 1].name, at, n);
  return 0;
}
int hp_on_header_value(http_parser* p, const char* at, std::size_t n) {
  auto* s = static_cast<Spans*>(p->data);
  s->in_value = true;
  extend(s->fields[s->field_count - 1].value, at, n);
  return 0;
}
int hp_on_headers_complete(http_parser* p) {
  static_cast<Spans*>(p->data)->headers_complete = true;
  return 0;
}
int hp_on_body(http_parser* p, const char* at, std::size_t n) {
  benchmark::DoNotOptimize(at);
  static_cast<Spans*>(p->data)->body_bytes += n;
  return 0;
}
int hp_on_message_complete(http_parser* p) {
  static_cast<Spans*>(p->data)->message_complete = true;
  return 0;
}

http_parser_settings make_settings() {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_url = hp_on_url;
  s.on_header_field = hp_on_header_field;
  s.on_header_value = hp_on_header_value;
  s.on_headers_complete = hp_on_headers_complete;
  s.on_body = hp_on_body;
  s.on_message_complete = hp_on_message_complete;
  return s;
}

const http_parser_settings k_settings = make_settings();

inline std::size_t parse_http_parser(std::string_view input, std::span<http1::Field> fields) {
  Spans spans;
  spans.fields = fields.data();
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &spans;
  const std::size_t n = http_parser_execute(&parser, &k_settings, input.data(), input.size());
  const auto method = static_cast<http_method>(parser.method);
  benchmark::DoNotOptimize(method);
  benchmark::DoNotOptimize(spans);
  benchmark::DoNotOptimize(fields.data());
  const bool ok = n == input.size() && HTTP_PARSER_ERRNO(&parser) == HPE_OK &&
                  spans.headers_complete;
  return ok ? spans.field_count : SIZE_MAX;
}

// The parser state right after a chunked request head, to resume for each body.
http_parser chunked_state() {
  static http1::Field fields[k_field_slots];
  static Spans scratch;
  scratch.fields = fields;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &scratch;
  const std::size_t n =
      http_parser_execute(&parser, &k_settings, k_chunked_head.data(), k_chunked_head.size());
  if (n != k_chunked_head.size() || HTTP_PARSER_ERRNO(&parser) != HPE_OK ||
      !scratch.headers_complete) {
    std::fprintf(stderr, "http-parser rejected the chunked head\n");
    std::abort();
  }
  return parser;
}

inline std::size_t decode_http_parser(std::string_view body, const http_parser& after_head) {
  Spans spans;  // only the body callbacks run: no field storage needed
  http_parser parser = after_head;  // plain C struct: copying it resumes from that state
  parser.data = &spans;
  const std::size_t n = http_parser_execute(&parser, &k_settings, body.data(), body.size());
  const bool ok = n == body.size() && HTTP_PARSER_ERRNO(&parser) == HPE_OK &&
                  spans.message_complete;
  return ok ? spans.body_bytes : SIZE_MAX;
}

// ---- startup check ----------------------------------------------------------------------

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "parser_bench: %s\n", what.c_str());
  std::abort();
}

void verify(const std::vector<Entry>& corpus, const std::string& chunked_body) {
  const http1::Limits limits;
  static http1::Field fields[k_field_slots];
  for (const Entry& e : corpus) {
    const std::size_t ours = parse_ours(e.head, limits, fields);
    const std::size_t theirs = parse_http_parser(e.head, fields);
    if (ours == SIZE_MAX) die(std::string("ours rejected ") + e.name);
    if (theirs == SIZE_MAX) die(std::string("http-parser rejected ") + e.name);
    if (ours != theirs) {
      die(std::string("header count differs for ") + e.name + ": ours " + std::to_string(ours) +
          ", http-parser " + std::to_string(theirs));
    }
    std::fprintf(stderr, "verified %-12s %4zu bytes, %2zu header fields\n", e.name,
                 e.head.size(), ours);
  }
  {
    const std::string full = k_chunked_head + chunked_body;
    const std::size_t ours_head = parse_ours(full, limits, fields);
    if (ours_head == SIZE_MAX) die("ours rejected the chunked head");
  }
  const std::size_t ours = decode_ours(chunked_body, {});
  const std::size_t theirs = decode_http_parser(chunked_body, chunked_state());
  if (ours != k_json_body.size() || theirs != k_json_body.size()) {
    die("chunked body: decoded sizes ours " + std::to_string(ours) + ", http-parser " +
        std::to_string(theirs) + ", expected " + std::to_string(k_json_body.size()));
  }
  std::fprintf(stderr, "verified %-12s %4zu bytes, %2zu body bytes\n", "chunked_body",
               chunked_body.size(), ours);
}

// ---- benchmarks -------------------------------------------------------------------------

double stat_min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double stat_max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

void account(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void register_all(const std::vector<Entry>& corpus, const std::string& chunked_body) {
  auto add = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)
        ->ComputeStatistics("min", stat_min)
        ->ComputeStatistics("max", stat_max);
  };
  for (const Entry& e : corpus) {
    const std::string_view input = e.head;
    // "head": the field storage is a stack array of the benchmark, reused by every request.
    add(std::string("head/") + e.name + "/ours", [input](benchmark::State& state) {
      const http1::Limits limits;
      http1::Field fields[k_field_slots];
      for (auto _ : state) {
        benchmark::DoNotOptimize(input.data());
        benchmark::DoNotOptimize(parse_ours(input, limits, fields));
      }
      account(state, input.size());
    });
    add(std::string("head/") + e.name + "/http_parser", [input](benchmark::State& state) {
      http1::Field fields[k_field_slots];
      for (auto _ : state) {
        benchmark::DoNotOptimize(input.data());
        benchmark::DoNotOptimize(parse_http_parser(input, fields));
      }
      account(state, input.size());
    });
    // "head_fresh_storage": a new 256-slot array per request, exactly like
    // HttpConnection::parse_head; its value-initialisation (8 KiB) is paid by both parsers.
    add(std::string("head_fresh_storage/") + e.name + "/ours", [input](benchmark::State& state) {
      const http1::Limits limits;
      for (auto _ : state) {
        http1::Field fields[k_field_slots];
        benchmark::DoNotOptimize(input.data());
        benchmark::DoNotOptimize(parse_ours(input, limits, fields));
      }
      account(state, input.size());
    });
    add(std::string("head_fresh_storage/") + e.name + "/http_parser",
        [input](benchmark::State& state) {
          for (auto _ : state) {
            http1::Field fields[k_field_slots];
            benchmark::DoNotOptimize(input.data());
            benchmark::DoNotOptimize(parse_http_parser(input, fields));
          }
          account(state, input.size());
        });
  }
  const std::string_view body = chunked_body;
  add("chunked/chunked_body/ours", [body](benchmark::State& state) {
    const http1::ChunkedLimits limits;
    for (auto _ : state) {
      benchmark::DoNotOptimize(body.data());
      benchmark::DoNotOptimize(decode_ours(body, limits));
    }
    account(state, body.size());
  });
  add("chunked/chunked_body/http_parser", [body](benchmark::State& state) {
    const http_parser after_head = chunked_state();
    for (auto _ : state) {
      benchmark::DoNotOptimize(body.data());
      benchmark::DoNotOptimize(decode_http_parser(body, after_head));
    }
    account(state, body.size());
  });
}

}  // namespace

int main(int argc, char** argv) {
  // The corpus lives for the whole run: the benchmarks hold views into it.
  static const std::vector<Entry> corpus = make_corpus();
  static const std::string chunked_body = make_chunked_body();
  verify(corpus, chunked_body);
  register_all(corpus, chunked_body);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
