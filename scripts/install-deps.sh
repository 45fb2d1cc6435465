#!/usr/bin/env bash
# Installs the Debian 12 packages httpapi needs to build, test and benchmark.
# Idempotent: does nothing when everything is already installed. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer and the sanitizer runtimes
  libssl-dev libnghttp2-dev libsqlite3-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhttp-parser-dev                  # differential testing of our HTTP/1.1 parser
  python3 python3-h2 curl nginx-light wrk nghttp2-client valgrind
  python3-websockets                  # a real WebSocket client for httpapi-websocket-echo
  testssl.sh                          # the TLS scanner auditors use (tests/integration)
  goaccess                            # parses our NCSA and W3C access logs (tests/integration)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The nginx package starts a system nginx on port 80; the benchmarks run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi
echo "install-deps: done"
