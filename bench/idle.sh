#!/usr/bin/env bash
# bench/idle.sh: memory per idle keep-alive connection, httpapid against nginx, on loopback.
#
# Servers, started afresh for every round (so that memory freed in an earlier round and kept
# by malloc does not hide what the next round allocates):
#   httpapid  --io-threads 1, httpapi-hello on http://+:PORT/ (idle_connection_seconds set to
#             600 with httpcfg, so no connection times out while it is measured)
#   nginx     1 worker, return 200 "Hello, World!", keepalive_timeout 600s,
#             worker_connections and worker_rlimit_nofile N + N/8 + 1024 (at most ulimit -n)
# bench/idle_client.py opens N connections to one of them, sends one GET on each and reads the
# answer, so each is a keep-alive connection the server has served and now holds idle; after
# the measurement it checks that all N are still open. The server's memory is read before the
# connections and 3 seconds after the last one went idle (httpapid gives back an idle
# connection's buffers after a second): Rss, Pss and Private (Private_Clean + Private_Dirty)
# from /proc/PID/smaps_rollup, of httpapid alone (the application does not see connections)
# and of nginx's master and worker together; and, with gdb installed, the heap in use
# (malloc_stats) of httpapid and of nginx's worker, which leaves out memory freed but kept
# by malloc between live blocks. Per connection = the growth ÷ N.
# nginx allocates and initialises a slot (ngx_connection_t and two ngx_event_t) for each of
# its worker_connections at start, before any connection: that part is measured once, as the
# difference between an nginx started with those worker_connections and one with 1024,
# and reported separately ("nginx slots").
# Reported: bytes per idle connection, median (min–max) over rounds, for both servers; the
# ratio httpapid / nginx per round; httpapid's total memory with N connections and what
# 100,000 would take at the measured rate (the question: do they fit in 1 GiB?).
#
# Usage: bench/idle.sh [--connections N] [--rounds R] [--record] [--no-build] [--keep]
#   defaults: 10,000 connections, 3 rounds (~1 minute)
#   --record   append the results to bench/RESULTS.md
# Needs N + 100 descriptors in one process (the client's and the server's): the script raises
# its soft limit (ulimit -n) to the hard one and stops with a message if that is too small.
# Environment: BUILD_DIR (default <repo>/build-release).
set -euo pipefail

ARGS="$*"
CONNECTIONS=10000
ROUNDS=3
RECORD=0
BUILD=1
KEEP=0
NAME=idle
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) CONNECTIONS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "--connections takes a positive number"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a positive number"

HELLO=$BUILD_DIR/examples/httpapi-hello
HTTPCFG=$BUILD_DIR/tools/httpcfg/httpcfg
CLIENT=(python3 "$BENCH/idle_client.py")
for tool in nginx curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $((CONNECTIONS + 100)) ]]; then
  die "$CONNECTIONS connections need $((CONNECTIONS + 100)) descriptors per process; the hard" \
      "limit (ulimit -Hn) is $(ulimit -Hn) and raising it needs CAP_SYS_RESOURCE"
fi
# nginx's slots: N + N/8 + 1024, within the descriptor limit (it cannot raise the hard one
# either). nginx closes idle keep-alive connections while fewer than 1/16 of its slots are
# free (ngx_drain_connections), which would end the connections being measured.
WORKER_CONNECTIONS=$((CONNECTIONS + CONNECTIONS / 8 + 1024))
[[ $(ulimit -n) == unlimited || $WORKER_CONNECTIONS -le $(ulimit -n) ]] || WORKER_CONNECTIONS=$(ulimit -n)
if (( WORKER_CONNECTIONS - CONNECTIONS < WORKER_CONNECTIONS / 16 + 16 )); then
  die "nginx needs 1/16 of its worker_connections free: $CONNECTIONS connections need more" \
      "than the $WORKER_CONNECTIONS descriptors it may have (ulimit -Hn)"
