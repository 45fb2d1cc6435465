/* disconnect_app.c: an application that must learn that its client left.
 *
 *   httpapi-it-disconnect-app PREFIX MODE
 *
 * Prints "ready" once registered; for each request it receives, prints "result NAME MS"
 * (an httpapi_error name and the milliseconds the deciding call took) when it knows:
 *   send      streams 1 KiB pieces every 10 ms until httpapi_send_body fails;
 *   thread    streams the same way, ignoring send errors, until a second thread blocked in
 *             httpapi_wait_for_disconnect(-1) says the client left;
 *   poll      sends the head and one piece, then waits on the queue's descriptor with epoll
 *             and calls httpapi_wait_for_disconnect(0) whenever it is readable;
 *   idle      answers nothing: wait_for_disconnect(1500), printed, then (-1), printed, then
 *             tries to answer and prints "send NAME";
 *   finished  answers at once, then wait_for_disconnect(5000);
 *   watched   a second thread waits in wait_for_disconnect(-1) while this one answers: the
 *             wait must end (INVALID_STATE) once the response is complete; MS counts from
 *             the answer;
 *   cancelled the same, but this thread cancels the request (httpapi_cancel): the wait ends
 *             with OK, and the client's connection is closed without an answer. */
#include <httpapi/httpapi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static void result(const char *what, httpapi_error e, long started) {
  printf("%s %s %ld\n", what, httpapi_error_name(e), now_ms() - started);
  fflush(stdout);
}

static char piece[1024];
static const httpapi_header text = {{"Content-Type", 12}, {"text/plain", 10}};

static httpapi_error start_stream(httpapi_request *request) {
  httpapi_response response = {200, NULL, &text, 1, piece, sizeof piece};
  return httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA);
}

static void stream_until_send_fails(httpapi_request *request) {
  httpapi_error e = start_stream(request);
  long last = now_ms();
  while (e == HTTPAPI_OK) {
    sleep_ms(10);
    last = now_ms();
    e = httpapi_send_body(request, piece, sizeof piece, HTTPAPI_SEND_FLAG_MORE_DATA);
  }
  result("result", e, last);
}

static atomic_int client_left;

static void *watch(void *request) {
  const httpapi_error e = httpapi_wait_for_disconnect(request, -1);
  if (e == HTTPAPI_OK) atomic_store(&client_left, 1);
  return (void *)(long)e;
}

static void stream_until_watcher_says(httpapi_request *request) {
  atomic_store(&client_left, 0);
  pthread_t watcher;
  pthread_create(&watcher, NULL, watch, request);
  start_stream(request);
  while (!atomic_load(&client_left)) {
    sleep_ms(10);
    httpapi_send_body(request, piece, sizeof piece, HTTPAPI_SEND_FLAG_MORE_DATA);
  }
  const long noticed = now_ms();
  void *e;
  pthread_join(watcher, &e);
  result("result", (httpapi_error)(long)e, noticed);
}

static void end_while_watched(httpapi_request *request, int cancel) {
  pthread_t watcher;
  pthread_create(&watcher, NULL, watch, request);
  sleep_ms(200); /* the watcher waits now, most likely reading the queue's connection */
  httpapi_response response = {200, NULL, &text, 1, "done\n", 5};
  if (cancel) {
    httpapi_cancel(request);
  } else {
    httpapi_send_response(request, &response, 0);
  }
  const long sent = now_ms();
  void *e;
  pthread_join(watcher, &e);
  result("result", (httpapi_error)(long)e, sent);
}

static void wait_with_epoll(httpapi_queue *queue, httpapi_request *request) {
  start_stream(request);
  const int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, httpapi_queue_fd(queue), &ev);
  const long started = now_ms();
  httpapi_error e = HTTPAPI_ERROR_WOULD_BLOCK;
  while (e == HTTPAPI_ERROR_WOULD_BLOCK && now_ms() - started < 10000) {
    struct epoll_event out;
    if (epoll_wait(ep, &out, 1, 1000) == 1) e = httpapi_wait_for_disconnect(request, 0);
  }
  result("result", e, started);
}

static void hold_without_answer(httpapi_request *request) {
  long started = now_ms();
  result("result", httpapi_wait_for_disconnect(request, 1500), started);
  started = now_ms();
  result("result", httpapi_wait_for_disconnect(request, -1), started);
  httpapi_response response = {200, NULL, &text, 1, "late\n", 5};
  result("send", httpapi_send_response(request, &response, 0), now_ms());
}

static void answer_then_wait(httpapi_request *request) {
  httpapi_response response = {200, NULL, &text, 1, "done\n", 5};
  httpapi_send_response(request, &response, 0);
  const long started = now_ms();
  result("result", httpapi_wait_for_disconnect(request, 5000), started);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PREFIX send|thread|poll|idle|finished|watched|cancelled\n", argv[0]);
    return 2;
  }
  const char *mode = argv[2];
  memset(piece, 'x', sizeof piece);
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) || (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, argv[1], 1))) {
    fprintf(stderr, "disconnect_app: setup: %s %s\n", httpapi_error_name(e),
            httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    httpapi_request *request;
    if ((e = httpapi_receive(queue, -1, &request))) {
      fprintf(stderr, "disconnect_app: receive: %s\n", httpapi_error_name(e));
      return 1;
    }
    if (strcmp(mode, "send") == 0) stream_until_send_fails(request);
    if (strcmp(mode, "thread") == 0) stream_until_watcher_says(request);
    if (strcmp(mode, "poll") == 0) wait_with_epoll(queue, request);
    if (strcmp(mode, "idle") == 0) hold_without_answer(request);
    if (strcmp(mode, "finished") == 0) answer_then_wait(request);
    if (strcmp(mode, "watched") == 0) end_while_watched(request, 0);
    if (strcmp(mode, "cancelled") == 0) end_while_watched(request, 1);
    httpapi_request_release(request);
  }
}
