/*
 * httpapi.h: the HTTP Server API for Linux, version 1.
 *
 * Applications register URL prefixes (http://+:8080/app/) with the httpapid service, which
 * owns the ports, parses HTTP and routes each request to the request queue of the URL group
 * that registered the best-matching prefix. The application receives requests from its
 * queue and sends responses through this API. Concepts map one-to-one to HTTP Server API
 * 2.0: server session -> URL group -> request queue.
 *
 * Conventions for every function below:
 * - Functions return HTTPAPI_OK or an httpapi_error; httpapi_strerror() tells what went
 *   wrong and what to do. Output parameters are written only on HTTPAPI_OK. Each function
 *   lists every code it returns under "Errors:" (HTTPAPI_ERROR_ left out); a failure the
 *   service explains also sets httpapi_error_detail().
 * - Handles are opaque. Each create/open has exactly one matching close; closing NULL is a
 *   no-op. A handle must not be used after it is closed.
 * - Strings are NUL-terminated UTF-8 unless passed as an httpapi_bytes view.
 * - Views returned to the caller (httpapi_bytes) stay valid until the object they came from
 *   is released; they are not NUL-terminated.
 * - Thread safety: sessions, URL groups and queues may be used from several threads at once.
 *   A request handle must be used by one thread at a time, except that one other thread
 *   may wait in httpapi_wait_for_disconnect on it meanwhile. Each function says which
 *   threads may call it: "Any thread", or "One thread at a time per request".
 * - The library finds the service through the environment variable HTTPAPI_CONTROL (path of
 *   its control socket), else /run/httpapi/control.sock for root, else
 *   $XDG_RUNTIME_DIR/httpapi/control.sock.
 */
#ifndef HTTPAPI_HTTPAPI_H
#define HTTPAPI_HTTPAPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HTTPAPI_VERSION_1 1u

#if defined(__GNUC__)
#define HTTPAPI_API __attribute__((visibility("default")))
#else
#define HTTPAPI_API
#endif

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                                 */
/* ------------------------------------------------------------------------------------ */

/* Every error code, once: X(identifier, value, text). The enum, httpapi_error_name and
 * httpapi_strerror are made from this list (as libuv's UV_ERRNO_MAP), and an application
 * may expand it too, e.g. to map codes to its own. Values are stable across versions and
 * travel between the library and the service: they never change, and new codes take new
 * values. The Win32 code each one mirrors is in the comment. */
#define HTTPAPI_ERROR_MAP(X)                                                                 \
  X(HTTPAPI_OK, 0, "The operation completed successfully.")                                  \
  /* ERROR_INVALID_PARAMETER: malformed argument */                                          \
  X(HTTPAPI_ERROR_INVALID_PARAMETER, 1,                                                      \
    "An argument is malformed (for a URL prefix: scheme://host:port/path/ with a "           \
    "lowercase http or https scheme, an explicit port and a trailing slash).")               \
  /* ERROR_ALREADY_EXISTS: prefix or queue name taken */                                     \
  X(HTTPAPI_ERROR_ALREADY_EXISTS, 2,                                                         \
    "The URL prefix or queue name is already registered, possibly by another "               \
    "process; pick another or stop the other owner.")                                        \
  /* ERROR_ACCESS_DENIED: no reservation lets you */                                         \
  X(HTTPAPI_ERROR_ACCESS_DENIED, 3,                                                          \
    "No reservation lets this user listen on that URL; run as root, use "                    \
    "http://localhost:PORT/ with PORT > 1024, or have an administrator reserve it.")         \
  /* ERROR_SHARING_VIOLATION: port held outside httpapid */                                  \
  X(HTTPAPI_ERROR_SHARING_VIOLATION, 4,                                                      \
    "The port is in use by a program outside httpapid; stop it or use another port.")        \
  /* ERROR_FILE_NOT_FOUND: no such URL, queue or request */                                  \
  X(HTTPAPI_ERROR_NOT_FOUND, 5, "No such URL, queue or request.")                            \
  /* the timeout passed before anything arrived */                                           \
  X(HTTPAPI_ERROR_TIMEOUT, 6, "The timeout passed before anything arrived.")                 \
  /* non-blocking call: nothing ready yet */                                                 \
  X(HTTPAPI_ERROR_WOULD_BLOCK, 7,                                                            \
    "Nothing is ready yet; wait for the queue's file descriptor and call again.")            \
  /* ERROR_HANDLE_EOF: the request body is complete */                                       \
  X(HTTPAPI_ERROR_END_OF_BODY, 8, "The request body has been read completely.")              \
  /* ERROR_CONNECTION_INVALID: the client went away */                                       \
  X(HTTPAPI_ERROR_CONNECTION_GONE, 9, "The client connection is gone; release the request.") \
  /* httpapid cannot be reached */                                                           \
  X(HTTPAPI_ERROR_SERVICE_UNAVAILABLE, 10,                                                   \
    "httpapid cannot be reached; start it, or point HTTPAPI_CONTROL at its control "         \
    "socket.")                                                                               \
  /* ERROR_DLL_INIT_FAILED: httpapi_initialize first */                                      \
  X(HTTPAPI_ERROR_NOT_INITIALIZED, 11, "Call httpapi_initialize first.")                     \
  /* ERROR_REVISION_MISMATCH */                                                              \
  X(HTTPAPI_ERROR_VERSION_MISMATCH, 12,                                                      \
    "The library and the service speak different protocol versions; use matching "           \
    "builds.")                                                                               \
  /* ERROR_NOT_ENOUGH_MEMORY */                                                              \
  X(HTTPAPI_ERROR_NO_MEMORY, 13, "Out of memory or file descriptors.")                       \
  /* call not valid now (e.g. body sent after the end) */                                    \
  X(HTTPAPI_ERROR_INVALID_STATE, 14,                                                         \
    "The call is not valid now (for example a second response to one request).")            \
  /* the service sent something this library rejects */                                      \
  X(HTTPAPI_ERROR_PROTOCOL, 15,                                                              \
    "The service sent a message this library does not understand.")                          \
  /* the queue or session was closed or shut down */                                         \
  X(HTTPAPI_ERROR_SHUTDOWN, 16, "The queue or session was closed or shut down.")             \
  /* a message exceeds the protocol's size limit */                                          \
  X(HTTPAPI_ERROR_TOO_LARGE, 17,                                                             \
    "The message exceeds the protocol's size limit; send the body in pieces.")               \
  /* ERROR_MORE_DATA: the buffer is too small */                                             \
  X(HTTPAPI_ERROR_MORE_DATA, 18,                                                             \
    "The buffer is too small; call again with the size the call reported (for "              \
    "httpapi_receive_into, *needed: the same request is kept for this handle).")

/* One error enum for the whole API. */
#define HTTPAPI_ERROR_ENUMERATOR(identifier, value, text) identifier = value,
typedef enum httpapi_error { HTTPAPI_ERROR_MAP(HTTPAPI_ERROR_ENUMERATOR) } httpapi_error;
#undef HTTPAPI_ERROR_ENUMERATOR

/* The identifier of `error` in HTTPAPI_ERROR_MAP, e.g. "HTTPAPI_ERROR_ALREADY_EXISTS".
 * Never NULL; a value not in the map (a newer service's code, or garbage) gives
 * "HTTPAPI_ERROR_UNKNOWN". Static storage. Any thread. */
HTTPAPI_API const char *httpapi_error_name(httpapi_error error);

/* The text of `error` in HTTPAPI_ERROR_MAP: one sentence saying what went wrong and what
 * to do. Never NULL; a value not in the map gives "Unknown error code." Static storage.
 * Any thread. */
HTTPAPI_API const char *httpapi_strerror(httpapi_error error);

/* The service's one-line explanation of the last call that failed on this thread, e.g.
 * "'http://+:80/a': the path must end in '/'", or "" when it gave none. Thread-local
 * storage, valid until the next API call on this thread. Any thread: each has its own. */
HTTPAPI_API const char *httpapi_error_detail(void);

/* ------------------------------------------------------------------------------------ */
/* Version                                                                                */
/* ------------------------------------------------------------------------------------ */

