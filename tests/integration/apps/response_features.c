/* Drives the response features of the C API, one URL path each, so a test can look at the
 * bytes on the wire:
 *   /trailers        three streamed pieces, then httpapi_send_trailers (X-Checksum, X-Pieces)
 *   /bad-trailers    the calls that must fail (trailers before the response, a framing
 *                    field as trailer, a CR in a value); the body lists the errors
 *   /hints           103 Early Hints with a Link header, then 200
 *   /continue        an explicit 100 Continue, then reads the body and answers its length
 *   /nochunk         three pieces with NO_AUTO_CHUNKING: no framing, closed at the end
 *   /buffered/N      N pieces of 10 bytes with BUFFER_DATA (N < 1600: one chunk on the wire)
 *   /unbuffered/N    the same without BUFFER_DATA (N chunks)
 *   /ranges          100 bytes ("0123456789" x 10) with PROCESS_RANGES, an ETag and a
 *                    Last-Modified; /ranges-stream tries PROCESS_RANGES with MORE_DATA
 *   /cached/...      "answer N" (N counts the requests this process answered) with
 *                    HTTPAPI_CACHE_USER_INVALIDATES; /untyped/... the same without Content-Type
 *   /opaque          101 with OPAQUE, then echoes the client's bytes until it closes its side,
 *                    then sends "bye" and ends the stream
 *   /logdata         httpapi_request_set_log_data: a refused username (with a space), then
 *                    {2, "bob"} replaced by {7, "alice@example"}, a streamed answer whose
 *                    body lists the two results; the late call's result goes to stderr
 *   /flush/PATH      httpapi_flush_response_cache(PREFIX PATH, RECURSIVE); the body is
 *                    "removed N" or the error name; /flush-exact/PATH without RECURSIVE;
 *                    /flush-parent the parent of PREFIX, which this queue does not own
 * Usage: response_features PREFIX */
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER(n, v) {{n, sizeof(n) - 1}, {v, strlen(v)}}

static httpapi_error stream(httpapi_request *request, uint32_t head_flags) {
  httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
  httpapi_error e = httpapi_send_response(request, &response, head_flags);
  static const char *const pieces[] = {"alpha,", "beta,", "gamma"};
  for (int i = 0; !e && i < 3; ++i) {
    e = httpapi_send_body(request, pieces[i], strlen(pieces[i]), HTTPAPI_SEND_FLAG_MORE_DATA);
  }
  return e;
}

static void trailers(httpapi_request *request) {
  if (stream(request, HTTPAPI_SEND_FLAG_MORE_DATA)) return;
  const httpapi_header fields[] = {HEADER("X-Checksum", "alpha,beta,gamma"),
                                   HEADER("X-Pieces", "3")};
  httpapi_send_trailers(request, fields, 2);
}

static void bad_trailers(httpapi_request *request) {
  char report[512];
  const httpapi_header fine[] = {HEADER("X-Fine", "1")};
  const httpapi_header framing[] = {HEADER("content-length", "5")};
  const httpapi_header split[] = {HEADER("X-Split", "a\r\nInjected: yes")};
  const httpapi_error early = httpapi_send_trailers(request, fine, 1);
  httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
  httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA);
  const httpapi_error forbidden = httpapi_send_trailers(request, framing, 1);
  const httpapi_error injected = httpapi_send_trailers(request, split, 1);
  snprintf(report, sizeof report, "%s %s %s", httpapi_error_name(early),
           httpapi_error_name(forbidden), httpapi_error_name(injected));
  httpapi_send_body(request, report, strlen(report), 0);
  const httpapi_error late = httpapi_send_trailers(request, fine, 1);
  fprintf(stderr, "after the end: %s\n", httpapi_error_name(late));
}

static void hints(httpapi_request *request) {
  const httpapi_header link[] = {HEADER("Link", "</style.css>; rel=preload; as=style")};
  httpapi_response early = {103, NULL, link, 1, NULL, 0};
  if (httpapi_send_response(request, &early, 0)) return;
  httpapi_response response = {200, NULL, NULL, 0, "final", 5};
  httpapi_send_response(request, &response, 0);
}