fi
release_build "$BUILD" httpapid httpapi-hello httpcfg
[[ -x $HELLO ]] || die "$HELLO is missing (build httpapi-hello)"
[[ $(build_type) == Release ]] || die "$BUILD_DIR is not a Release build"
MACHINE=$(machine_line)
make_work

# memory PID...: "RSS PSS PRIVATE" in KiB, summed over the processes (smaps_rollup).
memory() {
  local pid
  for pid in "$@"; do cat "/proc/$pid/smaps_rollup"; done | awk '
    /^Rss:/ { rss += $2 } /^Pss:/ { pss += $2 } /^Private_(Clean|Dirty):/ { priv += $2 }
    END { print rss, pss, priv }'
}

# heap_in_use PID: bytes malloc holds for the process's use (malloc_stats' total "in use
# bytes", called through gdb, read from where the process's stderr goes); empty without gdb.
# Unlike RSS it leaves out memory that was freed but stays in the heap between live blocks.
heap_in_use() {
  local log size
  [[ $HEAP == 1 ]] || return 0
  log=$(readlink "/proc/$1/fd/2")
  [[ -f $log ]] || return 0
  size=$(stat -c %s "$log")
  gdb -p "$1" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || return 0
  tail -c +$((size + 1)) "$log" | awk '/^Total/ { total = 1 } total && /in use bytes/ { print $NF; exit }'
}
HEAP=0
command -v gdb >/dev/null && HEAP=1

# ---- servers ----------------------------------------------------------------------------------
start_httpapid() {  # -> SERVER_PIDS (httpapid), PORT, STOP_PIDS
  local dir=$WORK/httpapid-$1
  PORT=$(free_port)
  export HTTPAPI_CONTROL=$dir/state/control.sock
  "$HTTPAPID" --state-dir "$dir/state" --io-threads 1 >"$dir.log" 2>&1 &
  HTTPAPID_PID=$!
  STARTED+=("$HTTPAPID_PID")
  wait_for 10 "httpapid's control socket" test -S "$HTTPAPI_CONTROL"
  "$HTTPCFG" --state-dir "$dir/state" set setting --key idle_connection_seconds --value 600 \
    >/dev/null || die "httpcfg set setting idle_connection_seconds failed"
  "$HELLO" "http://+:$PORT/" >"$dir-hello.log" 2>&1 &
  HELLO_PID=$!
  STARTED+=("$HELLO_PID")
  wait_for 10 "httpapi-hello to register (see $dir-hello.log)" grep -q '^ready$' "$dir-hello.log"
  wait_for 10 "httpapid on port $PORT" curl -fsS -o /dev/null "http://127.0.0.1:$PORT/"
  SERVER_PIDS=("$HTTPAPID_PID")
  STOP_PIDS=("$HELLO_PID" "$HTTPAPID_PID")
}

write_nginx_conf() {  # write_nginx_conf DIR PORT WORKER_CONNECTIONS
  mkdir -p "$1/tmp"
  cat >"$1/nginx.conf" <<EOF
# generated by bench/idle.sh
worker_processes 1;
worker_rlimit_nofile $3;
pid $1/nginx.pid;
lock_file $1/nginx.lock;
error_log $1/error.log warn;
events {
    worker_connections $3;
}
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    server {
        listen 127.0.0.1:$2;
        location / {
            return 200 "Hello, World!";
        }
    }
}
EOF
}

