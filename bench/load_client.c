/* load_client.c: holds N concurrent keep-alive HTTP/1.1 connections, each sending GET
 * requests one after another, and accounts for the fate of every request it sent. For the
 * fault/load test (bench/fault_load.sh, tests/integration/test_fault_load.py) against
 * httpapi-echo, whose JSON answer repeats the request's raw URL.
 *
 * Every request has its own URL, PATH<connection>/<sequence>, so an answer can be matched
 * to its request and the service's error log (httperr*.log, whose cs-uri is the raw URL)
 * tells why a request was refused. Outcomes, exactly one per request fully written:
 *
 *   ok            200 whose JSON "raw_url" is this request's URL
 *   wrong_answer  200 for another URL, or a response that is not HTTP/1.x with a length
 *   abandoned     503, and the error log says Connection_Abandoned_By_ReqQueue for the URL:
 *                 the request had been handed to a worker that died before answering
 *   refused       503 for another logged reason (QueueFull, Timer_ReqQueue, ...)
 *   other_status  any other status
 *   reset         the connection was reset after the request was written, before an answer
 *   closed        the server closed the connection (EOF) before an answer
 *   timeout       no complete answer within --timeout seconds
 *
 * "lost" counts every request whose outcome is neither ok nor abandoned: a request that the
 * service never handed to a worker that died, and that still got no answer of its own.
 * Writing a request can fail too (the server closed an idle connection first): that is
 * counted as send_failed, never as sent. Connections closed by a "Connection: close" answer
 * are opened again; a refused connect is retried after 100 ms.
 *
 * Output: one JSON object on stdout; with --failures FILE, one line per request that was not
 * ok: "URL OUTCOME STATUS [LOG-REASON]" (STATUS 0: no status line came).
 *
 *   cc -O2 -o load_client load_client.c
 *   load_client --port 8080 --connections 1000 --duration 60 --timeout 30 \
 *               --error-log-dir STATE/logs [--path /load/] [--failures FILE]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum outcome {
  OK, WRONG_ANSWER, ABANDONED, REFUSED, OTHER_STATUS, RESET, CLOSED, TIMEOUT, OUTCOMES
};
static const char *const kOutcomeNames[OUTCOMES] = {
    "ok", "wrong_answer", "abandoned", "refused", "other_status", "reset", "closed", "timeout"};

enum phase { IDLE, CONNECTING, WAITING };

#define IN_CAP 16384
#define PATH_CAP 64

struct conn {
  unsigned index;
  int fd;
  enum phase phase;
  uint32_t seq;            /* sequence number of the request in flight */
  double deadline;         /* answer due by (WAITING), or reconnect at (IDLE) */
  size_t in_len;
  char in[IN_CAP];
};

/* A request that was not answered ok, kept to be matched against the error log. */
struct failure {
  uint32_t conn, seq;
  enum outcome outcome;
  int status;
  char reason[64];         /* from the error log, "" when it has no line for the URL */
};

static struct {
  const char *host, *path, *log_dir, *failures_path;
  int port;
  unsigned connections;
  double duration, timeout;
} opt = {"127.0.0.1", "/load/", NULL, NULL, 0, 100, 10, 10};

static int epfd;
static struct sockaddr_in server;
static unsigned long long sent, send_failed, connects, connect_failed, stray_bytes;
static unsigned long long by_status[600], outcome_count[OUTCOMES];
static struct failure *failures;
static size_t failure_count, failure_cap;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "load_client: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void record(struct conn *c, enum outcome o, int status) {
  outcome_count[o]++;
  if (status > 0 && status < 600) by_status[status]++;
  if (o == OK) return;
  if (failure_count == failure_cap) {
    failure_cap = failure_cap ? failure_cap * 2 : 1024;
    failures = realloc(failures, failure_cap * sizeof *failures);
    if (!failures) die("realloc");
  }
  failures[failure_count++] = (struct failure){c->index, c->seq, o, status, ""};
}

static void close_conn(struct conn *c, double retry_at) {
  if (c->fd >= 0) close(c->fd); /* also leaves the epoll set */
  c->fd = -1;
  c->phase = IDLE;
  c->in_len = 0;
  c->deadline = retry_at;
}