static void explicit_continue(httpapi_request *request) {
  httpapi_response go_on = {100, NULL, NULL, 0, NULL, 0};
  if (httpapi_send_response(request, &go_on, 0)) return;
  const httpapi_request_info *info = httpapi_request_get_info(request);
  size_t total = info->body.length;
  char buffer[4096];
  size_t n;
  while (httpapi_read_body(request, buffer, sizeof buffer, &n, 10000) == HTTPAPI_OK) total += n;
  char text[32];
  snprintf(text, sizeof text, "%zu", total);
  httpapi_response response = {200, NULL, NULL, 0, text, strlen(text)};
  httpapi_send_response(request, &response, 0);
}

static void pieces(httpapi_request *request, long count, uint32_t flags) {
  httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
  httpapi_error e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA);
  if (count > 100000) count = 100000;
  for (int i = 0; !e && i < (int)count; ++i) {
    char piece[16];
    snprintf(piece, sizeof piece, "%09d,", i);
    e = httpapi_send_body(request, piece, 10,
                          i + 1 < count ? flags | HTTPAPI_SEND_FLAG_MORE_DATA : 0);
  }
}

static void ranges(httpapi_request *request) {
  static char body[100];
  for (int i = 0; i < 100; ++i) body[i] = (char)('0' + i % 10);
  const httpapi_header headers[] = {HEADER("Content-Type", "text/plain"),
                                    HEADER("ETag", "\"v1\""),
                                    HEADER("Last-Modified", "Tue, 03 Nov 2026 10:00:00 GMT")};
  httpapi_response response = {200, NULL, headers, 3, body, sizeof body};
  httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_PROCESS_RANGES);
}

static void ranges_stream(httpapi_request *request) {
  httpapi_response whole = {200, NULL, NULL, 0, "x", 1};
  const httpapi_error e = httpapi_send_response(
      request, &whole, HTTPAPI_SEND_FLAG_PROCESS_RANGES | HTTPAPI_SEND_FLAG_MORE_DATA);
  const char *name = httpapi_error_name(e);
  httpapi_response response = {200, NULL, NULL, 0, name, strlen(name)};
  httpapi_send_response(request, &response, 0);
}

static httpapi_queue *the_queue;
static const char *the_prefix;
static unsigned long answered;

static void cached(httpapi_request *request, int typed) {
  char text[64];
  snprintf(text, sizeof text, "answer %lu", answered);
  const httpapi_header type[] = {HEADER("Content-Type", "text/plain")};
  httpapi_response response = {200, NULL, type, typed ? 1 : 0, text, strlen(text)};
  const httpapi_cache_policy policy = {HTTPAPI_CACHE_USER_INVALIDATES, 0};
  httpapi_send_cacheable_response(request, &response, 0, &policy);
}

/* `path` is what follows /flush/ (or /flush-exact/) in the request path; `parent` flushes
 * the parent of the registered prefix instead, which this queue does not own. */
static void flush(httpapi_request *request, const char *path, uint32_t flags, int parent) {
  char prefix[512];
  char text[64];
  uint64_t removed = 0;
  snprintf(prefix, sizeof prefix, "%s%s", the_prefix, path);
  if (parent) prefix[strlen(the_prefix) - 2] = '\0';  /* ".../r/" -> ".../" */
  const httpapi_error e = httpapi_flush_response_cache(the_queue, prefix, flags, &removed);
  if (e) {
    snprintf(text, sizeof text, "%s", httpapi_error_name(e));
  } else {
    snprintf(text, sizeof text, "removed %llu", (unsigned long long)removed);
  }
  httpapi_response response = {200, NULL, NULL, 0, text, strlen(text)};
  httpapi_send_response(request, &response, 0);
}

