/* herd_app.c: several threads receiving from one queue handle.
 *
 *   httpapi-it-herd-app PREFIX THREADS
 *
 * Every thread loops on httpapi_receive(-1) and answers "thread=T id=ID url=RAW_URL". A
 * request id seen twice is answered 500 (a request handed out twice). The request whose
 * path ends in "/shutdown" is answered and then the queue is shut down: every thread must
 * wake from its receive with HTTPAPI_ERROR_SHUTDOWN. Prints "ready" once registered and,
 * when every thread has ended, "ended THREADS with SHUTDOWN" (the count of threads whose
 * receive ended with SHUTDOWN); exits 0 when that is all of them. */
#include <httpapi/httpapi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS 65536

static httpapi_queue *queue;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seen[MAX_IDS];
static size_t seen_count;

/* true the first time `id` is seen */
static int first_sight(uint64_t id) {
  pthread_mutex_lock(&seen_lock);
  int first = 1;
  for (size_t i = 0; i < seen_count; ++i) {
    if (seen[i] == id) first = 0;
  }
  if (first && seen_count < MAX_IDS) seen[seen_count++] = id;
  pthread_mutex_unlock(&seen_lock);
  return first;
}

static int ends_with(httpapi_bytes s, const char *suffix) {
  const size_t n = strlen(suffix);
  return s.length >= n && memcmp(s.data + s.length - n, suffix, n) == 0;
}

static void *serve(void *arg) {
  const long thread = (long)arg;
  for (;;) {
    httpapi_request *request;
    httpapi_error e = httpapi_receive(queue, -1, &request);
    if (e) return (void *)(long)e;
    const httpapi_request_info *info = httpapi_request_get_info(request);
    char body[512];
    const int n = snprintf(body, sizeof body, "thread=%ld id=%llu url=%.*s\n", thread,
                           (unsigned long long)info->request_id, (int)info->raw_url.length,
                           info->raw_url.data);
    httpapi_response response = {200, NULL, NULL, 0, body, (size_t)n};
    if (!first_sight(info->request_id)) response.status = 500;
    httpapi_send_response(request, &response, 0);
    const int last = ends_with(info->url.path, "/shutdown");
    httpapi_request_release(request);
    if (last && (e = httpapi_queue_shutdown(queue))) {
      fprintf(stderr, "herd_app: shutdown: %s\n", httpapi_error_name(e));
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PREFIX THREADS\n", argv[0]);
    return 2;
  }
  const long threads = atol(argv[2]);
  if (threads < 1 || threads > 64) return 2;
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) || (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, argv[1], 1))) {
    fprintf(stderr, "herd_app: setup: %s %s\n", httpapi_error_name(e), httpapi_error_detail());
    return 2;
  }
  pthread_t ids[64];
  for (long i = 0; i < threads; ++i) pthread_create(&ids[i], NULL, serve, (void *)i);
  printf("ready\n");
  fflush(stdout);
  long shut = 0;
  for (long i = 0; i < threads; ++i) {
    void *result;
    pthread_join(ids[i], &result);
    if ((long)result == HTTPAPI_ERROR_SHUTDOWN) ++shut;
  }
  printf("ended %ld with SHUTDOWN\n", shut);
  fflush(stdout);
  httpapi_queue_close(queue);
  httpapi_url_group_close(group);
  httpapi_session_close(session);
  httpapi_terminate();
  return shut == threads ? 0 : 1;
}
