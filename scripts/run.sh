#!/usr/bin/env bash
# The main job: installs what is needed, builds (release), starts httpapid on a fresh state
# directory and six example applications sharing one port, and one more over https on the
# next port with a self-signed certificate made on the fly; prints the URLs to try, and
# runs until Ctrl-C (or SIGTERM), then stops what it started.
# Usage: scripts/run.sh [PORT]   (default 8080; https on PORT+1)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8080}
tls_port=$((port + 1))

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

# As root (the usual case here), the secure default of a real installation: httpapid gives the
# state directory to the httpapi account (made by install-deps.sh), becomes it, and keeps only
# the right to bind ports below 1024 (docs/operations.md).
user_args=()
[ "$(id -u)" -eq 0 ] && user_args=(--user httpapi)
"$bin/src/daemon/httpapid" --state-dir "$state" "${user_args[@]}" \
  2> >(sed 's/^/[httpapid] /' >&2) &
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

# https: a certificate for localhost, bound to the port for every address (docs/tls.md)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$state/localhost.key" -out "$state/localhost.pem" 2>/dev/null
"$bin/tools/httpcfg/httpcfg" --state-dir "$state" sslcert add --ipport "0.0.0.0:$tls_port" \
  --cert "$state/localhost.pem" --key "$state/localhost.key" >/dev/null
start_app secure-echo "$bin/examples/httpapi-echo" --url "https://+:$tls_port/echo/" \
  --name secure-echo

cat <<TEXT

httpapid is running (state directory $state); six applications share port $port, and
httpapi-echo also answers over https on port $tls_port:
  curl -i http://127.0.0.1:$port/hello/            # hello.c: "Hello, World!"
  curl -s http://127.0.0.1:$port/echo/a?b=c        # httpapi-echo: the request as JSON
  curl -s -d 'some body' http://127.0.0.1:$port/echo/post
  curl -s --http2-prior-knowledge http://127.0.0.1:$port/echo/h2   # HTTP/2 (h2c): "HTTP/2"
  curl -i http://127.0.0.1:$port/count/page        # counter (C++ wrapper): a chunked answer
  curl -i http://127.0.0.1:$port/cached/           # hello with a 60 s time to live: after the
                                                   # first, httpapid answers from its cache
  $bin/tools/httpcfg/httpcfg --state-dir $state show cachestate
  /usr/bin/python3 -m websockets ws://127.0.0.1:$port/ws/   # httpapi-websocket-echo
  curl -i http://127.0.0.1:$port/docs/files.md     # httpapi-files serving docs/ (sendfile,
  curl -i -r 0-99 http://127.0.0.1:$port/docs/files.md   # ranges, ETag/304, the cache)
  curl -k https://127.0.0.1:$tls_port/echo/tls      # over TLS: the JSON shows "tls": {...}
  curl -k --http2 https://127.0.0.1:$tls_port/echo/  # HTTP/2 over TLS (ALPN h2)
  curl --cacert $state/localhost.pem https://localhost:$tls_port/echo/   # checking the cert
  $bin/tools/httpcfg/httpcfg --state-dir $state sslcert show   # the certificate binding
  curl -i http://127.0.0.1:$port/nothing/          # no prefix matches: 404 from the service
  cat $state/logs/httperr1.log                     # what the service rejected itself
  $bin/tools/httpcfg/httpcfg --state-dir $state show servicestate   # who serves what
Press Ctrl-C to stop.
TEXT
wait "${pids[0]}"