static void open_conn(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket (raise ulimit -n?)");
  const int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  connects++;
  if (connect(c->fd, (struct sockaddr *)&server, sizeof server) != 0 && errno != EINPROGRESS) {
    connect_failed++;
    close_conn(c, now() + 0.1);
    return;
  }
  c->phase = CONNECTING;
  c->deadline = now() + opt.timeout;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
}

static int url_of(char *out, size_t cap, unsigned conn, uint32_t seq) {
  return snprintf(out, cap, "%s%u/%u", opt.path, conn, seq);
}

/* Writes the next request. A request too big for an empty socket buffer is not expected;
 * a short write is treated like a failed one. */
static void send_next(struct conn *c) {
  char url[PATH_CAP], request[256];
  c->seq++;
  url_of(url, sizeof url, c->index, c->seq);
  const int n = snprintf(request, sizeof request,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: load_client\r\n\r\n",
                         url, opt.host, opt.port);
  const ssize_t w = send(c->fd, request, (size_t)n, MSG_NOSIGNAL);
  if (w != n) {
    send_failed++;
    close_conn(c, now() + 0.1);
    return;
  }
  sent++;
  c->phase = WAITING;
  c->deadline = now() + opt.timeout;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl");
}

/* The value of header `name` in the head [head, end), or NULL. */
static const char *header(const char *head, const char *end, const char *name) {
  const size_t len = strlen(name);
  for (const char *line = memchr(head, '\n', (size_t)(end - head)); line && line + 1 < end;
       line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
    const char *p = line + 1;
    if ((size_t)(end - p) > len && strncasecmp(p, name, len) == 0 && p[len] == ':') {
      p += len + 1;
      while (p < end && (*p == ' ' || *p == '\t')) p++;
      return p;
    }
  }
  return NULL;
}

/* The status of a head starting "HTTP/1.x NNN ", or 0. (c->in is no C string: no sscanf.) */
static int status_code(const char *head) {
  if (memcmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') || head[8] != ' ')
    return 0;
  int status = 0;
  for (int i = 9; i < 12; i++) {
    if (head[i] < '0' || head[i] > '9') return 0;
    status = status * 10 + (head[i] - '0');
  }
  return head[12] == ' ' || head[12] == '\r' ? status : 0;
}

/* 1 when a whole response is in c->in (then it is accounted for), 0 when more is needed. */
static int take_response(struct conn *c, int *close_after) {
  const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
  if (!end) {
    if (c->in_len == IN_CAP) goto malformed;
    return 0;
  }
  end += 4;
  const int status = status_code(c->in);
  if (!status) goto malformed;
  const char *length = header(c->in, end, "Content-Length");
  if (!length) goto malformed;
  const size_t body = strtoul(length, NULL, 10);
  const size_t head = (size_t)(end - c->in);
  if (head + body > IN_CAP) goto malformed;
  if (c->in_len < head + body) return 0;
  const char *connection = header(c->in, end, "Connection");
  *close_after = connection && strncasecmp(connection, "close", 5) == 0;
  enum outcome o = status == 503 ? REFUSED : OTHER_STATUS; /* 503s are sorted out later */
  if (status == 200) {
    char expected[PATH_CAP + 16];
    const int n = snprintf(expected, sizeof expected, "\"raw_url\":\"");
    url_of(expected + n, sizeof expected - (size_t)n, c->index, c->seq);
    strcat(expected, "\"");
    o = memmem(end, body, expected, strlen(expected)) ? OK : WRONG_ANSWER;
  }
  record(c, o, status);
  if (c->in_len != head + body) {  /* bytes after the answer nobody asked for */
    stray_bytes++;
    *close_after = 1;
  }
  c->in_len = 0;
  return 1;
malformed:
  record(c, WRONG_ANSWER, 0);
  *close_after = 1;
  return 1;
}

static void on_event(struct conn *c, uint32_t events, int running) {
  if (c->phase == CONNECTING) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error) {
      connect_failed++;
      close_conn(c, now() + 0.1);
    } else if (running) {
      send_next(c);
    } else {
      close_conn(c, 0);
    }
    return;
  }
  if (c->phase != WAITING || !(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  for (;;) {
    const ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      record(c, n == 0 ? CLOSED : RESET, 0);
      close_conn(c, now());
      return;
    }
    c->in_len += (size_t)n;
    int close_after = 0;
    if (!take_response(c, &close_after)) continue;
    if (close_after) {
      close_conn(c, now());
    } else if (running) {
      send_next(c);
    } else {
      close_conn(c, 0);
    }
    return;
  }
}

