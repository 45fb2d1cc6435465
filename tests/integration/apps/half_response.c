/* half_response.c: a deliberately misbehaving application for the integration tests.
 * It answers the first request it receives with a response it never finishes, then
 * disappears, so the tests can check that httpapid closes that client connection (and only
 * that one).
 *
 *   httpapi-it-half-response PREFIX [MODE]
 *
 * MODE:
 *   chunked-exit  (default) status + headers + two body pieces with HTTPAPI_SEND_FLAG_MORE_DATA
 *                 and no Content-Length (chunked on the wire), then _exit(0) without
 *                 finishing, releasing or closing anything;
 *   chunked-hang  the same pieces, then prints "sent" on stdout and sleeps until killed;
 *   length-exit   declares Content-Length: 1000, sends 22 bytes, then _exit(0);
 *   whole-exit    sends a whole response ("whole response;"), then _exit(0) at once: what
 *                 httpapi_send_response returned from must still reach the client;
 *   cancel-on-usr1  prints "received" once it has the request, waits for SIGUSR1, then sends
 *                 the chunked-exit pieces, cancels the request (httpapi_cancel), prints
 *                 "sent" and sleeps until killed: a test that stops httpapid meanwhile gets
 *                 the pieces and the cancel to the service at once.
 * Prints exactly "ready\n" once the prefix is registered; on a registration error prints
 * it on stderr and exits 2. */
#include <httpapi/httpapi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr,
            "usage: %s PREFIX [chunked-exit|chunked-hang|length-exit|whole-exit|cancel-on-usr1]\n",
            argv[0]);
    return 2;
  }
  const char *prefix = argv[1];
  const char *mode = argc > 2 ? argv[2] : "chunked-exit";
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;

  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) ||
      (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, prefix, 1))) {
    fprintf(stderr, "half_response: %s: %s %s\n", httpapi_error_name(e), httpapi_strerror(e),
            httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);

  const int cancel_on_usr1 = strcmp(mode, "cancel-on-usr1") == 0;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (cancel_on_usr1) sigprocmask(SIG_BLOCK, &usr1, NULL);  /* before a test can send it */

  httpapi_request *request;
  if ((e = httpapi_receive(queue, -1, &request))) {
    fprintf(stderr, "half_response: receive: %s\n", httpapi_error_name(e));
    return 1;
  }
  if (strcmp(mode, "whole-exit") == 0) {
    httpapi_response whole = {200, NULL, NULL, 0, "whole response;", 15};
    _exit(httpapi_send_response(request, &whole, 0) == HTTPAPI_OK ? 0 : 1);
  }
  if (cancel_on_usr1) {
    printf("received\n");
    fflush(stdout);
    int signo;
    sigwait(&usr1, &signo);
  }
  const int by_length = strcmp(mode, "length-exit") == 0;
  httpapi_header headers[2] = {{{"Content-Type", 12}, {"text/plain", 10}},
                               {{"Content-Length", 14}, {"1000", 4}}};
  httpapi_response response = {200, NULL, headers, by_length ? 2u : 1u, "first part;", 11};
  if ((e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA)) ||
      (e = httpapi_send_body(request, "second part;", 12, HTTPAPI_SEND_FLAG_MORE_DATA))) {
    fprintf(stderr, "half_response: send: %s\n", httpapi_error_name(e));
    return 1;
  }
  if (cancel_on_usr1 && (e = httpapi_cancel(request))) {
    fprintf(stderr, "half_response: cancel: %s\n", httpapi_error_name(e));
    return 1;
  }
  if (strcmp(mode, "chunked-hang") == 0 || cancel_on_usr1) {
    printf("sent\n");
    fflush(stdout);
    for (;;) pause();
  }
  fprintf(stderr, "half_response: leaving in the middle of the response\n");
  _exit(0);
}
