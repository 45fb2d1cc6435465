# shellcheck shell=bash
# bench/common.sh: helpers shared by ab.sh, fault_load.sh, workers.sh, files.sh, idle.sh, tls.sh
# and h2.sh (sourced, not run).
# The sourcing script sets NAME (its log prefix) and KEEP (1 keeps WORK), calls
# release_build TARGET..., make_work and then start_service; everything it starts goes into
# STARTED and is stopped by PID on exit.

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
HTTPAPID=$BUILD_DIR/src/daemon/httpapid
ECHO=$BUILD_DIR/examples/httpapi-echo
STARTED=()

log() { printf '[%s] %s\n' "$NAME" "$*" >&2; }

# common_option ARG: the options every script takes (--record, --no-build, --keep, --help);
# an unknown one ends the script. Called from the script's own option loop.
common_option() {
  case "$1" in
    --record) RECORD=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "$(basename "$0"): unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
}
die() { printf '[%s] error: %s\n' "$NAME" "$*" >&2; exit 1; }
# shellcheck source=bench/build_commit.sh
source "$BENCH/build_commit.sh"

# release_build BUILD TARGET...: with BUILD=1 (or a target missing) builds the targets in
# BUILD_DIR, configuring a Release build there first if there is none.
release_build() {
  local build=$1 target missing=0; shift
  for target in "$HTTPAPID" "$ECHO"; do [[ -x $target ]] || missing=1; done
  [[ $build == 1 || $missing == 1 ]] || return 0
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" "${RELEASE_FLAGS[@]}" >&2 ||
      die "cmake configure failed"
  fi
  log "building in $BUILD_DIR"
  cmake --build "$BUILD_DIR" --target "$@" >&2 || die "build failed"
}

