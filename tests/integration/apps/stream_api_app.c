/* stream_api_app.c: the API calls whose effect on an HTTP/2 connection is per stream or per
 * connection, each on a URL path; every request gets its own thread, so several streams of
 * one connection are with it at once. Prints "ready", then one line per event, flushed:
 *   /flags        answers "flags=0x.. version=M.N": the request's flags and version
 *   /slow/MS      prints "sleeping PATH", answers "slow MS" after MS milliseconds (a stream
 *                 still in flight)
 *   /goaway       answers "goaway" with HTTPAPI_SEND_FLAG_GOAWAY; prints "goaway ERROR"
 *   /cancel       httpapi_cancel at once; prints "cancel ERROR"
 *   /watch        httpapi_wait_for_disconnect(-1); prints "gone PATH ERROR"
 *   /opaque       tries a 101 with OPAQUE; answers 400 "ERROR DETAIL" when it is refused,
 *                 and ends the byte stream at once when it is not
 *   /read         reads the body to its end; prints "read ERROR BYTES", answers "read BYTES"
 *   /stream/MIB   MIB MiB of 'x' in 64 KiB pieces (MORE_DATA, no Content-Length), printing
 *                 "sent N" after each MiB and "done ERROR" at the end
 * Usage: stream_api_app PREFIX [ENTITY_BODY_SECONDS [REQUEST_QUEUE_SECONDS]]
 * A REQUEST_QUEUE_SECONDS makes the app receive nothing: its requests wait in the queue. */
#include <httpapi/httpapi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *format, const char *a, const char *b) {
  pthread_mutex_lock(&out_lock);
  printf(format, a, b);
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
}

static void answer(httpapi_request *request, uint16_t status, const char *text) {
  httpapi_response response = {status, NULL, NULL, 0, text, strlen(text)};
  httpapi_send_response(request, &response, 0);
}

static void stream(httpapi_request *request, long mib) {
  static char piece[64 * 1024];
  memset(piece, 'x', sizeof piece);
  httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
  httpapi_error e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA);
  const long pieces = mib * 16;
  for (long i = 0; !e && i < pieces; ++i) {
    e = httpapi_send_body(request, piece, sizeof piece,
                          i + 1 < pieces ? HTTPAPI_SEND_FLAG_MORE_DATA : 0);
    if (!e && (i + 1) % 16 == 0) {
      char count[32];
      snprintf(count, sizeof count, "%ld", (i + 1) / 16);
      say("sent %s%s\n", count, "");
    }
  }
  say("done %s%s\n", httpapi_error_name(e), "");
}

static void read_all(httpapi_request *request) {
  size_t total = httpapi_request_get_info(request)->body.length;
  char buffer[65536];
  size_t n;
  httpapi_error e;
  while ((e = httpapi_read_body(request, buffer, sizeof buffer, &n, -1)) == HTTPAPI_OK) total += n;
  char text[32];
  snprintf(text, sizeof text, "%zu", total);
  say("read %s %s\n", httpapi_error_name(e), text);
  if (e == HTTPAPI_ERROR_END_OF_BODY) {
    char body[48];
    snprintf(body, sizeof body, "read %zu", total);
    answer(request, 200, body);
  }
}

static void *serve(void *arg) {
  httpapi_request *request = arg;
  const httpapi_request_info *info = httpapi_request_get_info(request);
  char path[512];
  snprintf(path, sizeof path, "%.*s", (int)info->url.path.length, info->url.path.data);
  const char *last = strrchr(path, '/');
  const long n = last ? atol(last + 1) : 0;
  char text[1024];
  if (strstr(path, "/flags")) {
    snprintf(text, sizeof text, "flags=0x%x version=%u.%u", (unsigned)info->flags,
             (unsigned)info->version_major, (unsigned)info->version_minor);
    answer(request, 200, text);
  } else if (strstr(path, "/slow/")) {
    say("sleeping %s%s\n", path, "");
    usleep((useconds_t)n * 1000);
    snprintf(text, sizeof text, "slow %ld", n);
    answer(request, 200, text);
  } else if (strstr(path, "/goaway")) {
    httpapi_response response = {200, NULL, NULL, 0, "goaway", 6};
    say("goaway %s%s\n", httpapi_error_name(httpapi_send_response(request, &response,
                                                                  HTTPAPI_SEND_FLAG_GOAWAY)),
        "");
  } else if (strstr(path, "/cancel")) {
    say("cancel %s%s\n", httpapi_error_name(httpapi_cancel(request)), "");
  } else if (strstr(path, "/watch")) {
    say("watching %s%s\n", path, "");
    const httpapi_error e = httpapi_wait_for_disconnect(request, -1);
    snprintf(text, sizeof text, "%s %s", path, httpapi_error_name(e));
    say("gone %s%s\n", text, "");
  } else if (strstr(path, "/opaque")) {
    const httpapi_header headers[] = {{{"Upgrade", 7}, {"echo", 4}}};
    httpapi_response response = {101, NULL, headers, 1, NULL, 0};
    const httpapi_error e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_OPAQUE);
    if (e == HTTPAPI_OK) {
      httpapi_send_body(request, NULL, 0, 0);  /* the byte stream ends at once */
    } else {
      snprintf(text, sizeof text, "%s %s", httpapi_error_name(e), httpapi_error_detail());
      answer(request, 400, text);
    }
  } else if (strstr(path, "/read")) {
    read_all(request);
  } else if (strstr(path, "/stream/")) {
    stream(request, n);
  } else {
    answer(request, 404, "no such path");
  }
  httpapi_request_release(request);
  return NULL;
}

int main(int argc, char **argv) {
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;
  if (argc < 2) {
    fprintf(stderr, "usage: %s PREFIX [ENTITY_BODY_SECONDS [REQUEST_QUEUE_SECONDS]]\n", argv[0]);
    return 2;
  }
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) || (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) || (e = httpapi_url_group_bind(group, queue)) ||
      (argc > 2 && (e = httpapi_url_group_set_property(group, HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT,
                                                       strtoull(argv[2], NULL, 10)))) ||
      (argc > 3 && (e = httpapi_url_group_set_property(group, HTTPAPI_GROUP_REQUEST_QUEUE_TIMEOUT,
                                                       strtoull(argv[3], NULL, 10)))) ||
      (e = httpapi_url_add(group, argv[1], 1))) {
    fprintf(stderr, "stream_api_app: %s %s\n", httpapi_error_name(e), httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  if (argc > 3) {
    for (;;) pause();
  }
  for (;;) {
    httpapi_request *request;
    if ((e = httpapi_receive(queue, -1, &request))) {
      fprintf(stderr, "stream_api_app: receive: %s\n", httpapi_error_name(e));
      return 1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, serve, request) != 0) return 1;
    pthread_detach(thread);
  }
}
