#!/usr/bin/env bash
# bench/run.sh: httpapid vs nginx on loopback, "Hello, World!" over HTTP/1.1 keep-alive.
#
#   (a) httpapid --io-threads 1 -> httpapi-hello on http://+:PORT/
#   (b) nginx `return 200 "Hello, World!"` (1 worker)
#   (c) nginx reverse proxy -> bench/upstream_hello.c on a Unix socket (upstream keepalive 32)
#   (d) the same three with wrk pipelining 16 requests per write (bench/pipeline.lua)
#   (e) httpapid's response cache: httpapi-hello with a time to live (docs/cache.md), in the
#       httpapid of (a) on its own port; after the first request every answer is a cache hit
#       (the report checks: the app answered only a handful of requests)
#   (f) httpapi-echo run as its --help shows (`--url http://+:PORT/`, no tuning flags: the
#       library's default receive window), in the httpapid of (a) on its own port; it answers
#       JSON, not "Hello, World!". Reported against (c): what an application gets untuned
#   (g) (a)'s httpapid and httpapi-hello through bench/proxy_client.c (keep-alive like wrk,
#       one thread) from 127.0.0.1 to 127.0.0.1:PORT: the PROXY protocol off
#   (h) the same client to 127.0.0.2:PORT, marked `iplisten --ipport 127.0.0.2:PORT
#       --proxy-protocol --trusted 127.0.0.1/32`, each connection starting with a v2 header:
#       the PROXY protocol on (docs/proxy-protocol.md). Reported as (h)/(g), per round
#   (l) (a) again, with the access log on: the httpapid of (a) writes every request to its
#       server-wide W3C log (httpcfg set setting --key access_log_format --value w3c, set
#       before each (l) run and back to none after it; docs/access-logs.md). Reported
#       against (a) of the same round: the cost of access logging (target: at most 5% of
#       req/s). Needs root (only root may change settings): otherwise (l) is left out
#   (m) (l) again, with the metrics URL set as well (httpcfg set setting --key metrics_url
#       --value http://127.0.0.1:PORT_M/metrics, docs/metrics.md) and scraped once a second
#       by curl (on the client's CPU) during the run. Reported against (a) of the same round:
#       access log and metrics on (target: at most 5% of req/s). The counters themselves are
#       always on, in every scenario of httpapid: what (m) adds is the scrapes. Needs root
#
# The server side (service + app, or nginx + its upstream) runs on CPU 0, wrk on CPU 1 (this
# script and its helpers too). Every round runs a, b, c, a|p16, b|p16, c|p16 back to back.
# Reported per scenario: median (min-max) over rounds of req/s, p99 latency, server CPU
# microseconds per request (utime+stime of the server-side processes / requests completed),
# server context switches per request, CPU use of server and wrk, and "other load": CPU time
# on CPUs 0-1 used by other work on the machine during the run. A run disturbed by other work
# (> 20% of a CPU) is run once more. Runs with non-2xx answers or socket errors are invalid
# and left out of the medians. Ratios (a)/(c) and (a)/(b) are taken per round.
#
# Usage: bench/run.sh [--record] [--duration SECONDS] [--rounds N] [--connections N]
#                     [--depth N] [--upstream-keepalive N] [--commit REV] [--no-build]
#                     [--keep] [--scenarios LIST]
#   --record     append the table, machine, commit and commands to bench/RESULTS.md
#   --commit     benchmark a committed revision instead of the working tree: its sources are
#                exported with `git archive` to <repo>/build-release-<sha>-src and built once into
#                <repo>/build-release-<sha> (kept for the next run); git state is not touched
#   --duration   seconds per wrk run (default 10)
#   --rounds     rounds (default 3)
#   --upstream-keepalive  idle upstream connections nginx keeps in (c) (default 64: at least
#                the 50 client connections, so nginx never reconnects to its upstream; with
#                32 it reconnects for about a quarter of the requests, see RESULTS.md)
#   --no-build   do not run the (incremental) release build first
#   --keep       keep the temporary directory (logs, configs) for inspection
#   --scenarios  run only these, comma-separated (e.g. g,h); default: all
# Environment: BUILD_DIR (default <repo>/build-release), WARMUP seconds (default 2),
#   QUIET_WAIT seconds (default 20): before each run, wait up to this long for CPUs 0-1 to be
#   less than QUIET_PERCENT (default 10) busy with other work; the run goes ahead anyway after.
#   QUIET_BUDGET seconds (default 300): total time spent waiting for quiet and re-running
#   disturbed runs; once used up, runs go ahead without either (keeps the total bounded).
set -euo pipefail

