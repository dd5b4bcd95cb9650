#!/usr/bin/env bash
# The Debian package from build to purge (CI's third step, .ci/run), as
# root, with the network (apt-get):
#   1. in a fresh minimal Debian 12 root on a clone of this commit
#      (scripts/fresh-root.sh), scripts/package.sh builds the package twice:
#      at the project's version, and the same programs at an older version
#      (VERSION~older) to upgrade from;
#   2. in another fresh root, where nothing but those two files is brought
#      in, tests/package/install.sh installs the older package with apt-get,
#      runs a session, upgrades, removes and purges (its header lists what
#      it checks).
# Two roots, because the package must install where no build dependency
# is.  Exit status: 0 when both pass; 125 when fresh-root.sh cannot do its
# part; else the failing step's.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

out=$(mktemp -d "${TMPDIR:-/tmp}/sca-packages.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
chmod 755 "$out" # apt-get's _apt user reads the packages from there
version=$(sed -n 's/^project(scalpels VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
older="$version~older"

echo "package-test: building scalpels $older and $version"
bash scripts/fresh-root.sh --share "$out" bash -c "bash scripts/package.sh --version '$older' --out /srv/share &&
  bash scripts/package.sh --out /srv/share" || exit
if ! old_deb=$(cd "$out" && ls scalpels_"$older"_*.deb) || ! new_deb=$(cd "$out" && ls scalpels_"$version"_*.deb); then
  echo "package-test: the packages are not in $out: $(ls "$out")" >&2
  exit 1
fi

echo "package-test: installing $old_deb, upgrading to $new_deb, removing"
bash scripts/fresh-root.sh --share "$out" bash tests/package/install.sh "/srv/share/$old_deb" "/srv/share/$new_deb"
