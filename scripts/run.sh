#!/usr/bin/env bash
# The main job: installs what is needed, builds (release), starts httpapid on a fresh state
# directory and six example applications sharing one port, prints the URLs to try, and
# runs until Ctrl-C (or SIGTERM), then stops what it started.
# Usage: scripts/run.sh [PORT]   (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8080}

bash scripts/install-deps.sh
build_log=$(mktemp /tmp/httpapi-build.XXXXXX.log)
if ! bash scripts/build.sh release httpapid httpcfg httpapi-echo httpapi-hello httpapi-counter \
     httpapi-websocket-echo httpapi-files \
     > "$build_log" 2>&1; then
  tail -30 "$build_log" >&2
  echo "run.sh: the build failed; full log in $build_log" >&2
  exit 1
fi
bin=build/release

state=$(mktemp -d /tmp/httpapi-run.XXXXXX)
export HTTPAPI_CONTROL=$state/control.sock
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run.sh: stopped; logs are in $state"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

"$bin/src/daemon/httpapid" --state-dir "$state" 2> >(sed 's/^/[httpapid] /' >&2) &
pids+=($!)
for _ in $(seq 100); do [ -S "$state/control.sock" ] && break; sleep 0.05; done

start_app() {  # start_app NAME COMMAND... : waits for its "ready"
  local name=$1; shift
  local out=$state/$name.out
  "$@" > "$out" 2> >(sed "s/^/[$name] /" >&2) &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^ready$' "$out" 2>/dev/null && return 0; sleep 0.05; done
  echo "run.sh: $name did not become ready" >&2
  exit 1
}
start_app echo "$bin/examples/httpapi-echo" --url "http://+:$port/echo/" --name echo
start_app hello "$bin/examples/httpapi-hello" "http://+:$port/hello/"
start_app counter "$bin/examples/httpapi-counter" "http://+:$port/count/"
start_app cached "$bin/examples/httpapi-hello" "http://+:$port/cached/" 60
start_app websocket "$bin/examples/httpapi-websocket-echo" "http://+:$port/ws/"
start_app files "$bin/examples/httpapi-files" --url "http://+:$port/docs/" --root docs

cat <<TEXT

httpapid is running (state directory $state); six applications share port $port:
  curl -i http://127.0.0.1:$port/hello/            # hello.c: "Hello, World!"
  curl -s http://127.0.0.1:$port/echo/a?b=c        # httpapi-echo: the request as JSON
  curl -s -d 'some body' http://127.0.0.1:$port/echo/post
  curl -i http://127.0.0.1:$port/count/page        # counter (C++ wrapper): a chunked answer
  curl -i http://127.0.0.1:$port/cached/           # hello with a 60 s time to live: after the
                                                   # first, httpapid answers from its cache
  $bin/tools/httpcfg/httpcfg --state-dir $state show cachestate
  /usr/bin/python3 -m websockets ws://127.0.0.1:$port/ws/   # httpapi-websocket-echo
  curl -i http://127.0.0.1:$port/docs/files.md     # httpapi-files serving docs/ (sendfile,
  curl -i -r 0-99 http://127.0.0.1:$port/docs/files.md   # ranges, ETag/304, the cache)
  curl -i http://127.0.0.1:$port/nothing/          # no prefix matches: 404 from the service
  cat $state/logs/httperr1.log                     # what the service rejected itself
  $bin/tools/httpcfg/httpcfg --state-dir $state show servicestate   # who serves what
Press Ctrl-C to stop.
TEXT
wait "${pids[0]}"