ARGS="$*"
DURATION=10
ROUNDS=3
CONNECTIONS=50
DEPTH=16
UPSTREAM_KEEPALIVE=64
RECORD=0
BUILD=1
KEEP=0
COMMIT_REV=
ONLY=
WARMUP=${WARMUP:-2}
QUIET_WAIT=${QUIET_WAIT:-20}
QUIET_PERCENT=${QUIET_PERCENT:-10}
QUIET_BUDGET=${QUIET_BUDGET:-300}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --record) RECORD=1 ;;
    --duration) DURATION=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --depth) DEPTH=$2; shift ;;
    --upstream-keepalive) UPSTREAM_KEEPALIVE=$2; shift ;;
    --commit) COMMIT_REV=$2; shift ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    --scenarios) ONLY=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
STATS="python3 $BENCH/stats.py"
SERVER_CPU=0
CLIENT_CPU=1

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/build_commit.sh
source "$BENCH/build_commit.sh"

for tool in wrk nginx curl taskset python3 cc cmake ninja; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $(nproc --all) -ge 2 ]] || die "needs 2 CPUs (server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"

CPUS=$(nproc)  # before this script pins itself to one CPU
# This script, its helpers and wrk stay off the server's CPU.
taskset -pc "$CLIENT_CPU" $$ >/dev/null

# ---- build ------------------------------------------------------------------------------
SOURCE_NOTE=
if [[ -n $COMMIT_REV ]]; then
  SHA=$(git -C "$ROOT" rev-parse --verify "$COMMIT_REV^{commit}") || die "no commit $COMMIT_REV"
  BUILD_DIR=$ROOT/build-release-${SHA:0:12}
fi
HTTPAPID=$BUILD_DIR/src/daemon/httpapid
HELLO=$BUILD_DIR/examples/httpapi-hello
if [[ -n $COMMIT_REV ]]; then
  build_commit "$SHA" "$BUILD_DIR" RELEASE_FLAGS httpapid httpapi-hello httpapi-echo httpcfg
elif [[ $BUILD == 1 || ! -x $HTTPAPID || ! -x $HELLO ]]; then
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    log "configuring a release build in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" "${RELEASE_FLAGS[@]}" >&2 || die "cmake configure failed"
  fi
  log "building (release) in $BUILD_DIR"
  if ! cmake --build "$BUILD_DIR" --target httpapid httpapi-hello httpapi-echo httpcfg >&2; then
    # The working tree may be mid-edit (others change it concurrently): use what was last
    # built, and say so in the report.
    [[ -x $HTTPAPID && -x $HELLO ]] || die "build failed"
    SOURCE_NOTE="the working tree did not build; used the binaries built $(date -u -r "$HTTPAPID" '+%Y-%m-%d %H:%M UTC')"
    log "WARNING: $SOURCE_NOTE"
  fi
fi
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD_DIR/CMakeCache.txt" ||
  die "$BUILD_DIR is not a Release build"
# The tree as it is built, not as it is when the report is written: it may change meanwhile.
if [[ -n $COMMIT_REV ]]; then
  COMMIT=${SHA:0:12}
  TREE="clean export of the commit"
else
  COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
  [[ $DIRTY == 0 ]] && TREE="clean" || TREE="working tree with $DIRTY tracked files modified"
fi

# ---- temporary state, process bookkeeping -------------------------------------------------
WORK=$(mktemp -d /tmp/httpapi-bench.XXXXXX)
STARTED=()  # PIDs this script started, stopped in reverse order

