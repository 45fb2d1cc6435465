#!/usr/bin/env bash
# bench/profile.sh: where httpapid's (and httpapi-hello's) per-request time goes.
#
#  1. callgrind: httpapid --io-threads 1 and httpapi-hello each run under
#     valgrind --tool=callgrind; counters are zeroed after a warm-up, exactly N requests are
#     sent (bench/loop_client.py, C connections, one request in flight each), then dumped.
#     Prints instructions per request, allocations (malloc and the other allocators, as
#     operator new reaches them) and free calls per request (from callgrind's call records,
#     bench/stats.py callgrind-calls), and the top functions, inclusive and exclusive.
#  2. strace -c: system calls per request of both processes, same fixed load, no valgrind.
#  3. perf (when it works here): cpu-clock samples of both processes under full wrk load
#     (server on CPU 0, wrk on CPU 1), kernel included: the share of time in syscalls.
#
# Uses its own build with symbols: <repo>/build-profile (Release flags plus
# -g -fno-omit-frame-pointer), built (incrementally) first; with --commit REV the sources of
# that commit are exported with `git archive` and built once into build-profile-<sha>.
#
# With --tls the same counts are taken over HTTPS keep-alive (issue 12): a throw-away ECDSA
# P-256 certificate (openssl), bound with `httpcfg sslcert add --ipport 0.0.0.0:PORT
# --disablehttp2 --disablesessionid` as bench/tls.sh does, httpapi-hello on https://+:PORT/,
# loop_client.py over TLS; and nginx `return 200` over TLS with the same certificate and
# bench/tls.sh's TLS settings, under callgrind (master_process off) and strace -c, for the
# comparison. perf is skipped with --tls.
#
# With --app echo the application is httpapi-echo (`--url`, as its help shows, no tuning
# flags) instead of httpapi-hello: the JSON of every request is its per-request work.
# --depth D pipelines D requests per connection (loop_client.py --depth).
# --access-log w3c|ncsa|json turns httpapid's server-wide access log on (httpcfg set setting
# --key access_log_format) in every pair it starts: the cost of the log, as run.sh's (l).
#
# Usage: bench/profile.sh [--requests N] [--connections C] [--top K] [--perf-seconds S]
#                         [--commit REV] [--upstream-keepalive N] [--keep] [--tls]
#                         [--app hello|echo] [--depth D] [--access-log FORMAT]
#                         [--skip-callgrind] [--skip-strace] [--skip-nginx]
#                         (--perf-seconds 0 skips perf)
set -euo pipefail

REQUESTS=20000
CONNECTIONS=10
TOP=25
PERF_SECONDS=5
KEEP=0
COMMIT_REV=
SKIP_CALLGRIND=0
SKIP_STRACE=0
SKIP_NGINX=0
TLS=0
APP=hello
DEPTH=1
ACCESS_LOG=none
UPSTREAM_KEEPALIVE=32  # nginx's idle upstream connections in (c), as in run.sh
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) REQUESTS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --top) TOP=$2; shift ;;
    --perf-seconds) PERF_SECONDS=$2; shift ;;
    --commit) COMMIT_REV=$2; shift ;;
    --upstream-keepalive) UPSTREAM_KEEPALIVE=$2; shift ;;
    --keep) KEEP=1 ;;
    --skip-callgrind) SKIP_CALLGRIND=1 ;;
    --skip-strace) SKIP_STRACE=1 ;;
    --skip-nginx) SKIP_NGINX=1 ;;
    --access-log) ACCESS_LOG=$2; shift ;;
    --tls) TLS=1; PERF_SECONDS=0 ;;
    --app) APP=$2; shift ;;
    --depth) DEPTH=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

case "$APP" in
  hello|echo) ;;
  *) echo "profile.sh: --app takes hello or echo, not $APP" >&2; exit 2 ;;
