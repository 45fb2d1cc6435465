#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: the whole ctest suite (unit,
# conformance, integration) in a debug build and again under ASan+UBSan, the release build,
# a compile check of the public headers, and a short run of every libFuzzer target.
# Usage: scripts/test.sh [--quick]   (--quick: debug build only, no sanitizers, no fuzzing,
#                                      no Debian packages: ctest label `package`)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash scripts/install-deps.sh
if [ ! -d ../shared/conformance ]; then
  echo "test.sh: ../shared (beside the checkout) is missing: the conformance vectors live there" >&2
  exit 1
fi

run_suite() {
  local flavour=$1
  shift
  echo "== build: $flavour"
  bash scripts/build.sh "$flavour"
  echo "== ctest: $flavour"
  ctest --test-dir "build/$flavour" --output-on-failure -j 2 --timeout 300 "$@"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ $quick -eq 1 ]; then
  run_suite debug -LE package
else
  # integration_packages builds the .debs (scripts/package.sh) once; integration_package
  # installs them on this machine, integration_systemd in a container booted with systemd.
  run_suite debug
fi
if [ $quick -eq 0 ]; then
  # The main job (scripts/run.sh) and the benchmarks use the optimised build: it must compile
  # too (optimisation brings warnings of its own, and warnings are errors).
  echo "== build: release"
  bash scripts/build.sh release
  # Not integration_descriptor_limit: it runs httpapid out of descriptors, and the sanitizer
  # runtime then cannot open the pipe it probes memory with, so UBSan reports every virtual
  # call as "invalid vptr" (GCC 12's libsanitizer, IsAccessibleMemoryRange).
  # Not integration_testssl: an outside scanner's 100 s of handshakes; what it sends is
  # covered under the sanitizers by integration_tls and the fuzz target.
  # Not the `package` label (integration_packages, _package, _systemd): the packages are
  # built by debhelper with Debian's flags whatever the flavour, and were tested in the
  # debug run.
  run_suite sanitize -E '^integration_(descriptor_limit|testssl)$' -LE package
  echo "== fuzz smoke (each target ${FUZZ_SECONDS:-15} s)"
  bash scripts/build.sh fuzz
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi
echo "test.sh: all tests passed"
