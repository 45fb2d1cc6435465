/* receive_into_app.c: receiving into the application's own buffer, and the buffer that is
 * too small (HTTP.sys's ERROR_MORE_DATA).
 *
 *   httpapi-it-receive-into-app PREFIX QUEUE
 *
 * Two handles of the named queue QUEUE in one process: `first` (the creator) and `second`
 * (OPEN_EXISTING). Prints "ready", then, one line per step ("<step> <error name> [n]"):
 *   probe     first: receive_into with no buffer: MORE_DATA and the size needed (request A)
 *   short     first: a buffer one byte short: MORE_DATA again, the same size
 *   misaligned first: a misaligned buffer: INVALID_PARAMETER
 *   second    second: httpapi_receive (10 s): must get the next request (B), not A;
 *             answers "second RAW_URL"
 *   exact     first: a buffer of exactly the size: OK, A; answers "first RAW_URL X-Test=VALUE
 *             used=N inside=1" (inside=1: the info and every view lie in the buffer)
 *   probe2    first: receive_into with no buffer again: MORE_DATA (request C)
 *   plain     first: httpapi_receive: OK, C; answers "plain RAW_URL"
 * and exits 0. */
#include <httpapi/httpapi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void step(const char *what, httpapi_error e, size_t n) {
  printf("%s %s %zu\n", what, httpapi_error_name(e), n);
  fflush(stdout);
}

static int inside(httpapi_bytes b, const char *start, size_t size) {
  return !b.data || (b.data >= start && b.data + b.length <= start + size);
}

static int struct_inside(const void *p, size_t length, const char *start, size_t size) {
  return (const char *)p >= start && (const char *)p + length <= start + size;
}

/* The TLS info of a secure request (and its certificate) lies in the buffer too; a plain
 * request has none. */
static int tls_inside(const httpapi_request_info *info, const char *buffer, size_t size) {
  const httpapi_tls_info *tls = info->tls;
  const httpapi_client_certificate *c;
  if (!(info->flags & HTTPAPI_REQUEST_FLAG_SECURE)) return tls == NULL;
  if (!tls || !struct_inside(tls, sizeof *tls, buffer, size) ||
      !inside(tls->protocol, buffer, size) || !inside(tls->cipher, buffer, size) ||
      !inside(tls->sni, buffer, size) || !inside(tls->alpn, buffer, size)) {
    return 0;
  }
  c = tls->client_certificate;
  return !c || (struct_inside(c, sizeof *c, buffer, size) && inside(c->der, buffer, size) &&
                inside(c->subject, buffer, size) && inside(c->issuer, buffer, size));
}

/* Every view of the info lies in [buffer, buffer + size). */
static int all_inside(const httpapi_request_info *info, const char *buffer, size_t size) {
  int ok = (const char *)info == buffer && inside(info->method, buffer, size) &&
           inside(info->raw_url, buffer, size) && inside(info->url.full, buffer, size) &&
           inside(info->url.path, buffer, size) && inside(info->url.host, buffer, size) &&
           inside(info->body, buffer, size) && (const char *)info->headers >= buffer &&
           (const char *)(info->headers + info->header_count) <= buffer + size &&
           tls_inside(info, buffer, size);
  for (size_t i = 0; ok && i < info->header_count; ++i) {
    ok = inside(info->headers[i].name, buffer, size) && inside(info->headers[i].value, buffer, size);
  }
  for (int i = 0; ok && i < HTTPAPI_HEADER_REQUEST_MAXIMUM; ++i) {
    ok = inside(info->known_headers[i], buffer, size);
  }
  return ok;
}

static const char *header(const httpapi_request_info *info, const char *name, int *length) {
  for (size_t i = 0; i < info->header_count; ++i) {
    const httpapi_header *h = &info->headers[i];
    if (h->name.length == strlen(name) && memcmp(h->name.data, name, h->name.length) == 0) {
      *length = (int)h->value.length;
      return h->value.data;
    }
  }
  *length = 0;
  return "";
}

static void answer(httpapi_request *request, const char *text, int length) {
  httpapi_response response = {200, NULL, NULL, 0, text, (size_t)length};
  httpapi_send_response(request, &response, 0);
  httpapi_request_release(request);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PREFIX QUEUE\n", argv[0]);
    return 2;
  }
  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_queue *first, *second;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(argv[2], 0, &first)) ||
      (e = httpapi_queue_create(argv[2], HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, &second)) ||
      (e = httpapi_url_group_bind(group, first)) || (e = httpapi_url_add(group, argv[1], 1))) {
    fprintf(stderr, "receive_into_app: setup: %s %s\n", httpapi_error_name(e),
            httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);

  httpapi_request *request = NULL;
  size_t needed = 0, again = 0;
  e = httpapi_receive_into(first, -1, NULL, 0, &needed, &request);
  step("probe", e, needed);
  char *buffer = malloc(needed + 16);
  e = httpapi_receive_into(first, -1, buffer, needed - 1, &again, &request);
  step("short", e, again);
  step("misaligned",
       httpapi_receive_into(first, 0, buffer + 1, needed + 8, &again, &request), 0);

  httpapi_request *other = NULL;
  e = httpapi_receive(second, 10000, &other);
  step("second", e, 0);
  if (e == HTTPAPI_OK) {
    const httpapi_request_info *info = httpapi_request_get_info(other);
    char text[256];
    answer(other, text, snprintf(text, sizeof text, "second %.*s", (int)info->raw_url.length,
                                 info->raw_url.data));
  }

  size_t used = 0;
  e = httpapi_receive_into(first, 0, buffer, needed, &used, &request);
  step("exact", e, used);
  if (e == HTTPAPI_OK) {
    const httpapi_request_info *info = httpapi_request_get_info(request);
    int length;
    const char *value = header(info, "X-Test", &length);
    char *text = malloc((size_t)length + 256);
    const int n = sprintf(text, "first %.*s X-Test=%.*s used=%zu inside=%d",
                          (int)info->raw_url.length, info->raw_url.data, length, value, used,
                          all_inside(info, buffer, needed));
    answer(request, text, n);
    free(text);
  }
  free(buffer);

  e = httpapi_receive_into(first, -1, NULL, 0, &needed, &request);
  step("probe2", e, needed);
  e = httpapi_receive(first, 0, &request);
  step("plain", e, 0);
  if (e == HTTPAPI_OK) {
    const httpapi_request_info *info = httpapi_request_get_info(request);
    char text[256];
    answer(request, text, snprintf(text, sizeof text, "plain %.*s", (int)info->raw_url.length,
                                   info->raw_url.data));
  }
  httpapi_queue_close(second);
  httpapi_queue_close(first);
  httpapi_url_group_close(group);
  httpapi_session_close(session);
  httpapi_terminate();
  return 0;
}
