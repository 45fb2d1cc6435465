#!/usr/bin/env bash
# bench/fault_load.sh: the fault and load test, long form (issue 5 item 8).
#
# N concurrent keep-alive connections (bench/load_client.c) send requests in a loop to a
# persistent named queue served by 2 worker processes (httpapi-echo --open); every
# KILL_EVERY seconds one worker (in turn) gets SIGKILL and is started again at once.
# Reported: requests sent, answers by status, what became of every request (load_client.c
# defines the outcomes: ok, abandoned, refused, other status, reset, closed, timeout, wrong
# answer), the requests lost (neither ok nor abandoned; target 0), connection resets, and
# httpapid's VmRSS before the load, once every connection is open, at the end of the load
# and after the clients left. An abandoned request is one the service had handed to the
# worker that was killed: it gets 503 and the error log line Connection_Abandoned_By_ReqQueue.
# Exits 1 when a request was lost (resets and timeouts included) or httpapid died.
#
# Usage: bench/fault_load.sh [--connections N] [--duration SECONDS] [--kill-every SECONDS]
#                            [--timeout SECONDS] [--io-threads N] [--record] [--no-build]
#                            [--keep]
#   defaults: 1000 connections, 60 s, a kill every 5 s, 30 s answer timeout, httpapid's
#   default I/O threads (one per CPU)
#   --record   append the report, machine and commit to bench/RESULTS.md
# Environment: BUILD_DIR (default <repo>/build-release, a Release build made if missing).
set -euo pipefail

ARGS="$*"
CONNECTIONS=1000
DURATION=60
KILL_EVERY=5
TIMEOUT=30
IO_THREADS=
RECORD=0
BUILD=1
KEEP=0
NAME=fault-load
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) CONNECTIONS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --kill-every) KILL_EVERY=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --io-threads) IO_THREADS=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done

command -v cc >/dev/null || die "cc is not installed"

# Every connection is a descriptor in the client and in httpapid.
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) >= CONNECTIONS + 64 )) ||
  die "$CONNECTIONS connections need $((CONNECTIONS + 64)) descriptors; ulimit -Hn is $(ulimit -Hn)"
release_build "$BUILD" httpapid httpapi-echo
make_work

cc -O2 -Wall -o "$WORK/load_client" "$BENCH/load_client.c" || die "cc load_client.c failed"
PORT=$(free_port)
STATE=$WORK/state
start_service ${IO_THREADS:+--io-threads "$IO_THREADS"}
FD_LIMIT=$(awk '/^Max open files/ { print $4 }' "/proc/$HTTPAPID_PID/limits")

start_echo controller --controller --persistent --queue fault-load --url "http://+:$PORT/load/"
declare -A WORKER
for w in w1 w2; do
  start_echo "$w" --open --queue fault-load
  WORKER[$w]=$ECHO_PID
done
curl -fsS --noproxy '*' -o /dev/null "http://127.0.0.1:$PORT/load/check" ||
  die "the echo workers do not answer on port $PORT"

RSS_IDLE=$(rss_kib "$HTTPAPID_PID")
log "httpapid pid $HTTPAPID_PID (descriptor limit $FD_LIMIT), port $PORT; $CONNECTIONS connections for ${DURATION}s, SIGKILL + restart of a worker every ${KILL_EVERY}s"
"$WORK/load_client" --port "$PORT" --connections "$CONNECTIONS" --duration "$DURATION" \
  --timeout "$TIMEOUT" --path /load/ --error-log-dir "$STATE/logs" \
  --failures "$WORK/failures.txt" >"$WORK/client.json" 2>"$WORK/client.err" &
CLIENT_PID=$!
STARTED+=("$CLIENT_PID")

