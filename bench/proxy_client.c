/* proxy_client.c: a keep-alive HTTP/1.1 load generator that can start every connection with
 * a PROXY protocol header, which wrk cannot (it has no per-connection hook). For bench/run.sh's
 * PROXY protocol scenarios (docs/proxy-protocol.md): the same client with and without the
 * header, so only the header's cost differs. One thread, epoll, N connections, each sending
 * GET requests one after another; prints what bench/stats.py reads from wrk:
 *
 *   N requests in S.SSs, B bytes read
 *   Latency percentiles (50%, 99%)
 *   Non-2xx or 3xx responses: K            (when any)
 *   Socket errors: connect C, read R, write W, timeout 0   (when any)
 *   Requests/sec: R
 *
 *   cc -O2 -o proxy_client proxy_client.c
 *   proxy_client --connect 127.0.0.2 --port 8080 [--bind 127.0.0.1] [--proxy v1|v2]
 *                [--connections 50] [--duration 10] [--path /]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  char in[16384];
  size_t have;
  const char *out; /* what is left to write */
  size_t out_left;
  double started; /* when the current request was written first */
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
  const float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

static char first_wire[1024]; /* PROXY header + request, for a connection's first request */
static size_t first_length;
static char request_wire[512];
static size_t request_length;
static float *latencies;
static size_t latency_count, latency_capacity;
static unsigned long long bytes_read, non2xx;
static unsigned long errors_connect, errors_read, errors_write;

static void record(double seconds) {
  if (latency_count == latency_capacity) {
    latency_capacity = latency_capacity ? latency_capacity * 2 : 1 << 20;
    latencies = realloc(latencies, latency_capacity * sizeof *latencies);
    if (!latencies) abort();
  }
  latencies[latency_count++] = (float)(seconds * 1e6);
}

static int open_conn(struct conn *c, int epoll, const struct sockaddr_in *to,
                     const struct sockaddr_in *from) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  const int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (from && bind(c->fd, (const struct sockaddr *)from, sizeof *from) != 0) return -1;
  if (connect(c->fd, (const struct sockaddr *)to, sizeof *to) != 0) return -1;
  c->have = 0;
  c->out = first_wire;
  c->out_left = first_length;
  c->started = now_s();
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  return epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &ev);
}