/* The release this header belongs to (the build reads it from here: CMakeLists.txt). It
 * is not HTTPAPI_VERSION_1, the API level httpapi_initialize asks for. */
#define HTTPAPI_VERSION_MAJOR 0
#define HTTPAPI_VERSION_MINOR 3
#define HTTPAPI_VERSION_PATCH 0
#define HTTPAPI_VERSION_HEX                                                                \
  ((HTTPAPI_VERSION_MAJOR << 16) | (HTTPAPI_VERSION_MINOR << 8) | HTTPAPI_VERSION_PATCH)

/* The release of the library the process runs with, as HTTPAPI_VERSION_HEX:
 * (major << 16) | (minor << 8) | patch. It may differ from the header's when the shared
 * library was replaced; compare it with HTTPAPI_VERSION_HEX to find out. Needs no
 * httpapi_initialize. Any thread. */
HTTPAPI_API unsigned int httpapi_version(void);

/* The same release as text, "major.minor.patch", e.g. "0.2.0". Static storage. Any
 * thread. */
HTTPAPI_API const char *httpapi_version_string(void);

/* ------------------------------------------------------------------------------------ */
/* Initialisation                                                                         */
/* ------------------------------------------------------------------------------------ */

/* Prepares the library for this process. `version` must be HTTPAPI_VERSION_1; `flags` must
 * be 0. Reference-counted: each successful call is matched by one httpapi_terminate().
 * Does not contact the service (sessions and queues do).
 * Errors: VERSION_MISMATCH, INVALID_PARAMETER. Any thread. */
HTTPAPI_API httpapi_error httpapi_initialize(uint32_t version, uint32_t flags);

/* Drops one reference taken by httpapi_initialize. The last one requires every handle to be
 * closed already. Any thread. */
HTTPAPI_API void httpapi_terminate(void);

/* ------------------------------------------------------------------------------------ */
/* Server sessions, URL groups, request queues                                            */
/* ------------------------------------------------------------------------------------ */

typedef struct httpapi_session httpapi_session;
typedef struct httpapi_url_group httpapi_url_group;
typedef struct httpapi_queue httpapi_queue;
typedef struct httpapi_request httpapi_request;

/* Opens a server session: this process's connection to the service. Closing it (or the
 * process exiting) releases every URL group and registration it owns at once.
 * Errors: INVALID_PARAMETER (NULL out), NOT_INITIALIZED, SERVICE_UNAVAILABLE (service not
 * running, or socket not accessible), VERSION_MISMATCH, PROTOCOL (the service answered the
 * hello with something else), NO_MEMORY (no memory or file descriptor left). On success
 * *out owns the session. Any thread. */
HTTPAPI_API httpapi_error httpapi_session_create(httpapi_session **out);

/* Closes the session and, with it, its URL groups (their handles must not be used again,
 * but must still be closed with httpapi_url_group_close to free them). NULL is a no-op.
 * Any thread, once no other thread is inside a call on this session. */
HTTPAPI_API void httpapi_session_close(httpapi_session *session);

/* Creates a URL group in `session`. A group has no URLs and no queue until given them.
 * Requests that match a group with no queue bound are answered 503 by the service.
 * Errors: INVALID_PARAMETER (NULL), SHUTDOWN (session closed), SERVICE_UNAVAILABLE,
 * PROTOCOL (the service's answer was malformed), NO_MEMORY. Any thread. */
HTTPAPI_API httpapi_error httpapi_url_group_create(httpapi_session *session,
                                                   httpapi_url_group **out);

/* Removes the group's URLs and frees it. NULL is a no-op. Any thread, once no other thread
 * is inside a call on this group. */
HTTPAPI_API void httpapi_url_group_close(httpapi_url_group *group);

/* Flags for httpapi_queue_create. */
#define HTTPAPI_QUEUE_FLAG_OPEN_EXISTING 0x1u /* open the named queue another process made */
#define HTTPAPI_QUEUE_FLAG_CONTROLLER 0x2u    /* this process never receives from it */
#define HTTPAPI_QUEUE_FLAG_PERSISTENT 0x4u    /* the queue outlives its creator's handle */

/* Creates a request queue, or opens an existing named one with OPEN_EXISTING. `name` may be
 * NULL for an anonymous queue (then OPEN_EXISTING is invalid); names are at most 255 bytes
 * of [A-Za-z0-9._-].
 * Errors: INVALID_PARAMETER (NULL out, bad name or flags), ALREADY_EXISTS (name taken),
 * NOT_FOUND (OPEN_EXISTING and no such queue), ACCESS_DENIED (queue owned by another user
 * who did not allow this one), NOT_INITIALIZED, SERVICE_UNAVAILABLE, VERSION_MISMATCH,
 * PROTOCOL (the service's answer was malformed), NO_MEMORY. Each queue handle holds its
 * own connection to the service; *out owns it. Any thread. */
HTTPAPI_API httpapi_error httpapi_queue_create(const char *name, uint32_t flags,
                                               httpapi_queue **out);

/* Principals for httpapi_queue_allow. */
#define HTTPAPI_PRINCIPAL_USER 1u
#define HTTPAPI_PRINCIPAL_GROUP 2u

/* Lets processes of another user (kind USER, id = uid) or of a group's members (kind
 * GROUP, id = gid) open this named queue with OPEN_EXISTING. By default only the queue's
 * owner and root may. Only the handle that created the queue may call this; the grant
 * lasts as long as the queue.
 * Errors: INVALID_PARAMETER (NULL queue, bad kind, anonymous queue), ACCESS_DENIED (this
 * handle did not create the queue), SHUTDOWN (the queue was shut down), SERVICE_UNAVAILABLE.
 * Any thread. */
HTTPAPI_API httpapi_error httpapi_queue_allow(httpapi_queue *queue, uint32_t kind, uint32_t id);

/* Queue properties (HTTP.sys's HttpServerQueueLengthProperty, HttpServerStateProperty,
 * HttpServer503VerbosityProperty). */
typedef enum httpapi_queue_property {
  HTTPAPI_QUEUE_LENGTH = 1,     /* requests waiting before new ones get 503: 1..65535 */
  HTTPAPI_QUEUE_STATE = 2,      /* HTTPAPI_QUEUE_ACTIVE or HTTPAPI_QUEUE_INACTIVE */
  HTTPAPI_QUEUE_VERBOSITY = 3   /* how refused requests are answered: HTTPAPI_503_* */
} httpapi_queue_property;

#define HTTPAPI_QUEUE_INACTIVE 0u /* new requests get 503 (logged Disabled); queued ones wait */
#define HTTPAPI_QUEUE_ACTIVE 1u
#define HTTPAPI_503_BASIC 0u      /* reset the connection, send nothing */
#define HTTPAPI_503_LIMITED 1u    /* 503 Service Unavailable (the default) */
#define HTTPAPI_503_FULL 2u       /* 503 whose page says why (queue full, inactive, ...) */

#define HTTPAPI_FLUSH_FLAG_RECURSIVE 0x1u /* every URL under the prefix, not only itself */

/* Removes response-cache entries and fragments (HTTP.sys's HttpFlushResponseCache): the
 * entry for the URL `url_prefix` names (e.g. "http://+:8080/app/"), or with
 * HTTPAPI_FLUSH_FLAG_RECURSIVE every entry under it. A wildcard host ('+' or '*') matches
 * entries of every host. The prefix must lie under a URL registered in a URL group bound
 * to this queue. *removed (may be NULL) gets the number of entries removed.
 * Errors: INVALID_PARAMETER (NULL queue or prefix, malformed prefix, unknown flag),
 * ACCESS_DENIED (no URL of this queue covers the prefix), SHUTDOWN (the queue was shut
 * down), SERVICE_UNAVAILABLE. Any thread. */
HTTPAPI_API httpapi_error httpapi_flush_response_cache(httpapi_queue *queue,
                                                       const char *url_prefix, uint32_t flags,
                                                       uint64_t *removed);

/* Sets a property of the queue. Only the handle that created the queue may.
 * Errors: INVALID_PARAMETER (NULL queue, unknown property or value out of range),
 * ACCESS_DENIED (not the creating handle), SHUTDOWN (the queue was shut down),
 * SERVICE_UNAVAILABLE. Any thread. */
