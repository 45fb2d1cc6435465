/* hold_app.c: a worker of a named queue that keeps the first requests it receives.
 *
 *   httpapi-it-hold-app QUEUE NAME WINDOW HOLD [DELAY_MS [watch]]
 *
 * Opens the existing named QUEUE; WINDOW > 0 sets that receive window, 0 keeps the default
 * (adaptive). Prints "ready", then one line per request it receives, flushed at once, so a
 * test that kills this process knows exactly which requests application code saw. HOLD > 0:
 * prints "seen URL" for each of the first HOLD requests, keeps them unanswered and then
 * receives no more (a worker busy with them until it is killed). HOLD = 0: answers every
 * request 200 with the body "NAME URL" after DELAY_MS milliseconds, printing "answered URL".
 * "watch" (with HOLD > 0): instead of idling, waits on each held request in turn for its
 * client to go away (httpapi_wait_for_disconnect) and prints "gone URL". */
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Waits for the clients of the held requests to go away, in order, saying so for each. */
static void watch_held(httpapi_request **held, long count) {
  for (long i = 0; i < count; ++i) {
    const httpapi_request_info *info = httpapi_request_get_info(held[i]);
    const httpapi_error e = httpapi_wait_for_disconnect(held[i], -1);
    printf("%s %.*s\n", e == HTTPAPI_OK ? "gone" : httpapi_error_name(e),
           (int)info->raw_url.length, info->raw_url.data);
    fflush(stdout);
  }
  for (;;) pause();
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s QUEUE NAME WINDOW HOLD [DELAY_MS]\n", argv[0]);
    return 2;
  }
  const char *name = argv[2];
  const long window = atol(argv[3]);
  const long hold = atol(argv[4]);
  const long delay_ms = argc > 5 ? atol(argv[5]) : 0;
  const int watch = argc > 6 && strcmp(argv[6], "watch") == 0;
  httpapi_request *held[256];
  if (hold > 256) {
    fprintf(stderr, "hold_app: HOLD is at most 256\n");
    return 2;
  }
  httpapi_queue *queue;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_queue_create(argv[1], HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, &queue)) ||
      (window > 0 && (e = httpapi_queue_set_receive_window(queue, (uint32_t)window)))) {
    fprintf(stderr, "hold_app: setup: %s %s\n", httpapi_error_name(e), httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  for (long received = 0;; ++received) {
    httpapi_request *request;
    if ((e = httpapi_receive(queue, -1, &request))) {
      fprintf(stderr, "hold_app: receive: %s\n", httpapi_error_name(e));
      return 1;
    }
    const httpapi_request_info *info = httpapi_request_get_info(request);
    const int url_length = (int)info->raw_url.length;
    if (hold > 0) {
      printf("seen %.*s\n", url_length, info->raw_url.data);
      fflush(stdout);
      held[received] = request;
      if (received + 1 < hold) continue;
      if (watch) watch_held(held, hold);
      for (;;) pause();  /* busy with what it holds, never answering */
    }
    if (delay_ms > 0) {
      const struct timespec pause = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
      nanosleep(&pause, NULL);
    }
    char body[512];
    const int n = snprintf(body, sizeof body, "%s %.*s", name, url_length, info->raw_url.data);
    httpapi_response response = {200, NULL, NULL, 0, body, (size_t)n};
    e = httpapi_send_response(request, &response, 0);
    printf("answered %.*s\n", url_length, info->raw_url.data);
    fflush(stdout);
    httpapi_request_release(request);
    if (e) fprintf(stderr, "hold_app: send: %s\n", httpapi_error_name(e));
  }
}
