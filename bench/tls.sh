#!/usr/bin/env bash
# bench/tls.sh: httpapid vs nginx over TLS on loopback (issue 12, "Benchmark").
#
# One ECDSA P-256 certificate, made with openssl for the run, serves every scenario; both
# servers use the same TLS profile: TLS 1.2 + 1.3, ECDHE AEAD suites (src/tls/server_contexts.cpp),
# groups X25519:P-256:P-384, HTTP/1.1, no session resumption (httpcfg sslcert --disablesessionid;
# nginx ssl_session_cache off + ssl_session_tickets off), nginx with 1 worker, access_log off.
#
#   keep-alive HTTPS, "Hello, World!" (wrk -t1 -cN):
#   (a)  httpapid --io-threads 1 -> httpapi-hello on https://+:PORT/
#   (b)  nginx TLS `return 200 "Hello, World!"`
#   (c)  nginx TLS reverse proxy -> bench/upstream_hello.c on a Unix socket (upstream keepalive)
#   a new TLS connection per request (wrk sends `Connection: close` (bench/close.lua), the
#   server closes, wrk reconnects; with resumption off on the servers every handshake is a full one):
#   (na) httpapid (the binding of (a)) -> httpapi-hello          (nb) nginx of (b)
#   a 1 MiB file (random bytes) over TLS, keep-alive:
#   (fa) httpapid -> httpapi-files --root ROOT (its defaults)     (fb) nginx `root ROOT`
# This machine may have no kTLS (`tls` module): then both servers encrypt in user space, and
# nginx's `sendfile on` does nothing over TLS. The report says which.
#
# The server side runs on CPU 0, wrk (-t1) and this script on CPU 1. Every round runs
# a b c na nb fa fb back to back. Reported per scenario: median (min-max) over rounds of req/s
# (for na/nb: handshakes/s), p99, server CPU µs per request (utime+stime of the server side
# over requests), CPU use, "other load" (CPU time on CPUs 0-1 used by other work); ratios
# (a)/(c), (a)/(b), (na)/(nb), (fa)/(fb) per round, against the targets of issue 12.
# Before measuring it checks each server's answer (body, TLS version, that a reconnect with
# the session is NOT resumed, the file's SHA-256).
#
# Usage: bench/tls.sh [--record] [--duration SECONDS] [--rounds N] [--connections N]
#                     [--file-connections N] [--no-build] [--keep]
#   --duration  seconds per wrk run (default 10); --rounds (default 3)
#   --connections  wrk connections for a/b/c/na/nb (default 50); --file-connections for
#                  fa/fb (default 50, as bench/files.sh)
#   --record    append the table, machine, commit and commands to bench/RESULTS.md
# Environment: BUILD_DIR (default <repo>/build-release), WARMUP seconds per scenario
#   (default 2), QUIET_WAIT (20) / QUIET_PERCENT (10) / QUIET_BUDGET (300): as bench/run.sh,
#   wait for CPUs 0-1 to be quiet before each run and run a disturbed run once more.
set -euo pipefail

ARGS="$*"
DURATION=10
ROUNDS=3
CONNECTIONS=50
FILE_CONNECTIONS=50
UPSTREAM_KEEPALIVE=64
RECORD=0
BUILD=1
KEEP=0
WARMUP=${WARMUP:-2}
QUIET_WAIT=${QUIET_WAIT:-20}
QUIET_PERCENT=${QUIET_PERCENT:-10}
QUIET_BUDGET=${QUIET_BUDGET:-300}
NAME=tls
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --file-connections) FILE_CONNECTIONS=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done

HELLO=$BUILD_DIR/examples/httpapi-hello
FILES=$BUILD_DIR/examples/httpapi-files
HTTPCFG=$BUILD_DIR/tools/httpcfg/httpcfg
STATS="python3 $BENCH/stats.py"
SERVER_CPU=0
CLIENT_CPU=1
for tool in wrk nginx curl openssl taskset sha256sum cc python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $(nproc --all) -ge 2 ]] || die "needs 2 CPUs (server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
MACHINE=$(machine_line)  # before this script pins itself to one CPU
taskset -pc "$CLIENT_CPU" $$ >/dev/null
SRV=(taskset -c "$SERVER_CPU")