HTTPAPI_API httpapi_error httpapi_queue_set_property(httpapi_queue *queue,
                                                     httpapi_queue_property property,
                                                     uint64_t value);

/* Shuts the queue down for good, for every handle of every process (HTTP.sys's
 * HttpShutdownRequestQueue, widened to the whole queue: docs/queues.md compares). At once:
 * receives waiting on any handle of the queue, in any process, return SHUTDOWN, and so do
 * later ones; requests waiting in the queue are answered 503 (logged AppShutdown); its URL
 * groups are bound to no queue, so their requests get 503 (logged N/A) until bound to
 * another queue; the queue's name is free again, even for a persistent queue. Requests
 * already received may still be answered, read and waited on. Properties can no longer be
 * set (SHUTDOWN). The handles must still be closed.
 * Only the handle that created the queue may; calling it again, or on a handle whose queue
 * its creator shut down, does nothing and returns OK.
 * Errors: INVALID_PARAMETER (NULL), ACCESS_DENIED (not the creating handle),
 * SERVICE_UNAVAILABLE. Any thread. */
HTTPAPI_API httpapi_error httpapi_queue_shutdown(httpapi_queue *queue);

/* Closes the handle. Requests received through it and not yet answered are answered 503 by
 * the service; requests still waiting in an anonymous queue are answered 503 too. NULL is a
 * no-op. Any thread, once no other thread is inside a call on this queue (blocked in
 * httpapi_receive, for instance): to stop a receiving thread, use httpapi_queue_shutdown
 * or a timeout. */
HTTPAPI_API void httpapi_queue_close(httpapi_queue *queue);

/* A file descriptor that becomes readable when httpapi_receive may make progress, for
 * epoll/poll/select. Owned by the queue: do not read, write or close it. Readable does not
 * promise a request: call httpapi_receive with timeout 0 until it says WOULD_BLOCK. It is
 * the same descriptor for the queue's whole life, across reconnections to a restarted
 * service (it is an epoll set holding the current connection and a retry timer). NULL
 * queue: -1. Any thread. */
HTTPAPI_API int httpapi_queue_fd(const httpapi_queue *queue);

/* Routes the group's requests to `queue` (replacing an earlier binding). Both must belong
 * to this process.
 * Errors: INVALID_PARAMETER (NULL, or the service knows no such group or queue),
 * ACCESS_DENIED (the queue belongs to another user), SHUTDOWN (the session was closed or
 * the queue shut down), SERVICE_UNAVAILABLE (also while the queue reconnects to a
 * restarted service), PROTOCOL (the service's answer was malformed). Any thread. */
HTTPAPI_API httpapi_error httpapi_url_group_bind(httpapi_url_group *group, httpapi_queue *queue);

/* URL group properties: HTTP.sys's HttpServerTimeoutsProperty (the timers and the minimum
 * send rate) and HttpServerQosProperty (connection and bandwidth limits). They apply to the
 * requests the group's URLs route; docs/timers.md tells exactly when each timer runs and
 * what happens at each limit.
 * - The five timers take seconds: 0 = the server-wide setting (the default), 1..65534, or
 *   HTTPAPI_TIMER_NEVER. HEADER_WAIT and IDLE_CONNECTION start to apply to a connection
 *   only after one of its requests was routed to the group: the first request head on a
 *   connection arrives before anyone knows its group (as in HTTP.sys).
 * - MIN_SEND_RATE takes bytes per second: 0 = the server-wide setting, or
 *   HTTPAPI_LIMIT_INFINITE to never close a slow reader.
 * - MAX_CONNECTIONS: how many client connections (1 or more) may carry the group's
 *   requests at once; a request beyond it is answered 503 (log reason ConnLimit).
 *   HTTPAPI_LIMIT_INFINITE (the default) for none.
 * - MAX_BANDWIDTH: bytes per second for all of the group's responses together, at least
 *   1024; sending is slowed down to it, nothing fails. HTTPAPI_LIMIT_INFINITE (the
 *   default) for none. */
typedef enum httpapi_url_group_property {
  HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT = 1,       /* waiting for more of a request body */
  HTTPAPI_GROUP_DRAIN_ENTITY_BODY_TIMEOUT = 2, /* discarding a body the app did not read */
  HTTPAPI_GROUP_REQUEST_QUEUE_TIMEOUT = 3,     /* waiting in the request queue, then 503 */
  HTTPAPI_GROUP_IDLE_CONNECTION_TIMEOUT = 4,   /* keep-alive connection with no request */
  HTTPAPI_GROUP_HEADER_WAIT_TIMEOUT = 5,       /* receiving the next request head */
  HTTPAPI_GROUP_MIN_SEND_RATE = 6,             /* bytes/s a client must read responses at */
  HTTPAPI_GROUP_MAX_CONNECTIONS = 7,
  HTTPAPI_GROUP_MAX_BANDWIDTH = 8              /* bytes/s */
} httpapi_url_group_property;

#define HTTPAPI_TIMER_NEVER 65535u           /* a timer that never fires */
#define HTTPAPI_LIMIT_INFINITE 0xffffffffu   /* no limit (HTTP_LIMIT_INFINITE) */

/* Sets a property of the URL group. It takes effect at once for what happens from then on
 * (a request already waiting in its queue keeps its request-queue timer; a lowered
 * connection limit closes no connection), and is set again on the group if the service
 * restarts.
 * Errors: INVALID_PARAMETER (NULL group, unknown property, value out of range:
 * httpapi_error_detail() gives the range), SHUTDOWN (session closed), SERVICE_UNAVAILABLE,
 * PROTOCOL (the service's answer was malformed). Any thread. */
HTTPAPI_API httpapi_error httpapi_url_group_set_property(httpapi_url_group *group,
                                                         httpapi_url_group_property property,
                                                         uint64_t value);

/* Access logs: HTTP.sys's HttpServerLoggingProperty on a URL group (docs/access-logs.md).
 * The service writes one line per request the group's URLs route, however it is answered:
 * by the application, from the response cache, or by the service itself (503 when the
 * queue is full, and so on). Requests no group logs go to the server-wide log, if an
 * administrator turned it on (httpcfg set setting --key access_log_format). */
typedef enum httpapi_log_format {
  HTTPAPI_LOG_FORMAT_NONE = 0, /* no log: turns the group's log off */
  HTTPAPI_LOG_FORMAT_W3C = 1,  /* W3C extended, IIS's fields (selectable: `fields`) */
  HTTPAPI_LOG_FORMAT_NCSA = 2, /* NCSA common log format */
  HTTPAPI_LOG_FORMAT_JSON = 3  /* one JSON object per line */
} httpapi_log_format;

/* When a log file is closed and a new one started (HTTP.sys's HTTP_LOGGING_ROLLOVER_TYPE
 * values). The old file is renamed NAME-<period>.log: YYYYMMDD, YYYYMMDDHH, or for size
 * the time of the rollover, YYYYMMDD-HHMMSS. */
typedef enum httpapi_log_rollover {
  HTTPAPI_LOG_ROLLOVER_SIZE = 0,  /* past rollover_size bytes */
  HTTPAPI_LOG_ROLLOVER_DAILY = 1, /* at midnight */
  HTTPAPI_LOG_ROLLOVER_HOURLY = 4 /* at every hour */
} httpapi_log_rollover;

#define HTTPAPI_LOG_FLAG_LOCAL_TIME 0x1u /* rollover and NCSA times in local time, not UTC */
#define HTTPAPI_LOG_MIN_ROLLOVER_SIZE (64u * 1024u) /* smallest rollover_size */

/* W3C fields: HTTP.sys's HTTP_LOG_FIELD_* bits, written in IIS's order whatever the order
 * of the bits. 0 selects IIS's default set: date time s-ip cs-method cs-uri-stem
 * cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus
 * sc-win32-status time-taken. The last two are this service's (W3C's x- prefix). */
