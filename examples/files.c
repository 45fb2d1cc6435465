/* files.c: a static file server on httpapi.
 *
 *   httpapi-files --url http://+:8080/files/ --root /srv/www [--threads N]
 *                 [--cache-ttl SECONDS | --no-cache]
 *
 * Serves the regular files below --root under the URL prefix: /files/a/b.css is
 * /srv/www/a/b.css, a directory is its index.html, a directory named without its final
 * slash gets 301 to the slash form. Nothing else: no listings, no hidden names (a segment
 * starting with '.' is 404), GET and HEAD only (405 otherwise).
 *
 * The path: httpapid gives the cooked path (percent-decoded, '\' turned into '/', dot
 * segments removed: docs/urls.md). The part below the prefix is opened with openat2(2)
 * RESOLVE_BENEATH relative to a descriptor of the root, so "..", absolute paths and
 * symbolic links that lead out of the root fail in the kernel, whatever the URL looked like
 * and whatever the tree holds. Relative symbolic links that stay inside are followed.
 *
 * The body is the open file itself: one HTTPAPI_CHUNK_FILE chunk, whose descriptor httpapid
 * receives and sends with sendfile(2), so the bytes never pass through this process.
 * HTTPAPI_SEND_FLAG_PROCESS_RANGES lets the library answer Range and If-Range (206,
 * multipart/byteranges, 416). This program answers the other validators: ETag (inode, size
 * and modification time in ns), Last-Modified, and If-Match, If-Unmodified-Since,
 * If-None-Match and If-Modified-Since as RFC 9110 §13.2.2 orders them (304, 412).
 *
 * Caching: by default a GET of a file is sent with the policy USER_INVALIDATES, so httpapid
 * keeps the answer (when it qualifies: docs/cache.md; 256 KiB at most by default) and
 * answers later GETs of the URL itself. Keeping it right is this program's job: an inotify
 * thread watches every directory on the path of a cached file and, on any change there,
 * flushes that directory's URLs (httpapi_flush_response_cache, recursive). The trade-off:
 * a change is visible within milliseconds, but only changes this kernel sees through those
 * directories count. Files reached through a symbolic link or with several hard links are
 * therefore never cached, and on network filesystems changed by other machines, or when the
 * inotify watches run out, use --cache-ttl SECONDS instead: answers are kept that long
 * whatever happens to the files (no inotify), so a change may take that long to show.
 * A directory whose files change all the time (a log) keeps being flushed and gains nothing.
 * --no-cache sends every request here.
 *
 * --threads N (default 2) threads receive from the one queue; each request is answered by
 * the thread that received it. Prints "ready" once the prefix is registered. */
#define _GNU_SOURCE
#include <httpapi/httpapi.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum cache_mode { CACHE_BY_INOTIFY, CACHE_BY_TTL, CACHE_OFF };

/* Files bigger than the largest cache_max_response_bytes httpapid accepts can never be
 * cached: they are sent without a policy. */
#define CACHEABLE_FILE_MAX (16u * 1024 * 1024)

static struct {
  int root_fd;            /* O_PATH descriptor of --root: every open is relative to it */
  char root_real[PATH_MAX];  /* its absolute path, to tell whether a symlink was followed */
  const char *prefix;     /* the registered URL, e.g. http://+:8080/files/ */
  size_t path_length;     /* "/files/" */
  enum cache_mode cache;
  unsigned ttl;
  httpapi_queue *queue;
} config;

/* ---- answers ------------------------------------------------------------------------------- */

static httpapi_header header(const char *name, const char *value) {
  const httpapi_header h = {{name, strlen(name)}, {value, strlen(value)}};
  return h;
}

/* A client that leaves before its answer is its own business; any other failure to answer
 * is worth a line. Either way the caller releases the request and serving goes on. */
static void check_sent(httpapi_error e) {
  if (e && e != HTTPAPI_ERROR_CONNECTION_GONE) {
    fprintf(stderr, "files: answer not sent: %s: %s %s\n", httpapi_error_name(e),
            httpapi_strerror(e), httpapi_error_detail());
  }
}

/* A short text answer (404, 405, ...), with one more header when `extra` is not NULL. */
static void send_text(httpapi_request *request, uint16_t status, const char *text,
                      const httpapi_header *extra) {
  httpapi_header headers[2] = {header("Content-Type", "text/plain; charset=utf-8")};
  if (extra) headers[1] = *extra;
  const httpapi_response response = {status, NULL, headers, extra ? 2 : 1, text, strlen(text)};
  check_sent(httpapi_send_response(request, &response, 0));
}