cleanup() {
  local i pid
  stop_scraper 2>/dev/null || true
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    pid=${STARTED[i]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    pid=${STARTED[i]}
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop on SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 20))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  die "timed out waiting for $what"
}

alive() { kill -0 "$1" 2>/dev/null; }

children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }

SRV=(taskset -c "$SERVER_CPU")
CLI=(taskset -c "$CLIENT_CPU")

PORT_A=$(free_port); PORT_B=$(free_port); PORT_C=$(free_port); PORT_E=$(free_port)
PORT_F=$(free_port); PORT_M=$(free_port)
while [[ $PORT_B == "$PORT_A" ]]; do PORT_B=$(free_port); done
while [[ $PORT_C == "$PORT_A" || $PORT_C == "$PORT_B" ]]; do PORT_C=$(free_port); done
while [[ $PORT_E == "$PORT_A" || $PORT_E == "$PORT_B" || $PORT_E == "$PORT_C" ]]; do
  PORT_E=$(free_port)
done
while [[ " $PORT_A $PORT_B $PORT_C $PORT_E " == *" $PORT_F "* ]]; do PORT_F=$(free_port); done
while [[ " $PORT_A $PORT_B $PORT_C $PORT_E $PORT_F " == *" $PORT_M "* ]]; do PORT_M=$(free_port); done

declare -A URL SERVER_PIDS COMMANDS

# ---- (a) httpapid -> httpapi-hello --------------------------------------------------------
mkdir -p "$WORK/a"
COMMANDS[a]="${SRV[*]} $HTTPAPID --state-dir $WORK/a/state --io-threads 1
HTTPAPI_CONTROL=$WORK/a/state/control.sock ${SRV[*]} $HELLO http://+:$PORT_A/"
"${SRV[@]}" "$HTTPAPID" --state-dir "$WORK/a/state" --io-threads 1 \
  >"$WORK/a/httpapid.log" 2>&1 &
HTTPAPID_PID=$!
STARTED+=("$HTTPAPID_PID")
wait_for 10 "httpapid control socket" test -S "$WORK/a/state/control.sock"
# start_app LOG NAME COMMAND...: an application of this httpapid, on CPU 0 -> APP_PID
start_app() {
  local log=$1 name=$2; shift 2
  HTTPAPI_CONTROL="$WORK/a/state/control.sock" "${SRV[@]}" "$@" >"$log" 2>&1 &
  APP_PID=$!
  STARTED+=("$APP_PID")
  wait_for 10 "$name to register (see $log)" grep -q '^ready$' "$log"
}
start_app "$WORK/a/hello.log" httpapi-hello "$HELLO" "http://+:$PORT_A/"
HELLO_PID=$APP_PID
URL[a]="http://127.0.0.1:$PORT_A/"
SERVER_PIDS[a]="$HTTPAPID_PID,$HELLO_PID"

# ---- (e) the same httpapid, answers from its response cache -------------------------------
start_app "$WORK/a/hello-cached.log" "cached httpapi-hello" "$HELLO" "http://+:$PORT_E/" 3600
CACHED_PID=$APP_PID
URL[e]="http://127.0.0.1:$PORT_E/"
SERVER_PIDS[e]="$HTTPAPID_PID,$CACHED_PID"
COMMANDS[e]="HTTPAPI_CONTROL=$WORK/a/state/control.sock ${SRV[*]} $HELLO http://+:$PORT_E/ 3600"

# ---- (f) the same httpapid, httpapi-echo untuned ------------------------------------------
ECHO=$BUILD_DIR/examples/httpapi-echo
start_app "$WORK/a/echo.log" httpapi-echo "$ECHO" --url "http://+:$PORT_F/"
ECHO_PID=$APP_PID
URL[f]="http://127.0.0.1:$PORT_F/"
SERVER_PIDS[f]="$HTTPAPID_PID,$ECHO_PID"
COMMANDS[f]="HTTPAPI_CONTROL=$WORK/a/state/control.sock ${SRV[*]} $ECHO --url http://+:$PORT_F/"