#define HTTPAPI_LOG_FIELD_DATE 0x00000001ull          /* date (UTC) */
#define HTTPAPI_LOG_FIELD_TIME 0x00000002ull          /* time (UTC) */
#define HTTPAPI_LOG_FIELD_CLIENT_IP 0x00000004ull     /* c-ip */
#define HTTPAPI_LOG_FIELD_USER_NAME 0x00000008ull     /* cs-username (always '-') */
#define HTTPAPI_LOG_FIELD_SITE_NAME 0x00000010ull     /* s-sitename: the log's name */
#define HTTPAPI_LOG_FIELD_COMPUTER_NAME 0x00000020ull /* s-computername */
#define HTTPAPI_LOG_FIELD_SERVER_IP 0x00000040ull     /* s-ip */
#define HTTPAPI_LOG_FIELD_METHOD 0x00000080ull        /* cs-method */
#define HTTPAPI_LOG_FIELD_URI_STEM 0x00000100ull      /* cs-uri-stem: the raw path */
#define HTTPAPI_LOG_FIELD_URI_QUERY 0x00000200ull     /* cs-uri-query */
#define HTTPAPI_LOG_FIELD_STATUS 0x00000400ull        /* sc-status */
#define HTTPAPI_LOG_FIELD_WIN32_STATUS 0x00000800ull  /* sc-win32-status: 0, 64, 1236 */
#define HTTPAPI_LOG_FIELD_BYTES_SENT 0x00001000ull    /* sc-bytes */
#define HTTPAPI_LOG_FIELD_BYTES_RECV 0x00002000ull    /* cs-bytes */
#define HTTPAPI_LOG_FIELD_TIME_TAKEN 0x00004000ull    /* time-taken, milliseconds */
#define HTTPAPI_LOG_FIELD_SERVER_PORT 0x00008000ull   /* s-port */
#define HTTPAPI_LOG_FIELD_USER_AGENT 0x00010000ull    /* cs(User-Agent) */
#define HTTPAPI_LOG_FIELD_COOKIE 0x00020000ull        /* cs(Cookie) */
#define HTTPAPI_LOG_FIELD_REFERER 0x00040000ull       /* cs(Referer) */
#define HTTPAPI_LOG_FIELD_VERSION 0x00080000ull       /* cs-version: HTTP/1.1, HTTP/2 */
#define HTTPAPI_LOG_FIELD_HOST 0x00100000ull          /* cs-host */
#define HTTPAPI_LOG_FIELD_SUB_STATUS 0x00200000ull    /* sc-substatus */
#define HTTPAPI_LOG_FIELD_CLIENT_PORT 0x00400000ull   /* c-port */
#define HTTPAPI_LOG_FIELD_REASON 0x02000000ull        /* s-reason: the service's own answers */
#define HTTPAPI_LOG_FIELD_QUEUE_NAME 0x04000000ull    /* s-queuename */
#define HTTPAPI_LOG_FIELD_TLS_PROTOCOL 0x100000000ull /* x-tls-protocol: TLSv1.3, or '-' */
#define HTTPAPI_LOG_FIELD_CACHE 0x200000000ull        /* x-cache: hit, miss or none */

/* How a URL group is logged (HTTP.sys's HTTP_LOGGING_INFO, reduced to what a service that
 * writes the files itself needs). */
typedef struct httpapi_logging_info {
  uint32_t format;        /* httpapi_log_format */
  /* The file: STATE_DIR/logs/access/NAME.log, NAME being 1 to 64 of [A-Za-z0-9._-], not
   * starting with '.', not "httpapid" (the server-wide log). Not a path: the service,
   * often root, writes the file, so an application names a log, never a place on disk. */
  const char *name;
  uint32_t rollover;      /* httpapi_log_rollover */
  uint32_t flags;         /* HTTPAPI_LOG_FLAG_* */
  uint64_t rollover_size; /* bytes, for HTTPAPI_LOG_ROLLOVER_SIZE: at least
                             HTTPAPI_LOG_MIN_ROLLOVER_SIZE; ignored otherwise */
  uint64_t fields;        /* W3C only: HTTPAPI_LOG_FIELD_* bits, 0 for IIS's default set */
} httpapi_logging_info;

/* Turns the group's access log on (or, with NULL or HTTPAPI_LOG_FORMAT_NONE, off), or
 * changes it. From the next request on, every request the group's URLs route is written
 * to STATE_DIR/logs/access/NAME.log by the service (a new W3C file, or a changed one,
 * starts with its #Fields directive). `info` and its name are read during the call only.
 * Lines are written by a thread of the service, a fraction of a second after the request;
 * when the service cannot keep up or the disk refuses them, lines are dropped, never
 * requests, and `httpcfg show servicestate` counts them. The setting is made again on the
 * group if the service restarts; closing the group ends its log.
 * Errors: INVALID_PARAMETER (NULL group; unknown format, rollover, flag or field bit; a
 * NAME not of the form above; rollover_size too small: httpapi_error_detail() says which),
 * ALREADY_EXISTS (another URL group logs under that NAME), SHUTDOWN (session closed),
 * SERVICE_UNAVAILABLE, PROTOCOL (the service's answer was malformed). Any thread. */
HTTPAPI_API httpapi_error httpapi_url_group_set_logging(httpapi_url_group *group,
                                                        const httpapi_logging_info *info);

/* Registers `prefix` (scheme://host:port/path/, see docs/routing.md) in `group`, with the
 * 64-bit `url_context` that comes back in every request it routes. The service starts
 * listening on the port if it was not already. An https prefix is served over TLS with the
 * certificate binding `httpcfg sslcert` set for the connection's name or address
 * (docs/tls.md); it registers without one, but handshakes fail until one exists.
 * Errors: INVALID_PARAMETER (NULL, malformed prefix, a port that already
 * carries the other scheme, a port the system will not listen on), ALREADY_EXISTS
 * (registered by anyone in the same host bucket), ACCESS_DENIED (no reservation lets this
 * user listen there, or the system refused the port), SHARING_VIOLATION (the port is in
 * use by a program outside httpapid), SHUTDOWN (session closed), SERVICE_UNAVAILABLE,
 * PROTOCOL (the service's answer was malformed). Any thread. */
HTTPAPI_API httpapi_error httpapi_url_add(httpapi_url_group *group, const char *prefix,
                              uint64_t url_context);

/* Unregisters `prefix` from `group` (compared after canonicalisation). The service stops
 * listening on a port when its last prefix goes.
 * Errors: INVALID_PARAMETER (NULL, malformed prefix), NOT_FOUND (not registered in this
 * group), SHUTDOWN (session closed), SERVICE_UNAVAILABLE, PROTOCOL (the service's answer
 * was malformed). Any thread. */
HTTPAPI_API httpapi_error httpapi_url_remove(httpapi_url_group *group, const char *prefix);

/* ------------------------------------------------------------------------------------ */
/* Requests                                                                               */
/* ------------------------------------------------------------------------------------ */

/* A byte view; not NUL-terminated. */
typedef struct httpapi_bytes {
  const char *data;
  size_t length;
} httpapi_bytes;

typedef struct httpapi_header {
  httpapi_bytes name;
  httpapi_bytes value;
} httpapi_header;