static void send_error(httpapi_request *request, uint16_t status) {
  switch (status) {
    case 403: send_text(request, 403, "Forbidden\n", NULL); break;
    case 404: send_text(request, 404, "Not Found\n", NULL); break;
    case 412: send_text(request, 412, "Precondition Failed\n", NULL); break;
    case 503: send_text(request, 503, "Service Unavailable\n", NULL); break;
    default: send_text(request, 500, "Internal Server Error\n", NULL); break;
  }
}

/* 301 to the cooked path plus '/', percent-encoded again (the cooked path is decoded and
 * may hold spaces, '?' or non-ASCII), with the query as it came. */
static void redirect_to_directory(httpapi_request *request, const httpapi_request_info *info) {
  static const char hex[] = "0123456789ABCDEF";
  char location[3 * PATH_MAX];
  size_t n = 0;
  for (size_t i = 0; i < info->url.path.length && n + 4 < sizeof location; ++i) {
    const unsigned char c = (unsigned char)info->url.path.data[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        (c && strchr("/-._~!$&'()*+,;=:@", c))) {
      location[n++] = (char)c;
    } else {
      location[n++] = '%';
      location[n++] = hex[c >> 4];
      location[n++] = hex[c & 15];
    }
  }
  location[n++] = '/';
  if (info->url.query.length && n + 1 + info->url.query.length < sizeof location) {
    location[n++] = '?';
    memcpy(location + n, info->url.query.data, info->url.query.length);
    n += info->url.query.length;
  }
  location[n] = '\0';
  const httpapi_header where = header("Location", location);
  send_text(request, 301, "Moved Permanently\n", &where);
}

/* ---- the path ------------------------------------------------------------------------------ */

/* Opens `rel` below the root. */
static int open_beneath(const char *rel, uint64_t flags) {
  struct open_how how = {.flags = flags | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  for (int attempt = 0;; ++attempt) {
    const long fd = syscall(SYS_openat2, config.root_fd, rel, &how, sizeof how);
    /* EAGAIN: a concurrent rename made the kernel unsure the path stayed beneath. */
    if (fd >= 0 || errno != EAGAIN || attempt == 3) return (int)fd;
  }
}

static uint16_t status_of_errno(int error) {
  switch (error) {
    case EACCES: case EPERM: return 403;
    case EMFILE: case ENFILE: case ENOMEM: return 503;
    case EIO: return 500;
    default: return 404;  /* ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, and EXDEV for escapes */
  }
}

/* The part of the cooked path below the prefix, NUL-terminated in `rel` ("" for the prefix
 * itself). 0, or the status to answer: 404 for hidden names and what cannot be a file name,
 * 301 when the path is the prefix without its final slash. */
static uint16_t relative_path(httpapi_bytes path, char *rel, size_t capacity) {
  /* Routing matched the prefix, case-insensitively: only its length matters here. */
  if (path.length < config.path_length) {
    return path.length + 1 == config.path_length ? 301 : 404;
  }
  const size_t n = path.length - config.path_length;
  const char *p = path.data + config.path_length;
  if (n >= capacity || memchr(p, '\0', n) || (n && p[0] == '/')) return 404;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == '.' && (i == 0 || p[i - 1] == '/')) return 404;
  }
  memcpy(rel, p, n);
  rel[n] = '\0';
  return 0;
}