start_nginx() {  # start_nginx NAME WORKER_CONNECTIONS -> SERVER_PIDS (master, worker), PORT
  local dir=$WORK/nginx-$1 workers
  PORT=$(free_port)
  write_nginx_conf "$dir" "$PORT" "$2"
  NGINX_CMD=(nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;')
  "${NGINX_CMD[@]}" -t -q || die "the nginx configuration is invalid"
  "${NGINX_CMD[@]}" >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  STARTED+=("$NGINX_PID")
  wait_for 10 "nginx on port $PORT" curl -fsS -o /dev/null "http://127.0.0.1:$PORT/"
  read -r -a workers <"/proc/$NGINX_PID/task/$NGINX_PID/children" || true  # no final newline
  [[ ${#workers[@]} == 1 ]] || die "nginx has ${#workers[@]} worker processes, expected 1"
  SERVER_PIDS=("$NGINX_PID" "${workers[0]}")
  STOP_PIDS=("$NGINX_PID")
}

stop_servers() {
  local pid
  for pid in "${STOP_PIDS[@]}"; do stop "$pid" TERM; done
}

# ---- measurement ------------------------------------------------------------------------------
RUNS=$WORK/runs.tsv
: >"$RUNS"
# measure_idle SERVER ROUND: N idle connections to PORT; appends a line to RUNS.
measure_idle() {
  local server=$1 round=$2 before after heap_before heap_after word count seconds alive
  sleep 0.5  # let the server settle after its start and first answer
  before=$(memory "${SERVER_PIDS[@]}")
  heap_before=$(heap_in_use "${SERVER_PIDS[-1]}")
  coproc CLIENT_PROC { "${CLIENT[@]}" 127.0.0.1 "$PORT" "$CONNECTIONS" 2>"$WORK/client.err"; }
  local client_pid=$CLIENT_PROC_PID out=${CLIENT_PROC[0]} in=${CLIENT_PROC[1]}
  STARTED+=("$client_pid")
  if ! read -r -t 300 word count seconds <&"$out" || [[ $word != idle ]]; then
    die "$server: the client did not get $CONNECTIONS idle connections: $(cat "$WORK/client.err")"
  fi
  sleep 3  # a connection gives back its buffers after a second idle, checked once a second
  after=$(memory "${SERVER_PIDS[@]}")
  heap_after=$(heap_in_use "${SERVER_PIDS[-1]}")
  echo go >&"$in"
  read -r -t 60 word alive <&"$out" || die "$server: no answer from the client"
  wait "$client_pid" || true
  forget "$client_pid"
  [[ $alive == "$CONNECTIONS" ]] ||
    die "$server: only $alive of $CONNECTIONS connections were still open after measuring"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$round" "$before" "$after" \
    "${heap_before:--}" "${heap_after:--}" "$seconds" | tr ' ' '\t' >>"$RUNS"
  log "round $round, $server: $count idle connections in ${seconds}s; KiB rss pss private" \
      "$before -> $after; heap in use ${heap_before:-?} -> ${heap_after:-?} bytes"
}

log "nginx's per-slot preallocation: worker_connections 1024 against $WORKER_CONNECTIONS"
start_nginx slots-small 1024
sleep 0.5
SLOTS_SMALL=$(memory "${SERVER_PIDS[@]}")
stop_servers
start_nginx slots-large "$WORKER_CONNECTIONS"
sleep 0.5
SLOTS_LARGE=$(memory "${SERVER_PIDS[@]}")
stop_servers

for round in $(seq "$ROUNDS"); do
  # Alternate which server goes first.
  if (( round % 2 )); then order=(httpapid nginx); else order=(nginx httpapid); fi
  for server in "${order[@]}"; do
    if [[ $server == httpapid ]]; then
      start_httpapid "$round"
    else
      start_nginx "$round" "$WORKER_CONNECTIONS"
    fi
    measure_idle "$server" "$round"
    stop_servers
  done
done

# ---- report --------------------------------------------------------------------------------------
TABLE=$(python3 - "$RUNS" "$CONNECTIONS" "$SLOTS_SMALL" "$SLOTS_LARGE" \
  $((WORKER_CONNECTIONS - 1024)) <<'EOF'
import statistics, sys

runs_file, n, added_slots = sys.argv[1], int(sys.argv[2]), int(sys.argv[5])
slots = [(int(b) - int(a)) * 1024 / added_slots
         for a, b in zip(sys.argv[3].split(), sys.argv[4].split())]
rows = {}
for line in open(runs_file):
    server, rnd, rss0, pss0, priv0, rss1, pss1, priv1, heap0, heap1, seconds = line.split("\t")
    per = [(int(b) - int(a)) * 1024 / n
           for a, b in ((rss0, rss1), (pss0, pss1), (priv0, priv1))]
    per.append((int(heap1) - int(heap0)) / n if heap0 != "-" and heap1 != "-" else None)
    rows.setdefault(server, {})[int(rnd)] = {
        "per": per, "after": [int(rss1), int(pss1), int(priv1)], "seconds": float(seconds)}

def spread(values, fmt="{:,.0f}"):
    if not values:
        return "–"
    return (fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–"
            + fmt.format(max(values)) + ")")

def column(server, i):
    return [r["per"][i] for r in rows[server].values() if r["per"][i] is not None]

def ratios(i, extra=0.0):
    return [rows["httpapid"][r]["per"][i] / (rows["nginx"][r]["per"][i] + extra)
            for r in rows["httpapid"] if r in rows["nginx"]
            and rows["httpapid"][r]["per"][i] is not None
            and rows["nginx"][r]["per"][i] is not None and rows["nginx"][r]["per"][i] + extra > 0]

kinds = ["RSS", "Pss", "Private", "heap in use"]
out = ["| bytes per idle connection | " + " | ".join(kinds) + " |",
       "|---|" + "---:|" * len(kinds)]
for server in ("httpapid", "nginx"):
    out.append("| " + server + " | " + " | ".join(spread(column(server, i))
                                                   for i in range(4)) + " |")
out.append("| nginx slots (allocated at start, per worker_connection) | "
           + " | ".join("{:,.0f}".format(v) for v in slots) + " | – |")
out.append("| ratio httpapid / nginx (per round) | "
           + " | ".join("**" + spread(ratios(i), "{:.2f}") + "**" for i in range(4)) + " |")
out.append("| ratio httpapid / (nginx + its slots) | "
           + " | ".join(spread(ratios(i, slots[i]), "{:.2f}") for i in range(3)) + " | – |")
out.append("")
after = [r["after"] for r in rows["httpapid"].values()]
per_private = statistics.median(column("httpapid", 2))
base_private = statistics.median(a[2] for a in after) * 1024 - per_private * n
projected = (base_private + per_private * 100000) / 2**20
out.append("Median (min–max) over %d rounds of %s connections; per round, the growth of the "
           "server's memory ÷ connections (httpapid alone; nginx master + worker; heap in use: "
           "httpapid, nginx's worker). Opening them took %s s (httpapid) and %s s (nginx)."
           % (len(after), "{:,}".format(n),
              spread([r["seconds"] for r in rows["httpapid"].values()], "{:.1f}"),
              spread([r["seconds"] for r in rows["nginx"].values()], "{:.1f}")))
out.append("")
out.append("httpapid with %s idle connections: RSS %s MiB, Private %s MiB. At the measured "
           "rate, 100,000 would take about **%.0f MiB** of private memory (%s 1 GiB)."
           % ("{:,}".format(n), spread([a[0] / 1024 for a in after], "{:.1f}"),
              spread([a[2] / 1024 for a in after], "{:.1f}"), projected,
              "within" if projected < 1024 else "more than"))
print("\n".join(out))
EOF
)
SECTION="### Idle connections run of $(date -u '+%Y-%m-%d %H:%M UTC')

- machine: $MACHINE
- commit: $(commit_line)
- peers: $( (nginx -v 2>&1 || true) | sed 's/^nginx version: //'): 1 worker, return 200, keepalive_timeout 600s, worker_connections $WORKER_CONNECTIONS; httpapid --io-threads 1 → httpapi-hello, idle_connection_seconds 600
- client: bench/idle_client.py, one GET answered on each connection before it is left idle; all $CONNECTIONS checked still open after the measurement
- script: \`bench/idle.sh $ARGS\`

$TABLE"
echo "$SECTION"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$SECTION" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
