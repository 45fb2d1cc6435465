/* websocket_echo.c: a WebSocket echo server (RFC 6455) on httpapi's opaque upgrade.
 *
 *   httpapi-websocket-echo http://+:8080/ws/
 *
 * A GET with "Upgrade: websocket" is answered 101 with HTTPAPI_SEND_FLAG_OPAQUE; from then on
 * httpapi_read_body gives the client's frames and httpapi_send_body carries ours. Each
 * connection runs in its own thread, so one slow client does not hold up the others.
 * Messages (text or binary, whole or fragmented) are echoed as one frame of the same type,
 * pings answered with pongs, and a close echoed with its status code. Protocol errors close
 * the connection with 1002, invalid UTF-8 in text with 1007, messages over 16 MiB with 1009.
 * Other requests get 426 Upgrade Required. */
#include <httpapi/httpapi.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE (16u * 1024 * 1024)

enum { OP_CONTINUATION = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };
enum { CLOSE_PROTOCOL = 1002, CLOSE_INVALID_DATA = 1007, CLOSE_TOO_BIG = 1009 };

/* ---- the handshake ---------------------------------------------------------------------- */

static int header_has_token(httpapi_bytes value, const char *token) {
  const size_t n = strlen(token);
  for (size_t i = 0; i + n <= value.length; ++i) {
    if (strncasecmp(value.data + i, token, n) == 0 &&
        (i == 0 || value.data[i - 1] == ',' || value.data[i - 1] == ' ') &&
        (i + n == value.length || value.data[i + n] == ',' || value.data[i + n] == ' ')) {
      return 1;
    }
  }
  return 0;
}

/* The value of an unknown header (Sec-WebSocket-*), or an empty view. */
static httpapi_bytes find_header(const httpapi_request_info *info, const char *name) {
  for (size_t i = 0; i < info->header_count; ++i) {
    const httpapi_header *h = &info->headers[i];
    if (h->name.length == strlen(name) && strncasecmp(h->name.data, name, h->name.length) == 0) {
      return h->value;
    }
  }
  const httpapi_bytes none = {NULL, 0};
  return none;
}

