/* Drives body chunks (memory, file descriptor, fragment) and the fragment cache, one URL path
 * each, so a test can look at the bytes on the wire:
 *   /file                FILE as one FILE chunk, HTTPAPI_TO_EOF; the service adds the length
 *   /file-range/OFF/LEN  bytes OFF..OFF+LEN-1 of FILE
 *   /mixed               "<" + FILE[0,10) + "|" + fragment "a" + ">"
 *   /stream              a head with MORE_DATA, then FILE[0,5), FILE[5,10) and FILE[10,15)
 *                        in one httpapi_send_body_chunks call, then "end": chunked encoding
 *   /ranges              FILE with PROCESS_RANGES, ETag "f1"
 *   /cached              FILE[0,100) with a Content-Type, cacheable for 60 s
 *   /served              how many requests this process answered (cache hits are not)
 *   /many                64 FILE chunks of one byte, FILE[0], FILE[1], ... FILE[63]
 *   /big                 BIGFILE whole (for a file that shrinks while it is sent)
 *   /add/NAME            httpapi_add_fragment(PREFIX "fragments/" NAME) of "fragment NAME v<n>"
 *                        (n: this process's count of adds); the body is the error name
 *   /add-big/NAME        a fragment of 300 KiB (over the default limit)
 *   /add-foreign         a fragment named outside this queue's URLs
 *   /read/NAME/OFF/LEN   httpapi_read_fragment; the bytes, or the error name
 *   /read-small/NAME     the same into a 4-byte buffer: "MORE_DATA <size needed>"
 *   /send/NAME           a response of fragment NAME; when the service says NOT_FOUND, the
 *                        body is "fallback" instead
 *   /flush/NAME          httpapi_flush_response_cache(PREFIX "fragments/" NAME)
 *   /errors              the chunk calls that must fail, by name in the body
 * Usage: chunks_app PREFIX FILE BIGFILE */
#include <fcntl.h>
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER(n, v) {{n, sizeof(n) - 1}, {v, strlen(v)}}

static const char *the_prefix, *the_file, *the_big_file;
static httpapi_queue *the_queue;
static unsigned long served, adds;

static httpapi_data_chunk memory(const char *text) {
  httpapi_data_chunk c = {HTTPAPI_CHUNK_MEMORY, text, -1, NULL, 0, strlen(text)};
  return c;
}

static httpapi_data_chunk file(int fd, uint64_t offset, uint64_t length) {
  httpapi_data_chunk c = {HTTPAPI_CHUNK_FILE, NULL, fd, NULL, offset, length};
  return c;
}

static httpapi_data_chunk fragment(const char *name) {
  httpapi_data_chunk c = {HTTPAPI_CHUNK_FRAGMENT, NULL, -1, name, 0, HTTPAPI_TO_EOF};
  return c;
}

static void text(httpapi_request *request, int status, const char *body) {
  httpapi_response response = {(uint16_t)status, NULL, NULL, 0, body, strlen(body)};
  httpapi_send_response(request, &response, 0);
}

static void fragment_name(char *out, size_t size, const char *name) {
  snprintf(out, size, "%sfragments/%s", the_prefix, name);
}

static void send_chunks(httpapi_request *request, const httpapi_data_chunk *chunks, size_t n,
                        uint32_t flags, const httpapi_cache_policy *policy,
                        const httpapi_header *headers, size_t header_count) {
  httpapi_response response = {200, NULL, headers, header_count, NULL, 0};
  const httpapi_error e = httpapi_send_response_chunks(request, &response, chunks, n, flags,
                                                       policy);
  if (e) text(request, 500, httpapi_error_name(e));
}