/* Deadlines: answers overdue become timeouts; idle connections due are opened again. */
static void on_tick(struct conn *conns, int running) {
  const double t = now();
  for (unsigned i = 0; i < opt.connections; i++) {
    struct conn *c = &conns[i];
    if (c->phase != IDLE && t >= c->deadline) {
      if (c->phase == WAITING) record(c, TIMEOUT, 0);
      else connect_failed++;
      close_conn(c, running ? t : 0);
    } else if (c->phase == IDLE && running && c->deadline > 0 && t >= c->deadline) {
      open_conn(c);
    }
  }
}

static unsigned busy_connections(const struct conn *conns) {
  unsigned busy = 0;
  for (unsigned i = 0; i < opt.connections; i++) busy += conns[i].phase != IDLE;
  return busy;
}

static int by_url(const void *a, const void *b) {
  const struct failure *x = a, *y = b;
  if (x->conn != y->conn) return x->conn < y->conn ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Gives each failed request the reason the service logged for its URL. An httperr line:
 * date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason
 * s-queuename. */
static void read_log(const char *file) {
  FILE *f = fopen(file, "r");
  if (!f) die(file);
  char line[8192], uri[4096], reason[64];
  const size_t prefix = strlen(opt.path);
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %4095s %*s %*s %63s", uri, reason) != 2)
      continue;
    struct failure key = {0};
    if (strncmp(uri, opt.path, prefix) != 0 ||
        sscanf(uri + prefix, "%u/%u", &key.conn, &key.seq) != 2)
      continue;
    struct failure *hit = bsearch(&key, failures, failure_count, sizeof key, by_url);
    if (hit) snprintf(hit->reason, sizeof hit->reason, "%s", reason);
  }
  fclose(f);
}

static void classify_refusals(void) {
  if (failure_count == 0) return;  /* nothing to classify; and qsort may not take NULL */
  qsort(failures, failure_count, sizeof *failures, by_url);
  if (opt.log_dir) {
    DIR *dir = opendir(opt.log_dir);
    if (!dir) die(opt.log_dir);
    for (struct dirent *e; (e = readdir(dir));) {
      if (strncmp(e->d_name, "httperr", 7) != 0) continue;
      char file[4096];
      snprintf(file, sizeof file, "%s/%s", opt.log_dir, e->d_name);
      read_log(file);
    }
    closedir(dir);
  }
  for (size_t i = 0; i < failure_count; i++) {
    struct failure *f = &failures[i];
    if (f->outcome == REFUSED && strcmp(f->reason, "Connection_Abandoned_By_ReqQueue") == 0) {
      f->outcome = ABANDONED;
      outcome_count[REFUSED]--;
      outcome_count[ABANDONED]++;
    }
  }
}

static int by_outcome_and_reason(const void *a, const void *b) {
  const struct failure *x = a, *y = b;
  if (x->outcome != y->outcome) return x->outcome < y->outcome ? -1 : 1;
  const int r = strcmp(x->reason, y->reason);
  return r ? r : by_url(a, b);
}