/* Whether `fd` is the file at root/rel itself, reached without a symbolic link. */
static int opened_directly(int fd, const char *rel) {
  char link[32], target[PATH_MAX], expected[2 * PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  const size_t root = strlen(config.root_real);
  snprintf(expected, sizeof expected, "%s%s%s", config.root_real,
           root && config.root_real[root - 1] == '/' ? "" : "/", rel);
  return strcmp(target, expected) == 0;
}

/* ---- validators and conditional requests ---------------------------------------------------- */

static const struct {
  const char *extension, *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"}, {"xml", "application/xml"},
    {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
    {"gif", "image/gif"}, {"svg", "image/svg+xml"}, {"webp", "image/webp"},
    {"avif", "image/avif"}, {"ico", "image/vnd.microsoft.icon"},
    {"wasm", "application/wasm"}, {"pdf", "application/pdf"},
    {"woff", "font/woff"}, {"woff2", "font/woff2"}, {"mp4", "video/mp4"},
    {"webm", "video/webm"}, {"mp3", "audio/mpeg"}, {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

static const char *content_type(const char *rel) {
  const char *slash = strrchr(rel, '/');
  const char *dot = strrchr(slash ? slash : rel, '.');
  if (dot) {
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; ++i) {
      if (strcasecmp(dot + 1, content_types[i].extension) == 0) return content_types[i].type;
    }
  }
  return "application/octet-stream";
}

/* A strong validator: it changes whenever the file is replaced, resized or written. */
static void format_etag(const struct stat *st, char out[64]) {
  const unsigned long long mtime_ns =
      (unsigned long long)st->st_mtim.tv_sec * 1000000000ull + (unsigned long long)st->st_mtim.tv_nsec;
  snprintf(out, 64, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
           (unsigned long long)st->st_size, mtime_ns);
}

static void format_http_date(time_t t, char out[32]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* An HTTP-date in any of the three forms RFC 9110 §5.6.7 makes recipients accept; -1 when
 * it is none of them (the condition is then ignored). */
static time_t parse_http_date(httpapi_bytes value) {
  static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT",  /* IMF-fixdate */
                                        "%A, %d-%b-%y %H:%M:%S GMT",  /* RFC 850 */
                                        "%a %b %e %H:%M:%S %Y"};      /* asctime */
  char text[64];
  if (value.length == 0 || value.length >= sizeof text) return -1;
  memcpy(text, value.data, value.length);
  text[value.length] = '\0';
  for (size_t i = 0; i < 3; ++i) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(text, formats[i], &tm);
    if (end && *end == '\0') return timegm(&tm);
  }
  return -1;
}

/* Whether the entity-tag list `value` ("*" or 1#entity-tag) matches `etag` (strong, with
 * its quotes): weak comparison ignores W/ on either side, strong comparison never matches a
 * weak tag (RFC 9110 §8.8.3.2). A malformed list matches nothing. */
static int etag_list_matches(httpapi_bytes value, const char *etag, int weak_comparison) {
  const char *p = value.data, *end = value.data + value.length;
  const size_t etag_length = strlen(etag);
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) ++p;
    if (p == end) break;
    if (*p == '*') return 1;
    int weak = 0;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
      weak = 1;
      p += 2;
    }
    if (p == end || *p != '"') return 0;
    const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!close) return 0;
    const size_t length = (size_t)(close - p + 1);
    if ((weak_comparison || !weak) && length == etag_length && memcmp(p, etag, length) == 0) {
      return 1;
    }
    p = close + 1;
  }
  return 0;
}

/* RFC 9110 §13.2.2 steps 1-4 for GET and HEAD: 0 to send the file, 304 or 412. */
static uint16_t evaluate_conditions(const httpapi_request_info *info, const char *etag,
                                    time_t last_modified) {
  const httpapi_bytes *known = info->known_headers;
  const httpapi_bytes if_match = known[HTTPAPI_HEADER_IF_MATCH];
  const httpapi_bytes if_none_match = known[HTTPAPI_HEADER_IF_NONE_MATCH];
  if (if_match.data) {
    if (!etag_list_matches(if_match, etag, 0)) return 412;
  } else if (known[HTTPAPI_HEADER_IF_UNMODIFIED_SINCE].data) {
    const time_t date = parse_http_date(known[HTTPAPI_HEADER_IF_UNMODIFIED_SINCE]);
    if (date != -1 && last_modified > date) return 412;
  }
  if (if_none_match.data) {
    if (etag_list_matches(if_none_match, etag, 1)) return 304;
  } else if (known[HTTPAPI_HEADER_IF_MODIFIED_SINCE].data) {
    const time_t date = parse_http_date(known[HTTPAPI_HEADER_IF_MODIFIED_SINCE]);
    if (date != -1 && last_modified <= date) return 304;
  }
  return 0;
}

/* ---- invalidation: inotify ------------------------------------------------------------------ */

/* One watched directory, by its path below the root ("" or "a/b/"). Several paths may
 * share a kernel watch (wd) through symlinked directories. */
struct watch {
  int wd;
  char *dir;
  char *flush_url;  /* what a change there flushes, recursively */
};

static struct {
  pthread_mutex_t lock;
  int fd;
  struct watch *list;  /* linear: it is searched only on cache misses and events */
  size_t count, capacity;
} watcher = {PTHREAD_MUTEX_INITIALIZER, -1, NULL, 0, 0};

