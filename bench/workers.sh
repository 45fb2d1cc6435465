#!/usr/bin/env bash
# bench/workers.sh: what a second worker process gives over one (issue 5 item 1).
#
# One httpapid (default I/O threads: one per CPU), a controller that creates a persistent
# named queue (`httpapi-echo --controller --persistent`) and 1 or 2 workers that join it
# (`httpapi-echo --open`, receive window 1 unless --receive-window), loaded by wrk on
# loopback. Nothing is pinned: service, workers and wrk share the machine's CPUs, as they
# would in production. Kinds of per-request work (httpapi-echo flags):
#   plain   none besides building the JSON answer (the pipeline's own cost)
#   cpu200  --cpu-us 200: 200 µs of CPU per request (a CPU-bound handler)
#   sleep1  --delay-ms 1: waits 1 ms per request (a handler that waits on something else)
# Each round runs every kind with 1 and with 2 workers back to back (the order of 1 and 2
# alternates between rounds); reported per kind: req/s, p99, CPU of httpapid + workers, and
# the ratio 2 workers / 1 worker taken per round, median (min-max) over rounds.
#
# Usage: bench/workers.sh [--duration SECONDS] [--rounds N] [--connections N]
#                         [--kinds "plain cpu200 sleep1"] [--receive-window N] [--record]
#                         [--no-build] [--keep]
#   defaults: 10 s runs, 3 rounds, wrk -t1 -c50, all three kinds, window 1
#   --record   append the table, machine and commit to bench/RESULTS.md
# Environment: BUILD_DIR (default <repo>/build-release), WARMUP seconds per run (default 2),
#   QUIET_WAIT (default 20) and QUIET_BUDGET (default 300) seconds: before each run, wait up
#   to QUIET_WAIT for the CPUs to be < 10% busy with other work, at most QUIET_BUDGET in all.
set -euo pipefail

ARGS="$*"
DURATION=10
ROUNDS=3
CONNECTIONS=50
KINDS="plain cpu200 sleep1"
WINDOW=1
RECORD=0
BUILD=1
KEEP=0
WARMUP=${WARMUP:-2}
QUIET_WAIT=${QUIET_WAIT:-20}
QUIET_BUDGET=${QUIET_BUDGET:-300}
NAME=workers
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --kinds) KINDS=$2; shift ;;
    --receive-window) WINDOW=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done

command -v wrk >/dev/null || die "wrk is not installed"
STATS="python3 $BENCH/stats.py"

work_flags() {  # work_flags KIND -> httpapi-echo flags
  case "$1" in
    plain) ;;
    cpu200) echo --cpu-us 200 ;;
    sleep1) echo --delay-ms 1 ;;
    *) die "unknown kind '$1' (plain, cpu200, sleep1)" ;;
  esac
}
for kind in $KINDS; do work_flags "$kind" >/dev/null; done

release_build "$BUILD" httpapid httpapi-echo
make_work
PORT=$(free_port)
start_service
start_echo controller --controller --persistent --queue workers --url "http://+:$PORT/w/"
URL="http://127.0.0.1:$PORT/w/"

WORKER_PIDS=()
start_workers() {  # start_workers KIND COUNT
  local i
  WORKER_PIDS=()
  for i in $(seq "$2"); do
    # shellcheck disable=SC2046  # the flags are words
    start_echo "w$i" --open --queue workers --receive-window "$WINDOW" $(work_flags "$1")
    WORKER_PIDS+=("$ECHO_PID")
  done
  curl -fsS --noproxy '*' -o /dev/null "$URL" || die "the workers do not answer at $URL"
}

stop_workers() {
  local pid
  for pid in "${WORKER_PIDS[@]}"; do stop "$pid" TERM; done
}

WRK="wrk -t1 -c$CONNECTIONS --latency --timeout 5s"
RUNS=$WORK/runs.jsonl
: >"$RUNS"
log "httpapid pid $HTTPAPID_PID; $ROUNDS rounds × kinds ($KINDS) × 1 and 2 workers × ${DURATION}s"
BUDGET_END=$((SECONDS + QUIET_BUDGET))
for round in $(seq "$ROUNDS"); do
  for kind in $KINDS; do
    (( round % 2 )) && counts="1 2" || counts="2 1"
    for count in $counts; do
      start_workers "$kind" "$count"
      if (( SECONDS < BUDGET_END )); then
        wait_s=$(( BUDGET_END - SECONDS < QUIET_WAIT ? BUDGET_END - SECONDS : QUIET_WAIT ))
        $STATS wait-quiet "$wait_s" 10 >/dev/null || log "other work keeps the CPUs busy; measuring anyway"
      fi
      $WRK -d"${WARMUP}s" "$URL" >/dev/null
      pids=$(IFS=,; echo "$HTTPAPID_PID,${WORKER_PIDS[*]}")
      echo "=== round $round, $kind, $count worker(s)" >&2
      rc=0
      $STATS measure --out "$WORK/run.json" --scenario "$kind-${count}w" --round "$round" \
        --pids "$pids" -- $WRK -d"${DURATION}s" "$URL" >&2 || rc=$?
      [[ $rc == 0 || $rc == 3 ]] || die "stats.py measure failed ($rc)"
      cat "$WORK/run.json" >>"$RUNS"
      stop_workers
    done
  done
done
kill -0 "$HTTPAPID_PID" 2>/dev/null || die "httpapid died during the runs"

TABLE=$($STATS workers "$RUNS")
SECTION="### Workers run of $(date -u '+%Y-%m-%d %H:%M UTC')

- machine: $(machine_line)
- commit: $(commit_line)
- script: \`bench/workers.sh $ARGS\`: $ROUNDS rounds × ${DURATION} s per run (${WARMUP} s warm-up each), \`$WRK\`, receive window $WINDOW, nothing pinned

$TABLE"
echo "$SECTION"
if [[ $RECORD == 1 ]]; then
  printf '\n%s\n' "$SECTION" >>"$BENCH/RESULTS.md"
  log "appended to $BENCH/RESULTS.md"
fi
