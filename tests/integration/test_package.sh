#!/bin/bash
# The Debian package, built but not installed (scripts/package-test.sh, in
# CI, installs it with apt-get in a fresh root): a build for the /usr prefix
# packages exactly what `cmake --install` installs, the configuration in
# /etc as conffiles, the maintainer scripts, and a Depends in which every
# package provides a library the programs link and every such library has
# its package.  A build for another prefix refuses to make a package.
# It builds the package's programs itself, with the default compiler:
# run: once
source "$(dirname "$0")/lib.sh"

b="$T/build"
cmake -S "$SCA_SRC" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DSCA_TESTS=OFF >"$T/configure.log" 2>&1 || fail "configure for /usr: $(tail -n 20 "$T/configure.log")"
cmake --build "$b" -j2 >"$T/build.log" 2>&1 || fail "build: $(tail -n 20 "$T/build.log")"
cmake --build "$b" --target package >"$T/package.log" 2>&1 || fail "package: $(tail -n 20 "$T/package.log")"
debs=("$b"/scalpels_*.deb)
assert_eq "${#debs[@]}" "1" "packages made"
deb=${debs[0]}
version=$(sed -n 's/^project(scalpels VERSION \([0-9.]*\).*/\1/p' "$SCA_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
assert_eq "$(basename "$deb")" "scalpels_${version}_${arch}.deb" "the package's file name"
assert_eq "$(dpkg-deb -f "$deb" Package)" "scalpels" "Package"
assert_eq "$(dpkg-deb -f "$deb" Version)" "$version" "Version (the project's)"
assert_eq "$(dpkg-deb -f "$deb" Architecture)" "$arch" "Architecture"
ok "built $(basename "$deb")"

# The package's files are those `cmake --install` puts under DESTDIR.
DESTDIR="$T/dest" cmake --install "$b" >"$T/install.log"
(cd "$T/dest" && find . ! -type d | sort) >"$T/installed"
dpkg-deb -x "$deb" "$T/data"
(cd "$T/data" && find . ! -type d | sort) >"$T/packaged"
diff -u "$T/installed" "$T/packaged" >"$T/files.diff" ||
  fail "the package's files and cmake --install's differ: $(cat "$T/files.diff")"
for f in ./usr/bin/sca ./usr/bin/sca-agent ./usr/bin/sca-manage ./usr/bin/sca-tracer ./usr/bin/sca-sampler \
  ./usr/bin/sca-rabbit-trace ./usr/share/scalpels/tracers/device-input-traffic.sh \
  ./etc/scalpels/scalpels.conf ./etc/logrotate.d/scalpels ./usr/lib/systemd/system/sca-agent.service \
  ./usr/share/man/man1/sca.1 ./usr/share/man/man5/scalpels.conf.5 ./usr/share/man/man8/sca-agent.8 \
  ./usr/share/bash-completion/completions/sca ./usr/share/bash-completion/completions/sca-manage; do
  grep -qxF "$f" "$T/packaged" || fail "$f is not in the package"
done
grep -E '^\./(usr/etc|usr/local|etc/)' "$T/packaged" | grep -vE '^\./etc/(scalpels/scalpels\.conf|logrotate\.d/scalpels)$' &&
  fail "files outside /usr besides the two configuration files (above)"
cmp -s "$T/data/etc/scalpels/scalpels.conf" "$SCA_SRC/etc/scalpels.conf" || fail "the packaged scalpels.conf is not etc/scalpels.conf"
ok "$(wc -l <"$T/packaged") files, the same as cmake --install's; the configuration in /etc"

dpkg-deb -e "$deb" "$T/control"
assert_eq "$(cat "$T/control/conffiles")" "/etc/scalpels/scalpels.conf
/etc/logrotate.d/scalpels" "conffiles"
for script in postinst prerm postrm; do
  [ -x "$T/control/$script" ] || fail "no executable $script"
  sh -n "$T/control/$script" || fail "$script is not valid sh"
  cmp -s "$T/control/$script" "$SCA_SRC/packaging/deb/$script" || fail "$script is not packaging/deb/$script"
done
ok "conffiles, postinst, prerm, postrm"

# Depends, against the libraries the programs link: each library's package
# is declared, and each declared package provides one of them.
depends=$(dpkg-deb -f "$deb" Depends)
declared=$(tr ',' '\n' <<<"$depends" | awk 'NF { print $1 }' | sort -u)
needed=$(for p in "$T"/data/usr/bin/*; do
  objdump -p "$p" | awk '$1 == "NEEDED" { print $2 }'
done | sort -u)
[ -n "$needed" ] || fail "objdump found no NEEDED library in the programs"
providers=$(for lib in $needed; do
  owner=$(dpkg -S "*/$lib" 2>/dev/null | grep "^[^:]*:$arch: " | head -n 1 | cut -d: -f1) || true
  [ -n "$owner" ] || fail "no installed package provides $lib"
  echo "$owner"
done | sort -u)
assert_eq "$declared" "$providers" "Depends' packages against the packages of the linked libraries (${needed//$'\n'/ })"
ok "Depends: $depends"

# A build for /usr/local (the suite's) refuses, saying why.
expect_exit 1 cpack --config "$SCA_BUILD/CPackConfig.cmake" -B "$T/refused"
said=$(tr -s ' \n' '  ' <<<"$OUT") # CMake wraps the message
assert_contains "$said" "configured for /usr/local: configure a build directory of its own with -DCMAKE_INSTALL_PREFIX=/usr" \
  "cpack in a build for /usr/local"
[ -z "$(find "$T/refused" -name '*.deb' 2>/dev/null)" ] || fail "a package was made for /usr/local"
said=${said#*(message): }
ok "a build for /usr/local makes no package: cpack says ${said%% CPack Error*}"