build_type() { sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt"; }

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

make_work() {
  WORK=$(mktemp -d "/tmp/httpapi-$NAME.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

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

# start_service ARGS...: httpapid in WORK/state; sets HTTPAPID_PID and exports HTTPAPI_CONTROL.
start_service() {
  export HTTPAPI_CONTROL=$WORK/state/control.sock
  "$HTTPAPID" --state-dir "$WORK/state" "$@" >"$WORK/httpapid.log" 2>&1 &
  HTTPAPID_PID=$!
  STARTED+=("$HTTPAPID_PID")
  wait_for 10 "httpapid's control socket" test -S "$HTTPAPI_CONTROL"
}

# start_echo NAME ARGS...: an httpapi-echo named NAME; sets ECHO_PID once it printed "ready".
start_echo() {
  local name=$1; shift
  rm -f "$WORK/$name.out"
  "$ECHO" --name "$name" "$@" >"$WORK/$name.out" 2>>"$WORK/$name.err" &
  ECHO_PID=$!
  STARTED+=("$ECHO_PID")
  wait_for 10 "$name to be ready (see $WORK/$name.err)" grep -q '^ready$' "$WORK/$name.out"
}

# forget PID: a process of STARTED that was reaped; the cleanup must not signal its PID,
# which may belong to someone else by then.
forget() {
  local i
  for i in "${!STARTED[@]}"; do [[ ${STARTED[i]} != "$1" ]] || unset 'STARTED[i]'; done
}

# stop PID SIGNAL: signals a process this script started, reaps and forgets it.
stop() {
  kill "-$2" "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

machine_line() {
  echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), Linux $(uname -r)"
}

commit_line() {
  local commit dirty tree
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
  [[ $dirty == 0 ]] && tree=clean || tree="working tree with $dirty tracked files modified"
  echo "$commit ($tree), build: $BUILD_DIR ($(build_type))"
}

# ---- pinned servers and measured rounds (tls.sh, h2.sh) -----------------------------------
# These use SRV (the command words that pin a server to its CPU), STATS (stats.py), RUNS (the
# runs file), PIDS (scenario -> server pids, comma-separated) and COMMANDS (what to print in
# the report).

ports=()
new_port() {  # new_port -> PORT, distinct from the ports taken so far
  local p
  p=$(free_port)
  while [[ " ${ports[*]} " == *" $p "* ]]; do p=$(free_port); done
  ports+=("$p")
  PORT=$p
}

start_app() {  # start_app NAME COMMAND... -> APP_PID (ready once it printed "ready")
  local name=$1; shift
  "${SRV[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  APP_PID=$!
  STARTED+=("$APP_PID")
  wait_for 10 "$name to be ready (see $WORK/$name.err)" grep -q '^ready$' "$WORK/$name.out"
}

# start_nginx NAME PROBE_URL -> NGINX_PIDS (master,worker): the nginx of WORK/NAME/nginx.conf,
# ready once curl -k gets PROBE_URL (with CURL_PROBE_ARGS, e.g. --http2-prior-knowledge).
start_nginx() {
  local dir=$WORK/$1 probe=$2 workers
  local cmd=(nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;')
  "${cmd[@]}" -t -q || die "nginx config for ($1) is invalid"
  "${SRV[@]}" "${cmd[@]}" >"$dir/stdout.log" 2>&1 &
  local pid=$!
  STARTED+=("$pid")
  # shellcheck disable=SC2086  # CURL_PROBE_ARGS is words
  wait_for 10 "nginx ($1) at $probe" curl -kfsS ${CURL_PROBE_ARGS:-} -o /dev/null "$probe"
  read -r -a workers <"/proc/$pid/task/$pid/children" || true  # no final newline
  [[ ${#workers[@]} -gt 0 ]] || die "nginx ($1) has no worker process"
  NGINX_PIDS=$(IFS=,; echo "$pid,${workers[*]}")
  COMMANDS[$1]="${SRV[*]} nginx -p $dir/ -c $dir/nginx.conf -e $dir/error.log -g 'daemon off;'"
}

# measure_rounds COMMAND_OF SCENARIO...: a warm-up of WARMUP seconds per scenario (not
# recorded), then ROUNDS rounds of every scenario back to back, each run the command line
# `COMMAND_OF SCENARIO SECONDS` prints, measured by stats.py against PIDS[SCENARIO] and
# appended to RUNS. Before each run it waits up to QUIET_WAIT seconds for CPUs 0-1 to be less
# than QUIET_PERCENT% busy with other work, and a disturbed run is run once more, as long as
# the QUIET_BUDGET seconds last.
measure_rounds() {
  local command_of=$1; shift
  local scenarios=("$@") s p round attempt rc wait_s busy budget_end
  : >"$RUNS"
  log "warm-up: ${WARMUP}s per scenario (not recorded)"
  for s in "${scenarios[@]}"; do
    # shellcheck disable=SC2046,SC2091  # runs the command line it prints
    $("$command_of" "$s" "$WARMUP") >/dev/null
  done
  budget_end=$((SECONDS + QUIET_BUDGET))
  log "measuring: $ROUNDS rounds x ${#scenarios[@]} runs x ${DURATION}s (~$((ROUNDS * ${#scenarios[@]} * DURATION))s)"
  for round in $(seq "$ROUNDS"); do
    for s in "${scenarios[@]}"; do
      for p in ${PIDS[$s]//,/ }; do
        kill -0 "$p" 2>/dev/null || die "server process $p of ($s) died before round $round"
      done
      for attempt in 1 2; do
        if (( SECONDS < budget_end )); then
          wait_s=$(( budget_end - SECONDS < QUIET_WAIT ? budget_end - SECONDS : QUIET_WAIT ))
          if ! busy=$($STATS wait-quiet "$wait_s" "$QUIET_PERCENT"); then
            log "WARNING: CPUs 0-1 still ${busy}% busy with other work after ${wait_s}s; measuring anyway"
          fi
        fi
        echo "=== round $round, scenario $s: $("$command_of" "$s" "$DURATION")" >&2
        rc=0
        # shellcheck disable=SC2046  # the command is words
        $STATS measure --out "$WORK/run.json" --scenario "$s" --round "$round" \
          --pids "${PIDS[$s]}" -- $("$command_of" "$s" "$DURATION") >&2 || rc=$?
        [[ $rc == 0 || $rc == 3 ]] || die "stats.py measure failed ($rc)"
        if [[ $rc == 3 && $attempt == 1 ]] && (( SECONDS < budget_end )); then
          log "other work disturbed this run; running it again"
          continue
        fi
        cat "$WORK/run.json" >>"$RUNS"
        break
      done
    done
  done
  for s in "${scenarios[@]}"; do
    for p in ${PIDS[$s]//,/ }; do
      kill -0 "$p" 2>/dev/null || log "WARNING: server process $p of ($s) is gone after the runs"
    done
  done
}

# error_log_note STATE_DIR -> ERROR_NOTE: how many lines httpapid's error log (W3C; '#' lines
# are headers) has, by reason (the field before the queue name): rejected requests, dropped
# connections.
error_log_note() {
  local errors
  errors=$(cat "$1"/logs/httperr*.log 2>/dev/null | grep -vc '^#' || true)
  ERROR_NOTE="httpapid's error log: ${errors:-0} entries"
  [[ ${errors:-0} == 0 ]] || ERROR_NOTE+=" ($(cat "$1"/logs/httperr*.log | grep -v '^#' |
    awk '{print $(NF-1)}' | sort | uniq -c | sort -rn | head -5 | awk '{printf "%s%s × %s", sep, $1, $2; sep=", "}'))"
  log "$ERROR_NOTE"
}