static void errors(httpapi_request *request, int fd) {
  char report[512];
  int pipe_fds[2];
  if (pipe(pipe_fds)) {
    text(request, 500, "pipe");
    return;
  }
  httpapi_response head = {200, NULL, NULL, 0, NULL, 0};
  const httpapi_data_chunk piped = file(pipe_fds[0], 0, 1);
  const httpapi_data_chunk past = file(fd, 0, 1u << 30);
  httpapi_data_chunk bad_kind = memory("x");
  bad_kind.kind = (httpapi_chunk_kind)7;
  httpapi_data_chunk too_many[HTTPAPI_MAX_FILE_CHUNKS + 1];
  for (unsigned i = 0; i <= HTTPAPI_MAX_FILE_CHUNKS; ++i) too_many[i] = file(fd, i, 1);
  const httpapi_data_chunk named = fragment("a");
  const httpapi_data_chunk closed = file(999, 0, 1);
  snprintf(report, sizeof report, "pipe=%s past=%s kind=%s many=%s ranged-fragment=%s closed=%s",
           httpapi_error_name(httpapi_send_response_chunks(request, &head, &piped, 1, 0, NULL)),
           httpapi_error_name(httpapi_send_response_chunks(request, &head, &past, 1, 0, NULL)),
           httpapi_error_name(httpapi_send_response_chunks(request, &head, &bad_kind, 1, 0, NULL)),
           httpapi_error_name(httpapi_send_response_chunks(request, &head, too_many,
                                                           HTTPAPI_MAX_FILE_CHUNKS + 1, 0, NULL)),
           httpapi_error_name(httpapi_send_response_chunks(request, &head, &named, 1,
                                                           HTTPAPI_SEND_FLAG_PROCESS_RANGES, NULL)),
           httpapi_error_name(httpapi_send_response_chunks(request, &head, &closed, 1, 0, NULL)));
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  text(request, 200, report);
}

static void add(httpapi_request *request, const char *name, size_t size) {
  char full[512], body[64];
  fragment_name(full, sizeof full, name);
  snprintf(body, sizeof body, "fragment %s v%lu", name, ++adds);
  char *big = size ? calloc(1, size) : NULL;
  const httpapi_error e = httpapi_add_fragment(the_queue, full, big ? big : body,
                                               big ? size : strlen(body), NULL);
  free(big);
  text(request, 200, httpapi_error_name(e));
}

static void read_back(httpapi_request *request, const char *rest, size_t capacity) {
  char name[256], full[512], buffer[4096];
  unsigned long long offset = 0, length = HTTPAPI_TO_EOF;
  if (sscanf(rest, "%255[^/]/%llu/%llu", name, &offset, &length) < 1) {
    text(request, 400, "?");
    return;
  }
  fragment_name(full, sizeof full, name);
  size_t copied = 0;
  const httpapi_error e = httpapi_read_fragment(the_queue, full, offset, length, buffer,
                                                capacity ? capacity : sizeof buffer, &copied);
  if (e == HTTPAPI_ERROR_MORE_DATA) {
    snprintf(buffer, sizeof buffer, "MORE_DATA %zu", copied);
    text(request, 200, buffer);
  } else if (e) {
    text(request, 404, httpapi_error_name(e));
  } else {
    httpapi_response response = {200, NULL, NULL, 0, buffer, copied};
    httpapi_send_response(request, &response, 0);
  }
}

static void send_fragment(httpapi_request *request, const char *name) {
  char full[512];
  fragment_name(full, sizeof full, name);
  const httpapi_data_chunk chunks[] = {memory("["), fragment(full), memory("]")};
  httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
  const httpapi_error e = httpapi_send_response_chunks(request, &response, chunks, 3, 0, NULL);
  if (e == HTTPAPI_ERROR_NOT_FOUND) {
    text(request, 200, "fallback");
  } else if (e) {
    text(request, 500, httpapi_error_name(e));
  }
}

static void flush(httpapi_request *request, const char *name) {
  char full[512], body[64];
  fragment_name(full, sizeof full, name);
  uint64_t removed = 0;
  const httpapi_error e = httpapi_flush_response_cache(the_queue, full, 0, &removed);
  snprintf(body, sizeof body, "%s %llu", httpapi_error_name(e), (unsigned long long)removed);
  text(request, 200, body);
}