static void opaque(httpapi_request *request) {
  const httpapi_header headers[] = {HEADER("Upgrade", "echo"), HEADER("Connection", "Upgrade")};
  httpapi_response response = {101, NULL, headers, 2, NULL, 0};
  const httpapi_error e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_OPAQUE);
  if (e) {  /* refused: say why in a normal response */
    const char *name = httpapi_error_name(e);
    httpapi_response refusal = {400, NULL, NULL, 0, name, strlen(name)};
    httpapi_send_response(request, &refusal, 0);
    return;
  }
  char buffer[65536];
  size_t n;
  while (httpapi_read_body(request, buffer, sizeof buffer, &n, 30000) == HTTPAPI_OK) {
    if (httpapi_send_body(request, buffer, n, HTTPAPI_SEND_FLAG_MORE_DATA)) return;
  }
  httpapi_send_body(request, "bye", 3, 0);
}

static void log_data(httpapi_request *request) {
  char report[128];
  const httpapi_log_data spaced = {1, "alice smith"};
  const httpapi_log_data first = {2, "bob"};
  const httpapi_log_data second = {7, "alice@example"};
  const httpapi_error refused = httpapi_request_set_log_data(request, &spaced);
  httpapi_request_set_log_data(request, &first);
  httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
  httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA);
  const httpapi_error replaced = httpapi_request_set_log_data(request, &second);
  snprintf(report, sizeof report, "%s %s", httpapi_error_name(refused),
           httpapi_error_name(replaced));
  httpapi_send_body(request, report, strlen(report), 0);
  const httpapi_error late = httpapi_request_set_log_data(request, &first);
  fprintf(stderr, "log data after the end: %s\n", httpapi_error_name(late));
}

static void answer(httpapi_request *request) {
  const httpapi_bytes path = httpapi_request_get_info(request)->url.path;
  char p[512];
  snprintf(p, sizeof p, "%.*s", (int)path.length, path.data);
  const char *last = strrchr(p, '/');
  const long n = last ? atol(last + 1) : 0;
  ++answered;
  const char *flush_path = strstr(p, "/flush/");
  const char *exact_path = strstr(p, "/flush-exact/");
  if (strstr(p, "/flush-parent")) {
    flush(request, "", HTTPAPI_FLUSH_FLAG_RECURSIVE, 1);
  } else if (flush_path) {
    flush(request, flush_path + 7, HTTPAPI_FLUSH_FLAG_RECURSIVE, 0);
  } else if (exact_path) {
    flush(request, exact_path + 13, 0, 0);
  } else if (strstr(p, "/logdata")) {
    log_data(request);
  } else if (strstr(p, "/opaque")) {
    opaque(request);
  } else if (strstr(p, "/cached/")) {
    cached(request, 1);
  } else if (strstr(p, "/untyped/")) {
    cached(request, 0);
  } else if (strstr(p, "/trailers")) {
    trailers(request);
  } else if (strstr(p, "/bad-trailers")) {
    bad_trailers(request);
  } else if (strstr(p, "/hints")) {
    hints(request);
  } else if (strstr(p, "/continue")) {
    explicit_continue(request);
  } else if (strstr(p, "/nochunk")) {
    if (!stream(request, HTTPAPI_SEND_FLAG_MORE_DATA | HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING)) {
      httpapi_send_body(request, NULL, 0, 0);
    }
  } else if (strstr(p, "/ranges-stream")) {
    ranges_stream(request);
  } else if (strstr(p, "/ranges")) {
    ranges(request);
  } else if (strstr(p, "/unbuffered/")) {
    pieces(request, n, 0);
  } else if (strstr(p, "/buffered/")) {
    pieces(request, n, HTTPAPI_SEND_FLAG_BUFFER_DATA);
  } else {
    httpapi_response response = {404, NULL, NULL, 0, NULL, 0};
    httpapi_send_response(request, &response, 0);
  }
}

int main(int argc, char **argv) {
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;
  if (argc < 2) return 2;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) || (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) || (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, argv[1], 0))) {
    fprintf(stderr, "response_features: %s\n", httpapi_error_name(e));
    return 2;
  }
  the_queue = queue;
  the_prefix = argv[1];
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    httpapi_request *request;
    if (httpapi_receive(queue, -1, &request)) return 1;
    answer(request);
    httpapi_request_release(request);
  }
}