release_build "$BUILD" httpapid httpapi-hello httpapi-files httpcfg
for binary in "$HTTPAPID" "$HELLO" "$FILES" "$HTTPCFG"; do
  [[ -x $binary ]] || die "$binary is missing (build it in $BUILD_DIR)"
done
[[ $(build_type) == Release ]] || die "$BUILD_DIR is not a Release build"

make_work
chmod 711 "$WORK"  # nginx's worker runs as "nobody" when started by root
declare -A URL PIDS COMMANDS

# ---- the certificate and the file ---------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl req failed"
chmod 644 "$WORK/cert.pem" "$WORK/key.pem"  # a throw-away key, read by nginx's master (root)
ROOT_DIR=$WORK/www
mkdir -p "$ROOT_DIR"
head -c 1048576 /dev/urandom >"$ROOT_DIR/1MiB.bin"
chmod 755 "$ROOT_DIR"; chmod 644 "$ROOT_DIR/1MiB.bin"
FILE_SHA=$(sha256sum <"$ROOT_DIR/1MiB.bin" | cut -d' ' -f1)

# ---- httpapid: (a)/(na) httpapi-hello, (fa) httpapi-files ---------------------------------
new_port; PORT_A=$PORT
new_port; PORT_F=$PORT
export HTTPAPI_CONTROL=$WORK/state/control.sock
"${SRV[@]}" "$HTTPAPID" --state-dir "$WORK/state" --io-threads 1 >"$WORK/httpapid.log" 2>&1 &
HTTPAPID_PID=$!
STARTED+=("$HTTPAPID_PID")
wait_for 10 "httpapid's control socket" test -S "$HTTPAPI_CONTROL"
HTTPAPID_CMD="${SRV[*]} $HTTPAPID --state-dir $WORK/state --io-threads 1"
for port in "$PORT_A" "$PORT_F"; do
  "$HTTPCFG" --state-dir "$WORK/state" sslcert add --ipport "0.0.0.0:$port" \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" --disablehttp2 --disablesessionid >&2 ||
    die "httpcfg sslcert add for port $port failed"
done
start_app hello "$HELLO" "https://+:$PORT_A/"
PIDS[a]="$HTTPAPID_PID,$APP_PID"
start_app files "$FILES" --url "https://+:$PORT_F/" --root "$ROOT_DIR"
PIDS[fa]="$HTTPAPID_PID,$APP_PID"
PIDS[na]=${PIDS[a]}
URL[a]="https://127.0.0.1:$PORT_A/"; URL[na]=${URL[a]}
URL[fa]="https://127.0.0.1:$PORT_F/1MiB.bin"
COMMANDS[httpapid]="$HTTPAPID_CMD
httpcfg --state-dir $WORK/state sslcert add --ipport 0.0.0.0:$PORT_A --cert cert.pem --key key.pem --disablehttp2 --disablesessionid
httpcfg --state-dir $WORK/state sslcert add --ipport 0.0.0.0:$PORT_F --cert cert.pem --key key.pem --disablehttp2 --disablesessionid
${SRV[*]} $HELLO https://+:$PORT_A/
${SRV[*]} $FILES --url https://+:$PORT_F/ --root $ROOT_DIR"

# ---- nginx: (b)/(nb) return 200, (c) proxy, (fb) files ----------------------------------
# The profile of src/tls/server_contexts.cpp; TLS 1.3 suites are OpenSSL's defaults on both.
NGINX_TLS="        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_session_cache off;
        ssl_session_tickets off;"