static void write_some(struct conn *c, int epoll) {
  while (c->out_left > 0) {
    const ssize_t n = send(c->fd, c->out, c->out_left, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) errors_write++;
      break;
    }
    c->out += n;
    c->out_left -= (size_t)n;
  }
  struct epoll_event ev = {.events = EPOLLIN | (c->out_left ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Reads what arrived; for every complete response, records it and sends the next request.
 * Returns -1 when the connection failed. */
static int read_some(struct conn *c, int epoll) {
  const ssize_t n = recv(c->fd, c->in + c->have, sizeof c->in - c->have, 0);
  if (n <= 0) {
    if (n < 0 && errno == EAGAIN) return 0;
    errors_read++;
    return -1;
  }
  c->have += (size_t)n;
  bytes_read += (unsigned long long)n;
  for (;;) {
    char *end = memmem(c->in, c->have, "\r\n\r\n", 4);
    if (!end) return 0;
    const size_t head = (size_t)(end - c->in) + 4;
    size_t length = 0;
    char *cl = memmem(c->in, head, "Content-Length:", 15);
    if (cl) length = strtoul(cl + 15, NULL, 10);
    if (c->have < head + length) return 0;
    if (c->have < 12 || c->in[9] != '2') non2xx++;
    const double t = now_s();
    record(t - c->started);
    memmove(c->in, c->in + head + length, c->have - head - length);
    c->have -= head + length;
    c->out = request_wire;
    c->out_left = request_length;
    c->started = t;
    write_some(c, epoll);
  }
}

int main(int argc, char **argv) {
  const char *connect_to = "127.0.0.1", *bind_to = NULL, *proxy = NULL, *path = "/";
  int port = 0, connections = 50;
  double duration = 10;
  static const struct option options[] = {
      {"connect", required_argument, 0, 'c'}, {"bind", required_argument, 0, 'b'},
      {"port", required_argument, 0, 'p'},    {"proxy", required_argument, 0, 'x'},
      {"connections", required_argument, 0, 'n'}, {"duration", required_argument, 0, 'd'},
      {"path", required_argument, 0, 'u'},    {0, 0, 0, 0}};
  for (int o; (o = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (o) {
      case 'c': connect_to = optarg; break;
      case 'b': bind_to = optarg; break;
      case 'p': port = atoi(optarg); break;
      case 'x': proxy = optarg; break;
      case 'n': connections = atoi(optarg); break;
      case 'd': duration = atof(optarg); break;
      case 'u': path = optarg; break;
      default: return 2;
    }
  }
  if (port <= 0 || connections <= 0) {
    fprintf(stderr, "proxy_client: --port and --connections must be positive\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  struct sockaddr_in from = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, connect_to, &to.sin_addr) != 1 ||
      (bind_to && inet_pton(AF_INET, bind_to, &from.sin_addr) != 1)) {
    fprintf(stderr, "proxy_client: --connect and --bind take IPv4 addresses\n");
    return 2;
  }
  request_length = (size_t)snprintf(request_wire, sizeof request_wire,
                                    "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, connect_to,
                                    port);
  size_t header = 0;
  if (proxy && strcmp(proxy, "v1") == 0) {
    header = (size_t)snprintf(first_wire, sizeof first_wire,
                              "PROXY TCP4 192.0.2.1 %s 51000 %d\r\n", connect_to, port);
  } else if (proxy && strcmp(proxy, "v2") == 0) {
    static const unsigned char v2[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
                                         0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C};
    memcpy(first_wire, v2, sizeof v2);
    const unsigned char client[4] = {192, 0, 2, 1};
    memcpy(first_wire + 16, client, 4);
    memcpy(first_wire + 20, &to.sin_addr, 4);
    const uint16_t sport = htons(51000), dport = htons((uint16_t)port);
    memcpy(first_wire + 24, &sport, 2);
    memcpy(first_wire + 26, &dport, 2);
    header = 28;
  } else if (proxy) {
    fprintf(stderr, "proxy_client: --proxy takes v1 or v2\n");
    return 2;
  }
  memcpy(first_wire + header, request_wire, request_length);
  first_length = header + request_length;

  const int epoll = epoll_create1(0);
  struct conn *conns = calloc((size_t)connections, sizeof *conns);
  for (int i = 0; i < connections; ++i) {
    if (open_conn(&conns[i], epoll, &to, bind_to ? &from : NULL) != 0) {
      errors_connect++;
      conns[i].fd = -1;
    }
  }
  const double start = now_s(), stop = start + duration;
  struct epoll_event events[256];
  while (now_s() < stop) {
    const int n = epoll_wait(epoll, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      struct conn *c = events[i].data.ptr;
      if (events[i].events & EPOLLOUT) write_some(c, epoll);
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_some(c, epoll) < 0) {
        close(c->fd);
        if (open_conn(c, epoll, &to, bind_to ? &from : NULL) != 0) errors_connect++;
      }
    }
  }
  const double elapsed = now_s() - start;
  qsort(latencies, latency_count, sizeof *latencies, compare);
  printf("  %zu requests in %.2fs, %llu bytes read\n", latency_count, elapsed, bytes_read);
  if (latency_count) {
    printf("  Latency Distribution\n     50%%  %.2fus\n     99%%  %.2fus\n",
           latencies[latency_count / 2], latencies[latency_count * 99 / 100]);
  }
  if (non2xx) printf("  Non-2xx or 3xx responses: %llu\n", non2xx);
  if (errors_connect || errors_read || errors_write) {
    printf("  Socket errors: connect %lu, read %lu, write %lu, timeout 0\n", errors_connect,
           errors_read, errors_write);
  }
  printf("Requests/sec: %.2f\n", (double)latency_count / elapsed);
  return 0;
}