# ---- (g), (h) the PROXY protocol off and on, same httpapid and app as (a) ------------------
PROXY_CLIENT=$WORK/proxy_client
cc -O2 -Wall -o "$PROXY_CLIENT" "$BENCH/proxy_client.c" || die "cc proxy_client.c failed"
"$BUILD_DIR/tools/httpcfg/httpcfg" --state-dir "$WORK/a/state" iplisten add \
  --ipport "127.0.0.2:$PORT_A" --proxy-protocol --trusted 127.0.0.1/32 >&2 ||
  die "httpcfg iplisten add --ipport 127.0.0.2:$PORT_A failed"
SERVER_PIDS[g]="$HTTPAPID_PID,$HELLO_PID"
SERVER_PIDS[h]="$HTTPAPID_PID,$HELLO_PID"
COMMANDS[g]="(a)'s httpapid and httpapi-hello; client: bench/proxy_client.c to 127.0.0.1:$PORT_A"
COMMANDS[h]="httpcfg iplisten add --ipport 127.0.0.2:$PORT_A --proxy-protocol --trusted 127.0.0.1/32; client: bench/proxy_client.c --proxy v2 to 127.0.0.2:$PORT_A"

# ---- nginx instances ----------------------------------------------------------------------
write_nginx_conf() {  # write_nginx_conf DIR PORT SERVER_BLOCK_BODY [HTTP_EXTRA]
  local dir=$1 port=$2 body=$3 extra=${4:-}
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# generated by bench/run.sh
worker_processes 1;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
$extra
    server {
        listen 127.0.0.1:$port;
$body
    }
}
EOF
}

start_nginx() {  # start_nginx NAME DIR PORT -> sets NGINX_PID
  local name=$1 dir=$2 port=$3
  nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' ||
    die "nginx config for ($name) is invalid"
  "${SRV[@]}" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
    -g 'daemon off;' >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  STARTED+=("$NGINX_PID")
  wait_for 10 "nginx ($name) on port $port" curl -fsS -o /dev/null "http://127.0.0.1:$port/"
  local workers
  workers=$(children_of "$NGINX_PID")
  [[ -n $workers ]] || die "nginx ($name) has no worker process"
  NGINX_PIDS="$NGINX_PID,$(echo $workers | tr ' ' ',')"
}

# ---- (b) nginx return 200 -------------------------------------------------------------------
write_nginx_conf "$WORK/b" "$PORT_B" '        location / {
            return 200 "Hello, World!";
        }'
start_nginx b "$WORK/b" "$PORT_B"
URL[b]="http://127.0.0.1:$PORT_B/"
SERVER_PIDS[b]=$NGINX_PIDS
COMMANDS[b]="${SRV[*]} nginx -p $WORK/b/ -c $WORK/b/nginx.conf -e $WORK/b/error.log -g 'daemon off;'"

# ---- (c) nginx -> upstream_hello on a Unix socket -------------------------------------------
mkdir -p "$WORK/c"
cc -O2 -Wall -o "$WORK/c/upstream_hello" "$BENCH/upstream_hello.c" || die "cc upstream_hello.c failed"
"${SRV[@]}" "$WORK/c/upstream_hello" "$WORK/c/hello.sock" >"$WORK/c/upstream.log" 2>&1 &
UPSTREAM_PID=$!
STARTED+=("$UPSTREAM_PID")
wait_for 10 "upstream_hello" grep -q '^ready$' "$WORK/c/upstream.log"
# When run as root, nginx's worker runs as "nobody": let it reach the socket.
chmod 711 "$WORK" "$WORK/c"
chmod 666 "$WORK/c/hello.sock"
write_nginx_conf "$WORK/c" "$PORT_C" '        location / {
            proxy_pass http://hello;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }' "    upstream hello {
        server unix:$WORK/c/hello.sock;
        keepalive $UPSTREAM_KEEPALIVE;
    }"