write_nginx_conf() {  # write_nginx_conf NAME PORT SERVER_BLOCK_BODY [HTTP_EXTRA]
  local dir=$WORK/$1 port=$2 body=$3 extra=${4:-}
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# generated by bench/tls.sh
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
    sendfile on;
    tcp_nopush on;
    open_file_cache off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
$extra
    server {
        listen 127.0.0.1:$port ssl;
$NGINX_TLS
$body
    }
}
EOF
}

new_port; PORT_B=$PORT
write_nginx_conf b "$PORT_B" '        location / {
            default_type text/plain;
            return 200 "Hello, World!";
        }'
start_nginx b "https://127.0.0.1:$PORT_B/"
PIDS[b]=$NGINX_PIDS; PIDS[nb]=$NGINX_PIDS
URL[b]="https://127.0.0.1:$PORT_B/"; URL[nb]=${URL[b]}

new_port; PORT_C=$PORT
mkdir -p "$WORK/c"
cc -O2 -Wall -o "$WORK/c/upstream_hello" "$BENCH/upstream_hello.c" || die "cc upstream_hello.c failed"
"${SRV[@]}" "$WORK/c/upstream_hello" "$WORK/c/hello.sock" >"$WORK/c/upstream.log" 2>&1 &
UPSTREAM_PID=$!
STARTED+=("$UPSTREAM_PID")
wait_for 10 "upstream_hello" grep -q '^ready$' "$WORK/c/upstream.log"
chmod 711 "$WORK/c"; chmod 666 "$WORK/c/hello.sock"
write_nginx_conf c "$PORT_C" '        location / {
            proxy_pass http://hello;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }' "    upstream hello {
        server unix:$WORK/c/hello.sock;
        keepalive $UPSTREAM_KEEPALIVE;
    }"
start_nginx c "https://127.0.0.1:$PORT_C/"
PIDS[c]="$NGINX_PIDS,$UPSTREAM_PID"
URL[c]="https://127.0.0.1:$PORT_C/"
COMMANDS[c]="cc -O2 -o $WORK/c/upstream_hello bench/upstream_hello.c
${SRV[*]} $WORK/c/upstream_hello $WORK/c/hello.sock
${COMMANDS[c]}"

new_port; PORT_FB=$PORT
write_nginx_conf fb "$PORT_FB" "        root $ROOT_DIR;"
start_nginx fb "https://127.0.0.1:$PORT_FB/1MiB.bin"
PIDS[fb]=$NGINX_PIDS
URL[fb]="https://127.0.0.1:$PORT_FB/1MiB.bin"

# ---- sanity checks ------------------------------------------------------------------------
for s in a b c; do
  got=$(curl -ksS --max-time 5 -w ' %{http_code} %{http_version}' "${URL[$s]}") ||
    die "($s) curl ${URL[$s]} failed"
  [[ $got == "Hello, World! 200 1.1" ]] || die "($s) ${URL[$s]} answered '$got', not 'Hello, World!' 200 over HTTP/1.1"
done
for s in fa fb; do
  got=$(curl -kfsS --max-time 10 "${URL[$s]}" | sha256sum | cut -d' ' -f1) || die "($s) GET ${URL[$s]} failed"
  [[ $got == "$FILE_SHA" ]] || die "($s) ${URL[$s]} sent the wrong bytes"
