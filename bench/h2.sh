#!/usr/bin/env bash
# bench/h2.sh: httpapid vs nginx over HTTP/2 on loopback (issue 13, "Benchmark").
#
# h2load -c 50 -m 10 (50 connections, 10 streams in flight on each), a 13-byte answer
# ("Hello, World!"), keep-alive; over TLS (ALPN h2), with the TLS profile of bench/tls.sh (one
# ECDSA P-256 certificate made for the run; TLS 1.2 + 1.3, ECDHE AEAD suites, X25519:P-256:
# P-384; no session resumption), and over h2c with prior knowledge. nginx with 1 worker,
# access_log off, keepalive_requests high (so no connection ends during a run).
#
#   (a)  httpapid --io-threads 1 -> httpapi-hello on https://+:PORT/
#   (b)  nginx h2 `return 200 "Hello, World!"`
#   (c)  nginx h2 front -> HTTP/1.1 reverse proxy -> bench/upstream_hello.c on a Unix socket
#        (upstream keepalive)
#   (e)  httpapid's response cache: httpapi-hello with a time to live, in the httpapid of (a)
#        on its own port; after the first request every answer is a cache hit
#   (ca) (cb) (cc) (ce): the same four over h2c (prior knowledge), on cleartext ports of the
#        same servers (another httpapi-hello for each httpapid URL)
# Targets (issue 13): (a)/(c) >= 2, (a)/(b) >= 0.75, (e)/(b) >= 1.0; the h2c ratios are shown
# against the same marks, for information.
#
# The server side runs on CPU 0, h2load (-t1) and this script on CPU 1. Every round runs all
# scenarios back to back. Reported per scenario: median (min-max) over rounds of req/s,
# server CPU µs per request, CPU use, other load; the ratios per round (bench/stats.py h2).
# h2load prints no latency percentiles, so there is no p99 column. Before measuring it checks
# every server's answer (body, status, that the protocol is HTTP/2).
#
# Usage: bench/h2.sh [--record] [--duration SECONDS] [--rounds N] [--connections N]
#                    [--streams N] [--no-build] [--keep]
#   --duration  seconds per h2load run (default 10); --rounds (default 3)
#   --connections  h2load -c (default 50); --streams  h2load -m (default 10)
#   --record    append the table, machine, commit and commands to bench/RESULTS.md
# Environment: BUILD_DIR (default <repo>/build-release), WARMUP seconds per scenario
#   (default 2), QUIET_WAIT (20) / QUIET_PERCENT (10) / QUIET_BUDGET (300): as bench/tls.sh.
set -euo pipefail

ARGS="$*"
DURATION=10
ROUNDS=3
CONNECTIONS=50
STREAMS=10
UPSTREAM_KEEPALIVE=64
RECORD=0
BUILD=1
KEEP=0
WARMUP=${WARMUP:-2}
QUIET_WAIT=${QUIET_WAIT:-20}
QUIET_PERCENT=${QUIET_PERCENT:-10}
QUIET_BUDGET=${QUIET_BUDGET:-300}
NAME=h2
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --streams) STREAMS=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done

HELLO=$BUILD_DIR/examples/httpapi-hello
HTTPCFG=$BUILD_DIR/tools/httpcfg/httpcfg
STATS="python3 $BENCH/stats.py"
SERVER_CPU=0
CLIENT_CPU=1
for tool in h2load nginx curl openssl taskset cc python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $(nproc --all) -ge 2 ]] || die "needs 2 CPUs (server on CPU $SERVER_CPU, h2load on CPU $CLIENT_CPU)"
MACHINE=$(machine_line)  # before this script pins itself to one CPU
taskset -pc "$CLIENT_CPU" $$ >/dev/null
SRV=(taskset -c "$SERVER_CPU")

release_build "$BUILD" httpapid httpapi-hello httpcfg
for binary in "$HTTPAPID" "$HELLO" "$HTTPCFG"; do
  [[ -x $binary ]] || die "$binary is missing (build it in $BUILD_DIR)"
done
[[ $(build_type) == Release ]] || die "$BUILD_DIR is not a Release build"

make_work
chmod 711 "$WORK"  # nginx's worker runs as "nobody" when started by root
declare -A URL PIDS COMMANDS
RUNS=$WORK/runs.jsonl

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl req failed"
chmod 644 "$WORK/cert.pem" "$WORK/key.pem"  # a throw-away key, read by nginx's master (root)