/* Sec-WebSocket-Accept = base64(SHA-1(key + the RFC's GUID)). */
static void accept_value(httpapi_bytes key, char out[64]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char joined[128];
  unsigned char digest[SHA_DIGEST_LENGTH];
  const size_t n = key.length < 64 ? key.length : 64;
  memcpy(joined, key.data, n);
  memcpy(joined + n, guid, sizeof guid - 1);
  SHA1((const unsigned char *)joined, n + sizeof guid - 1, digest);
  EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

/* A client that leaves is its own business; any other failure to send is worth a line.
 * Returns -1 when `e` is an error (the connection is over either way), else 0. */
static int check_sent(httpapi_error e) {
  if (e && e != HTTPAPI_ERROR_CONNECTION_GONE) {
    fprintf(stderr, "websocket-echo: not sent: %s: %s %s\n", httpapi_error_name(e),
            httpapi_strerror(e), httpapi_error_detail());
  }
  return e ? -1 : 0;
}

static void refuse(httpapi_request *request, uint16_t status, const char *text) {
  const httpapi_header headers[] = {{{"Sec-WebSocket-Version", 21}, {"13", 2}},
                                    {{"Content-Type", 12}, {"text/plain", 10}}};
  httpapi_response response = {status, NULL, headers, 2, text, strlen(text)};
  check_sent(httpapi_send_response(request, &response, 0));
  httpapi_request_release(request);
}

/* Answers the handshake; 0 when the request became a WebSocket connection. */
static int handshake(httpapi_request *request) {
  const httpapi_request_info *info = httpapi_request_get_info(request);
  const httpapi_bytes key = find_header(info, "Sec-WebSocket-Key");
  const httpapi_bytes version = find_header(info, "Sec-WebSocket-Version");
  if (info->method.length != 3 || memcmp(info->method.data, "GET", 3) != 0 ||
      !header_has_token(info->known_headers[HTTPAPI_HEADER_UPGRADE], "websocket") ||
      !header_has_token(info->known_headers[HTTPAPI_HEADER_CONNECTION], "upgrade") ||
      key.length == 0 || key.length > 64) {
    refuse(request, 426, "This URL speaks WebSocket only.\n");
    return -1;
  }
  if (version.length != 2 || memcmp(version.data, "13", 2) != 0) {
    refuse(request, 426, "WebSocket version 13 only.\n");
    return -1;
  }
  char accept[64];
  accept_value(key, accept);
  const httpapi_header headers[] = {{{"Upgrade", 7}, {"websocket", 9}},
                                    {{"Connection", 10}, {"Upgrade", 7}},
                                    {{"Sec-WebSocket-Accept", 20}, {accept, strlen(accept)}}};
  httpapi_response response = {101, NULL, headers, 3, NULL, 0};
  const httpapi_error e = httpapi_send_response(request, &response, HTTPAPI_SEND_FLAG_OPAQUE);
  if (e) {
    fprintf(stderr, "websocket-echo: upgrade failed: %s\n", httpapi_error_name(e));
    refuse(request, 400, "This request cannot be upgraded.\n");
    return -1;
  }
  return 0;
}

/* ---- framing ------------------------------------------------------------------------------ */

struct connection {
  httpapi_request *request;
  unsigned char *in;  /* received, not yet parsed */
  size_t in_length, in_capacity;
  unsigned char *message;  /* a fragmented message being assembled */
  size_t message_length;
  int message_opcode;  /* 0 when none is in progress */
};

static int send_frame(struct connection *c, int opcode, const unsigned char *payload,
                      size_t length, uint32_t flags) {
  unsigned char head[10];
  size_t n = 2;
  head[0] = (unsigned char)(0x80 | opcode);
  if (length < 126) {
    head[1] = (unsigned char)length;
  } else if (length <= 0xFFFF) {
    head[1] = 126;
    head[2] = (unsigned char)(length >> 8);
    head[3] = (unsigned char)length;
    n = 4;
  } else {
    head[1] = 127;
    for (int i = 0; i < 8; ++i) head[2 + i] = (unsigned char)((uint64_t)length >> (56 - 8 * i));
    n = 10;
  }
  /* Two small pieces coalesced by the library: one write to the service. */
  httpapi_error e = httpapi_send_body(c->request, head, n,
                                      HTTPAPI_SEND_FLAG_MORE_DATA | HTTPAPI_SEND_FLAG_BUFFER_DATA);
  if (!e) e = httpapi_send_body(c->request, payload, length, flags);
  return check_sent(e);
}

/* Sends a close frame with `code` and ends the stream (httpapid then closes the socket). */
static void close_with(struct connection *c, unsigned code) {
  const unsigned char payload[2] = {(unsigned char)(code >> 8), (unsigned char)code};
  send_frame(c, OP_CLOSE, payload, code ? 2 : 0, 0);
}

static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    size_t extra;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { extra = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { extra = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { extra = 3; cp = c & 0x07; }
    else return 0;
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    i += extra + 1;
  }
  return 1;
}

static int echo_message(struct connection *c, int opcode, const unsigned char *data,
                        size_t length) {
  if (opcode == OP_TEXT && !valid_utf8(data, length)) {
    close_with(c, CLOSE_INVALID_DATA);
    return -1;
  }
  return send_frame(c, opcode, data, length, HTTPAPI_SEND_FLAG_MORE_DATA);
}

/* Handles one complete frame. -1 ends the connection. */
static int on_frame(struct connection *c, int fin, int opcode, unsigned char *payload,
                    size_t length) {
  switch (opcode) {
    case OP_PING:
      return send_frame(c, OP_PONG, payload, length, HTTPAPI_SEND_FLAG_MORE_DATA);
    case OP_PONG:
      return 0;
    case OP_CLOSE: {
      const unsigned code = length >= 2 ? (unsigned)(payload[0] << 8 | payload[1]) : 0;
      if (length == 1 || (length >= 2 && (code < 1000 || code == 1004 || code == 1005 ||
                                          code == 1006 || (code > 1014 && code < 3000) ||
                                          code > 4999))) {
        close_with(c, CLOSE_PROTOCOL);
      } else if (length > 2 && !valid_utf8(payload + 2, length - 2)) {
        close_with(c, CLOSE_INVALID_DATA);
      } else {
        close_with(c, code);  /* echo the status code, as the closing handshake asks */
      }
      return -1;
    }
    case OP_TEXT:
    case OP_BINARY:
      if (c->message_opcode) break;  /* a new message inside a fragmented one */
      if (fin) return echo_message(c, opcode, payload, length);
      /* The first fragment of a message: appended like the continuations. */
      c->message_opcode = opcode;
      c->message_length = 0;
      /* fall through */
    case OP_CONTINUATION: {
      if (!c->message_opcode) break;
      if (c->message_length + length > MAX_MESSAGE) {
        close_with(c, CLOSE_TOO_BIG);
        return -1;
      }
      unsigned char *grown = realloc(c->message, c->message_length + length + 1);
      if (!grown) return -1;
      c->message = grown;
      memcpy(c->message + c->message_length, payload, length);
      c->message_length += length;
      if (!fin) return 0;
      const int e = echo_message(c, c->message_opcode, c->message, c->message_length);
      c->message_opcode = 0;
      return e;
    }
    default:
      break;
  }
  close_with(c, CLOSE_PROTOCOL);
  return -1;
}

/* Parses the frames in c->in. Returns -1 to end, else leaves a partial frame for later. */
static int parse_frames(struct connection *c) {
  size_t at = 0;
  for (;;) {
    const unsigned char *p = c->in + at;
    const size_t have = c->in_length - at;
    if (have < 2) break;
    const int fin = p[0] >> 7, opcode = p[0] & 0x0F;
    const int masked = p[1] >> 7;
    uint64_t length = p[1] & 0x7F;
    size_t head = 2;
    if (length == 126) {
      if (have < 4) break;
      length = (uint64_t)p[2] << 8 | p[3];
      head = 4;
    } else if (length == 127) {
      if (have < 10) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = length << 8 | p[2 + i];
      head = 10;
    }
    /* Clients must mask; reserved bits need an extension we do not offer; control frames
     * are short and whole. */
    if (!masked || (p[0] & 0x70) || ((opcode & 0x8) && (!fin || length > 125))) {
      close_with(c, CLOSE_PROTOCOL);
      return -1;
    }
    if (length > MAX_MESSAGE) {
      close_with(c, CLOSE_TOO_BIG);
      return -1;
    }
    if (have < head + 4 + length) break;
    const unsigned char *mask = p + head;
    unsigned char *payload = c->in + at + head + 4;
    for (uint64_t i = 0; i < length; ++i) payload[i] ^= mask[i % 4];
    if (on_frame(c, fin, opcode, payload, (size_t)length) < 0) return -1;
    at += head + 4 + (size_t)length;
  }
  memmove(c->in, c->in + at, c->in_length - at);
  c->in_length -= at;
  return 0;
}

static void *session(void *arg) {
  struct connection c = {arg, NULL, 0, 0, NULL, 0, 0};
  for (;;) {
    if (c.in_capacity - c.in_length < 65536) {
      const size_t capacity = c.in_capacity * 2 + 65536;
      unsigned char *grown = capacity <= 2 * MAX_MESSAGE + 65536 ? realloc(c.in, capacity) : NULL;
      if (!grown) break;
      c.in = grown;
      c.in_capacity = capacity;
    }
    size_t n = 0;
    const httpapi_error e =
        httpapi_read_body(c.request, c.in + c.in_length, c.in_capacity - c.in_length, &n, -1);
    if (e == HTTPAPI_ERROR_END_OF_BODY) {  /* the client closed without a close frame */
      check_sent(httpapi_send_body(c.request, NULL, 0, 0));
      break;
    }
    if (e) break;
    c.in_length += n;
    if (parse_frames(&c) < 0) break;
  }
  httpapi_request_release(c.request);
  free(c.in);
  free(c.message);
  return NULL;
}

int main(int argc, char **argv) {
  const char *prefix = argc > 1 ? argv[1] : "http://+:8080/ws/";
  httpapi_session *server;
  httpapi_url_group *group;
  httpapi_queue *queue;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) || (e = httpapi_session_create(&server)) ||
      (e = httpapi_url_group_create(server, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &queue)) || (e = httpapi_url_group_bind(group, queue)) ||
      (e = httpapi_url_add(group, prefix, 0))) {
    fprintf(stderr, "websocket-echo: %s: %s %s\n", httpapi_error_name(e), httpapi_strerror(e),
            httpapi_error_detail());
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    httpapi_request *request;
    if ((e = httpapi_receive(queue, -1, &request))) break;
    if (handshake(request) != 0) continue;
    pthread_t thread;
    if (pthread_create(&thread, NULL, session, request) != 0) {
      httpapi_request_release(request);  /* closes the connection */
      continue;
    }
    pthread_detach(thread);
  }
  fprintf(stderr, "websocket-echo: %s\n", httpapi_strerror(e));
  return 1;
}