esac
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BUILD_DIR=${PROFILE_BUILD_DIR:-$ROOT/build-profile}
log() { printf '[profile] %s\n' "$*" >&2; }
die() { printf '[profile] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/build_commit.sh
source "$BENCH/build_commit.sh"
for tool in valgrind callgrind_annotate callgrind_control strace wrk curl python3 taskset openssl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
taskset -pc 1 $$ >/dev/null

FLAGS=("${RELEASE_FLAGS[@]}"
       "-DCMAKE_CXX_FLAGS=-g -fno-omit-frame-pointer" "-DCMAKE_C_FLAGS=-g -fno-omit-frame-pointer")
if [[ -n $COMMIT_REV ]]; then
  SHA=$(git -C "$ROOT" rev-parse --verify "$COMMIT_REV^{commit}") || die "no commit $COMMIT_REV"
  BUILD_DIR=$ROOT/build-profile-${SHA:0:12}
  REVISION=${SHA:0:12}
  build_commit "$SHA" "$BUILD_DIR" FLAGS httpapid "httpapi-$APP" httpcfg
else
  REVISION="$(git -C "$ROOT" rev-parse --short HEAD) + working tree"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    log "configuring $BUILD_DIR (Release + -g -fno-omit-frame-pointer)"
    cmake -S "$ROOT" -B "$BUILD_DIR" "${FLAGS[@]}" >&2
  fi
  cmake --build "$BUILD_DIR" --target httpapid "httpapi-$APP" httpcfg >&2 || die "build failed"
fi
HTTPAPID=$BUILD_DIR/src/daemon/httpapid
HELLO=$BUILD_DIR/examples/httpapi-$APP
APP_ARGS=()
[[ $APP == hello ]] || APP_ARGS=(--url)
HTTPCFG=$BUILD_DIR/tools/httpcfg/httpcfg
SCHEME=http
[[ $TLS == 0 ]] || SCHEME=https

WORK=$(mktemp -d /tmp/httpapi-profile.XXXXXX)
STARTED=()
cleanup() {
  local i pid
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    pid=${STARTED[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    pid=${STARTED[i]}
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ $TLS == 1 ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl req failed"
fi

wait_for() {
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for $what"
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts httpapid + hello, optionally each under a wrapper; sets DAEMON_PID HELLO_PID URL.
start_pair() {  # start_pair NAME WRAPPER...
  local name=$1; shift
  local dir=$WORK/$name port
  mkdir -p "$dir"
  port=$(free_port)
  (cd "$dir" && exec taskset -c 0 "$@" ${1:+--callgrind-out-file=$dir/callgrind.httpapid} \
     "$HTTPAPID" --state-dir "$dir/state" --io-threads 1) >"$dir/httpapid.log" 2>&1 &
  DAEMON_PID=$!
  STARTED+=("$DAEMON_PID")
  wait_for 60 "httpapid control socket" test -S "$dir/state/control.sock"
  if [[ $ACCESS_LOG != none ]]; then
    "$HTTPCFG" --state-dir "$dir/state" set setting --key access_log_format \
      --value "$ACCESS_LOG" >&2 || die "httpcfg set setting access_log_format failed (root?)"
  fi
  if [[ $TLS == 1 ]]; then
    "$HTTPCFG" --state-dir "$dir/state" sslcert add --ipport "0.0.0.0:$port" \
      --cert "$WORK/cert.pem" --key "$WORK/key.pem" --disablehttp2 --disablesessionid >&2 ||
      die "httpcfg sslcert add failed"
  fi
  (cd "$dir" && HTTPAPI_CONTROL=$dir/state/control.sock exec taskset -c 0 "$@" \
     ${1:+--callgrind-out-file=$dir/callgrind.hello} "$HELLO" "${APP_ARGS[@]}" "$SCHEME://+:$port/") \
    >"$dir/hello.log" 2>&1 &
  HELLO_PID=$!
  STARTED+=("$HELLO_PID")
  wait_for 60 "httpapi-$APP" grep -q '^ready$' "$dir/hello.log"
  URL="$SCHEME://127.0.0.1:$port/"
  if [[ $APP == hello ]]; then
    [[ $(curl -ksS "$URL") == "Hello, World!" ]] || die "($name) $URL does not answer Hello, World!"
  else
    curl -ksS "$URL" | grep -q '"app":"echo"' || die "($name) $URL does not answer echo's JSON"
  fi
}
stop_pair() {
  local pid
  for pid in "$HELLO_PID" "$DAEMON_PID"; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    wait "$pid" 2>/dev/null || true
  done
}
LOAD_ARGS=(--depth "$DEPTH")
# wrk with the same depth: bench/pipeline.lua writes DEPTH requests at a time.
wrk_load() {  # wrk_load SECONDS URL
  local pipeline=()
  [[ $DEPTH == 1 ]] || pipeline=(-s "$BENCH/pipeline.lua")
  taskset -c 1 wrk -t1 -c50 -d"$1s" "${pipeline[@]}" "$2" ${pipeline[0]:+-- "$DEPTH"}
}
[[ $APP == hello ]] || LOAD_ARGS+=(--any-body)
load() {
  taskset -c 1 python3 "$BENCH/loop_client.py" --requests "$1" --connections "$CONNECTIONS" \
    "${LOAD_ARGS[@]}" "$URL" >&2
}

echo "## Profile of $(date -u '+%Y-%m-%d %H:%M UTC'), $REVISION"
echo
echo "Build: $BUILD_DIR (Release -O3 plus -g -fno-omit-frame-pointer). Load: $REQUESTS requests,"
echo "$CONNECTIONS keep-alive connections, $DEPTH request(s) in flight each (bench/loop_client.py)$([[ $TLS == 0 ]] || echo ",
over TLS (ECDSA P-256 certificate, session resumption off as in bench/tls.sh)")$([[ $ACCESS_LOG == none ]] || echo ",
httpapid's server-wide access log on ($ACCESS_LOG)")."
echo

# ---- 1. callgrind -------------------------------------------------------------------------
annotate() {  # annotate FILE LABEL
  local file=$1 label=$2 total
  total=$(sed -n 's/^summary: *//p;s/^totals: *//p' "$file" | head -1 | awk '{print $1}')
  echo "### $label: $(python3 -c "print(f'{$total / $REQUESTS:,.0f}')") instructions per request"
  echo
  echo "($(python3 -c "print(f'{$total:,}')") Ir for $REQUESTS requests; Ir/request = a function's count / $REQUESTS.)"
  echo
  callgrind_annotate --auto=no --inclusive=no --threshold=100 "$file" >"$file.self" 2>/dev/null
  callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$file" >"$file.incl" 2>/dev/null
  echo "Exclusive (self), top $TOP:"
  echo '```'
  python3 "$BENCH/stats.py" callgrind-top "$file.self" "$REQUESTS" "$TOP" self
  echo '```'
  echo
  echo '```'
  python3 "$BENCH/stats.py" callgrind-calls "$file" "$REQUESTS"
  echo '```'
  echo
  echo "Inclusive, top $TOP:"
  echo '```'
  python3 "$BENCH/stats.py" callgrind-top "$file.incl" "$REQUESTS" "$TOP" incl
  echo '```'
  echo
}
profile_callgrind() {
  log "callgrind: starting httpapid and httpapi-hello under valgrind"
  VG=(valgrind --tool=callgrind --vgdb-prefix="$WORK/vgdb" --dump-instr=no --collect-jumps=no)
  start_pair callgrind "${VG[@]}"
  CG_DAEMON=$DAEMON_PID CG_HELLO=$HELLO_PID
  load 500                                   # warm-up, not counted
  callgrind_control --vgdb-prefix="$WORK/vgdb" --zero "$CG_DAEMON" >/dev/null
  callgrind_control --vgdb-prefix="$WORK/vgdb" --zero "$CG_HELLO" >/dev/null
  log "callgrind: $REQUESTS requests"
  load "$REQUESTS"
  callgrind_control --vgdb-prefix="$WORK/vgdb" --dump "$CG_DAEMON" >/dev/null
  callgrind_control --vgdb-prefix="$WORK/vgdb" --dump "$CG_HELLO" >/dev/null
  stop_pair
  # The first dump (.1) holds exactly the measured interval: zeroed before, dumped after.
  annotate "$WORK/callgrind/callgrind.httpapid.1" "httpapid (callgrind)"
  annotate "$WORK/callgrind/callgrind.hello.1" "httpapi-$APP + libhttpapi (callgrind)"
}
[[ $SKIP_CALLGRIND == 1 ]] || profile_callgrind

# ---- 2. strace -c -------------------------------------------------------------------------
syscalls() {  # syscalls FILE LABEL
  echo "### $2: system calls per request (strace -c, $REQUESTS requests)"
  echo '```'
  python3 - "$1" "$REQUESTS" <<'EOF'
import sys
rows, total = [], 0
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] not in ("total",):
        calls = int(f[3]); name = f[-1]
        rows.append((calls, name)); total += calls
n = int(sys.argv[2])
for calls, name in sorted(rows, reverse=True)[:10]:
    print(f"{name:16s} {calls / n:6.2f}")
print(f"{'all':16s} {total / n:6.2f}")
EOF
  echo '```'
  echo
}
profile_strace() {
  log "strace: system calls per request"
  start_pair strace
  load 500
  strace -c -f -q -o "$WORK/strace.httpapid" -p "$DAEMON_PID" & S1=$!
  strace -c -f -q -o "$WORK/strace.hello" -p "$HELLO_PID" & S2=$!
  sleep 1
  load "$REQUESTS"
  kill -INT "$S1" "$S2"
  wait "$S1" "$S2" 2>/dev/null || true
  stop_pair
  syscalls "$WORK/strace.httpapid" "httpapid"
  syscalls "$WORK/strace.hello" "httpapi-$APP"
}
[[ $SKIP_STRACE == 1 ]] || profile_strace

# ---- nginx over TLS, for the comparison (--tls) ---------------------------------------------
# `return 200` with bench/tls.sh's TLS settings and the same certificate; one process
# (master_process off) so callgrind and strace see the worker's work.
start_nginx_tls() {  # start_nginx_tls NAME WRAPPER... -> NGINX_PID URL
  local name=$1; shift
  local d=$WORK/$name port
  mkdir -p "$d/tmp"
  port=$(free_port)
  cat >"$d/nginx.conf" <<EOF2
master_process off;
daemon off;
worker_processes 1;
pid $d/nginx.pid;
lock_file $d/nginx.lock;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off; default_type text/plain; keepalive_requests 100000000;
    client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / { return 200 "Hello, World!"; }
    }
}
EOF2
  (cd "$d" && exec taskset -c 0 "$@" ${1:+--callgrind-out-file=$d/callgrind.nginx} \
     nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log") >"$d/nginx.log" 2>&1 &
  NGINX_PID=$!
  STARTED+=("$NGINX_PID")
  URL="https://127.0.0.1:$port/"
  wait_for 60 "nginx ($name)" curl -kfsS -o /dev/null "$URL"
}
stop_nginx_tls() {
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$NGINX_PID" 2>/dev/null || true
}
profile_nginx_tls() {
  if [[ $SKIP_CALLGRIND == 0 ]]; then
    log "callgrind: nginx return 200 over TLS"
    start_nginx_tls nginx-callgrind valgrind --tool=callgrind --vgdb-prefix="$WORK/vgdb" \
      --dump-instr=no --collect-jumps=no
    load 500
    callgrind_control --vgdb-prefix="$WORK/vgdb" --zero "$NGINX_PID" >/dev/null
    load "$REQUESTS"
    callgrind_control --vgdb-prefix="$WORK/vgdb" --dump "$NGINX_PID" >/dev/null
    stop_nginx_tls
    annotate "$WORK/nginx-callgrind/callgrind.nginx.1" "nginx return 200 over TLS (callgrind)"
  fi
  if [[ $SKIP_STRACE == 0 ]]; then
    log "strace: nginx return 200 over TLS"
    start_nginx_tls nginx-strace
    load 500
    strace -c -f -q -o "$WORK/strace.nginx" -p "$NGINX_PID" & S1=$!
    sleep 1
    load "$REQUESTS"
    kill -INT "$S1"
    wait "$S1" 2>/dev/null || true
    stop_nginx_tls
    syscalls "$WORK/strace.nginx" "nginx return 200 over TLS"
  fi
}
if [[ $TLS == 1 && $SKIP_NGINX == 0 ]] && command -v nginx >/dev/null; then profile_nginx_tls; fi

# ---- 3. perf --------------------------------------------------------------------------------
# count_per_request LABEL URL NAME=PID...: system calls and context switches per request of
# each process over a wrk run (perf stat on tracepoints, counted in the kernel: cheap).
count_per_request() {
  local label=$1 url=$2; shift 2
  local spec name pid pids=() names=() requests
  wrk_load 2 "$url" >/dev/null  # warm-up
  for spec in "$@"; do
    name=${spec%%=*} pid=${spec#*=}
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$pid" \
      -o "$WORK/perfstat.$name" & pids+=($!)
    names+=("$name")
  done
  sleep 0.5
  wrk_load "$PERF_SECONDS" "$url" >"$WORK/wrk.count" 2>&1
  kill -INT "${pids[@]}"
  wait "${pids[@]}" 2>/dev/null || true
  requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.count")
  for name in "${names[@]}"; do
    python3 - "$WORK/perfstat.$name" "$requests" "$label" "$name" \
      "$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk.count")" <<'EOF2'
import sys
counts = {}
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) > 2 and f[0].replace(".", "").isdigit():
        counts[f[2]] = float(f[0])
n = int(sys.argv[2])
print(f"| {sys.argv[3]} | {sys.argv[4]} | {int(sys.argv[5]):,} | "
      f"{counts.get('raw_syscalls:sys_enter', 0) / n:.2f} | {counts.get('context-switches', 0) / n:.2f} |")
EOF2
  done
}

if [[ $PERF_SECONDS != 0 ]] && command -v perf >/dev/null &&
   perf stat -e raw_syscalls:sys_enter,context-switches -o /dev/null true >/dev/null 2>&1; then
  log "perf stat: system calls and context switches per request under wrk -c50, ${PERF_SECONDS}s each"
  COUNTS=$WORK/counts.md
  start_pair perf
  count_per_request "(a) httpapid → hello" "$URL" "httpapid=$DAEMON_PID" "httpapi-hello=$HELLO_PID" >"$COUNTS"
  stop_pair
  # The peers, configured as in bench/run.sh: (b) nginx return 200, (c) nginx -> upstream_hello.
  if command -v nginx >/dev/null && command -v cc >/dev/null; then
    chmod 711 "$WORK"
    mkdir -p "$WORK/peers/tmp" && chmod 711 "$WORK/peers"
    cc -O2 -o "$WORK/peers/upstream_hello" "$BENCH/upstream_hello.c"
    taskset -c 0 "$WORK/peers/upstream_hello" "$WORK/peers/up.sock" >"$WORK/peers/up.log" 2>&1 &
    UP_PID=$!; STARTED+=("$UP_PID")
    wait_for 10 "upstream_hello" grep -q '^ready$' "$WORK/peers/up.log"
    chmod 666 "$WORK/peers/up.sock"
    PB=$(free_port) PC=$(free_port)
    while [[ $PC == "$PB" ]]; do PC=$(free_port); done
    d=$WORK/peers
    cat >"$d/nginx.conf" <<EOF2
worker_processes 1;
pid $d/nginx.pid;
lock_file $d/nginx.lock;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    access_log off; default_type text/plain; keepalive_requests 100000000;
    client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
    upstream hello { server unix:$d/up.sock; keepalive $UPSTREAM_KEEPALIVE; }
    server { listen 127.0.0.1:$PB; location / { return 200 "Hello, World!"; } }
    server {
        listen 127.0.0.1:$PC;
        location / { proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF2
    taskset -c 0 nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;' \
      >"$d/nginx.log" 2>&1 &
    NGINX_PID=$!; STARTED+=("$NGINX_PID")
    wait_for 10 "nginx" curl -fsS -o /dev/null "http://127.0.0.1:$PB/"
    NGINX_WORKER=$(tr -d " \n" <"/proc/$NGINX_PID/task/$NGINX_PID/children")
    count_per_request "(b) nginx return 200" "http://127.0.0.1:$PB/" "nginx-worker=$NGINX_WORKER" >>"$COUNTS"
    count_per_request "(c) nginx → upstream_hello, keepalive $UPSTREAM_KEEPALIVE" "http://127.0.0.1:$PC/" \
      "nginx-worker=$NGINX_WORKER" "upstream_hello=$UP_PID" >>"$COUNTS"
    kill -TERM "$NGINX_PID" "$UP_PID"
    wait "$NGINX_PID" "$UP_PID" 2>/dev/null || true
  fi
  start_pair perf2
  wrk_load 2 "$URL" >/dev/null  # warm-up
  log "perf record: cpu-clock samples under wrk -c50, ${PERF_SECONDS}s"
  perf record -q -e cpu-clock -F 4999 -g -p "$DAEMON_PID,$HELLO_PID" -o "$WORK/perf.data" \
    >/dev/null 2>&1 & P3=$!
  sleep 0.5
  wrk_load "$PERF_SECONDS" "$URL" >"$WORK/wrk.perf" 2>&1
  kill -INT "$P3"
  wait "$P3" 2>/dev/null || true
  stop_pair

  echo "### Under full load: wrk -t1 -c50 on CPU 1, the server side on CPU 0 (no valgrind)"
  echo
  echo "System calls and context switches per request (perf stat, ${PERF_SECONDS} s wrk run each; the"
  echo "nginx master and idle processes are left out):"
  echo
  echo "| scenario | process | req/s | syscalls/req | context switches/req |"
  echo "|---|---|---:|---:|---:|"
  cat "$COUNTS"
  echo
  echo "perf record (cpu-clock, -g) over another ${PERF_SECONDS}s run ($(grep Requests/sec "$WORK/wrk.perf" | tr -s ' ')): self time by process and object:"
  echo
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --no-children --sort comm,dso 2>/dev/null |
    grep -E '^ +[0-9]' | head -12 || true
  echo '```'
  echo
  echo "Top symbols (self time, [k] = kernel):"
  echo
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --no-children --sort comm,sym -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -n "$TOP" || true
  echo '```'
  echo
  echo "Kernel paths, inclusive (share of all samples of both processes):"
  echo
  echo '```'
  perf report -i "$WORK/perf.data" --stdio --children --sort comm,sym -g none 2>/dev/null |
    grep -E '^ +[0-9].*\[k\] (do_syscall_64|__x64_sys_sendto|tcp_sendmsg|unix_stream_sendmsg|ksys_read|__x64_sys_recvfrom|__x64_sys_poll|do_epoll_wait|schedule|handle_softirqs)$' |
    head -20 || true
  echo '```'
else
  echo "(perf skipped: not available here, or --perf-seconds 0)"
fi