/* Request headers HTTP.sys knows by index (HTTP_HEADER_ID order). */
typedef enum httpapi_known_header {
  HTTPAPI_HEADER_CACHE_CONTROL = 0, HTTPAPI_HEADER_CONNECTION = 1, HTTPAPI_HEADER_DATE = 2,
  HTTPAPI_HEADER_KEEP_ALIVE = 3, HTTPAPI_HEADER_PRAGMA = 4, HTTPAPI_HEADER_TRAILER = 5,
  HTTPAPI_HEADER_TRANSFER_ENCODING = 6, HTTPAPI_HEADER_UPGRADE = 7, HTTPAPI_HEADER_VIA = 8,
  HTTPAPI_HEADER_WARNING = 9, HTTPAPI_HEADER_ALLOW = 10, HTTPAPI_HEADER_CONTENT_LENGTH = 11,
  HTTPAPI_HEADER_CONTENT_TYPE = 12, HTTPAPI_HEADER_CONTENT_ENCODING = 13,
  HTTPAPI_HEADER_CONTENT_LANGUAGE = 14, HTTPAPI_HEADER_CONTENT_LOCATION = 15,
  HTTPAPI_HEADER_CONTENT_MD5 = 16, HTTPAPI_HEADER_CONTENT_RANGE = 17,
  HTTPAPI_HEADER_EXPIRES = 18, HTTPAPI_HEADER_LAST_MODIFIED = 19, HTTPAPI_HEADER_ACCEPT = 20,
  HTTPAPI_HEADER_ACCEPT_CHARSET = 21, HTTPAPI_HEADER_ACCEPT_ENCODING = 22,
  HTTPAPI_HEADER_ACCEPT_LANGUAGE = 23, HTTPAPI_HEADER_AUTHORIZATION = 24,
  HTTPAPI_HEADER_COOKIE = 25, HTTPAPI_HEADER_EXPECT = 26, HTTPAPI_HEADER_FROM = 27,
  HTTPAPI_HEADER_HOST = 28, HTTPAPI_HEADER_IF_MATCH = 29,
  HTTPAPI_HEADER_IF_MODIFIED_SINCE = 30, HTTPAPI_HEADER_IF_NONE_MATCH = 31,
  HTTPAPI_HEADER_IF_RANGE = 32, HTTPAPI_HEADER_IF_UNMODIFIED_SINCE = 33,
  HTTPAPI_HEADER_MAX_FORWARDS = 34, HTTPAPI_HEADER_PROXY_AUTHORIZATION = 35,
  HTTPAPI_HEADER_REFERER = 36, HTTPAPI_HEADER_RANGE = 37, HTTPAPI_HEADER_TE = 38,
  HTTPAPI_HEADER_TRANSLATE = 39, HTTPAPI_HEADER_USER_AGENT = 40,
  HTTPAPI_HEADER_REQUEST_MAXIMUM = 41
} httpapi_known_header;

/* Flags in httpapi_request_info.flags. */
#define HTTPAPI_REQUEST_FLAG_MORE_BODY 0x1u  /* body bytes beyond `body` are still to be read */
#define HTTPAPI_REQUEST_FLAG_IP_ROUTED 0x2u  /* routed by an IP-literal prefix */
#define HTTPAPI_REQUEST_FLAG_SECURE 0x4u     /* arrived over TLS */
/* arrived as a stream of an HTTP/2 connection (version_major is 2): the response goes out
 * as HTTP/2 frames (a streamed body as DATA, never chunked; trailers as a last HEADERS),
 * connection-specific fields (Connection, Keep-Alive, Transfer-Encoding, Upgrade) are
 * dropped, HTTPAPI_SEND_FLAG_OPAQUE is refused (INVALID_STATE), and a cancel, a reset or a
 * service answer ends this stream, not the connection. docs/http2.md. */
#define HTTPAPI_REQUEST_FLAG_HTTP2 0x8u
/* arrived through a PROXY protocol header from a trusted balancer (docs/proxy-protocol.md):
 * remote_address is the client's as the header said, and httpapi_request_info.proxy names
 * the balancer. Since release 0.3.0. */
#define HTTPAPI_REQUEST_FLAG_PROXIED 0x10u

/* The certificate a client presented in the TLS handshake (HTTP.sys's
 * HTTP_SSL_CLIENT_CERT_INFO, which HttpReceiveClientCertificate returns). Whether the client
 * is asked for one is the certificate binding's --clientcert option (docs/tls.md): with
 * "require" a client without a trusted certificate never gets this far, with "request" the
 * request arrives either way and `verified` says whether to trust it. */
typedef struct httpapi_client_certificate {
  httpapi_bytes der;      /* the leaf certificate as sent, DER-encoded (pCertEncoded) */
  httpapi_bytes subject;  /* RFC 4514, e.g. "CN=client1,O=Example" */
  httpapi_bytes issuer;   /* RFC 4514 */
  uint32_t verified;      /* 1: it chains to the binding's --ca and is valid now; 0: not
                             (HTTP.sys: CertFlags == 0) */
} httpapi_client_certificate;

/* What the TLS handshake of the request's connection settled (HTTP.sys's pSslInfo,
 * HTTP_SSL_PROTOCOL_INFO and the SNI request property; docs/tls.md maps every field). The
 * same for every request on the connection. Views as in httpapi_request_info. */
typedef struct httpapi_tls_info {
  httpapi_bytes protocol;  /* as OpenSSL names it: "TLSv1.3" or "TLSv1.2" */
  httpapi_bytes cipher;    /* as OpenSSL names it: "TLS_AES_128_GCM_SHA256",
                              "ECDHE-ECDSA-AES128-GCM-SHA256" */
  httpapi_bytes sni;       /* the server name the client asked for, as sent; empty view
                              (NULL data) when it named none */
  httpapi_bytes alpn;      /* the protocol agreed by ALPN, e.g. "http/1.1"; empty view (NULL
                              data) when the client offered none */
  uint32_t resumed;        /* 1: an abbreviated handshake (session ticket or cache); 0: full */
  /* NULL when the client sent no certificate (HttpReceiveClientCertificate's
   * ERROR_NOT_FOUND). The library never renegotiates to ask for one. */
  const httpapi_client_certificate *client_certificate;
} httpapi_tls_info;

/* What the PROXY protocol header of the request's connection said beyond the client's
 * address (docs/proxy-protocol.md): the balancer that sent it and the version 2 TLVs the
 * service shows. The same for every request on the connection. Views as in
 * httpapi_request_info; an absent TLV is the empty view with NULL data. Since 0.3.0. */
typedef struct httpapi_proxy_info {
  struct sockaddr_storage proxied_by; /* the balancer: the connection's real TCP peer */
  httpapi_bytes alpn;                 /* PP2_TYPE_ALPN, e.g. "h2" */
  httpapi_bytes authority;            /* PP2_TYPE_AUTHORITY: the host name the client asked for */
  uint32_t ssl;          /* 1: PP2_TYPE_SSL was sent (the client spoke TLS to the balancer) */
  uint32_t ssl_client;   /* its client bits: PP2_CLIENT_SSL 0x1, _CERT_CONN 0x2, _CERT_SESS 0x4 */
  uint32_t ssl_verify;   /* 0: the client's certificate verified (when it sent one) */
  uint32_t reserved;
  httpapi_bytes ssl_version; /* PP2_SUBTYPE_SSL_VERSION, e.g. "TLSv1.3" */
  httpapi_bytes ssl_cn;      /* PP2_SUBTYPE_SSL_CN: the client certificate's Common Name */
  httpapi_bytes ssl_cipher;  /* PP2_SUBTYPE_SSL_CIPHER */
  httpapi_bytes ssl_sig_alg; /* PP2_SUBTYPE_SSL_SIG_ALG */
  httpapi_bytes ssl_key_alg; /* PP2_SUBTYPE_SSL_KEY_ALG */
} httpapi_proxy_info;

/* Everything the service tells about one request. All views point into memory owned by
 * the request handle and stay valid until httpapi_request_release(). */
typedef struct httpapi_request_info {
  uint64_t request_id;     /* unique while the service runs */
  uint64_t connection_id;  /* the client connection it arrived on */
  uint64_t url_context;    /* the context given with the prefix that routed it */
  httpapi_bytes method;    /* as sent, e.g. "GET" */
  httpapi_bytes raw_url;   /* the request target exactly as sent */
  struct {
    httpapi_bytes full;   /* http://host:port/path?query, canonical */
    httpapi_bytes host;   /* lower-cased */
    uint16_t port;        /* the local port the connection arrived on */
    httpapi_bytes path;   /* decoded and canonical, starts with '/' */
    httpapi_bytes query;  /* raw, without '?' */
  } url;
  uint16_t version_major, version_minor;
  const httpapi_header *headers;  /* every header line in arrival order */
  size_t header_count;
  /* Known headers by index; repeated ones merged as docs/http1.md says. Empty view (NULL
   * data) when absent. */
  httpapi_bytes known_headers[HTTPAPI_HEADER_REQUEST_MAXIMUM];
  struct sockaddr_storage local_address;   /* where it arrived */
  struct sockaddr_storage remote_address;  /* the client */
  uint32_t flags;                          /* HTTPAPI_REQUEST_FLAG_* */
  httpapi_bytes body;                      /* the first body bytes, delivered with the head */
  /* Since release 0.2.0 (an application that may run with an older libhttpapi checks
   * httpapi_version() >= 0x000200 first: the member is not there before). */
  const httpapi_tls_info *tls; /* NULL unless HTTPAPI_REQUEST_FLAG_SECURE */
  /* Since release 0.3.0 (check httpapi_version() >= 0x000300 first, as for `tls`). */
  const httpapi_proxy_info *proxy; /* NULL unless HTTPAPI_REQUEST_FLAG_PROXIED */
} httpapi_request_info;