static void report(double elapsed) {
  if (failure_count > 0) qsort(failures, failure_count, sizeof *failures, by_outcome_and_reason);
  const unsigned long long lost = sent - outcome_count[OK] - outcome_count[ABANDONED];
  printf("{\"connections\": %u, \"seconds\": %.1f, \"sent\": %llu, \"lost\": %llu, "
         "\"send_failed\": %llu, \"connects\": %llu, \"connect_failed\": %llu, "
         "\"stray_bytes\": %llu, "
         "\"answered_per_second\": %.0f",
         opt.connections, elapsed, sent, lost, send_failed, connects, connect_failed, stray_bytes,
         (double)(outcome_count[OK] + outcome_count[ABANDONED]) / elapsed);
  for (int o = 0; o < OUTCOMES; o++) printf(", \"%s\": %llu", kOutcomeNames[o], outcome_count[o]);
  printf(", \"status\": {");
  const char *sep = "";
  for (int s = 0; s < 600; s++) {
    if (!by_status[s]) continue;
    printf("%s\"%d\": %llu", sep, s, by_status[s]);
    sep = ", ";
  }
  printf("}, \"refused_reasons\": {");
  sep = "";
  for (size_t i = 0; i < failure_count; i++) {  /* sorted by reason: one entry per run */
    if (failures[i].outcome != REFUSED) continue;
    size_t j = i;
    while (j < failure_count && failures[j].outcome == REFUSED &&
           strcmp(failures[j].reason, failures[i].reason) == 0) {
      j++;
    }
    printf("%s\"%s\": %zu", sep, failures[i].reason[0] ? failures[i].reason : "not_logged",
           j - i);
    sep = ", ";
    i = j - 1;
  }
  printf("}}\n");
  if (opt.failures_path) {
    FILE *f = fopen(opt.failures_path, "w");
    if (!f) die(opt.failures_path);
    for (size_t i = 0; i < failure_count; i++) {
      char url[PATH_CAP];
      url_of(url, sizeof url, failures[i].conn, failures[i].seq);
      fprintf(f, "%s %s %d %s\n", url, kOutcomeNames[failures[i].outcome], failures[i].status,
              failures[i].reason);
    }
    fclose(f);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: load_client --port PORT [--host 127.0.0.1] [--connections N] "
                  "[--duration S] [--timeout S] [--path /load/] [--error-log-dir DIR] "
                  "[--failures FILE]\n");
  exit(2);
}

static void parse(int argc, char **argv) {
  static const struct option options[] = {
      {"host", required_argument, 0, 'h'},        {"port", required_argument, 0, 'p'},
      {"connections", required_argument, 0, 'c'}, {"duration", required_argument, 0, 'd'},
      {"timeout", required_argument, 0, 't'},     {"path", required_argument, 0, 'u'},
      {"error-log-dir", required_argument, 0, 'l'}, {"failures", required_argument, 0, 'f'},
      {0, 0, 0, 0}};
  for (int ch; (ch = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (ch) {
      case 'h': opt.host = optarg; break;
      case 'p': opt.port = atoi(optarg); break;
      case 'c': opt.connections = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': opt.duration = atof(optarg); break;
      case 't': opt.timeout = atof(optarg); break;
      case 'u': opt.path = optarg; break;
      case 'l': opt.log_dir = optarg; break;
      case 'f': opt.failures_path = optarg; break;
      default: usage();
    }
  }
  if (optind != argc || opt.port <= 0 || opt.port > 65535 || opt.connections == 0 ||
      opt.duration <= 0 || opt.timeout <= 0 || strlen(opt.path) > PATH_CAP - 24) {
    usage();
  }
  server.sin_family = AF_INET;
  server.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &server.sin_addr) != 1) {
    fprintf(stderr, "load_client: --host needs an IPv4 address, not '%s'\n", opt.host);
    exit(2);
  }
}

/* One descriptor per connection plus a few: take the hard limit. */
static void raise_fd_limit(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) die("getrlimit");
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < opt.connections + 16) {
    fprintf(stderr, "load_client: %u connections need %u descriptors; the limit is %llu\n",
            opt.connections, opt.connections + 16, (unsigned long long)limit.rlim_cur);
    exit(2);
  }
}

int main(int argc, char **argv) {
  parse(argc, argv);
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  struct conn *conns = calloc(opt.connections, sizeof *conns);
  if (!conns) die("calloc");
  for (unsigned i = 0; i < opt.connections; i++) {
    conns[i].index = i;
    open_conn(&conns[i]);
  }
  const double start = now(), stop = start + opt.duration;
  /* After `stop` no request is sent; those in flight get until their deadline. */
  double next_tick = start;
  for (;;) {
    const int running = now() < stop;
    struct epoll_event events[256];
    const int n = epoll_wait(epfd, events, 256, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events, running);
    if (now() < next_tick) continue;
    next_tick = now() + 0.1;
    on_tick(conns, running);
    if (!running && busy_connections(conns) == 0) break;
  }
  const double elapsed = now() - start;
  classify_refusals();
  report(elapsed);
  free(failures);
  free(conns);
  close(epfd);
  return 0;
}
