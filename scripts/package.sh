#!/usr/bin/env bash
# Builds the Debian package, as root on Debian 12: installs what the build
# needs (scripts/deps.sh --package), configures build-deb/ for the /usr
# prefix and runs CPack's DEB generator (packaging/package.cmake).  The
# last line it prints is the package's path.
#
#   scripts/package.sh                # build-deb/scalpels_VERSION_ARCH.deb
#   scripts/package.sh --version V    # version V instead of the project's
#   scripts/package.sh --out DIR      # and copy the package into DIR
#
# Install it with `apt-get install ./build-deb/scalpels_*.deb` (apt-get
# fetches its dependencies); docs/operations.md says what it installs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

usage() {
  echo "usage: scripts/package.sh [--version V] [--out DIR]" >&2
  exit 2
}
version='' out=''
while [ $# -gt 0 ]; do
  case $1 in
  --version)
    [ $# -ge 2 ] || usage
    version=$2
    shift 2
    ;;
  --out)
    if [ $# -lt 2 ] || [ ! -d "$2" ]; then usage; fi
    out=$2
    shift 2
    ;;
  *) usage ;;
  esac
done

bash scripts/deps.sh --package
build="build-deb"
mkdir -p "$build"
# Quiet unless a step fails: then that step's output.
step() {
  local log=$1; shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "package.sh: failed: $* (log: $log)" >&2; exit 1; }
}
step "$build/configure.log" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DSCA_TESTS=OFF -DSCA_PACKAGE_VERSION="$version"
step "$build/build.log" cmake --build "$build" -j"$(nproc)"
rm -f "$build"/scalpels_*.deb
step "$build/package.log" cmake --build "$build" --target package
deb=$(ls "$build"/scalpels_*.deb)
if [ -n "$out" ]; then
  cp "$deb" "$out/"
  deb="$out/$(basename "$deb")"
fi
echo "$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