/* How many requests the service may hand this queue handle ahead of httpapi_receive calls.
 * By default (or after `requests` = 0) the window adapts: it starts at 1, HTTP.sys's rule
 * (a request is handed over only to a thread waiting in httpapi_receive), doubles up to 64
 * while the application keeps finding other requests waiting behind the one it receives,
 * and halves back towards 1 when it finds none; a busy process thus takes requests in
 * batches, one read for many, which is much faster under load. A fixed window (1 to 1024)
 * is honoured as given. Either way a request taken ahead that no receive has returned yet
 * is not lost if the process dies: it goes back to the front of the queue for another
 * worker; only requests a receive returned are answered 503 then (docs/queues.md).
 * Errors: INVALID_PARAMETER (NULL queue, > 1024). Any thread. */
HTTPAPI_API httpapi_error httpapi_queue_set_receive_window(httpapi_queue *queue,
                                                           uint32_t requests);

/* Waits for the next request on `queue`. `timeout_ms` < 0 waits forever; 0 never waits
 * (then the queue's fd tells when to call again); > 0 waits at most that long.
 * A request is handed to this process only while it waits here: requests it has not asked
 * for stay in the service, for other workers of the same queue.
 * If the service restarts, this call keeps waiting while the library reconnects (every 50 ms
 * to 1 s) and makes this queue, this process's URL groups, URLs and bindings, and the
 * queue's properties and grants again; requests received before the restart fail with
 * CONNECTION_GONE. Applications need not restart.
 * Errors: INVALID_PARAMETER (NULL), TIMEOUT, WOULD_BLOCK (timeout 0), SHUTDOWN (queue
 * shut down or closed), SERVICE_UNAVAILABLE (the service sent something malformed).
 * On success *out owns the request: answer it (httpapi_send_response), then release it.
 * Any thread: several may wait on one queue, and each request goes to one of them. */
HTTPAPI_API httpapi_error httpapi_receive(httpapi_queue *queue, int timeout_ms,
                                          httpapi_request **out);

/* Like httpapi_receive, but the request's contents are laid out in the caller's `buffer` of
 * `size` bytes (HTTP.sys's HttpReceiveHttpRequest): httpapi_request_get_info(*out) then
 * returns `buffer` itself, an httpapi_request_info whose views and header array all point
 * into `buffer`, valid as long as the caller keeps the buffer; the library keeps no copy.
 * `buffer` must be aligned for httpapi_request_info (malloc's is); it may be NULL when
 * `size` is 0, to learn the size.
 * When the next request needs more than `size` bytes, the call fails with MORE_DATA,
 * writes the bytes it needs to *needed (when `needed` is not NULL) and leaves `buffer`
 * untouched; that same request stays first in line for this handle: the next receive on
 * this handle (httpapi_receive, or httpapi_receive_into with a large enough buffer, from
 * any thread) returns it, and it is never given to another handle or process meanwhile.
 * If the queue is shut down or the handle closed first, it is answered 503.
 * On success *needed (when not NULL) is the number of bytes used.
 * Errors: as httpapi_receive, plus MORE_DATA, and INVALID_PARAMETER (NULL queue or out,
 * NULL buffer with size > 0, misaligned buffer). Any thread, as httpapi_receive. */
HTTPAPI_API httpapi_error httpapi_receive_into(httpapi_queue *queue, int timeout_ms,
                                               void *buffer, size_t size, size_t *needed,
                                               httpapi_request **out);

/* Waits until the client connection of `request` goes away (HTTP.sys's
 * HttpWaitForDisconnect, for one request): `timeout_ms` < 0 waits forever, 0 only looks,
 * > 0 waits at most that long. Returns OK once the client left: it closed or reset its
 * connection (on HTTP/2: also reset the request's stream, RST_STREAM, or the service reset
 * it after a timer) while the request was unanswered or its response was being streamed,
 * the request was cancelled, or the service restarted. A client that only half-closes (FIN)
 * after a complete request is still there: it may be waiting for its answer.
 * For event loops: the notice arrives on the queue's connection and makes
 * httpapi_queue_fd() readable; then call this with timeout 0. httpapi_send_body looks for
 * it too and fails with CONNECTION_GONE, so a streaming loop stops by itself.
 * Any thread, also while another thread answers the request (the one exception to the
 * one-thread-per-request rule); the request must not be released while a thread waits
 * here.
 * Errors: TIMEOUT / WOULD_BLOCK (timeout 0): the client is still there; INVALID_STATE: the
 * response was completed first, so the service no longer watches the connection for this
 * request; SHUTDOWN (queue handle closed); SERVICE_UNAVAILABLE; INVALID_PARAMETER (NULL). */
HTTPAPI_API httpapi_error httpapi_wait_for_disconnect(httpapi_request *request, int timeout_ms);

/* The request's contents. Valid until httpapi_request_release(). Never NULL for a valid
 * request; NULL for NULL. One thread at a time per request. */
HTTPAPI_API const httpapi_request_info *httpapi_request_get_info(const httpapi_request *request);

/* Reads the next piece of the request body into `buffer` (at most `capacity` bytes) and
 * stores the count in *length. Bytes already given in info->body are not repeated. Waits as
 * for httpapi_receive (timeout_ms < 0 forever, 0 never, > 0 at most that long).
 * Errors: END_OF_BODY (the body is complete; *length is 0), TIMEOUT, WOULD_BLOCK,
 * CONNECTION_GONE (the client left, or the service restarted), INVALID_PARAMETER (NULL
 * request, buffer or length, capacity 0), SHUTDOWN (the queue handle was closed),
 * SERVICE_UNAVAILABLE (the service sent something malformed). One thread at a time per
 * request. */
HTTPAPI_API httpapi_error httpapi_read_body(httpapi_request *request, void *buffer,
                                            size_t capacity, size_t *length, int timeout_ms);

/* Trailer fields that followed a chunked request body, in arrival order. Available once
 * httpapi_read_body returned END_OF_BODY, or at once when the whole body arrived with the
 * head (no HTTPAPI_REQUEST_FLAG_MORE_BODY); before that, or when there were none, *count is
 * 0. The views stay valid until httpapi_request_release(). NULL request: *count 0. One
 * thread at a time per request. */
HTTPAPI_API const httpapi_header *httpapi_request_trailers(const httpapi_request *request,
                                                           size_t *count);

/* ------------------------------------------------------------------------------------ */
/* Responses                                                                              */
/* ------------------------------------------------------------------------------------ */

/* Flags for httpapi_send_response and httpapi_send_body. */
/* Close the connection after this response. On HTTP/2 the connection carries other
 * streams, so it ends gracefully: GOAWAY (as HTTPAPI_SEND_FLAG_GOAWAY), then the close once
 * the streams in progress are done. */
#define HTTPAPI_SEND_FLAG_DISCONNECT 0x1u
#define HTTPAPI_SEND_FLAG_MORE_DATA 0x2u  /* more body follows in httpapi_send_body calls */
/* httpapi_send_response only: a streamed response without Content-Length is not chunked
 * but sent as given and delimited by closing the connection (HTTP.sys's classic behaviour;
 * an application that frames its body itself sends Transfer-Encoding instead). */
#define HTTPAPI_SEND_FLAG_NO_AUTO_CHUNKING 0x4u
/* Holds the body bytes of this call in the library and sends them together with later
 * ones (as HTTP.sys's BUFFER_DATA): held bytes go out once HTTPAPI_SEND_BUFFER_BYTES are
 * held, with the first call without this flag, or with the call that ends the response.
 * Many small writes then cost one message to the service and one chunk on the wire. */