start_nginx c "$WORK/c" "$PORT_C"
URL[c]="http://127.0.0.1:$PORT_C/"
SERVER_PIDS[c]="$NGINX_PIDS,$UPSTREAM_PID"
COMMANDS[c]="cc -O2 -o $WORK/c/upstream_hello bench/upstream_hello.c
${SRV[*]} $WORK/c/upstream_hello $WORK/c/hello.sock
${SRV[*]} nginx -p $WORK/c/ -c $WORK/c/nginx.conf -e $WORK/c/error.log -g 'daemon off;'"

# ---- (l) the httpapid and app of (a), its server-wide access log on; (m) and its metrics -----
HTTPCFG_BIN=$BUILD_DIR/tools/httpcfg/httpcfg
access_log_format() {  # access_log_format w3c|none: the (l) switch, in the httpapid of (a)
  "$HTTPCFG_BIN" --state-dir "$WORK/a/state" set setting --key access_log_format --value "$1" \
    >/dev/null
}
METRICS_URL="http://127.0.0.1:$PORT_M/metrics"
metrics_url() {  # metrics_url URL|"": the (m) switch ("" turns the URL off)
  "$HTTPCFG_BIN" --state-dir "$WORK/a/state" set setting --key metrics_url --value "$1" \
    >/dev/null
}
WITH_L=0
if access_log_format none 2>/dev/null; then
  WITH_L=1
  URL[l]=${URL[a]}
  SERVER_PIDS[l]=${SERVER_PIDS[a]}
  COMMANDS[l]="${COMMANDS[a]}
$HTTPCFG_BIN --state-dir $WORK/a/state set setting --key access_log_format --value w3c  (before each (l) run; none after)"
  URL[m]=${URL[a]}
  SERVER_PIDS[m]=${SERVER_PIDS[a]}
  COMMANDS[m]="${COMMANDS[l]}
$HTTPCFG_BIN --state-dir $WORK/a/state set setting --key metrics_url --value $METRICS_URL  (before each (m) run; \"\" after)
${CLI[*]} sh -c 'while :; do curl -s -o /dev/null $METRICS_URL; sleep 1; done'  (during each (m) run)"
else
  log "WARNING: cannot change httpapid's settings (not root?): scenarios (l) and (m), access log and metrics on, left out"
fi
# Every scenario but (l) and (m) runs with the access log off and no metrics URL.
with_access_log_for() {
  [[ $WITH_L == 1 ]] || return 0
  case ${1%%-p*} in
    l) access_log_format w3c; metrics_url "" ;;
    m) access_log_format w3c; metrics_url "$METRICS_URL" ;;
    *) access_log_format none; metrics_url "" ;;
  esac
}
# (m)'s scraper: once a second, on the client's CPU, for as long as the run lasts.
SCRAPER_PID=
start_scraper() {
  "${CLI[@]}" sh -c "while :; do curl -s -o /dev/null -w '%{http_code}\n' '$METRICS_URL'; sleep 1; done" \
    >>"$WORK/scrapes.log" 2>&1 &
  SCRAPER_PID=$!
}
stop_scraper() {
  [[ -n $SCRAPER_PID ]] || return 0
  kill "$SCRAPER_PID" 2>/dev/null || true
  wait "$SCRAPER_PID" 2>/dev/null || true
  SCRAPER_PID=
}