static const uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM |
                                   IN_MOVED_TO | IN_DELETE | IN_CREATE | IN_DELETE_SELF |
                                   IN_MOVE_SELF;

/* The URL that flushes everything under root/dir (`length` bytes, ending in '/', or none):
 * the prefix plus dir, cut before the first segment the flush API cannot name (it takes
 * decoded paths without ' ', '?', '#', '%', '\' or controls), which flushes more than
 * needed but never less. */
static char *flush_url_for(const char *dir, size_t length) {
  size_t keep = 0;
  for (size_t i = 0; i < length; ++i) {
    const unsigned char c = (unsigned char)dir[i];
    if (c < 0x20 || c == 0x7F || strchr(" ?#%\\", c)) break;
    if (c == '/') keep = i + 1;
  }
  char *url = malloc(strlen(config.prefix) + keep + 1);
  if (url) sprintf(url, "%s%.*s", config.prefix, (int)keep, dir);
  return url;
}

/* Watches root/dir (`length` bytes of `dir`). Called with watcher.lock held. */
static int add_watch(const char *dir, size_t length) {
  char path[PATH_MAX], proc[32];
  snprintf(path, sizeof path, "%.*s", (int)length, dir);
  /* Through a descriptor opened like the files, so a watch never lands outside the root. */
  const int fd = open_beneath(length ? path : ".", O_PATH | O_DIRECTORY);
  if (fd < 0) return -1;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  const int wd = inotify_add_watch(watcher.fd, proc, kWatchMask);
  close(fd);
  if (wd < 0) return -1;  /* e.g. ENOSPC: fs.inotify.max_user_watches is used up */
  if (watcher.count == watcher.capacity) {
    const size_t capacity = watcher.capacity * 2 + 16;
    struct watch *grown = reallocarray(watcher.list, capacity, sizeof *grown);
    if (!grown) return -1;
    watcher.list = grown;
    watcher.capacity = capacity;
  }
  const struct watch w = {wd, strdup(path), flush_url_for(path, length)};
  if (!w.dir || !w.flush_url) {
    free(w.dir);
    free(w.flush_url);
    return -1;
  }
  watcher.list[watcher.count++] = w;
  return 0;
}

/* Makes sure every directory from the root down to `dir` ("", or "a/b/": `length` bytes)
 * is watched, so that a rename of any of them is seen too. 0 when all are. */
static int watch_directories(const char *dir, size_t length) {
  int result = 0;
  pthread_mutex_lock(&watcher.lock);
  for (size_t end = 0; end <= length && result == 0; ++end) {
    if (end > 0 && dir[end - 1] != '/') continue;
    size_t i = 0;
    while (i < watcher.count && !(strlen(watcher.list[i].dir) == end &&
                                  strncmp(watcher.list[i].dir, dir, end) == 0)) {
      ++i;
    }
    if (i == watcher.count) result = add_watch(dir, end);
  }
  pthread_mutex_unlock(&watcher.lock);
  return result;
}

static void flush(const char *url) {
  const httpapi_error e =
      httpapi_flush_response_cache(config.queue, url, HTTPAPI_FLUSH_FLAG_RECURSIVE, NULL);
  if (e) fprintf(stderr, "files: flush %s: %s\n", url, httpapi_error_name(e));
}

/* Reads events, and flushes each changed directory's URL once per batch of events. A
 * directory renamed or deleted, or events lost, flush everything and forget every watch
 * entry: paths name other directories now, and are looked up again when next served. */
