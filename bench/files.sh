#!/usr/bin/env bash
# bench/files.sh: static files, httpapid + httpapi-files against nginx, on loopback.
#
# One root holds files of 13 B, 64 KiB, 1 MiB and 100 MiB (random bytes). Serving it:
#   nginx     1 worker, sendfile on, tcp_nopush on, access_log off, open_file_cache off
#             (every request opens and stats the file, as httpapi-files does; --open-file-cache
#             turns it on: max=1000 inactive=60s)
#   httpapid  --io-threads 1, httpapi-files --url http://+:PORT/ --root ROOT with its defaults
#             (2 receiving threads; the response cache with inotify invalidation, so the 13 B
#             and 64 KiB files are answered from httpapid's cache after the first request)
#   httpapid-nocache   the same httpapid, a second httpapi-files with --no-cache on its own
#             port (every request reaches the application; 1 MiB and 100 MiB always do)
# The server side runs on CPU 0, wrk (-t1) and this script on CPU 1. Each round runs every
# size against every server back to back, the server order rotating between rounds.
# Per size and server: req/s and MB/s (wrk's Transfer/sec: bodies and headers), median
# (min-max) over rounds; and the ratio httpapid / nginx taken per round. The bodies are
# checked first (SHA-256 of what curl gets from each server, against the files).
#
# Usage: bench/files.sh [--rounds N] [--duration SECONDS] [--big-duration SECONDS]
#                       [--connections N] [--big-connections N] [--servers "nginx httpapid"]
#                       [--open-file-cache] [--record] [--no-build] [--keep]
#   defaults: 5 rounds; 8 s runs with 50 connections, 100 MiB: 15 s with 4 connections;
#   all three servers
#   --record   append the results to bench/RESULTS.md
# Environment: BUILD_DIR (default <repo>/build-release), WARMUP seconds per run (default 2),
#   QUIET_WAIT (default 10) / QUIET_BUDGET (default 200) seconds: before each run, wait up to
#   QUIET_WAIT for CPUs 0-1 to be < 10% busy with other work, at most QUIET_BUDGET in all.
# A fuzzer of the project (fuzz_request_head) running meanwhile is stopped with SIGSTOP for
# the benchmark and continued (SIGCONT) when this script exits, however it exits.
set -euo pipefail

ARGS="$*"
ROUNDS=5
DURATION=8
BIG_DURATION=15
CONNECTIONS=50
BIG_CONNECTIONS=4
SERVERS="nginx httpapid httpapid-nocache"
OPEN_FILE_CACHE=off
RECORD=0
BUILD=1
KEEP=0
WARMUP=${WARMUP:-2}
QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_BUDGET=${QUIET_BUDGET:-200}
NAME=files
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --big-duration) BIG_DURATION=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --big-connections) BIG_CONNECTIONS=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --open-file-cache) OPEN_FILE_CACHE="max=1000 inactive=60s" ;;
    *) common_option "$1" ;;
  esac
  shift
done

FILES=$BUILD_DIR/examples/httpapi-files
HTTPCFG=$BUILD_DIR/tools/httpcfg/httpcfg
STATS="python3 $BENCH/stats.py"
SERVER_CPU=0
CLIENT_CPU=1
for tool in wrk nginx curl taskset sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $(nproc --all) -ge 2 ]] || die "needs 2 CPUs (server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
MACHINE=$(machine_line)  # before this script pins itself to one CPU (nproc counts those)
taskset -pc "$CLIENT_CPU" $$ >/dev/null
SRV=(taskset -c "$SERVER_CPU")

uses() { [[ " $SERVERS " == *" $1 "* ]]; }
HTTPAPI=0
if uses httpapid || uses httpapid-nocache; then HTTPAPI=1; fi
if [[ $HTTPAPI == 1 ]]; then
  release_build "$BUILD" httpapid httpapi-files httpcfg
  [[ -x $FILES ]] || die "$FILES is missing (build httpapi-files)"
  [[ $(build_type) == Release ]] || die "$BUILD_DIR is not a Release build"
fi

