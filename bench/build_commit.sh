# shellcheck shell=bash
# bench/build_commit.sh: how a bench script builds a committed revision (sourced by run.sh,
# profile.sh and common.sh; the sourcing script defines ROOT, log and die).

# How every bench build is configured (profile.sh adds symbols); used by the sourcing scripts.
# shellcheck disable=SC2034
RELEASE_FLAGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DHTTPAPI_TESTS=OFF)

# build_commit REV DIR FLAGS_ARRAY TARGET...: builds the targets of commit REV in DIR, from
# its sources exported with `git archive` (the checkout and its state are not touched); DIR
# is kept, and one that has every target already is used as it is. FLAGS_ARRAY names an
# array of cmake configure arguments.
build_commit() {
  local rev=$1 dir=$2 target path missing=0 src rc=0
  local -n configure=$3
  shift 3
  for target in "$@"; do
    case "$target" in
      httpapid) path=src/daemon/httpapid ;;
      httpcfg) path=tools/httpcfg/httpcfg ;;
      *) path=examples/$target ;;
    esac
    [[ -x $dir/$path ]] || missing=1
  done
  [[ $missing == 1 ]] || return 0
  src=$(mktemp -d /tmp/httpapi-bench-src.XXXXXX)
  log "exporting ${rev:0:12} to $src and building it in $dir"
  git -C "$ROOT" archive --format=tar "$rev" | tar -x -C "$src"
  cmake -S "$src" -B "$dir" "${configure[@]}" >&2 || rc=$?
  [[ $rc != 0 ]] || cmake --build "$dir" --target "$@" >&2 || rc=$?
  rm -rf "$src"
  [[ $rc == 0 ]] || die "building $rev failed"
}
