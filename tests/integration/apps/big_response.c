/* Answers every request with MIB mebibytes of a repeating pattern, sent in 64 KiB pieces
 * with HTTPAPI_SEND_FLAG_MORE_DATA (chunked on the wire), as fast as the library lets it.
 * Usage: big_response PREFIX MIB */
#include <httpapi/httpapi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;
  if (argc < 3) return 2;
  const long pieces = atol(argv[2]) * 16;
  static char piece[64 * 1024];
  for (size_t i = 0; i < sizeof piece; ++i) piece[i] = (char)('a' + i % 26);
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) || (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) || (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, argv[1], 0))) {
    fprintf(stderr, "big_response: %s\n", httpapi_error_name(e));
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    httpapi_request *request;
    if (httpapi_receive(queue, -1, &request)) return 1;
    httpapi_response response = {200, NULL, NULL, 0, NULL, 0};
    e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_MORE_DATA);
    for (long i = 0; !e && i < pieces; ++i) {
      e = httpapi_send_body(request, piece, sizeof piece,
                            i + 1 < pieces ? HTTPAPI_SEND_FLAG_MORE_DATA : 0);
    }
    httpapi_request_release(request);
  }
}
