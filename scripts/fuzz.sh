#!/usr/bin/env bash
# Runs libFuzzer targets from their seed corpora. New inputs go to a scratch corpus under
# build/fuzz-corpus/, not into the repository.
#
#   scripts/fuzz.sh [SECONDS]                  every target, one after another, SECONDS of
#                                              wall time each (default 60; the test command)
#   scripts/fuzz.sh --cpu SECONDS [TARGET...]  the named targets (default: all), nproc at a
#                                              time at nice 19, each stopped once it has used
#                                              SECONDS of CPU time; prints a summary table
#
# Build first: scripts/build.sh fuzz. A crash leaves its input in build/fuzz-corpus/ and
# makes the script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/fuzz-corpus
mkdir -p "$out"

seeds_of() { [ -d "fuzz/corpus/$1" ] && echo "fuzz/corpus/$1" || true; }

run_timed() {  # wall-clock mode
  local seconds=$1 failed=0 target name
  for target in build/fuzz/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    mkdir -p "$out/$name"
    echo "-- $name: ${seconds}s"
    # shellcheck disable=SC2046
    if ! "$target" -max_total_time="$seconds" -print_final_stats=0 "$out/$name" $(seeds_of "$name") \
         -artifact_prefix="$out/$name-" > "$out/$name.log" 2>&1; then
      echo "fuzz.sh: $name FAILED; see $out/$name.log" >&2
      tail -40 "$out/$name.log" >&2
      failed=1
    fi
  done
  return $failed
}

cpu_seconds_of() {  # utime + stime of one process, in seconds
  local ticks
  ticks=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  echo $(( ticks / $(getconf CLK_TCK) ))
}

fuzz_for_cpu() {  # one target until it has used $2 CPU-seconds; writes $out/NAME.summary
  local name=$1 budget=$2 pid used=0 status=0
  mkdir -p "$out/$name"
  # shellcheck disable=SC2046
  nice -n 19 "build/fuzz/fuzz/$name" -max_total_time=$(( budget * 20 )) -print_final_stats=1 \
    -artifact_prefix="$out/$name-" "$out/$name" $(seeds_of "$name") > "$out/$name.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    used=$(cpu_seconds_of "$pid")
    if [ "$used" -ge "$budget" ]; then kill -INT "$pid"; break; fi
    sleep 5
  done
  wait "$pid" || status=$?
  local crashes execs
  crashes=$(find "$out" -maxdepth 1 -name "$name-crash-*" -o -maxdepth 1 -name "$name-leak-*" \
            -o -maxdepth 1 -name "$name-timeout-*" -o -maxdepth 1 -name "$name-oom-*" | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$name.log" | grep -o '[0-9]*$' || echo '?')
  # libFuzzer exits 72 after SIGINT when it stopped cleanly; anything else non-zero is a finding.
  [ "$status" -eq 0 ] || [ "$status" -eq 72 ] || [ "$status" -eq 130 ] || crashes=$(( crashes + 1 ))
  printf '%-20s %8d %14s %8s\n' "$name" $(( used / 60 )) "$execs" "$crashes" > "$out/$name.summary"
}

run_cpu_budget() {
  local budget=$1; shift
  local targets=("$@") name running=0 failed=0
  if [ ${#targets[@]} -eq 0 ]; then
    for t in build/fuzz/fuzz/fuzz_*; do targets+=("$(basename "$t")"); done
  fi
  for name in "${targets[@]}"; do
    [ -x "build/fuzz/fuzz/$name" ] || { echo "fuzz.sh: no target $name (build: scripts/build.sh fuzz)" >&2; exit 2; }
    rm -f "$out/$name.summary"
    fuzz_for_cpu "$name" "$budget" &
    running=$(( running + 1 ))
    if [ "$running" -ge "$(nproc)" ]; then wait -n || true; running=$(( running - 1 )); fi
  done
  wait || true
  printf '%-20s %8s %14s %8s\n' target cpu-min executions findings
  for name in "${targets[@]}"; do
    cat "$out/$name.summary"
    [ "$(awk '{ print $4 }' "$out/$name.summary")" = 0 ] || failed=1
  done
  return $failed
}

if [ "${1:-}" = "--cpu" ]; then
  [ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh --cpu SECONDS [TARGET...]" >&2; exit 2; }
  budget=$2; shift 2
  run_cpu_budget "$budget" "$@"
else
  run_timed "${1:-60}"
fi
