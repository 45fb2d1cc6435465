#!/usr/bin/env bash
# Installs the Debian 12 packages httpapi needs to build, test and benchmark, and makes the
# `httpapi` system account httpapid runs as (httpapid --user httpapi, docs/operations.md).
# Idempotent: does nothing when everything is already there. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer and the sanitizer runtimes
  libssl-dev libnghttp2-dev libsqlite3-dev
  libseccomp-dev                      # httpapid --seccomp
  systemd                             # systemd-analyze rates dist/systemd/httpapid.service
  systemd-container                   # systemd-nspawn boots the packaged unit (test_systemd.py)
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhttp-parser-dev                  # differential testing of our HTTP/1.1 parser
  python3 python3-h2 curl nginx-light wrk nghttp2-client valgrind
  python3-hpack python3-hyperframe    # raw HTTP/2 frames for the conformance suite
  python3-websockets                  # a real WebSocket client for httpapi-websocket-echo
  testssl.sh                          # the TLS scanner auditors use (tests/integration)
  goaccess                            # parses our NCSA and W3C access logs (tests/integration)
  prometheus                          # promtool and a real server scrape our metrics (tests/integration)
  haproxy iproute2                    # the balancer and the namespaces of test_multihost.py
  debhelper lintian                   # scripts/package.sh: the Debian packages, checked
)

# The service account: no home, no login, its own group (as a Debian package's postinst).
make_account() {
  getent passwd httpapi >/dev/null && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: the httpapi account is missing; run this script as root" >&2
    return 1
  fi
  if command -v adduser >/dev/null 2>&1; then
    adduser --system --group --no-create-home --home /nonexistent \
      --gecos "HTTP Server API service" httpapi >/dev/null
  else
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin --comment "HTTP Server API service" httpapi
  fi
  echo "install-deps: made the system account httpapi"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  make_account
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
# Likewise the prometheus package's own server (port 9090): the tests start theirs.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi
# Likewise the haproxy package's own service: the multi-host test runs its own balancer.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
  systemctl stop haproxy || true
fi
make_account
echo "install-deps: done"
