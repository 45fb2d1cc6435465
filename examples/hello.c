/* hello.c: the shortest complete httpapi application.
 * Registers a URL prefix (default http://+:8080/hello/) and answers every request with
 * "Hello, World!". Run httpapid first; then: ./httpapi-hello http://+:8080/hello/ [TTL]
 * With TTL (seconds), httpapid may repeat the answer itself for that long (docs/cache.md). */
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *prefix = argc > 1 ? argv[1] : "http://+:8080/hello/";
  const unsigned ttl = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;
  const httpapi_cache_policy cache = {ttl ? HTTPAPI_CACHE_TIME_TO_LIVE : HTTPAPI_CACHE_NONE, ttl};
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;

  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) ||
      (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, prefix, 0))) {
    fprintf(stderr, "hello: %s: %s %s\n", httpapi_error_name(e), httpapi_strerror(e),
            httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);

  for (;;) {
    httpapi_request *request;
    if ((e = httpapi_receive(queue, -1, &request))) break;
    static const httpapi_header type = {{"Content-Type", 12}, {"text/plain", 10}};
    httpapi_response response = {200, NULL, &type, 1, "Hello, World!", 13};
    const httpapi_error sent = httpapi_send_cacheable_response(request, &response, 0, &cache);
    /* A client that leaves before its answer is its own business; anything else is worth a
     * line. Either way the request is released and serving goes on. */
    if (sent && sent != HTTPAPI_ERROR_CONNECTION_GONE) {
      fprintf(stderr, "hello: answer not sent: %s: %s %s\n", httpapi_error_name(sent),
              httpapi_strerror(sent), httpapi_error_detail());
    }
    httpapi_request_release(request);
  }
  fprintf(stderr, "hello: %s\n", httpapi_strerror(e));
  return 1;
}