done
# tls_facts PORT: "<protocol> <cipher> <group>, reconnects: N new / N reused" from openssl
# s_client -reconnect (the first connection and 5 reconnects offering its session).
tls_facts() {
  local out
  out=$(openssl s_client -connect "127.0.0.1:$1" -servername localhost -reconnect \
          -CAfile "$WORK/cert.pem" </dev/null 2>&1) || true
  local proto group new reused verify
  proto=$(sed -n 's/^New, \(TLSv[0-9.]*\), Cipher is \(.*\)$/\1 \2/p' <<<"$out" | head -1)
  group=$(sed -n 's/^Server Temp Key: //p' <<<"$out" | head -1)
  verify=$(sed -n 's/^Verify return code: //p' <<<"$out" | head -1)
  new=$(grep -c '^New, ' <<<"$out" || true)
  reused=$(grep -c '^Reused, ' <<<"$out" || true)
  echo "$proto, key exchange ${group:-?}, verify: ${verify:-?}; 6 connections offering the first one's session: $new full handshakes, $reused resumed"
}
TLS_FACTS=""
for s in a b c fa fb; do
  port=${URL[$s]#https://127.0.0.1:}; port=${port%%/*}
  facts=$(tls_facts "$port")
  log "($s) ${URL[$s]}: $facts"
  [[ $facts == *" 6 full handshakes, 0 resumed" ]] || die "($s) is not doing full handshakes only: $facts"
  TLS_FACTS+="- ($s) port $port: $facts"$'\n'
done
if [[ -d /sys/module/tls ]]; then
  KTLS="the kernel's tls module is loaded (kTLS available)"
else
  KTLS="no kTLS on this machine (the tls module is not loaded): both servers encrypt in user space; nginx's sendfile does not apply over TLS"
fi
log "$KTLS"
log "all answers checked; server pids: a ${PIDS[a]}, b ${PIDS[b]}, c ${PIDS[c]}, fa ${PIDS[fa]}, fb ${PIDS[fb]}"

# ---- measurement --------------------------------------------------------------------------
RUNS=$WORK/runs.jsonl
: >"$RUNS"
wrk_command() {  # wrk_command SCENARIO SECONDS -> the command line
  local s=$1 connections=$CONNECTIONS extra=""
  [[ $s != f* ]] || connections=$FILE_CONNECTIONS
  [[ $s != n* ]] || extra="-s $BENCH/close.lua "
  echo "taskset -c $CLIENT_CPU wrk -t1 -c$connections --latency --timeout 10s -d${2}s $extra${URL[$s]}"
}
SCENARIOS=(a b c na nb fa fb)
measure_rounds wrk_command "${SCENARIOS[@]}"
error_log_note "$WORK/state"

# ---- report -------------------------------------------------------------------------------
TABLE=$(C_KEEPALIVE=$UPSTREAM_KEEPALIVE $STATS tls "$RUNS")
SECTION="### TLS run of $(date -u '+%Y-%m-%d %H:%M UTC')

- machine: $MACHINE; $KTLS
- commit: $(commit_line)
- peers: $( (nginx -v 2>&1 || true) | sed 's/^nginx version: //'), $(openssl version), wrk $( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}') (-t1); $ROUNDS rounds × ${DURATION} s per run, ${WARMUP} s warm-up per scenario; $CONNECTIONS connections ($FILE_CONNECTIONS for the 1 MiB file)
- TLS: one ECDSA P-256 certificate (openssl req, made for the run) for every server; TLS 1.2+1.3, ECDHE AEAD suites, X25519:P-256:P-384, HTTP/1.1; resumption off on both (httpcfg \`--disablesessionid\`, nginx \`ssl_session_cache off; ssl_session_tickets off\`). Checked before measuring with \`openssl s_client -reconnect\`:
$TLS_FACTS- isolation: server side on CPU 0, wrk on CPU 1; before each run waited up to ${QUIET_WAIT} s for CPUs 0-1 to be < ${QUIET_PERCENT}% busy with other work, disturbed runs (> 20% of a CPU) run again once, within a ${QUIET_BUDGET} s budget
- $ERROR_NOTE
- script: \`bench/tls.sh $ARGS\`

$TABLE

<details><summary>exact commands</summary>

\`\`\`
# httpapid (a, na, fa)
${COMMANDS[httpapid]}
# nginx (b, nb)
${COMMANDS[b]}
# nginx (c)
${COMMANDS[c]}
# nginx (fb)
${COMMANDS[fb]}
# wrk, per round in this order:
$(for s in "${SCENARIOS[@]}"; do wrk_command "$s" "$DURATION"; done)
\`\`\`

nginx.conf of (b):
\`\`\`nginx
$(cat "$WORK/b/nginx.conf")
\`\`\`
</details>"
echo "$SECTION"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$SECTION" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
