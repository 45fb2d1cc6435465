#!/usr/bin/env bash
# Builds the Debian packages (httpapid, httpcfg, libhttpapi1, libhttpapi-dev) with debhelper
# from the working tree, and checks them with lintian (an error fails the build).
# Usage: scripts/package.sh [--out DIR] [--no-lintian]      -> build/packages/*.deb
# The build runs on a copy of the tree in build/package-src/, so dpkg-buildpackage's files
# (debian/tmp, obj-*, ../*.deb) never land in the checkout or beside it. DEB_BUILD_OPTIONS
# is honoured; the default is "nocheck parallel=$(nproc)". docs/operations.md, "Packages".
set -euo pipefail
out=
lint=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --no-lintian) lint=0; shift ;;
    *) echo "package.sh: unknown argument '$1' (--out DIR, --no-lintian)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
out=${out:-$PWD/build/packages}

# The package's version is the project's (include/httpapi/httpapi.h, as CMake reads it):
# the newest debian/changelog entry must name it.
project_version=$(sed -n 's/^#define HTTPAPI_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
                  include/httpapi/httpapi.h | paste -sd.)
changelog_version=$(dpkg-parsechangelog -S Version)
if [ "$changelog_version" != "$project_version" ]; then
  echo "package.sh: debian/changelog's newest entry is $changelog_version but the project is" \
       "$project_version (include/httpapi/httpapi.h); add an entry for $project_version" \
       "(dch -v $project_version, or by hand at the top of debian/changelog)" >&2
  exit 1
fi
for tool in dpkg-buildpackage dh; do
  if ! command -v "$tool" >/dev/null; then
    echo "package.sh: $tool is missing; run scripts/install-deps.sh as root" >&2
    exit 1
  fi
done

# The tree as git sees it (tracked and new files, not ignored ones, so no build/), copied.
work=build/package-src
src=$work/httpapi-$project_version
rm -rf "$work"
mkdir -p "$src" "$out"
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$src"

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-"nocheck parallel=$(nproc)"}
started=$(date +%s)
(cd "$src" && dpkg-buildpackage -b -us -uc)
echo "package.sh: built in $(( $(date +%s) - started )) s"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes=$work/httpapi_${project_version}_${arch}.changes
if [ $lint -eq 1 ]; then
  # Errors fail; warnings are printed (docs/operations.md lists the ones that are expected).
  lintian --fail-on error --info "$changes"
fi
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
rm -rf "$work"
echo "package.sh: packages in $out:"
ls -1 "$out"
