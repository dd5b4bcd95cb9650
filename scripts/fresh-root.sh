#!/usr/bin/env bash
# Runs a command the way a new user would meet the project: in a minimal
# Debian 12 root (debootstrap --variant=minbase) where nothing is installed
# yet, on a clone of the committed HEAD of this checkout, as root, with an
# environment holding only HOME and PATH (no LANG: the C locale applies).
#
#   scripts/fresh-root.sh                        # bash scripts/run.sh
#   scripts/fresh-root.sh bash scripts/test.sh   # any command, run in the clone
#   scripts/fresh-root.sh --share DIR COMMAND...  # DIR is /srv/share in the root
#
# --share DIR: this machine's directory DIR is bind-mounted at /srv/share in
# the root, read-write, for files to bring in or take out (a package built
# in one root and installed in another: scripts/package-test.sh).
#
# The minimal root is made once and kept as a tarball; each run unpacks a
# copy of its own, so no run sees what another installed.  The command
# shares this machine's network (apt-get needs it) and sees /proc, /sys and
# /dev.  At the end, whatever way it ends, processes still running in the
# copy are killed, its mounts undone and the copy removed.
#
# Exit status: the command's; 125 when this script itself cannot do its part
# (not root, no debootstrap, the root cannot be made).
#
# Environment:
#   SCA_FRESH_CACHE   the tarball (default /var/cache/scalpels/debian12-minbase.tar);
#                     delete it to make a new one
#   SCA_FRESH_MIRROR  the Debian mirror (default: this machine's apt source,
#                     else http://deb.debian.org/debian)
#   SCA_FRESH_DIR     where the copies are unpacked (default ${TMPDIR:-/tmp})
#   SCA_FRESH_KEEP=1  keep the copy (unmounted) for a look afterwards
set -uo pipefail

me=fresh-root
die() {
  echo "$me: $*" >&2
  exit 125
}

[ "$(id -u)" -eq 0 ] || die "run as root (it uses debootstrap, chroot and mount)"
PATH=$PATH:/usr/sbin:/sbin # where those are, should the caller's PATH lack them
src=$(cd "$(dirname "$0")/.." && pwd)
head=$(git -C "$src" rev-parse --verify -q HEAD) || die "$src is not a git checkout with a commit"
share=''
if [ "${1:-}" = --share ]; then
  if [ $# -lt 2 ] || [ ! -d "$2" ]; then die "--share needs a directory"; fi
  share=$(cd "$2" && pwd) || die "cannot use $2"
  shift 2
fi
[ $# -gt 0 ] || set -- bash scripts/run.sh

cache=${SCA_FRESH_CACHE:-/var/cache/scalpels/debian12-minbase.tar}
workdir=${SCA_FRESH_DIR:-${TMPDIR:-/tmp}}

debian_mirror() {
  local m=${SCA_FRESH_MIRROR:-}
  [ -n "$m" ] && { echo "$m"; return; }
  m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}

build='' root='' child='' keep_log=''

# Runs "$@" in the background and waits for it, so that a signal to this
# script is handled at once (by its trap, then cleanup) rather than when
# the command ends; stdin stays the caller's.  Returns its exit status.
run_child() {
  "$@" <&0 &
  child=$!
  wait "$child"
  local rc=$?
  child=
  return "$rc"
}

# Makes the tarball unless it is there; a lock keeps two runs from making
# it at once, and it appears only when complete.
make_cache() {
  mkdir -p "$(dirname "$cache")" || die "cannot create $(dirname "$cache")"
  exec 9>"$cache.lock" || die "cannot write $cache.lock"
  flock 9
  if [ ! -s "$cache" ]; then
    if ! command -v debootstrap >/dev/null; then
      command -v apt-get >/dev/null || die "debootstrap is needed to make the Debian root, and there is no apt-get to install it"
      echo "$me: installing debootstrap" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null &&
        command -v debootstrap >/dev/null || die "cannot install debootstrap (apt-get install debootstrap)"
    fi
    local mirror
    mirror=$(debian_mirror)
    build=$(mktemp -d "$workdir/fresh-build.XXXXXX") || die "cannot create a directory in $workdir"
    echo "$me: making a minimal Debian 12 root from $mirror (once; kept in $cache)" >&2
    if ! run_child debootstrap --variant=minbase bookworm "$build" "$mirror" >"$build.log" 2>&1; then
      tail -n 15 "$build.log" >&2
      keep_log=1
      die "debootstrap failed (the whole log: $build.log)"
    fi
    { tar -C "$build" -cf "$cache.part" . && mv "$cache.part" "$cache"; } || die "cannot write $cache"
    rm -rf --one-file-system "$build" "$build.log"
    build=
  fi
  exec 9>&-
}

# Mount points under directory $1, deepest first.
mounts_under() { awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }

# Ends the processes whose root is directory $1 (daemons a command left
# behind, or debootstrap's, would keep it busy) and undoes the mounts under
# it; false, saying so, when some stay mounted.
release_tree() {
  local dir=$1 p m _ pids=()
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] && pids+=("${p#/proc/}")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -9 "${pids[@]}" 2>/dev/null
    sleep 0.5
  fi
  for _ in 1 2; do
    mounts_under "$dir" | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  done
  [ -z "$(mounts_under "$dir")" ] && return 0
  echo "$me: still mounted under $dir, not removed:" >&2
  mounts_under "$dir" >&2
  return 1
}

cleanup() {
  # A signal ended this script: the command (or debootstrap) is asked to
  # stop first, then whatever is left in its directory is killed.
  if [ -n "$child" ]; then
    kill "$child" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -n "$build" ]; then
    release_tree "$build" && rm -rf --one-file-system "$build"
    [ -n "$keep_log" ] || rm -f "$build.log"
    rm -f "$cache.part"
  fi
  [ -n "$root" ] || return 0
  if release_tree "$root"; then
    if [ "${SCA_FRESH_KEEP:-0}" = 1 ]; then
      echo "$me: kept $root" >&2
    else
      rm -rf --one-file-system "$root"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

make_cache
root=$(mktemp -d "$workdir/fresh-root.XXXXXX") || die "cannot create a directory in $workdir"
tar -C "$root" -xf "$cache" || die "cannot unpack $cache into $root"
# mktemp made it 0700 (and tar gave it the build directory's 0700 again):
# users other than root (apt's _apt, tests that drop privileges) must
# reach the files below.
chmod 755 "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf" || die "cannot copy /etc/resolv.conf"
clone="$root/srv/scalpels"
{ git clone -q --no-hardlinks --no-checkout "$src" "$clone" &&
  git -C "$clone" checkout -q --detach "$head"; } || die "cannot clone $src into the root"
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
  echo "$me: note: uncommitted changes in $src are not in the clone" >&2

# /sys and /dev are this machine's; rslave so that unmounting them in the
# copy never reaches the originals.
{ mount -t proc proc "$root/proc" &&
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" &&
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"; } ||
  die "cannot mount /proc, /sys and /dev in $root"
if [ -n "$share" ]; then
  { mkdir -p "$root/srv/share" && mount --bind "$share" "$root/srv/share"; } ||
    die "cannot mount $share at /srv/share in $root"
fi

echo "$me: '$*' in a fresh Debian 12 root, on $(git -C "$src" rev-parse --short "$head")" >&2
run_child chroot "$root" /usr/bin/env -i HOME=/root \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -c 'cd /srv/scalpels && exec "$@"' fresh-root "$@"
rc=$?
echo "$me: '$*' exited $rc" >&2
exit "$rc"