# ---- sanity checks --------------------------------------------------------------------------
for s in a b c e f; do
  body=$(curl -sS --max-time 5 -o - -w '\n%{http_code} %{content_type}' "${URL[$s]}") ||
    die "($s) curl ${URL[$s]} failed"
  status_line=${body##*$'\n'}
  body=${body%$'\n'*}
  if [[ $s == f ]]; then
    expected='JSON with "raw_url": "/"'
    grep -q '"raw_url": *"/"' <<<"$body" && answered=$expected || answered=
  else
    expected="Hello, World!"
    answered=$body
  fi
  if [[ $answered != "$expected" || ${status_line%% *} != 200 ]]; then
    die "($s) ${URL[$s]} answered '$status_line' with body '$body', not 200 $expected"
  fi
  log "($s) ${URL[$s]}: $status_line, body '$body' (ok); server pids ${SERVER_PIDS[$s]}"
done
for p in ${SERVER_PIDS[a]//,/ } ${SERVER_PIDS[b]//,/ } ${SERVER_PIDS[c]//,/ } $CACHED_PID $ECHO_PID; do
  alive "$p" || die "server process $p is not running"
done

# ---- measurement ----------------------------------------------------------------------------
WRK_BASE="${CLI[*]} wrk -t1 -c$CONNECTIONS --latency --timeout 5s"
RUNS=$WORK/runs.jsonl
: >"$RUNS"

wrk_command() {  # wrk_command SCENARIO SECONDS -> the command line
  local s=$1 seconds=$2 base=${1%%-p*}
  local proxy_base="${CLI[*]} $PROXY_CLIENT --bind 127.0.0.1 --port $PORT_A --connections $CONNECTIONS --duration $seconds"
  case $s in
    g) echo "$proxy_base --connect 127.0.0.1"; return ;;
    h) echo "$proxy_base --connect 127.0.0.2 --proxy v2"; return ;;
  esac
  if [[ $s == *-p* ]]; then
    echo "$WRK_BASE -d${seconds}s -s $BENCH/pipeline.lua ${URL[$base]} -- ${s##*-p}"
  else
    echo "$WRK_BASE -d${seconds}s ${URL[$base]}"
  fi
}

SCENARIOS=(a b c e f g h "a-p$DEPTH" "b-p$DEPTH" "c-p$DEPTH" "e-p$DEPTH")
[[ $WITH_L == 0 ]] || SCENARIOS=(a l m b c e f g h "a-p$DEPTH" "b-p$DEPTH" "c-p$DEPTH" "e-p$DEPTH")
[[ -z $ONLY ]] || IFS=, read -r -a SCENARIOS <<<"$ONLY"
log "warm-up: ${WARMUP}s per scenario (not recorded)"
for s in "${SCENARIOS[@]}"; do
  with_access_log_for "$s"
  $(wrk_command "$s" "$WARMUP") >/dev/null
done

