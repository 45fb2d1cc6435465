#!/usr/bin/env bash
# Configures and builds one flavour: release (default), debug, sanitize (ASan+UBSan) or fuzz.
# Usage: scripts/build.sh [release|debug|sanitize|fuzz] [TARGET...]   -> build/<flavour>/
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
dir=build/$flavour
jobs=$(nproc)
case "$flavour" in
  release)  args=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug)    args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  sanitize) args=(-DCMAKE_BUILD_TYPE=Debug -DHTTPAPI_SANITIZE=ON) ;;
  fuzz)     args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHTTPAPI_FUZZ=ON -DHTTPAPI_TESTS=OFF
                  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release, debug, sanitize, fuzz)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]}"