make_work
STOPPED_FUZZERS=()
resume_fuzzers() {
  local pid
  for pid in "${STOPPED_FUZZERS[@]}"; do
    kill -CONT "$pid" 2>/dev/null && log "continued fuzzer pid $pid"
  done
}
trap 'resume_fuzzers; cleanup' EXIT
for pid in $(pgrep -f fuzz_request_head || true); do
  # The fuzzer itself, not the shell scripts that run it (their names match too).
  [[ $(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)") == fuzz_request_head ]] || continue
  if kill -STOP "$pid" 2>/dev/null; then
    STOPPED_FUZZERS+=("$pid")
    log "stopped fuzzer pid $pid (SIGSTOP) for the benchmark"
  fi
done

# ---- the root --------------------------------------------------------------------------------
SIZES=(13 65536 1048576 104857600)
declare -A LABEL=([13]=13B [65536]=64KiB [1048576]=1MiB [104857600]=100MiB)
ROOT_DIR=$WORK/www
mkdir -p "$ROOT_DIR"
for size in "${SIZES[@]}"; do
  head -c "$size" /dev/urandom >"$ROOT_DIR/${LABEL[$size]}.bin"
done
# nginx's worker runs as "nobody" when started by root.
chmod 711 "$WORK"
chmod 755 "$ROOT_DIR"
chmod 644 "$ROOT_DIR"/*

# ---- servers ----------------------------------------------------------------------------------
PORT_NGINX=$(free_port)
PORT_FILES=$(free_port)
PORT_NOCACHE=$(free_port)
while [[ $PORT_FILES == "$PORT_NGINX" ]]; do PORT_FILES=$(free_port); done
while [[ $PORT_NOCACHE == "$PORT_NGINX" || $PORT_NOCACHE == "$PORT_FILES" ]]; do
  PORT_NOCACHE=$(free_port)
done
declare -A PORT=([nginx]=$PORT_NGINX [httpapid]=$PORT_FILES [httpapid-nocache]=$PORT_NOCACHE)
declare -A PIDS

mkdir -p "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<EOF
# generated by bench/files.sh
worker_processes 1;
pid $WORK/nginx/nginx.pid;
lock_file $WORK/nginx/nginx.lock;
error_log $WORK/nginx/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache $OPEN_FILE_CACHE;
    default_type application/octet-stream;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT_NGINX;
        root $ROOT_DIR;
    }
}
EOF
NGINX_CMD=(nginx -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
           -g 'daemon off;')
"${NGINX_CMD[@]}" -t -q || die "the nginx configuration is invalid"
"${SRV[@]}" "${NGINX_CMD[@]}" >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
STARTED+=("$NGINX_PID")
wait_for 10 "nginx" curl -fsS -o /dev/null "http://127.0.0.1:$PORT_NGINX/13B.bin"
read -r -a workers <"/proc/$NGINX_PID/task/$NGINX_PID/children" || true  # no final newline
[[ ${#workers[@]} -gt 0 ]] || die "nginx has no worker process"
PIDS[nginx]=$(IFS=,; echo "$NGINX_PID,${workers[*]}")

if [[ $HTTPAPI == 1 ]]; then
  export HTTPAPI_CONTROL=$WORK/state/control.sock
  "${SRV[@]}" "$HTTPAPID" --state-dir "$WORK/state" --io-threads 1 >"$WORK/httpapid.log" 2>&1 &
  HTTPAPID_PID=$!
  STARTED+=("$HTTPAPID_PID")
  wait_for 10 "httpapid's control socket" test -S "$HTTPAPI_CONTROL"
fi

start_files() {  # start_files NAME PORT ARGS... -> FILES_PID
  local name=$1 port=$2; shift 2
  "${SRV[@]}" "$FILES" --url "http://+:$port/" --root "$ROOT_DIR" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  FILES_PID=$!
  STARTED+=("$FILES_PID")
  wait_for 10 "$name to be ready (see $WORK/$name.err)" grep -q '^ready$' "$WORK/$name.out"
}
if uses httpapid; then
  start_files files "$PORT_FILES"
  PIDS[httpapid]="$HTTPAPID_PID,$FILES_PID"
fi
if uses httpapid-nocache; then
  start_files files-nocache "$PORT_NOCACHE" --no-cache
  PIDS[httpapid-nocache]="$HTTPAPID_PID,$FILES_PID"
fi

# ---- the bodies are right ----------------------------------------------------------------------
for size in "${SIZES[@]}"; do
  file=${LABEL[$size]}.bin
  expected=$(sha256sum <"$ROOT_DIR/$file" | cut -d' ' -f1)
  for server in $SERVERS; do
    got=$(curl -fsS --noproxy '*' "http://127.0.0.1:${PORT[$server]}/$file" | sha256sum | cut -d' ' -f1) ||
      die "$server: GET /$file failed"
    [[ $got == "$expected" ]] || die "$server: /$file has the wrong bytes"
  done
done
log "bodies checked: every server sends every file byte for byte"

# ---- measurement --------------------------------------------------------------------------------
RUNS=$WORK/runs.jsonl
: >"$RUNS"
wrk_command() {  # wrk_command SERVER SIZE SECONDS
  local connections=$CONNECTIONS
  [[ $2 -lt 104857600 ]] || connections=$BIG_CONNECTIONS
  echo "taskset -c $CLIENT_CPU wrk -t1 -c$connections --latency --timeout 10s -d${3}s" \
       "http://127.0.0.1:${PORT[$1]}/${LABEL[$2]}.bin"
}
read -r -a SERVER_LIST <<<"$SERVERS"
total=0
for size in "${SIZES[@]}"; do
  [[ $size -lt 104857600 ]] && total=$((total + DURATION)) || total=$((total + BIG_DURATION))
done
log "measuring: $ROUNDS rounds × ${#SERVER_LIST[@]} servers × 4 sizes (~$((ROUNDS * ${#SERVER_LIST[@]} * (total + 4 * WARMUP)))s)"
BUDGET_END=$((SECONDS + QUIET_BUDGET))
for round in $(seq "$ROUNDS"); do
  # Rotate the order so that no server always runs first (or right after another).
  shift_by=$(( (round - 1) % ${#SERVER_LIST[@]} ))
  order=("${SERVER_LIST[@]:shift_by}" "${SERVER_LIST[@]:0:shift_by}")
  for size in "${SIZES[@]}"; do
    seconds=$DURATION
    [[ $size -lt 104857600 ]] || seconds=$BIG_DURATION
    for server in "${order[@]}"; do
      for p in ${PIDS[$server]//,/ }; do
        kill -0 "$p" 2>/dev/null || die "$server process $p died before round $round"
      done
      if (( SECONDS < BUDGET_END )); then
        wait_s=$(( BUDGET_END - SECONDS < QUIET_WAIT ? BUDGET_END - SECONDS : QUIET_WAIT ))
        $STATS wait-quiet "$wait_s" 10 >/dev/null || log "other work keeps the CPUs busy; measuring anyway"
      fi
      # shellcheck disable=SC2091  # runs the command line wrk_command prints
      $(wrk_command "$server" "$size" "$WARMUP") >/dev/null
      echo "=== round $round, $server, ${LABEL[$size]}" >&2
      rc=0
      # shellcheck disable=SC2046  # the command is words
      $STATS measure --out "$WORK/run.json" --scenario "$server ${LABEL[$size]}" \
        --round "$round" --pids "${PIDS[$server]}" -- $(wrk_command "$server" "$size" "$seconds") >&2 || rc=$?
      [[ $rc == 0 || $rc == 3 ]] || die "stats.py measure failed ($rc)"
      cat "$WORK/run.json" >>"$RUNS"
    done
  done
done
for server in $SERVERS; do
  for p in ${PIDS[$server]//,/ }; do
    kill -0 "$p" 2>/dev/null || log "WARNING: $server process $p is gone after the runs"
  done
done
hits=
uses httpapid && hits=$("$HTTPCFG" --state-dir "$WORK/state" show cachestate --json |
  python3 -c 'import json, sys
print(", ".join("%s %d hits" % (e["url"].rsplit("/", 1)[1], e["hits"]) for e in json.load(sys.stdin)["entries"]))')
log "response cache at the end: ${hits:-empty}"

# ---- report --------------------------------------------------------------------------------------
TABLE=$($STATS files "$RUNS")
SECTION="### Static files run of $(date -u '+%Y-%m-%d %H:%M UTC')

- machine: $MACHINE
- commit: $(commit_line)
- peers: $( (nginx -v 2>&1 || true) | sed 's/^nginx version: //'), wrk $( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}'); nginx: 1 worker, sendfile on, tcp_nopush on, access_log off, open_file_cache $OPEN_FILE_CACHE
- httpapid --io-threads 1; httpapi-files defaults (2 threads, cache by inotify) and \`--no-cache\`; server side on CPU 0, wrk -t1 on CPU 1
- runs: $ROUNDS rounds, ${DURATION} s × $CONNECTIONS connections (100 MiB: ${BIG_DURATION} s × $BIG_CONNECTIONS), ${WARMUP} s warm-up before each run; server order rotated per round
- response cache at the end: ${hits:-empty}
- script: \`bench/files.sh $ARGS\`

$TABLE"
echo "$SECTION"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$SECTION" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