static void *watch_thread(void *unused) {
  (void)unused;
  _Alignas(struct inotify_event) char buffer[64 * 1024];
  const uint32_t restructured = IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED | IN_Q_OVERFLOW;
  for (;;) {
    const ssize_t n = read(watcher.fd, buffer, sizeof buffer);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      perror("files: inotify");
      exit(1);  /* without invalidation cached answers could go stale: stop serving */
    }
    char *urls[64];
    size_t url_count = 0;
    int everything = 0;
    pthread_mutex_lock(&watcher.lock);
    for (ssize_t at = 0; at < n && !everything;) {
      const struct inotify_event *event = (const struct inotify_event *)(buffer + at);
      at += (ssize_t)(sizeof *event + event->len);
      if ((event->mask & restructured) ||
          ((event->mask & IN_ISDIR) && (event->mask & (IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE)))) {
        everything = 1;
        break;
      }
      for (size_t i = 0; i < watcher.count && !everything; ++i) {
        const struct watch *w = &watcher.list[i];
        if (w->wd != event->wd) continue;
        size_t k = 0;
        while (k < url_count && strcmp(urls[k], w->flush_url) != 0) ++k;
        if (k < url_count) continue;
        if (url_count < 64 && (urls[url_count] = strdup(w->flush_url))) {
          ++url_count;
        } else {
          everything = 1;
        }
      }
    }
    if (everything) {
      for (size_t i = 0; i < watcher.count; ++i) {
        free(watcher.list[i].dir);
        free(watcher.list[i].flush_url);
      }
      watcher.count = 0;
    }
    pthread_mutex_unlock(&watcher.lock);
    if (everything) flush(config.prefix);
    for (size_t k = 0; k < url_count; ++k) {
      if (!everything) flush(urls[k]);
      free(urls[k]);
    }
  }
  return NULL;
}

/* ---- serving ------------------------------------------------------------------------------- */

/* `cacheable`: a GET, and in the inotify mode every directory on its path is watched. */
static void serve_file(httpapi_request *request, const httpapi_request_info *info, int fd,
                       const struct stat *st, const char *rel, int cacheable) {
  char etag[64], last_modified[32];
  format_etag(st, etag);
  format_http_date(st->st_mtim.tv_sec, last_modified);
  const httpapi_header headers[4] = {header("ETag", etag), header("Last-Modified", last_modified),
                                     header("Content-Type", content_type(rel)),
                                     header("X-Content-Type-Options", "nosniff")};
  const uint16_t status = evaluate_conditions(info, etag, st->st_mtim.tv_sec);
  if (status == 412) {
    send_error(request, 412);
    return;
  }
  if (status == 304) {
    const httpapi_response response = {304, NULL, headers, 2, NULL, 0};
    check_sent(httpapi_send_response(request, &response, 0));
    return;
  }

  httpapi_cache_policy policy = {HTTPAPI_CACHE_NONE, 0};
  if (cacheable && (uint64_t)st->st_size <= CACHEABLE_FILE_MAX) {
    if (config.cache == CACHE_BY_TTL) {
      policy.kind = HTTPAPI_CACHE_TIME_TO_LIVE;
      policy.seconds = config.ttl;
    } else if (config.cache == CACHE_BY_INOTIFY && st->st_nlink == 1 &&
               opened_directly(fd, rel)) {
      policy.kind = HTTPAPI_CACHE_USER_INVALIDATES;
    }
  }
  const httpapi_data_chunk body = {HTTPAPI_CHUNK_FILE, NULL, fd, NULL, 0, (uint64_t)st->st_size};
  const httpapi_response response = {200, NULL, headers, 4, NULL, 0};
  check_sent(httpapi_send_response_chunks(request, &response, &body, st->st_size ? 1 : 0,
                                          HTTPAPI_SEND_FLAG_PROCESS_RANGES, &policy));
}

static void serve(httpapi_request *request) {
  const httpapi_request_info *info = httpapi_request_get_info(request);
  const httpapi_bytes method = info->method;
  const int get = method.length == 3 && memcmp(method.data, "GET", 3) == 0;
  if (!get && !(method.length == 4 && memcmp(method.data, "HEAD", 4) == 0)) {
    const httpapi_header allow = header("Allow", "GET, HEAD");
    send_text(request, 405, "Method Not Allowed\n", &allow);
    return;
  }
  char rel[PATH_MAX];
  const size_t index_length = sizeof "index.html" - 1;
  const uint16_t status = relative_path(info->url.path, rel, sizeof rel - index_length);
  if (status == 301) {
    redirect_to_directory(request, info);
    return;
  }
  if (status) {
    send_error(request, status);
    return;
  }
  const size_t length = strlen(rel);
  const int directory = length == 0 || rel[length - 1] == '/';
  if (directory) strcpy(rel + length, "index.html");
  const char *slash = strrchr(rel, '/');
  const size_t dir_length = slash ? (size_t)(slash - rel + 1) : 0;

  /* Only GETs are cached. The watches are placed before the open, so that every change the
   * opened file does not show yet is an event still to come, and its flush removes the
   * answer, or keeps httpapid from storing it if it is still on its way (docs/cache.md). */
  int cacheable = get && config.cache != CACHE_OFF;
  if (cacheable && config.cache == CACHE_BY_INOTIFY) {
    cacheable = watch_directories(rel, dir_length) == 0;
  }
  /* O_NONBLOCK: a FIFO placed in the tree must not hold this thread in open(); it is
   * refused below as not a regular file. */
  const int fd = open_beneath(rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    send_error(request, status_of_errno(errno));
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    send_error(request, 500);
  } else if (S_ISDIR(st.st_mode) && !directory) {
    redirect_to_directory(request, info);
  } else if (!S_ISREG(st.st_mode)) {
    send_error(request, 404);
  } else {
    serve_file(request, info, fd, &st, rel, cacheable);
  }
  close(fd);
}