# ---- httpapid: (a)/(ca) httpapi-hello, (e)/(ce) httpapi-hello with a time to live ----------
new_port; PORT_A=$PORT
new_port; PORT_E=$PORT
new_port; PORT_CA=$PORT
new_port; PORT_CE=$PORT
export HTTPAPI_CONTROL=$WORK/state/control.sock
"${SRV[@]}" "$HTTPAPID" --state-dir "$WORK/state" --io-threads 1 >"$WORK/httpapid.log" 2>&1 &
HTTPAPID_PID=$!
STARTED+=("$HTTPAPID_PID")
wait_for 10 "httpapid's control socket" test -S "$HTTPAPI_CONTROL"
COMMANDS[httpapid]="${SRV[*]} $HTTPAPID --state-dir $WORK/state --io-threads 1"
for port in "$PORT_A" "$PORT_E"; do
  "$HTTPCFG" --state-dir "$WORK/state" sslcert add --ipport "0.0.0.0:$port" \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" --disablesessionid >&2 ||
    die "httpcfg sslcert add for port $port failed"
  COMMANDS[httpapid]+="
httpcfg --state-dir $WORK/state sslcert add --ipport 0.0.0.0:$port --cert cert.pem --key key.pem --disablesessionid"
done
hello() {  # hello SCENARIO URL [TTL]: an httpapi-hello serving SCENARIO
  start_app "hello-$1" "$HELLO" "$2" ${3:+"$3"}
  PIDS[$1]="$HTTPAPID_PID,$APP_PID"
  COMMANDS[httpapid]+="
${SRV[*]} $HELLO $2${3:+ $3}"
}
hello a "https://+:$PORT_A/"
hello e "https://+:$PORT_E/" 3600
hello ca "http://+:$PORT_CA/"
hello ce "http://+:$PORT_CE/" 3600
URL[a]="https://127.0.0.1:$PORT_A/"
URL[e]="https://127.0.0.1:$PORT_E/"
URL[ca]="http://127.0.0.1:$PORT_CA/"
URL[ce]="http://127.0.0.1:$PORT_CE/"

# ---- nginx: (b)/(cb) return 200, (c)/(cc) proxy -------------------------------------------
# One server block per nginx listens on a TLS port with h2 and a cleartext port with h2c
# (nginx 1.22: `listen ... http2`; without ssl that is prior knowledge).
NGINX_TLS="        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_session_cache off;
        ssl_session_tickets off;"
write_nginx_conf() {  # write_nginx_conf NAME TLS_PORT H2C_PORT SERVER_BLOCK_BODY [HTTP_EXTRA]
  local dir=$WORK/$1 tls_port=$2 h2c_port=$3 body=$4 extra=${5:-}
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# generated by bench/h2.sh
worker_processes 1;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    default_type application/octet-stream;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
$extra
    server {
        listen 127.0.0.1:$tls_port ssl http2;
        listen 127.0.0.1:$h2c_port http2;
$NGINX_TLS
$body
    }
}
EOF
}

new_port; PORT_B=$PORT
new_port; PORT_CB=$PORT
write_nginx_conf b "$PORT_B" "$PORT_CB" '        location / {
            default_type text/plain;
            return 200 "Hello, World!";
        }'
start_nginx b "https://127.0.0.1:$PORT_B/"
PIDS[b]=$NGINX_PIDS; PIDS[cb]=$NGINX_PIDS
URL[b]="https://127.0.0.1:$PORT_B/"
URL[cb]="http://127.0.0.1:$PORT_CB/"

new_port; PORT_C=$PORT
new_port; PORT_CC=$PORT
mkdir -p "$WORK/c"
cc -O2 -Wall -o "$WORK/c/upstream_hello" "$BENCH/upstream_hello.c" || die "cc upstream_hello.c failed"
"${SRV[@]}" "$WORK/c/upstream_hello" "$WORK/c/hello.sock" >"$WORK/c/upstream.log" 2>&1 &
UPSTREAM_PID=$!
STARTED+=("$UPSTREAM_PID")
wait_for 10 "upstream_hello" grep -q '^ready$' "$WORK/c/upstream.log"
chmod 711 "$WORK/c"; chmod 666 "$WORK/c/hello.sock"
write_nginx_conf c "$PORT_C" "$PORT_CC" '        location / {
            proxy_pass http://hello;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }' "    upstream hello {
        server unix:$WORK/c/hello.sock;
        keepalive $UPSTREAM_KEEPALIVE;
    }"
