#!/usr/bin/env bash
# bench/ab.sh: two builds of httpapid and httpapi-hello, A and B, measured in alternation in
# run.sh's (a) setup: httpapid --io-threads 1 and httpapi-hello on CPU 0, wrk -t1 -c50 on
# CPU 1, "Hello, World!" over keep-alive. Runs A, B, A, B, ... (--rounds pairs): on a noisy
# machine drift then hits both sides alike, which makes a difference of a few percent
# visible where two separate run.sh records would not show it. Each run starts a fresh
# httpapid and app, warms up for 2 s, then measures one wrk run.
#
# Reported per side: req/s, and CPU microseconds per request of each process, user space
# and kernel apart (utime and stime from /proc/PID/stat over the measured run), median
# (min-max) over rounds; then B/A of the medians.
#
# Usage: bench/ab.sh --base REV [--with REV] [--rounds N] [--duration SECONDS] [--record]
#                    [--no-build] [--keep]
#   --base      side A: a commit, exported with `git archive` and built once into
#               <repo>/build-release-<sha> (kept for the next run, as run.sh --commit does)
#   --with      side B: a commit too (default: the working tree, built incrementally in
#               BUILD_DIR, default build-release; --no-build uses what is there)
#   --rounds    pairs of runs (default 6)
#   --duration  seconds per measured run (default 8)
#   --record    append the table to bench/RESULTS.md
#   --keep      keep the temporary directory (logs, the runs' raw figures)
set -euo pipefail

BASE='' WITH='' ROUNDS=6 DURATION=8 RECORD=0 BUILD=1 KEEP=0
ARGS="$*"
NAME=ab
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) BASE=$2; shift ;;
    --with) WITH=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done

[[ -n $BASE ]] || die "--base REV is required (see --help)"
for tool in wrk taskset python3 cmake ninja git; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ $(nproc --all) -ge 2 ]] || die "needs 2 CPUs (server on CPU 0, wrk on CPU 1)"
taskset -pc 1 $$ >/dev/null

# build_side REV|"" -> prints the build directory (REV empty: the working tree)
build_side() {
  local rev=$1 dir sha
  if [[ -z $rev ]]; then
    release_build "$BUILD" httpapid httpapi-hello
    dir=$BUILD_DIR
  else
    sha=$(git -C "$ROOT" rev-parse --verify "$rev^{commit}") || die "no commit $rev"
    dir=$ROOT/build-release-${sha:0:12}
    build_commit "$sha" "$dir" RELEASE_FLAGS httpapid httpapi-hello
  fi
  echo "$dir"
}

describe() {
  if [[ -z $1 ]]; then
    local changes=''
    [[ -z $(git -C "$ROOT" status --porcelain --untracked-files=no) ]] || changes=' + changes'
    echo "the working tree ($(git -C "$ROOT" rev-parse --short HEAD)$changes)"
  else
    git -C "$ROOT" log -1 --format='%h %s' "$1" | cut -c1-80
  fi
}

DIR_A=$(build_side "$BASE")
DIR_B=$(build_side "$WITH")
make_work

# ticks PID: utime+stime so far as "user,system" clock ticks (all threads)
ticks() { awk '{print $14 "," $15}' "/proc/$1/stat"; }

# measure SIDE DIR: one run; appends "side rps d_user d_sys h_user h_sys" (µs per request)
measure() {
  local side=$1 dir=$2 port d h d0 h0 d1 h1 out requests
  port=$(free_port)
  rm -rf "$WORK/state"
  taskset -c 0 "$dir/src/daemon/httpapid" --state-dir "$WORK/state" --io-threads 1 \
    >"$WORK/httpapid.log" 2>&1 &
  d=$!
  STARTED+=("$d")
  wait_for 10 "httpapid's control socket" test -S "$WORK/state/control.sock"
  HTTPAPI_CONTROL=$WORK/state/control.sock taskset -c 0 "$dir/examples/httpapi-hello" \
    "http://+:$port/" >"$WORK/hello.log" 2>&1 &
  h=$!
  STARTED+=("$h")
  wait_for 10 "httpapi-hello to register" grep -q '^ready$' "$WORK/hello.log"
  wrk -t1 -c50 -d2s "http://127.0.0.1:$port/" >/dev/null
  d0=$(ticks "$d"); h0=$(ticks "$h")
  out=$(wrk -t1 -c50 -d"${DURATION}s" "http://127.0.0.1:$port/")
  d1=$(ticks "$d"); h1=$(ticks "$h")
  kill "$h" "$d"
  wait "$h" "$d" 2>/dev/null || true
  STARTED=()  # both gone: their numbers may be someone else's by the end
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  grep -q 'Non-2xx\|Socket errors' <<<"$out" && die "side $side: errors in the run: $out"
  python3 - "$side" "$requests" "$DURATION" "$(getconf CLK_TCK)" "$d0,$d1,$h0,$h1" <<'EOF' >>"$WORK/runs"
import sys
side, requests, seconds, hz = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
du0, ds0, du1, ds1, hu0, hs0, hu1, hs1 = map(int, sys.argv[5].split(","))
us = lambda ticks: ticks * 1e6 / hz / requests
print(side, round(requests / seconds), *(round(us(x), 3) for x in (du1 - du0, ds1 - ds0, hu1 - hu0, hs1 - hs0)))
EOF
  log "round $round $side: $(tail -1 "$WORK/runs")"
}

: >"$WORK/runs"
for round in $(seq "$ROUNDS"); do
  measure A "$DIR_A"
  measure B "$DIR_B"
done

TABLE=$(python3 - "$WORK/runs" "$(describe "$BASE")" "$(describe "$WITH")" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
names = {"A": sys.argv[2], "B": sys.argv[3]}
cols = ["req/s", "httpapid user µs/req", "httpapid kernel µs/req", "hello user µs/req",
        "hello kernel µs/req", "total µs/req"]
def values(side):
    out = []
    for r in rows:
        if r[0] != side: continue
        v = [float(x) for x in r[1:]]
        out.append(v + [sum(v[1:])])
    return out
med = {}
print("| side | " + " | ".join(cols) + " |")
print("|---|" + "---:|" * len(cols))
for side in "AB":
    runs = values(side)
    cells = []
    med[side] = []
    for i in range(len(cols)):
        column = [r[i] for r in runs]
        m = statistics.median(column)
        med[side].append(m)
        fmt = (lambda x: f"{x:,.0f}") if i == 0 else (lambda x: f"{x:.2f}")
        cells.append(f"{fmt(m)} ({fmt(min(column))}–{fmt(max(column))})")
    print(f"| {side}: {names[side]} | " + " | ".join(cells) + " |")
print("| B/A (medians) | " + " | ".join(
    f"{med['B'][i] / med['A'][i]:.3f}×" if med['A'][i] else "–" for i in range(len(cols))) + " |")
EOF
)
REPORT="### A/B of $(date -u '+%Y-%m-%d %H:%M UTC'): $(describe "$WITH") against $(describe "$BASE")

- machine: $(nproc --all) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
- $ROUNDS rounds, A then B, ${DURATION} s per run after 2 s of warm-up; httpapid and httpapi-hello on CPU 0, wrk -t1 -c50 on CPU 1
- script: \`bench/ab.sh $ARGS\`; CPU per request from utime and stime (/proc/PID/stat) over the run, median (min–max)

$TABLE
"
echo "$REPORT"
if [[ $RECORD == 1 ]]; then
  printf '\n%s' "$REPORT" >>"$BENCH/RESULTS.md"
  log "appended to bench/RESULTS.md"
fi