#define HTTPAPI_SEND_FLAG_BUFFER_DATA 0x8u
#define HTTPAPI_SEND_BUFFER_BYTES 16384u
/* httpapi_send_response only (as HTTP.sys's PROCESS_RANGES): the response is a whole
 * representation (status 200, the whole body in this call, no MORE_DATA) and the library
 * answers the request's Range field with it: 206 with the range, or multipart/byteranges
 * for several, 416 when none is satisfiable, the whole 200 when Range is absent, invalid,
 * not in bytes, lists more than 64 ranges, asks for more bytes than the body has
 * (overlaps), or an If-Range does not match the response's ETag / Last-Modified. Only GET
 * requests are ranged. Adds Accept-Ranges: bytes. Details: docs/responses.md. */
#define HTTPAPI_SEND_FLAG_PROCESS_RANGES 0x10u
/* httpapi_send_response only, with status 101 (as HTTP.sys's OPAQUE, e.g. for WebSocket):
 * after the 101 the connection is a byte stream between the client and the application.
 * httpapi_read_body returns the client's bytes as they come (END_OF_BODY when the client
 * closes its side), httpapi_send_body with MORE_DATA sends bytes as given, and a send
 * without MORE_DATA (or httpapi_request_release) closes the connection. No body limit or
 * header/idle timer applies to the stream. Only a request without a body can be upgraded
 * (INVALID_STATE otherwise), and only over HTTP/1.1: HTTP/2 has no protocol switch, so a
 * request with HTTPAPI_REQUEST_FLAG_HTTP2 gets INVALID_STATE (nothing is sent; answer it
 * normally). See docs/responses.md. */
#define HTTPAPI_SEND_FLAG_OPAQUE 0x20u
/* Tells the client to take its next requests to a new connection (HTTP.sys's
 * HTTP_SEND_RESPONSE_FLAG_GOAWAY), e.g. before the application moves or drains. On HTTP/2
 * the service sends GOAWAY (NO_ERROR, naming the last stream it took) as soon as it gets
 * the call carrying the flag: the streams already taken, this one included, are still
 * answered, no new one is, and the connection closes once they are done. On HTTP/1.x it is
 * HTTPAPI_SEND_FLAG_DISCONNECT: the connection closes after this response (which says
 * Connection: close when the flag comes with its head). Any call of a response may carry
 * it (send_response, send_body and their _chunks forms); HTTP.sys requires DISCONNECT with
 * it, which is accepted and changes nothing. */
#define HTTPAPI_SEND_FLAG_GOAWAY 0x40u

/* Whether httpapid may keep a response and answer later requests for the same URL itself,
 * without the application (HTTP.sys's HTTP_CACHE_POLICY). Which requests and responses
 * qualify, and how entries go away: docs/cache.md. */
typedef enum httpapi_cache_policy_kind {
  HTTPAPI_CACHE_NONE = 0,              /* not cached (the default) */
  HTTPAPI_CACHE_USER_INVALIDATES = 1,  /* until flushed, the URL's registration changes, or
                                          it sits unused for the scavenger period */
  HTTPAPI_CACHE_TIME_TO_LIVE = 2       /* for `seconds` (>= 1), or until one of the above */
} httpapi_cache_policy_kind;

typedef struct httpapi_cache_policy {
  httpapi_cache_policy_kind kind;
  uint32_t seconds;  /* HTTPAPI_CACHE_TIME_TO_LIVE only */
} httpapi_cache_policy;

typedef struct httpapi_response {
  uint16_t status;                /* 100..999 */
  const char *reason;             /* NULL = the standard phrase; printable ASCII only */
  const httpapi_header *headers;  /* header_count entries; names are tokens, values
                                     contain no CR, LF or NUL */
  size_t header_count;
  const void *body;               /* body_length bytes (may be NULL when 0) */
  size_t body_length;
} httpapi_response;

/* Sends the status line, headers and first body bytes of the response to `request`.
 * Framing: if the application gives Content-Length, exactly that many body bytes must
 * follow in total; otherwise a response sent in one call (no MORE_DATA) gets a
 * Content-Length computed by the service; a response continued with MORE_DATA and no
 * Content-Length is sent chunked to HTTP/1.1 clients and delimited by close for HTTP/1.0.
 * The service adds Date and Server (after the application's headers) unless given.
 * Returns once the response is handed to the service (not when the client got it).
 * Errors: INVALID_PARAMETER (NULL request or response, unknown flag, bad status, reason,
 * header, NULL body with a length; PROCESS_RANGES with MORE_DATA or NO_AUTO_CHUNKING, or on
 * anything but a 200; OPAQUE on anything but a 101), INVALID_STATE (a response was
 * already sent; OPAQUE for a request with a body or an HTTP/2 request), CONNECTION_GONE
 * (the client left, or the service restarted; the response is dropped), SHUTDOWN (the queue
 * handle was closed), SERVICE_UNAVAILABLE (the queue's connection to the service is broken),
 * TOO_LARGE (the head exceeds the protocol's size limit). The caller keeps ownership of
 * `response`. One thread at a time per request. */
HTTPAPI_API httpapi_error httpapi_send_response(httpapi_request *request,
                                                const httpapi_response *response,
                                                uint32_t flags);

/* httpapi_send_response, and httpapid may keep the response to answer later requests for
 * the same URL itself (HTTP.sys's pCachePolicy). Whether it does is decided by the rules
 * in docs/cache.md (a GET without query string, Authorization or Range; the whole response
 * in this call, no MORE_DATA; a Content-Type; not a 206; at most the cache_max_response_bytes
 * setting); a response that does not qualify is sent normally and not cached, without
 * error. `policy` NULL or kind HTTPAPI_CACHE_NONE: the same as httpapi_send_response.
 * Errors: those of httpapi_send_response; INVALID_PARAMETER also for an unknown kind. One
 * thread at a time per request. */
HTTPAPI_API httpapi_error httpapi_send_cacheable_response(httpapi_request *request,
                                                          const httpapi_response *response,
                                                          uint32_t flags,
                                                          const httpapi_cache_policy *policy);

/* Where the bytes of one body chunk come from (HTTP.sys's HTTP_DATA_CHUNK_TYPE). */
typedef enum httpapi_chunk_kind {
  HTTPAPI_CHUNK_MEMORY = 0,   /* `data`, `length` bytes */
  HTTPAPI_CHUNK_FILE = 1,     /* `length` bytes of the open file `fd` from `offset` */
  HTTPAPI_CHUNK_FRAGMENT = 2  /* `length` bytes of the named fragment from `offset` */
} httpapi_chunk_kind;

/* A FILE or FRAGMENT chunk's length meaning "to the end" (HTTP_BYTE_RANGE_TO_EOF). */
#define HTTPAPI_TO_EOF UINT64_MAX
/* Most FILE chunks one call may carry (each travels as a descriptor). */
#define HTTPAPI_MAX_FILE_CHUNKS 64u

typedef struct httpapi_data_chunk {
  httpapi_chunk_kind kind;
  const void *data;      /* MEMORY: the bytes (may be NULL when length is 0) */
  int fd;                /* FILE: a regular file open for reading. The descriptor itself is
                            passed to httpapid (SCM_RIGHTS) during the call, which sends the
                            bytes with sendfile(2) and never opens a path for the
                            application; the caller may close fd once the call returns. */
  const char *fragment;  /* FRAGMENT: the name given to httpapi_add_fragment */
  uint64_t offset;       /* FILE, FRAGMENT: the first byte sent */
  uint64_t length;       /* bytes sent; FILE and FRAGMENT also HTTPAPI_TO_EOF */
} httpapi_data_chunk;

