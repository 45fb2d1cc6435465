# shellcheck shell=bash
# bench/common.sh: helpers shared by fault_load.sh, workers.sh, files.sh, idle.sh and tls.sh
# (sourced, not run).
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

# release_build BUILD TARGET...: with BUILD=1 (or a target missing) builds the targets in
# BUILD_DIR, configuring a Release build there first if there is none.
release_build() {
  local build=$1 target missing=0; shift
  for target in "$HTTPAPID" "$ECHO"; do [[ -x $target ]] || missing=1; done
  [[ $build == 1 || $missing == 1 ]] || return 0
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHTTPAPI_TESTS=OFF >&2 ||
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