start_nginx c "https://127.0.0.1:$PORT_C/"
PIDS[c]="$NGINX_PIDS,$UPSTREAM_PID"; PIDS[cc]=${PIDS[c]}
URL[c]="https://127.0.0.1:$PORT_C/"
URL[cc]="http://127.0.0.1:$PORT_CC/"
COMMANDS[c]="cc -O2 -o $WORK/c/upstream_hello bench/upstream_hello.c
${SRV[*]} $WORK/c/upstream_hello $WORK/c/hello.sock
${COMMANDS[c]}"

# ---- sanity checks ------------------------------------------------------------------------
SCENARIOS=(a b c e ca cb cc ce)
for s in "${SCENARIOS[@]}"; do
  how=(--http2); [[ ${URL[$s]} == https:* ]] || how=(--http2-prior-knowledge)
  got=$(curl -ksS --max-time 5 "${how[@]}" -w ' %{http_code} %{http_version}' "${URL[$s]}") ||
    die "($s) curl ${URL[$s]} failed"
  [[ $got == "Hello, World! 200 2" ]] || die "($s) ${URL[$s]} answered '$got', not 'Hello, World!' 200 over HTTP/2"
done
log "all answers checked (HTTP/2, 'Hello, World!'); server pids: a ${PIDS[a]}, b ${PIDS[b]}, c ${PIDS[c]}"

# ---- measurement --------------------------------------------------------------------------
h2load_command() {  # h2load_command SCENARIO SECONDS -> the command line
  echo "taskset -c $CLIENT_CPU h2load -t1 -c$CONNECTIONS -m$STREAMS -D$2 ${URL[$1]}"
}
measure_rounds h2load_command "${SCENARIOS[@]}"
error_log_note "$WORK/state"
# (e) and (ce) are only cache benchmarks if the hits did not reach the application.
cached_hits=$("$HTTPCFG" --state-dir "$WORK/state" show cachestate --json 2>/dev/null |
  python3 -c 'import json,sys; print(sum(e["hits"] for e in json.load(sys.stdin)["entries"]))' 2>/dev/null || echo "?")
CACHE_NOTE="(e), (ce): the cache entries had $cached_hits hits at the end of the runs"
log "$CACHE_NOTE"

# ---- report -------------------------------------------------------------------------------
TABLE=$(C_KEEPALIVE=$UPSTREAM_KEEPALIVE $STATS h2 "$RUNS")
SECTION="### HTTP/2 run of $(date -u '+%Y-%m-%d %H:%M UTC')

- machine: $MACHINE
- commit: $(commit_line)
- peers: $( (nginx -v 2>&1 || true) | sed 's/^nginx version: //'), $(openssl version), $(h2load --version | head -1) (-t1 -c$CONNECTIONS -m$STREAMS); $ROUNDS rounds × ${DURATION} s per run, ${WARMUP} s warm-up per scenario
- TLS: one ECDSA P-256 certificate for every server, TLS 1.2+1.3, ALPN h2, resumption off on both; h2c: prior knowledge on cleartext ports of the same servers
- isolation: server side on CPU 0, h2load on CPU 1; before each run waited up to ${QUIET_WAIT} s for CPUs 0-1 to be < ${QUIET_PERCENT}% busy with other work, disturbed runs (> 20% of a CPU) run again once, within a ${QUIET_BUDGET} s budget
- $ERROR_NOTE; $CACHE_NOTE
- script: \`bench/h2.sh $ARGS\`

$TABLE

<details><summary>exact commands</summary>

\`\`\`
# httpapid (a, e, ca, ce)
${COMMANDS[httpapid]}
# nginx (b, cb)
${COMMANDS[b]}
# nginx (c, cc)
${COMMANDS[c]}
# h2load, per round in this order:
$(for s in "${SCENARIOS[@]}"; do h2load_command "$s" "$DURATION"; done)
\`\`\`

nginx.conf of (c):
\`\`\`nginx
$(cat "$WORK/c/nginx.conf")
\`\`\`
</details>"
echo "$SECTION"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$SECTION" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