/* httpapi_send_cacheable_response whose body is response->body (if any) followed by
 * `chunks`, in order (HTTP.sys's EntityChunks). Framing is as for httpapi_send_response:
 * without MORE_DATA and without a Content-Length of the application's, the service computes
 * it from the chunks. With PROCESS_RANGES the chunks are the whole representation and
 * ranges are cut from them (no FRAGMENT chunk then). FILE chunks are checked during the call
 * (fstat: a regular file, the range inside it); a file that shrinks before its bytes are
 * sent ends the connection, as a length mismatch does. A call that names a fragment waits
 * for httpapid to find it; when it is gone the call fails with NOT_FOUND and nothing is
 * sent, so the application can add it again or send memory instead. `policy` may be NULL.
 * Errors: those of httpapi_send_cacheable_response; INVALID_PARAMETER (unknown kind, a bad
 * descriptor, not a regular file, a range past the end, more than HTTPAPI_MAX_FILE_CHUNKS
 * FILE chunks, count without chunks, a FRAGMENT chunk without a name, OPAQUE);
 * NOT_FOUND (a fragment is not in the cache, or belongs to another queue); TOO_LARGE (a
 * body naming fragments whose memory chunks do not fit one message). The descriptors stay
 * the caller's. One thread at a time per request. */
HTTPAPI_API httpapi_error httpapi_send_response_chunks(httpapi_request *request,
                                                       const httpapi_response *response,
                                                       const httpapi_data_chunk *chunks,
                                                       size_t count, uint32_t flags,
                                                       const httpapi_cache_policy *policy);

/* httpapi_send_body with the body given as chunks (see httpapi_send_response_chunks).
 * Errors: those of httpapi_send_body and of httpapi_send_response_chunks' chunk checks
 * (INVALID_PARAMETER, NOT_FOUND, TOO_LARGE). One thread at a time per request. */
HTTPAPI_API httpapi_error httpapi_send_body_chunks(httpapi_request *request,
                                                   const httpapi_data_chunk *chunks,
                                                   size_t count, uint32_t flags);

/* Stores `length` bytes in httpapid's fragment cache under `name` (HTTP.sys's
 * HttpAddFragmentToCache), for responses to send with HTTPAPI_CHUNK_FRAGMENT chunks
 * without passing the bytes again. The name is URL-shaped, e.g.
 * "http://+:8080/app/fragments/footer", and must lie under a URL registered in a URL group
 * bound to this queue; adding a name again replaces the fragment. Only this queue can use,
 * read or replace it. `policy` as for cached responses (NULL: USER_INVALIDATES): a fragment
 * lasts until flushed (httpapi_flush_response_cache), its time to live passes, it is unused
 * for the scavenger period, the cache needs the room, or the queue is closed; an
 * application must be ready to add it again. At most the cache_max_response_bytes setting
 * (256 KiB by default). Details: docs/cache.md.
 * Errors: INVALID_PARAMETER (malformed name, NULL data with a length, unknown policy kind),
 * ACCESS_DENIED (no URL of this queue covers the name), TOO_LARGE (over the entry limit),
 * NO_MEMORY (the cache is full), SHUTDOWN, SERVICE_UNAVAILABLE. Any thread. */
HTTPAPI_API httpapi_error httpapi_add_fragment(httpapi_queue *queue, const char *name,
                                               const void *data, size_t length,
                                               const httpapi_cache_policy *policy);

/* Copies bytes of the fragment `name` from `offset` (at most `length`, or HTTPAPI_TO_EOF)
 * into `buffer` (HTTP.sys's HttpReadFragmentFromCache) and stores the count in *copied.
 * Errors: NOT_FOUND (no such fragment of this queue, e.g. scavenged), MORE_DATA (capacity
 * too small: *copied then holds the size needed and nothing is copied), INVALID_PARAMETER
 * (offset past the end, NULL arguments), SHUTDOWN, SERVICE_UNAVAILABLE. Any thread. */
HTTPAPI_API httpapi_error httpapi_read_fragment(httpapi_queue *queue, const char *name,
                                                uint64_t offset, uint64_t length, void *buffer,
                                                size_t capacity, size_t *copied);

/* Sends more body after httpapi_send_response(..., MORE_DATA). Clear MORE_DATA on the last
 * call (an empty last call is fine) to finish the response.
 * Errors: INVALID_PARAMETER (NULL request, NULL data with a length, a flag other than
 * DISCONNECT, MORE_DATA, BUFFER_DATA and GOAWAY), INVALID_STATE (no response started, or already
 * finished), CONNECTION_GONE (the client left: each call looks for the service's notice
 * without waiting; or the service restarted), SHUTDOWN (the queue handle was closed),
 * SERVICE_UNAVAILABLE (the queue's connection to the service is broken). Any length is
 * sent, in pieces if need be. One thread at a time per request. */
HTTPAPI_API httpapi_error httpapi_send_body(httpapi_request *request, const void *data,
                                            size_t length, uint32_t flags);

/* Ends a response started with MORE_DATA by sending trailer fields after its body (RFC 9110
 * §6.5), e.g. a checksum or a gRPC status computed while streaming. Held BUFFER_DATA bytes
 * go out first. The trailers reach the client when the response is chunked (an HTTP/1.1
 * client and no Content-Length), and always on HTTP/2 (a last HEADERS frame, as gRPC's
 * grpc-status needs); otherwise (HTTP/1.0, or a Content-Length on HTTP/1.1) the response
 * ends without them, as RFC 9110 allows. Fields that frame, route or authenticate a message
 * may not be trailers: Content-Length, Transfer-Encoding, Host, Content-Type,
 * Content-Encoding, Content-Range, Trailer, Authorization, Set-Cookie, Cache-Control,
 * Expect, Range, TE and Connection.
 * Errors: INVALID_PARAMETER (NULL request, bad or forbidden name, bad value, count without
 * headers), INVALID_STATE (no response started, or it is finished), CONNECTION_GONE,
 * SHUTDOWN (the queue handle was closed), SERVICE_UNAVAILABLE, TOO_LARGE (the trailers
 * exceed the protocol's size limit). The caller keeps ownership of `trailers`. One thread
 * at a time per request. */
HTTPAPI_API httpapi_error httpapi_send_trailers(httpapi_request *request,
                                                const httpapi_header *trailers, size_t count);

/* What a request's access-log line takes from the application (HTTP.sys's
 * HTTP_LOG_FIELDS_DATA, less what the service knows itself). */
typedef struct httpapi_log_data {
  uint32_t substatus;    /* sc-substatus / "substatus", e.g. 2 for IIS's 401.2; default 0 */
  const char *username;  /* cs-username / NCSA's authuser / "username": the authenticated
                            user; NULL or "" = none ("-"); at most 256 bytes, printable
                            ASCII without spaces */
} httpapi_log_data;

/* Sets the access-log fields of `request` that only the application knows (docs/access-logs.md);
 * they apply to the line logged when its response ends, by the URL group's log or the
 * server-wide one. A later call replaces an earlier one. Call it before the call that ends
 * the response: the fields travel with the next send (no write of their own, unless
 * BUFFER_DATA is full).
 * Errors: INVALID_PARAMETER (NULL request or data, a username too long or with a space or
 * control character), INVALID_STATE (the response already ended), CONNECTION_GONE,
 * SHUTDOWN (the queue handle was closed), SERVICE_UNAVAILABLE, VERSION_MISMATCH (httpapid
 * is older than this library and cannot take the fields: update it). The caller keeps ownership of
 * `data`. One thread at a time per request. */
HTTPAPI_API httpapi_error httpapi_request_set_log_data(httpapi_request *request,
                                                       const httpapi_log_data *data);

/* Abandons the request: the service closes its client connection (as HTTP.sys's
 * HttpCancelHttpRequest), after writing what the response sent before the cancel (the
 * client sees it cut short); on HTTP/2 it resets only the request's stream (RST_STREAM
 * CANCEL), and the connection's other streams go on. A request whose response finished is
 * left alone (OK). The handle must still be released.
 * Errors: INVALID_PARAMETER (NULL), SERVICE_UNAVAILABLE (the queue handle was closed or
 * its connection to the service is down: the service drops the request itself),
 * CONNECTION_GONE (the connection broke while the cancel was sent). One thread at a time
 * per request. */
HTTPAPI_API httpapi_error httpapi_cancel(httpapi_request *request);

/* Frees the request handle. A request released before its response finished is cancelled
 * (its connection closed). NULL is a no-op. One thread at a time per request, and none
 * may be waiting in httpapi_wait_for_disconnect on it. */
HTTPAPI_API void httpapi_request_release(httpapi_request *request);

#ifdef __cplusplus
}
#endif

#endif /* HTTPAPI_HTTPAPI_H */
