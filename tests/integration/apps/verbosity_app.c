/* verbosity_app.c: changes its queue's 503 verbosity while its URLs are live.
 *
 *   httpapi-it-verbosity-app PREFIX QUEUE
 *
 * Creates the queue QUEUE (default verbosity), a URL group limited to one connection, binds
 * them and registers PREFIX: everything is in place before the verbosity changes. A request
 * whose path ends in /basic, /limited or /full sets the queue's 503 verbosity to that level,
 * then is answered 200 "verbosity LEVEL"; any other request is answered 200 "served". The
 * 200 comes after the service accepted the change, so a refusal that follows it must use the
 * new verbosity. */
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, httpapi_error e) {
  fprintf(stderr, "verbosity_app: %s: %s %s\n", what, httpapi_error_name(e),
          httpapi_error_detail());
  return 2;
}

static int ends_with(httpapi_bytes path, const char *suffix) {
  const size_t n = strlen(suffix);
  return path.length >= n && memcmp(path.data + path.length - n, suffix, n) == 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PREFIX QUEUE\n", argv[0]);
    return 2;
  }
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) || (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_url_group_set_property(group, HTTPAPI_GROUP_MAX_CONNECTIONS, 1)) ||
      (e = httpapi_queue_create(argv[2], 0, &queue)) ||
      (e = httpapi_url_group_bind(group, queue)) || (e = httpapi_url_add(group, argv[1], 1))) {
    return fail("setup", e);
  }
  printf("ready\n");
  fflush(stdout);
  static const struct {
    const char *suffix;
    uint64_t level;
    const char *answer;
  } levels[] = {{"/basic", HTTPAPI_503_BASIC, "verbosity basic"},
                {"/limited", HTTPAPI_503_LIMITED, "verbosity limited"},
                {"/full", HTTPAPI_503_FULL, "verbosity full"}};
  for (;;) {
    httpapi_request *request;
    if ((e = httpapi_receive(queue, -1, &request))) return fail("receive", e);
    const httpapi_bytes path = httpapi_request_get_info(request)->url.path;
    const char *answer = "served";
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; ++i) {
      if (!ends_with(path, levels[i].suffix)) continue;
      if ((e = httpapi_queue_set_property(queue, HTTPAPI_QUEUE_VERBOSITY, levels[i].level))) {
        return fail("503 verbosity", e);
      }
      answer = levels[i].answer;
    }
    httpapi_response response = {200, NULL, NULL, 0, answer, strlen(answer)};
    e = httpapi_send_response(request, &response, 0);
    httpapi_request_release(request);
    if (e) fprintf(stderr, "verbosity_app: send: %s\n", httpapi_error_name(e));
  }
}
