#!/bin/bash
# Bash completion for sca and sca-manage (completion/sca.bash), called as
# bash calls it (COMP_WORDS split at COMP_WORDBREAKS, COMP_CWORD, COMP_LINE)
# against a live agent on the unix socket: commands and options from each
# program's --help, tracer names, task and result uuids, host names, the
# 60-second cache, --config and SCALPELS_CONF, and an agent that is gone.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"
PY=/usr/bin/python3
export PATH="$SCA_BIN:$PATH"
export XDG_RUNTIME_DIR="$T/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"

set +u # the completion runs in interactive shells, which do not set -u
source "$SCA_SRC/completion/sca.bash"
set -u

# comp LINE: the completions bash would offer with the cursor at the end of
# LINE, sorted, one a line in $OUT.
comp() {
    local line=$1 word="" c i
    COMP_WORDS=()
    # Split as bash does: whitespace separates words, and each run of the
    # non-space COMP_WORDBREAKS characters used here (= and :) is a word.
    for ((i = 0; i < ${#line}; i++)); do
        c=${line:i:1}
        if [[ $c == " " ]]; then
            [[ -n $word ]] && COMP_WORDS+=("$word")
            word=""
        elif [[ $c == [=:] ]]; then
            [[ -n $word && $word != *[=:] ]] && { COMP_WORDS+=("$word"); word=""; }
            word+=$c
        else
            [[ $word == *[=:] ]] && { COMP_WORDS+=("$word"); word=""; }
            word+=$c
        fi
    done
    COMP_WORDS+=("$word")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMPREPLY=()
    set +u
    # As in an interactive shell: no errexit inside the completion.
    _sca "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || true
    set -u
    OUT=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}
# lines WORD...: the words sorted, one a line, as comp leaves them.
lines() { printf '%s\n' "$@" | sort; }
# help_commands PROGRAM, help_long_options PROGRAM [COMMAND]: read from
# --help with sed, independently of the completion's own reading.
help_commands() { "$1" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }
help_long_options() { "$@" --help | sed -n '/^usage:/,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u; }

"$M" db-create >/dev/null
"$M" setup -t name=seq -t "tpl=seq 1 3" -t parser=count >/dev/null
"$M" setup -t name=slow -t "tpl=sleep 60" >/dev/null
"$SCA_BIN/sca-agent" --foreground 2>>"$T/agent.log" &
AGENT=$!
_cleanup_pids+=("$AGENT")
wait_until 10 '[ -S "$T/agent.sock" ] && "$M" status >/dev/null 2>&1' ||
    fail "the agent did not start: $(cat "$T/agent.log")"

# --- registration, commands, options ----------------------------------------
assert_contains "$(complete -p sca)" "-F _sca" "complete -p sca"
assert_contains "$(complete -p sca-manage)" "-F _sca" "complete -p sca-manage"
for prog in sca sca-manage; do
    comp "$prog "
    assert_eq "$OUT" "$(help_commands "$prog" | sort)" "$prog: every command of --help"
    [ -n "$OUT" ] || fail "$prog --help lists no command"
    comp "$prog --"
    for opt in $(help_long_options "$prog"); do
        grep -qx -- "$opt" <<<"$OUT" || fail "'$prog --' does not offer $opt: $OUT"
    done
    for cmd in $(help_commands "$prog"); do
        comp "$prog $cmd --"
        for opt in $(help_long_options "$prog" "$cmd"); do
            grep -qx -- "$opt" <<<"$OUT" || fail "'$prog $cmd --' does not offer $opt: $OUT"
        done
    done
done
comp "sca re"
assert_eq "$OUT" "$(lines report result)" "a command's prefix"
comp "sca --json --timeout 5 rep"
assert_eq "$OUT" "report" "the command after global options and their values"
comp "sca report --c"
assert_eq "$OUT" "--csv" "an option's prefix"
comp "sca tracer -"
assert_eq "$OUT" "$(lines -l --json)" "sca tracer's options"
comp "sca-manage db-create -"
assert_eq "$OUT" "$(lines -f --force)" "sca-manage db-create's options"
comp "sca-manage setup -t "
assert_eq "$OUT" "$(lines name= parser= title= tpl=)" "setup -t offers its keys"
comp "sca --config $T/scalpels.c"
assert_eq "$OUT" "$T/scalpels.conf" "--config completes files"
echo '{"agents": [{"name": "seq"}]}' >"$T/agents.json"
comp "sca start -f $T/agents"
assert_eq "$OUT" "$T/agents.json" "start -f completes files"
ok "commands and options, from --help"

# --- tracer names ------------------------------------------------------------
tracers=$("$S" --json tracer | $PY -c 'import json,sys; print("\n".join(sorted(t["name"] for t in json.load(sys.stdin))))')
comp "sca start -a "
assert_eq "$OUT" "$tracers" "start -a: every registered tracer"
comp "sca start -a s"
assert_eq "$OUT" "$(grep '^s' <<<"$tracers")" "start -a s"
comp "sca stop --agent seq,s"
assert_eq "$OUT" "$(lines seq,seq seq,slow seq,sqlaexec)" "the last name of a comma-separated list"
comp "sca report --agent=sl"
assert_eq "$OUT" "slow" "--agent=NAME (bash splits at '=')"
comp "sca-manage setup -t name=sl"
assert_eq "$OUT" "slow" "setup -t name= offers the tracers"
ok "tracer names from the agent"

# --- task and result uuids, hosts ---------------------------------------------
u1=$("$S" start -a seq)
u2=$("$S" start -a slow)
"$S" stop "$u2" >/dev/null
wait_until 15 '[ "$(sql "SELECT count(*) FROM task WHERE status = '"'"'stopped'"'"'")" = 2 ]' ||
    fail "the tasks did not stop"
rm -rf "${XDG_RUNTIME_DIR:?}"/* # the uuids are new: drop what was cached before them
comp "sca report "
assert_eq "$OUT" "$(lines "$u1" "$u2")" "report UUID: every task"
comp "sca stop ${u2:0:4}"
assert_eq "$OUT" "$u2" "a uuid's prefix"
results=$(sql "SELECT uuid FROM result ORDER BY uuid")
[ -n "$results" ] || fail "the tasks made no result"
comp "sca result "
assert_eq "$OUT" "$results" "result UUID: every result"
comp "sca report $u1 --r"
assert_eq "$OUT" "--rows" "options after the uuid"
comp "sca --host "
assert_eq "$OUT" "$("$S" hosts --short)" "--host: the hosts that answer"
ok "task and result uuids, hosts"

# --- sca run: the command's own words ----------------------------------------
comp "sca run -a seq ech"
assert_contains "$OUT" "echo" "run: CMD is a command"
comp "sca run -a seq -- ech"
assert_contains "$OUT" "echo" "run: CMD after --"
comp "sca run -a seq -- ls $T/scalpels.c"
assert_eq "$OUT" "$T/scalpels.conf" "run: CMD's arguments are files"
comp "sca run -a s"
assert_eq "$OUT" "$(grep '^s' <<<"$tracers")" "run -a still completes tracers"
ok "sca run"

# --- the cache ---------------------------------------------------------------
cache=("$XDG_RUNTIME_DIR"/scalpels-completion/tracers.*)
[ -f "${cache[0]}" ] || fail "no cache file in $XDG_RUNTIME_DIR/scalpels-completion"
assert_eq "$(stat -c %a "$XDG_RUNTIME_DIR/scalpels-completion")" "700" "the cache directory is private"
"$M" setup -t name=zz -t "tpl=sleep 1" >/dev/null
comp "sca start -a z"
assert_eq "$OUT" "" "a tracer registered within 60 s is not asked for again"
touch -d '-61 seconds' "${cache[@]}"
comp "sca start -a z"
assert_eq "$OUT" "zz" "after 60 s the agent is asked again"
ok "tracer names are cached for 60 s"

# --- which agent: SCALPELS_CONF, --config, --transport-url, none --------------
cat >"$T/other.conf" <<CONF
[DEFAULT]
state_dir = $T/other
CONF
mkdir "$T/other"
SCALPELS_CONF="$T/other.conf" comp "sca report "
assert_eq "$OUT" "" "SCALPELS_CONF names a node without an agent: no uuids"
SCALPELS_CONF="$T/other.conf" comp "sca --config $T/scalpels.conf report "
assert_eq "$OUT" "$(lines "$u1" "$u2")" "--config on the command line is passed on"
SCALPELS_CONF="$T/other.conf" comp "sca -c $T/scalpels.conf tracer -"
assert_eq "$OUT" "$(lines -l --json)" "-c FILE is skipped to find the command"
SCALPELS_CONF="$T/other.conf" comp "sca --transport-url unix://$T/agent.sock stop -a sl"
assert_eq "$OUT" "slow" "--transport-url (split at ':') is passed on"
kill "$AGENT"
wait "$AGENT" || true
rm -rf "${XDG_RUNTIME_DIR:?}"/*
comp "sca report "
assert_eq "$OUT" "" "no agent: no uuids, no error"
comp "sca start -a "
assert_eq "$OUT" "" "no agent: no tracer names"
comp "sca st"
assert_eq "$OUT" "$(lines start stop)" "no agent: commands still complete"
ok "the agent the command line names; none at all"
