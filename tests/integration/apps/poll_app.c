/* An application that never blocks in the API: it waits for its queue's file descriptor
 * with epoll and receives with a zero timeout, as an event-driven program would. It also
 * checks that a receive with a short timeout times out when nothing comes.
 * Usage: poll_app PREFIX */
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static int fail(const char *what, httpapi_error e) {
  fprintf(stderr, "poll_app: %s: %s\n", what, httpapi_error_name(e));
  return 2;
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
      (e = httpapi_url_add(group, argv[1], 7))) {
    return fail("setup", e);
  }
  httpapi_request *request = NULL;
  e = httpapi_receive(queue, 50, &request);
  if (e != HTTPAPI_ERROR_TIMEOUT) return fail("receive with nothing queued", e);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, httpapi_queue_fd(queue), &ev);
  printf("ready\n");
  fflush(stdout);

  unsigned long answered = 0, wakeups = 0;
  long longest_us = 0;  /* a zero-timeout receive must never wait */
  for (;;) {
    const long before = now_us();
    e = httpapi_receive(queue, 0, &request);
    if (now_us() - before > longest_us) longest_us = now_us() - before;
    if (e == HTTPAPI_ERROR_WOULD_BLOCK) {
      struct epoll_event out;
      if (epoll_wait(ep, &out, 1, -1) < 0) return 1;
      ++wakeups;
      continue;
    }
    if (e) return fail("receive", e);
    const httpapi_request_info *info = httpapi_request_get_info(request);
    /* Known headers as the library merged them (docs/http1.md): repeated Cookie lines
     * joined with "; ", repeated Accept lines with ", ", Host (a singleton) kept first. */
    const httpapi_bytes cookie = info->known_headers[HTTPAPI_HEADER_COOKIE];
    const httpapi_bytes accept = info->known_headers[HTTPAPI_HEADER_ACCEPT];
    const httpapi_bytes host = info->known_headers[HTTPAPI_HEADER_HOST];
    char body[512];
    int n = snprintf(body, sizeof body,
                     "polled %lu after %lu wakeups, longest receive %ld us\n"
                     "cookie=%.*s\naccept=%.*s\nhost=%.*s\n",
                     ++answered, wakeups, longest_us, (int)cookie.length,
                     cookie.data ? cookie.data : "", (int)accept.length,
                     accept.data ? accept.data : "", (int)host.length,
                     host.data ? host.data : "");
    static const httpapi_header type = {{"Content-Type", 12}, {"text/plain", 10}};
    httpapi_response response = {200, NULL, &type, 1, body, (size_t)n};
    if (info->url_context != 7) response.status = 500;
    httpapi_send_response(request, &response, 0);
    httpapi_request_release(request);
  }
}
