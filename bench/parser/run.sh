#!/usr/bin/env bash
# bench/parser/run.sh: request-head parsing throughput, our http1 parser vs http-parser.
#
# Builds bench/parser/parser_bench (Release, -DHTTPAPI_BENCH=ON -DHTTPAPI_TESTS=OFF) into
# build-bench, runs it pinned to CPU 1 with 5 repetitions in random interleaving
# (aggregates only; min and max are extra statistics of the benchmark), and prints per
# corpus entry: median throughput of both parsers with the spread over the repetitions
# (min..max), and the ratio ours/http-parser (ratio of the medians; in brackets the
# worst..best pairing of the two spreads; then the ratio of the fastest repetitions).
#
# Usage: bench/parser/run.sh [--no-build] [extra Google Benchmark flags...]
#   e.g. bench/parser/run.sh --benchmark_filter='^head/'
# Environment: BUILD_DIR (default <repo>/build-bench), CPU (default 1).
# The raw JSON is kept in $BUILD_DIR/parser_bench.json.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
CPU=${CPU:-1}
BUILD=1
if [[ ${1:-} == --no-build ]]; then
  BUILD=0
  shift
fi

if ((BUILD)); then
  generator=()
  if command -v ninja >/dev/null && [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then generator=(-G Ninja); fi
  cmake -S "$ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DHTTPAPI_BENCH=ON -DHTTPAPI_TESTS=OFF >/dev/null
  # Only the benchmark and what it links (src/http1): other directories may be mid-edit.
  cmake --build "$BUILD_DIR" --target parser_bench
fi

BIN=$BUILD_DIR/bench/parser/parser_bench
JSON=$BUILD_DIR/parser_bench.json
# Random interleaving spreads the repetitions of every benchmark over the whole run, so a
# burst of load from other processes (this machine is shared) hits ours and http-parser
# alike instead of all five repetitions of one of them.
CMD=(taskset -c "$CPU" "$BIN" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
     --benchmark_enable_random_interleaving=true
     --benchmark_out="$JSON" --benchmark_out_format=json "$@")
echo "# ${CMD[*]}"
"${CMD[@]}" >&2

python3 - "$JSON" <<'PY'
import json, sys

data = json.load(open(sys.argv[1]))
agg, order = {}, []
for b in data["benchmarks"]:
    if b.get("run_type") != "aggregate":
        continue
    agg[(b["run_name"], b["aggregate_name"])] = b
    if b["run_name"] not in order:
        order.append(b["run_name"])

def triple(run, key):  # median, min, max over the repetitions
    return [agg[(run, w)][key] for w in ("median", "min", "max")]

def si(v):
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.2f}{prefix}"
    return f"{v:.0f}"

ctx = data["context"]
print(f"# {ctx['date']}, {ctx['num_cpus']} CPUs, load average {ctx.get('load_avg')}")
print("| benchmark | bytes | ours: items/s median [min..max] | ours: B/s median "
      "| http-parser: items/s median [min..max] | http-parser: B/s median "
      "| ours/http-parser median [worst..best] | best/best |")
print("|---|---:|---|---:|---|---:|---|---:|")
# Fixed row order (interleaving shuffles the JSON): group, then corpus entry as registered.
groups = ["head", "head_fresh_storage", "chunked"]
entries = ["browser_get", "api_post", "minimal_get", "chunked_body"]
def rank(run):
    parts = run.split("/")
    return (groups.index(parts[0]) if parts[0] in groups else len(groups),
            entries.index(parts[1]) if parts[1] in entries else len(entries), run)
for run in sorted(order, key=rank):
    if not run.endswith("/ours") or (run[:-5] + "/http_parser") not in order:
        continue
    entry = run[: -len("/ours")]
    o, h = triple(run, "items_per_second"), triple(entry + "/http_parser", "items_per_second")
    ob, hb = triple(run, "bytes_per_second"), triple(entry + "/http_parser", "bytes_per_second")
    size = round(ob[0] / o[0])
    print(f"| {entry} | {size} | {si(o[0])} [{si(o[1])}..{si(o[2])}] | {si(ob[0])}B/s "
          f"| {si(h[0])} [{si(h[1])}..{si(h[2])}] | {si(hb[0])}B/s "
          f"| **{o[0] / h[0]:.2f}x** [{o[1] / h[2]:.2f}..{o[2] / h[1]:.2f}] "
          f"| {o[2] / h[2]:.2f}x |")
print("items = requests (head/...) or chunked bodies (chunked/...); worst..best = ours min / "
      "http-parser max .. ours max / http-parser min; best/best = fastest repetition of each "
      "(the least disturbed by other load)")
PY