# Kills happen at KILL_EVERY, 2*KILL_EVERY, ... seconds into the load, workers in turn.
START=$SECONDS
KILLS=0
NEXT_KILL=$KILL_EVERY
RSS_LOADED=
victims=(w1 w2)
while (( SECONDS - START < DURATION )); do
  sleep 0.2
  if [[ -z $RSS_LOADED ]] && (( SECONDS - START >= KILL_EVERY - 1 )); then
    RSS_LOADED=$(rss_kib "$HTTPAPID_PID")
  fi
  (( SECONDS - START >= NEXT_KILL && SECONDS - START < DURATION )) || continue
  NEXT_KILL=$((NEXT_KILL + KILL_EVERY))
  w=${victims[KILLS % 2]}
  stop "${WORKER[$w]}" KILL
  KILLS=$((KILLS + 1))
  start_echo "$w" --open --queue fault-load
  WORKER[$w]=$ECHO_PID
done
RSS_END=$(rss_kib "$HTTPAPID_PID")
CLIENT_STATUS=0
wait "$CLIENT_PID" || CLIENT_STATUS=$?
forget "$CLIENT_PID"
[[ $CLIENT_STATUS == 0 ]] || die "load_client failed: $(cat "$WORK/client.err")"
sleep 1  # httpapid closes the connections the client left
RSS_AFTER=$(rss_kib "$HTTPAPID_PID")
kill -0 "$HTTPAPID_PID" 2>/dev/null && ALIVE=yes || ALIVE=no

LOG_REASONS=$(cat "$STATE"/logs/httperr*.log | awk '!/^#/ { n[$12]++ } END { for (r in n) printf "%s %d, ", r, n[r] }')
REPORT=$(python3 - "$WORK/client.json" <<EOF
import json, sys
r = json.load(open(sys.argv[1]))
status = ", ".join(f"{k}: {v:,}" for k, v in r["status"].items())
refused = ", ".join(f"{k} {v}" for k, v in r["refused_reasons"].items()) or "none"
print(f"""| figure | value |
|---|---|
| connections, duration | {r['connections']:,}, {r['seconds']} s (load $DURATION s, then the requests in flight) |
| worker kills (SIGKILL, then restart) | $KILLS, one every $KILL_EVERY s, w1 and w2 in turn |
| requests sent | {r['sent']:,} ({r['answered_per_second']:,.0f} answered/s) |
| responses by status | {status} |
| ok (200, own URL echoed) | {r['ok']:,} |
| abandoned (503, delivered to the killed worker) | {r['abandoned']:,} |
| refused (503 for another reason) | {r['refused']:,} ({refused}) |
| other status / wrong answer | {r['other_status']:,} / {r['wrong_answer']:,} |
| connection resets / closed before the answer | {r['reset']:,} / {r['closed']:,} |
| timeouts (no answer in $TIMEOUT s) | {r['timeout']:,} |
| **requests lost** (sent, neither ok nor abandoned) | **{r['lost']:,}** |
| connections opened (1 per 503: it closes) / connect failures / send failures | {r['connects']:,} / {r['connect_failed']:,} / {r['send_failed']:,} |
| httpapid VmRSS: idle, loaded (at $((KILL_EVERY - 1)) s), end of load, after the clients left | $RSS_IDLE / ${RSS_LOADED:-?} / $RSS_END / $RSS_AFTER KiB |
| httpapid alive at the end, descriptor limit | $ALIVE, $FD_LIMIT |
| httpapid error log | ${LOG_REASONS%, } |""")
EOF
)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
SECTION="### Fault/load run of $DATE

- machine: $(machine_line)
- commit: $(commit_line)
- script: \`bench/fault_load.sh $ARGS\`; httpapid${IO_THREADS:+ --io-threads $IO_THREADS}, controller \`httpapi-echo --controller --persistent\`, workers \`httpapi-echo --open\` (the default, adaptive receive window)

$REPORT"
echo "$SECTION"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$SECTION" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
[[ $ALIVE == yes ]] || die "httpapid died"
LOST=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["lost"])' "$WORK/client.json")
[[ $LOST == 0 ]] || die "$LOST requests lost (their list: rerun with --keep, see failures.txt)"
