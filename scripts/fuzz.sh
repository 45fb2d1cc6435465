#!/usr/bin/env bash
# Runs every libFuzzer target for N seconds (default 60) from its seed corpus.
# New inputs go to a scratch corpus under build/fuzz-corpus/, not into the repository.
# Usage: scripts/fuzz.sh [SECONDS]   (build first: scripts/build.sh fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
failed=0
for target in build/fuzz/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  scratch=build/fuzz-corpus/$name
  mkdir -p "$scratch"
  seeds=fuzz/corpus/$name
  [ -d "$seeds" ] || seeds=
  echo "-- $name: ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -print_final_stats=0 "$scratch" $seeds \
       > "build/fuzz-corpus/$name.log" 2>&1; then
    echo "fuzz.sh: $name FAILED; see build/fuzz-corpus/$name.log" >&2
    tail -40 "build/fuzz-corpus/$name.log" >&2
    failed=1
  fi
done
exit $failed
