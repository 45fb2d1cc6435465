# shellcheck shell=bash
# bench/build_commit.sh: how a bench script builds a committed revision (sourced by run.sh,
# profile.sh and common.sh; the sourcing script defines ROOT, log and die).

# How every bench build is configured (profile.sh adds symbols); used by the sourcing scripts.
# shellcheck disable=SC2034
RELEASE_FLAGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DHTTPAPI_TESTS=OFF)

# build_commit REV DIR FLAGS_ARRAY TARGET...: builds the targets of commit REV in DIR, from
# its sources exported with `git archive` into DIR-src (the checkout and its state are not
# touched). Both are kept: a DIR that has every target already is used as it is, and a later
# call for more targets builds only those. FLAGS_ARRAY names an array of cmake configure
# arguments.
build_commit() {
  local rev=$1 dir=$2 target path missing=0
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
  local src=$dir-src
  if [[ ! -f $src/CMakeLists.txt ]]; then
    log "exporting ${rev:0:12} to $src"
    rm -rf "$src" && mkdir -p "$src"
    git -C "$ROOT" archive --format=tar "$rev" | tar -x -C "$src" || die "cannot export $rev"
  fi
  # A build configured from other sources (an older script's temporary copy) starts over.
  if [[ -f $dir/CMakeCache.txt ]] &&
     ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  log "building ${rev:0:12} in $dir"
  cmake -S "$src" -B "$dir" "${configure[@]}" >&2 || die "configuring $rev failed"
  cmake --build "$dir" --target "$@" >&2 || die "building $rev failed"
}