BUDGET_END=$(( SECONDS + QUIET_BUDGET ))
total=$(( ROUNDS * ${#SCENARIOS[@]} * DURATION ))
log "measuring: $ROUNDS rounds x ${#SCENARIOS[@]} runs x ${DURATION}s (~${total}s)"
for round in $(seq "$ROUNDS"); do
  for s in "${SCENARIOS[@]}"; do
    base=${s%%-p*}
    for p in ${SERVER_PIDS[$base]//,/ }; do
      alive "$p" || die "server process $p of ($base) died before round $round"
    done
    for attempt in 1 2; do
      if (( SECONDS < BUDGET_END )); then
        wait_s=$(( BUDGET_END - SECONDS < QUIET_WAIT ? BUDGET_END - SECONDS : QUIET_WAIT ))
        if ! busy=$($STATS wait-quiet "$wait_s" "$QUIET_PERCENT"); then
          log "WARNING: CPUs 0-1 still ${busy}% busy with other work after ${wait_s}s; measuring anyway"
        fi
      fi
      echo "=== round $round, scenario $s: $(wrk_command "$s" "$DURATION")" >&2
      with_access_log_for "$s"
      [[ $base != m ]] || start_scraper
      rc=0
      $STATS measure --out "$WORK/run.json" --scenario "$s" --round "$round" \
        --pids "${SERVER_PIDS[$base]}" -- $(wrk_command "$s" "$DURATION") >&2 || rc=$?
      stop_scraper
      [[ $rc == 0 || $rc == 3 ]] || die "stats.py measure failed ($rc)"
      if [[ $rc == 3 && $attempt == 1 ]] && (( SECONDS < BUDGET_END )); then
        log "other work disturbed this run; running it again"
        continue
      fi
      cat "$WORK/run.json" >>"$RUNS"
      break
    done
  done
done
with_access_log_for a  # off again
if [[ $WITH_L == 1 ]]; then
  ACCESS_NOTE="(l), (m): $(grep -vc '^#' "$WORK/a/state/logs/access/httpapid.log" 2>/dev/null || echo 0) lines in the access log; $("$HTTPCFG_BIN" --state-dir "$WORK/a/state" show servicestate | grep '^Access log lines' || true)
(m): $(grep -c '^200$' "$WORK/scrapes.log" 2>/dev/null || true) scrapes answered 200, $(grep -vc '^200$' "$WORK/scrapes.log" 2>/dev/null || true) not"
  log "$ACCESS_NOTE"
fi

for s in a b c e f; do
  for p in ${SERVER_PIDS[$s]//,/ }; do
    alive "$p" || log "WARNING: server process $p of ($s) is gone after the runs"
  done
done
# Lines in httpapid's error log (httperrN.log, W3C: '#' lines are headers) are requests it
# rejected or connections it dropped; wrk closing its connections at the end may add a few.
errors=$(cat "$WORK"/a/state/logs/httperr*.log 2>/dev/null | grep -vc '^#' || true)
[[ ${errors:-0} == 0 ]] || log "httpapid error log has $errors entries (keep them with --keep)"

# (e) is only a cache benchmark if the hits did not reach the application.
cached_hits=$("$BUILD_DIR/tools/httpcfg/httpcfg" --state-dir "$WORK/a/state" show cachestate --json 2>/dev/null |
  python3 -c 'import json,sys; print(sum(e["hits"] for e in json.load(sys.stdin)["entries"]))' 2>/dev/null || echo "?")
CACHE_NOTE="(e): the cache entry had $cached_hits hits at the end of the runs"
log "$CACHE_NOTE"

# ---- report -------------------------------------------------------------------------------
TABLE=$(C_KEEPALIVE=$UPSTREAM_KEEPALIVE $STATS report "$RUNS")
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
MODEL=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
[[ -z $SOURCE_NOTE ]] || TREE="$TREE; $SOURCE_NOTE"
NGINX_VERSION=$( (nginx -v 2>&1 || true) | sed 's/^nginx version: //')
WRK_VERSION=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')

REPORT=$(cat <<EOF
### Run of $DATE

- machine: $CPUS CPUs, $MODEL, Linux $(uname -r)
- commit: $COMMIT ($TREE), build: $BUILD_DIR (Release)
- peers: $NGINX_VERSION, wrk $WRK_VERSION; $ROUNDS rounds × ${DURATION} s per run, ${WARMUP} s warm-up per scenario; $CONNECTIONS connections, pipelining depth $DEPTH in (d)
- isolation: server side on CPU 0, wrk on CPU 1; before each run waited up to ${QUIET_WAIT} s for CPUs 0-1 to be < ${QUIET_PERCENT}% busy with other work, disturbed runs (> 20% of a CPU) run again once, within a ${QUIET_BUDGET} s budget
- script: \`bench/run.sh $ARGS\`

$TABLE

$CACHE_NOTE
${ACCESS_NOTE:-}

<details><summary>exact commands</summary>

\`\`\`
# (a)
${COMMANDS[a]}
# (b)
${COMMANDS[b]}
# (c)
${COMMANDS[c]}
# (e)
${COMMANDS[e]}
# (f)
${COMMANDS[f]}
# (g), (h)
${COMMANDS[g]}
${COMMANDS[h]}
# (l)
${COMMANDS[l]:-(left out)}
# (m)
${COMMANDS[m]:-(left out)}
# wrk, per round in this order:
$(for s in "${SCENARIOS[@]}"; do wrk_command "$s" "$DURATION"; done)
\`\`\`

per-run records (bench/stats.py measure; \`bench/stats.py report FILE\` rebuilds the tables):
\`\`\`json
$(cut -c1-2000 "$RUNS" | python3 -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line); r.pop("command", None)
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}))')
\`\`\`

nginx.conf of (c):
\`\`\`nginx
$(cat "$WORK/c/nginx.conf")
\`\`\`
</details>
EOF
)

echo "$REPORT"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$REPORT" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
