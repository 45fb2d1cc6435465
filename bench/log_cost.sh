#!/usr/bin/env bash
# bench/log_cost.sh: what the access log costs httpapid per request, in instructions.
#
# httpapid --io-threads 1 runs under valgrind --tool=callgrind (every thread counted: the I/O
# thread's copy of the record and the log writer's formatting) with httpapi-hello on
# http://+:PORT/; for each format (none, then w3c, ncsa and json as the server-wide
# access_log_format) 2,000 warm-up requests, counters zeroed, N requests from
# bench/loop_client.py (10 keep-alive connections), a wait for the writer's 100 ms period,
# a dump. Prints instructions per request per format and the cost over "none". Instruction
# counts do not depend on what else the machine does, so this runs on a shared machine,
# unlike run.sh's req/s scenario (l); instructions are not time (bench/RESULTS.md,
# "Access logging").
#
# Usage: bench/log_cost.sh [--requests N] [--no-build] [--keep]
set -euo pipefail

REQUESTS=20000
BUILD=1
KEEP=0
RECORD=0
NAME=log-cost
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) REQUESTS=$2; shift ;;
    *) common_option "$1" ;;
  esac
  shift
done
for tool in valgrind callgrind_control callgrind_annotate python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done

release_build "$BUILD" httpapid httpcfg httpapi-hello
HTTPCFG=$BUILD_DIR/tools/httpcfg/httpcfg
HELLO=$BUILD_DIR/examples/httpapi-hello
make_work
PORT=$(free_port)
STATE=$WORK/state
mkdir -p "$STATE"
export HTTPAPI_CONTROL=$STATE/control.sock

(cd "$WORK" && exec valgrind --tool=callgrind --vgdb-prefix="$WORK/vgdb" --dump-instr=no \
  --collect-jumps=no --callgrind-out-file="$WORK/callgrind.out" \
  "$HTTPAPID" --state-dir "$STATE" --io-threads 1) 2>"$WORK/httpapid.log" &
DAEMON=$!
STARTED+=("$DAEMON")
for _ in $(seq 150); do [[ -S $HTTPAPI_CONTROL ]] && break; sleep 0.2; done
[[ -S $HTTPAPI_CONTROL ]] || die "httpapid did not start (see $WORK/httpapid.log)"
"$HELLO" "http://+:$PORT/" >"$WORK/hello.log" 2>&1 &
STARTED+=("$!")
for _ in $(seq 50); do grep -q ready "$WORK/hello.log" 2>/dev/null && break; sleep 0.2; done

load() { python3 "$BENCH/loop_client.py" --requests "$1" --connections 10 "http://127.0.0.1:$PORT/" >/dev/null; }
FORMATS=(none w3c ncsa json)
for format in "${FORMATS[@]}"; do
  "$HTTPCFG" --state-dir "$STATE" set setting --key access_log_format --value "$format" >/dev/null
  load 2000
  callgrind_control --vgdb-prefix="$WORK/vgdb" --zero "$DAEMON" >/dev/null
  log "$format: $REQUESTS requests"
  load "$REQUESTS"
  sleep 0.5
  callgrind_control --vgdb-prefix="$WORK/vgdb" --dump "$DAEMON" >/dev/null
done

echo "httpapid instructions per request (callgrind, all threads, $REQUESTS keep-alive requests;"
echo "commit $(git -C "$ROOT" rev-parse --short HEAD)):"
base=0
for i in "${!FORMATS[@]}"; do
  file=$WORK/callgrind.out.$((i + 1))
  total=$(callgrind_annotate --auto=no "$file" 2>/dev/null |
            awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  per=$((total / REQUESTS))
  if [[ $i == 0 ]]; then base=$per; echo "  ${FORMATS[$i]}: $per"; continue; fi
  echo "  ${FORMATS[$i]}: $per (+$((per - base)), +$(( (per - base) * 100 / base ))%)"
done
