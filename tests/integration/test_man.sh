#!/bin/bash
# The manual pages: `cmake --install` puts them where man finds them, they
# format without warnings, and they are true to the programs: for every
# program and every command its --help lists, the options --help lists and
# those the page documents are the same, both ways, and scalpels.conf(5)
# documents every configuration key (man_check.py).
source "$(dirname "$0")/lib.sh"

root="$T/dest"
DESTDIR="$root" cmake --install "$SCA_BUILD" --prefix /usr/local >"$T/install.log"
mandir="$root/usr/local/share/man"
export MANPATH="$mandir" MANWIDTH=80 LC_ALL=C.UTF-8

for page in sca:1 sca-manage:8 sca-agent:8 sca-tracer:8 scalpels.conf:5; do
    name=${page%:*} section=${page#*:}
    expect_exit 0 man -w "$section" "$name"
    assert_eq "$OUT" "$mandir/man$section/$name.$section" "man -w $section $name"
    # Formatted as man shows it, with groff's warnings on.
    set +e
    text=$(man --warnings "$section" "$name" 2>"$T/warnings")
    rc=$?
    set -e
    assert_eq "$rc" "0" "man $section $name"
    assert_eq "$(cat "$T/warnings")" "" "groff's warnings for $name($section)"
    grep -qE "^ +${name//./\\.} - " <<<"$text" || fail "$name($section) has no NAME line: $text"
    assert_contains "$text" "Scalpels $(sed -n 's/^project(scalpels VERSION \([0-9.]*\).*/\1/p' "$SCA_SRC/CMakeLists.txt")" \
        "$name($section) carries the version"
done
ok "the pages are installed in MANDIR/man1, man5, man8 and format without warnings"

set +e
OUT=$(/usr/bin/python3 "$SCA_SRC/tests/integration/man_check.py" "$SCA_BIN" "$mandir" \
    "$SCA_SRC/etc/scalpels.conf" "$SCA_SRC" 2>&1)
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "the pages and the programs disagree:
$OUT"
ok "$OUT"