static void answer(httpapi_request *request, const char *p) {
  const int fd = open(the_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    text(request, 500, "cannot open FILE");
    return;
  }
  const char *rest;
  const httpapi_header typed[] = {HEADER("Content-Type", "application/octet-stream"),
                                  HEADER("ETag", "\"f1\"")};
  if (!strcmp(p, "/file")) {
    const httpapi_data_chunk c = file(fd, 0, HTTPAPI_TO_EOF);
    send_chunks(request, &c, 1, 0, NULL, NULL, 0);
  } else if ((rest = strstr(p, "/file-range/"))) {
    unsigned long long offset = 0, length = 0;
    sscanf(rest + 12, "%llu/%llu", &offset, &length);
    const httpapi_data_chunk c = file(fd, offset, length);
    send_chunks(request, &c, 1, 0, NULL, NULL, 0);
  } else if (!strcmp(p, "/mixed")) {
    char name[512];
    fragment_name(name, sizeof name, "a");
    const httpapi_data_chunk c[] = {memory("<"), file(fd, 0, 10), memory("|"), fragment(name),
                                    memory(">")};
    send_chunks(request, c, 5, 0, NULL, NULL, 0);
  } else if (!strcmp(p, "/stream")) {
    httpapi_response head = {200, NULL, NULL, 0, NULL, 0};
    const httpapi_data_chunk c[] = {file(fd, 0, 5), file(fd, 5, 5), file(fd, 10, 5)};
    if (!httpapi_send_response(request, &head, HTTPAPI_SEND_FLAG_MORE_DATA) &&
        !httpapi_send_body_chunks(request, c, 3, HTTPAPI_SEND_FLAG_MORE_DATA)) {
      httpapi_send_body(request, "end", 3, 0);
    }
  } else if (!strcmp(p, "/ranges")) {
    const httpapi_data_chunk c = file(fd, 0, HTTPAPI_TO_EOF);
    send_chunks(request, &c, 1, HTTPAPI_SEND_FLAG_PROCESS_RANGES, NULL, typed, 2);
  } else if (!strcmp(p, "/cached")) {
    const httpapi_cache_policy policy = {HTTPAPI_CACHE_TIME_TO_LIVE, 60};
    const httpapi_data_chunk c = file(fd, 0, 100);
    send_chunks(request, &c, 1, 0, &policy, typed, 1);
  } else if (!strcmp(p, "/served")) {
    char body[32];
    snprintf(body, sizeof body, "%lu", served);
    text(request, 200, body);
  } else if (!strcmp(p, "/many")) {
    httpapi_data_chunk c[HTTPAPI_MAX_FILE_CHUNKS];
    for (unsigned i = 0; i < HTTPAPI_MAX_FILE_CHUNKS; ++i) c[i] = file(fd, i, 1);
    send_chunks(request, c, HTTPAPI_MAX_FILE_CHUNKS, 0, NULL, NULL, 0);
  } else if (!strcmp(p, "/big")) {
    const int big = open(the_big_file, O_RDONLY | O_CLOEXEC);
    const httpapi_data_chunk c = file(big, 0, HTTPAPI_TO_EOF);
    send_chunks(request, &c, 1, 0, NULL, NULL, 0);
    close(big);
  } else if ((rest = strstr(p, "/add-big/"))) {
    add(request, rest + 9, 300 * 1024);
  } else if ((rest = strstr(p, "/add/"))) {
    add(request, rest + 5, 0);
  } else if (!strcmp(p, "/add-foreign")) {
    const httpapi_error e = httpapi_add_fragment(the_queue, "http://+:1/elsewhere/x", "x", 1, NULL);
    text(request, 200, httpapi_error_name(e));
  } else if ((rest = strstr(p, "/read-small/"))) {
    read_back(request, rest + 12, 4);
  } else if ((rest = strstr(p, "/read/"))) {
    read_back(request, rest + 6, 0);
  } else if ((rest = strstr(p, "/send/"))) {
    send_fragment(request, rest + 6);
  } else if ((rest = strstr(p, "/flush/"))) {
    flush(request, rest + 7);
  } else if (!strcmp(p, "/errors")) {
    errors(request, fd);
  } else {
    text(request, 404, "no such test path");
  }
  close(fd);  /* the service holds its own copy of every descriptor it was passed */
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: chunks_app PREFIX FILE BIGFILE\n");
    return 2;
  }
  the_prefix = argv[1];
  the_file = argv[2];
  the_big_file = argv[3];
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) || (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &the_queue)) ||
      (e = httpapi_url_group_bind(group, the_queue)) ||
      (e = httpapi_url_add(group, the_prefix, 0))) {
    fprintf(stderr, "chunks_app: %s %s\n", httpapi_error_name(e), httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  /* "http://host:port/c/" -> paths are read after "/c" */
  const size_t skip = strlen(strchr(strstr(the_prefix, "://") + 3, '/')) - 1;
  for (;;) {
    httpapi_request *request;
    if ((e = httpapi_receive(the_queue, -1, &request))) break;
    httpapi_bytes path = httpapi_request_get_info(request)->url.path;
    char p[512];
    if (path.length <= skip) path.length = skip;  /* the prefix itself: "" */
    snprintf(p, sizeof p, "%.*s", (int)(path.length - skip), path.data + skip);
    ++served;
    answer(request, p);
    httpapi_request_release(request);
  }
  return 0;
}
