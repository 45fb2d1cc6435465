/* shutdown_app.c: the creator of a named persistent queue that deactivates it on SIGUSR2
 * and shuts it down on SIGUSR1.
 *
 *   httpapi-it-shutdown-app PREFIX QUEUE
 *
 * Creates QUEUE as a controller (CONTROLLER | PERSISTENT, 503 verbosity full), routes
 * PREFIX to it and prints "ready". A second handle of the same queue (OPEN_EXISTING) tries
 * to shut it down first and must be refused. Each SIGUSR2 flips the queue's state
 * (HTTPAPI_QUEUE_STATE: inactive first, then active, ...) and prints "inactive|active <error
 * name>". On SIGUSR1 it shuts the queue down and prints one line per check, "<what> <error name>":
 *   worker-shutdown   httpapi_queue_shutdown on the opened handle, before (ACCESS_DENIED)
 *   shutdown          httpapi_queue_shutdown on the creating handle (OK)
 *   again             the same call once more (OK)
 *   property          httpapi_queue_set_property afterwards (SHUTDOWN)
 *   receive           httpapi_receive on the opened handle afterwards (SHUTDOWN)
 *   bind              binding the URL group to the shut-down queue (SHUTDOWN)
 *   recreate          a new queue of the same name, closed at once (OK: the name is free)
 * then "done", and keeps every handle open until killed. */
#include <httpapi/httpapi.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void report(const char *what, httpapi_error e) {
  printf("%s %s\n", what, httpapi_error_name(e));
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PREFIX QUEUE\n", argv[0]);
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  sigprocmask(SIG_BLOCK, &signals, NULL);

  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue, *opened;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(argv[2], HTTPAPI_QUEUE_FLAG_CONTROLLER |
                                             HTTPAPI_QUEUE_FLAG_PERSISTENT, &queue)) ||
      (e = httpapi_queue_set_property(queue, HTTPAPI_QUEUE_VERBOSITY, HTTPAPI_503_FULL)) ||
      (e = httpapi_url_group_bind(group, queue)) || (e = httpapi_url_add(group, argv[1], 1)) ||
      (e = httpapi_queue_create(argv[2], HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, &opened))) {
    fprintf(stderr, "shutdown_app: setup: %s %s\n", httpapi_error_name(e),
            httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  int signal_number, active = 1;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGUSR2) {
    active = !active;
    report(active ? "active" : "inactive",
           httpapi_queue_set_property(queue, HTTPAPI_QUEUE_STATE,
                                      active ? HTTPAPI_QUEUE_ACTIVE : HTTPAPI_QUEUE_INACTIVE));
    fflush(stdout);
  }

  report("worker-shutdown", httpapi_queue_shutdown(opened));
  report("shutdown", httpapi_queue_shutdown(queue));
  report("again", httpapi_queue_shutdown(queue));
  report("property", httpapi_queue_set_property(queue, HTTPAPI_QUEUE_LENGTH, 10));
  httpapi_request *request;
  report("receive", httpapi_receive(opened, 1000, &request));
  report("bind", httpapi_url_group_bind(group, queue));
  httpapi_queue *again;
  e = httpapi_queue_create(argv[2], 0, &again);
  report("recreate", e);
  if (e == HTTPAPI_OK) httpapi_queue_close(again);
  printf("done\n");
  fflush(stdout);
  for (;;) pause();
}
