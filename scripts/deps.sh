#!/usr/bin/env bash
# Installs what Scalpels needs to build, run and test on Debian 12, as root.
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh --package  also what building the Debian package uses
#   scripts/deps.sh --test   also what the test suite uses (the package's too)
# Package installs never start system services here (rabbitmq-server and
# mariadb-server would otherwise listen on every interface): the tests start
# their own private, loopback-only servers and stop them.
set -euo pipefail

# libjs-dygraphs: the charting library sca's HTML report inlines, read at
# build time only.
build_pkgs=(build-essential cmake pkg-config librabbitmq-dev libsqlite3-dev libjansson-dev
  libuv1-dev libinih-dev uuid-dev libssl-dev libjs-dygraphs)
run_pkgs=(sqlite3 iproute2 procps)
# The Debian package (scripts/package.sh, CPack): dpkg-shlibdeps finds its
# dependencies, file tells CPack which installed files are programs.
package_pkgs=(dpkg-dev file)
# man-db: test_man formats the installed pages with man, as a reader would.
# chromium: test_cli opens the HTML report in headless Chromium (charts
# drawn, no console error).  tmux: test_watch runs sca watch in a real
# terminal.  prometheus (about 100 MB): its promtool reads what report
# --openmetrics writes.  time: test_report_stream reads sca's peak memory
# from /usr/bin/time -v.
test_pkgs=(libcmocka-dev rabbitmq-server python3 python3-oslo.messaging mariadb-server
  mariadb-client clang libclang-rt-14-dev bc openssl man-db chromium tmux prometheus time)

pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}")
case "${1:-}" in
--package) pkgs+=("${package_pkgs[@]}") ;;
--test) pkgs+=("${package_pkgs[@]}" "${test_pkgs[@]}") ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Keep maintainer scripts from starting services while we install.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
trap '[ -n "$created_policy" ] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