static void *receive_thread(void *unused) {
  (void)unused;
  for (;;) {
    httpapi_request *request;
    const httpapi_error e = httpapi_receive(config.queue, -1, &request);
    if (e) {
      fprintf(stderr, "files: %s\n", httpapi_strerror(e));
      return NULL;
    }
    serve(request);
    httpapi_request_release(request);
  }
}

/* ---- setup --------------------------------------------------------------------------------- */

static int usage(void) {
  fprintf(stderr, "usage: httpapi-files --url PREFIX --root DIR [--threads N] "
                  "[--cache-ttl SECONDS | --no-cache]\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *root = NULL;
  unsigned threads = 2;
  config.cache = CACHE_BY_INOTIFY;
  for (int i = 1; i < argc; ++i) {
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--no-cache") == 0) {
      config.cache = CACHE_OFF;
      continue;
    }
    if (!value) return usage();
    ++i;
    if (strcmp(argv[i - 1], "--url") == 0) {
      config.prefix = value;
    } else if (strcmp(argv[i - 1], "--root") == 0) {
      root = value;
    } else if (strcmp(argv[i - 1], "--threads") == 0) {
      threads = (unsigned)strtoul(value, NULL, 10);
      if (threads < 1 || threads > 64) return usage();
    } else if (strcmp(argv[i - 1], "--cache-ttl") == 0) {
      config.cache = CACHE_BY_TTL;
      config.ttl = (unsigned)strtoul(value, NULL, 10);
      if (config.ttl < 1) return usage();
    } else {
      return usage();
    }
  }
  const char *scheme_end = config.prefix ? strstr(config.prefix, "://") : NULL;
  const char *path = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
  if (!root || !path || path[strlen(path) - 1] != '/') return usage();
  config.path_length = strlen(path);

  config.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  char proc[32];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", config.root_fd);
  const ssize_t n = config.root_fd < 0 ? -1 : readlink(proc, config.root_real, PATH_MAX - 1);
  if (n <= 0) {
    fprintf(stderr, "files: %s: %s\n", root, strerror(errno));
    return 2;
  }
  config.root_real[n] = '\0';
  if (config.cache == CACHE_BY_INOTIFY && (watcher.fd = inotify_init1(IN_CLOEXEC)) < 0) {
    perror("files: inotify_init1");
    return 2;
  }

  httpapi_session *session;
  httpapi_url_group *group;
  httpapi_error e;
  if ((e = httpapi_initialize(HTTPAPI_VERSION_1, 0)) ||
      (e = httpapi_session_create(&session)) ||
      (e = httpapi_url_group_create(session, &group)) ||
      (e = httpapi_queue_create(NULL, 0, &config.queue)) ||
      (e = httpapi_url_group_bind(group, config.queue)) ||
      (e = httpapi_url_add(group, config.prefix, 0))) {
    fprintf(stderr, "files: %s: %s %s\n", httpapi_error_name(e), httpapi_strerror(e),
            httpapi_error_detail());
    return 2;
  }

  pthread_t thread;
  if (config.cache == CACHE_BY_INOTIFY && pthread_create(&thread, NULL, watch_thread, NULL)) {
    fprintf(stderr, "files: cannot start the inotify thread\n");
    return 2;
  }
  pthread_t receivers[64];
  for (unsigned i = 0; i < threads; ++i) {
    if (pthread_create(&receivers[i], NULL, receive_thread, NULL)) {
      fprintf(stderr, "files: cannot start thread %u\n", i + 1);
      return 2;
    }
  }
  printf("ready\n");
  fflush(stdout);
  for (unsigned i = 0; i < threads; ++i) pthread_join(receivers[i], NULL);
  return 1;
}
