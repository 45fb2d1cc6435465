/* upstream_hello.c: the upstream for benchmark scenario (c), nginx reverse proxy -> this.
 *
 * A small single-threaded epoll HTTP/1.1 server on a Unix-domain socket. Every request is
 * answered "200 Hello, World!" (text/plain, 13 bytes, keep-alive). Requests are counted by
 * their "\r\n\r\n" terminators, so pipelined requests get one response each. GET only, no
 * request bodies: enough for the benchmark, not a general server.
 *
 *   cc -O2 -o upstream_hello upstream_hello.c
 *   ./upstream_hello /tmp/dir/hello.sock      (prints "ready" once listening)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";
#define RESPONSE_LEN (sizeof kResponse - 1)
#define IN_CAP 16384

struct conn {
  int fd;
  size_t in_len;   /* unconsumed request bytes (a partial head) */
  char *out;       /* responses the socket did not take yet */
  size_t out_len, out_cap;
  int want_out;    /* EPOLLOUT registered */
  char in[IN_CAP];
};

static int epfd;

static void conn_close(struct conn *c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->out);
  free(c);
}

/* Sends what is pending; 0 when all went out or would block, -1 on error. */
static int flush_out(struct conn *c) {
  size_t sent = 0;
  while (sent < c->out_len) {
    ssize_t n = send(c->fd, c->out + sent, c->out_len - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return -1;
    }
  }
  memmove(c->out, c->out + sent, c->out_len - sent);
  c->out_len -= sent;
  int want = c->out_len > 0;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
  }
  return 0;
}

static int queue_responses(struct conn *c, size_t count) {
  size_t need = c->out_len + count * RESPONSE_LEN;
  if (need > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < need) cap *= 2;
    char *grown = realloc(c->out, cap);
    if (!grown) return -1;
    c->out = grown;
    c->out_cap = cap;
  }
  for (size_t i = 0; i < count; ++i) {
    memcpy(c->out + c->out_len, kResponse, RESPONSE_LEN);
    c->out_len += RESPONSE_LEN;
  }
  return 0;
}

/* Reads what is there and answers every complete request; -1 when the connection ends. */
static int on_readable(struct conn *c) {
  for (;;) {
    if (c->in_len == IN_CAP) return -1; /* a head larger than the buffer: not for us */
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -1;
    }
    /* Scan from 3 bytes before the new data so a terminator split across reads is found. */
    size_t scan = c->in_len > 3 ? c->in_len - 3 : 0;
    c->in_len += (size_t)n;
    size_t consumed = 0, requests = 0;
    while (scan + 4 <= c->in_len) {
      char *hit = memmem(c->in + scan, c->in_len - scan, "\r\n\r\n", 4);
      if (!hit) break;
      scan = (size_t)(hit - c->in) + 4;
      consumed = scan;
      requests++;
    }
    if (consumed) {
      memmove(c->in, c->in + consumed, c->in_len - consumed);
      c->in_len -= consumed;
    }
    if (requests && queue_responses(c, requests) != 0) return -1;
    if ((size_t)n < IN_CAP) break; /* short read: the socket is drained */
  }
  return c->out_len ? flush_out(c) : 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) {
    fprintf(stderr, "upstream_hello: socket path too long\n");
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  unlink(argv[1]);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(lfd, 4096) != 0) {
    perror("upstream_hello: listen");
    return 1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  printf("ready\n");
  fflush(stdout);

  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("upstream_hello: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      struct conn *c = events[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          struct conn *nc = calloc(1, sizeof *nc);
          if (!nc) {
            close(fd);
            continue;
          }
          nc->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      int rc = 0;
      if (events[i].events & EPOLLOUT) rc = flush_out(c);
      if (rc == 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) rc = on_readable(c);
      if (rc != 0) conn_close(c);
    }
  }
}
