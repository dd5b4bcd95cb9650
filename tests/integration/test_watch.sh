#!/bin/bash
# sca watch against a real agent, in a real terminal (tmux): the view
# shows the series and updates, a log line's escape sequences never reach
# the terminal, and every way out gives the terminal back (normal screen,
# cursor shown, canonical mode and echo): q, Ctrl-C, SIGTERM, SIGHUP, a
# suspension (Ctrl-Z, then fg), the task's end (exit 0, the last view
# printed) and a lost agent (exit 3, its message readable).  Then the
# lines printed when stdout is not a terminal, and bad input.
source "$(dirname "$0")/lib.sh"
S="$SCA_BIN/sca"
M="$SCA_BIN/sca-manage"

"$M" db-create >/dev/null
# A number every 0.1 s (3, 6, 9, ...) and a log line with an escape sequence.
"$M" setup -t name=tick -t parser=count \
  -t "tpl=sh -c 'i=0; while :; do i=\$((i+1)); echo \$((i*3)); sleep 0.1; done'" >/dev/null
"$M" setup -t name=chat -t parser=log \
  -t "tpl=sh -c 'i=0; while :; do i=\$((i+1)); printf \"line %s \\033[31mred\\n\" \$i; sleep 0.1; done'" >/dev/null
"$M" setup -t name=short -t parser=count \
  -t "tpl=sh -c 'for i in 1 2 3 4 5 6 7 8; do echo \$i; sleep 0.3; done'" >/dev/null
start_agent
a=$("$S" start -a tick,chat)

# --- a terminal: tmux, 120x40 --------------------------------------------------------
# Each watch runs in a pane of its own under a plain sh, which neither
# changes the terminal's modes (as an interactive shell's line editor
# does) nor restores them after its child: what the pane shows once sca
# has ended is what sca left.  sh writes sca's exit status to $T/rc.NAME
# and sleeps, so the pane stays.
X() { tmux -S "$T/tmux.sock" "$@"; }
X -f /dev/null start-server \; set -g exit-empty off
_cleanup_pids+=("$(X display -p '#{pid}')")
in_pane() { # NAME CMD: runs CMD in a new 120x40 pane NAME and waits for the view
  P=$1
  X new-session -d -s "$P" -x 120 -y 40 \
    "env -i PATH=$PATH TERM=tmux-256color LC_ALL=C.UTF-8 SCALPELS_CONF=$SCALPELS_CONF \
     sh -c 'trap true INT; $2; echo \$? >$T/rc.$P; exec sleep 600'"
  wait_until 15 'screen | grep -q "^tick (count) "' || fail "$P: no view: $(screen)"
  assert_eq "$(pane '#{alternate_on} #{cursor_flag}')" "1 0" "$P: the alternate screen, no cursor"
  assert_eq "$(modes)" "-icanon -echo " "$P: keys one at a time, no echo"
}
pane() { X display -p -t "$P" "$1"; }
screen() { X capture-pane -p -t "$P"; }
# The terminal's modes (stty -F opens the pane's terminal as sh would).
modes() { stty -F "$(pane '#{pane_tty}')" -a | tr ' ' '\n' | grep -E '^-?(icanon|echo)$' | tr '\n' ' '; }
sca_pid() { ps -o pid=,comm= --ppid "$(pane '#{pane_pid}')" | awk '$2 == "sca" { print $1 }'; }
restored() { # WHAT: sca has ended and the terminal is as it was
  wait_until 10 '[ -e "$T/rc.$P" ]' || fail "$1: sca is still running: $(screen)"
  assert_eq "$(pane '#{alternate_on} #{cursor_flag}')" "0 1" "$1: the normal screen and the cursor"
  assert_eq "$(modes)" "icanon echo " "$1: canonical mode and echo"
}
rc() { cat "$T/rc.$P"; }
tick_count() { screen | awk '$1 == "tick" { print $5 }'; }

in_pane q "$S watch --last"
# Rates need two refreshes.
wait_until 10 'screen | grep -q "^tick (count) .*+[0-9.]*/s"' || fail "no rate: $(screen)"
view=$(screen)
assert_contains "$view" "task $a on " "the view names the task"
assert_contains "$view" "running for " "and says it runs"
assert_contains "$view" "(q quits)" "and how to quit"
assert_contains "$(printf '%s\n' "$view" | sed -n 3p)" "series" "the column names"
grep -qE '^tick \(count\) +[0-9]+ +\+[0-9.]+/s +[0-9]+  [▁▂▃▄▅▆▇█ ]*[▁▂▃▄▅▆▇█]$' <<<"$view" ||
  fail "tick's row: last, a rising rate, count, sparkline: $view"
# The escape sequence of the log line is shown as text, never run.
grep -qE '^chat +- +[0-9.]+ lines/s +[0-9]+  line [0-9]+  \[31mred$' <<<"$view" ||
  fail "chat's row: lines per second, the last line with its ESC as a space: $view"
first=$(tick_count)
wait_until 10 '[ "$(tick_count)" -gt "$first" ]' || fail "the count did not go up from $first: $(screen)"
X send-keys -t q q
restored "q"
assert_eq "$(rc)" "0" "q: exit 0"
ok "watch: the view updates; q gives the terminal back"

in_pane int "$S watch ${a:0:8}"
X send-keys -t int C-c
restored "Ctrl-C"
assert_eq "$(rc)" "130" "Ctrl-C: killed by SIGINT"
in_pane term "$S watch $a"
kill -TERM "$(sca_pid)"
restored "SIGTERM"
assert_eq "$(rc)" "143" "killed by SIGTERM"
in_pane hup "$S watch $a"
kill -HUP "$(sca_pid)"
restored "SIGHUP"
assert_eq "$(rc)" "129" "killed by SIGHUP"
ok "watch: Ctrl-C, SIGTERM and SIGHUP give the terminal back"

# Ctrl-Z needs a shell with job control (under sh, whose children's group
# is orphaned, the kernel drops the stop).  bash gives a stopped job's
# terminal modes back itself, so here the screen and the cursor tell.
P=tstp
X new-session -d -s tstp -x 120 -y 40 \
  "env -i PATH=$PATH TERM=tmux-256color LC_ALL=C.UTF-8 SCALPELS_CONF=$SCALPELS_CONF PS1='$ ' \
   bash --norc --noprofile --noediting -i"
X send-keys -t tstp "$S watch $a" Enter
wait_until 15 'screen | grep -q "^tick (count) "' || fail "tstp: no view: $(screen)"
pid=$(sca_pid)
X send-keys -t tstp C-z
wait_until 10 '[ "$(ps -o stat= -p "$pid" | cut -c1)" = T ]' || fail "Ctrl-Z did not stop sca"
assert_eq "$(pane '#{alternate_on} #{cursor_flag}')" "0 1" "suspended: the normal screen, the cursor"
X send-keys -t tstp fg Enter
wait_until 10 '[ "$(pane "#{alternate_on} #{cursor_flag}")" = "1 0" ]' ||
  fail "fg: no view again: $(screen)"
assert_eq "$(modes)" "-icanon -echo " "fg: keys one at a time again"
X send-keys -t tstp q
wait_until 10 '[ "$(pane "#{alternate_on} #{cursor_flag}")" = "0 1" ]' ||
  fail "q after fg: $(screen)"
X send-keys -t tstp 'echo "rc=$?"' Enter
wait_until 5 'screen | grep -q "rc=0$"' || fail "q after fg: exit 0: $(screen)"
ok "watch: suspended, the terminal is given back; continued, taken again"

# The task's end: the last view on the normal screen, and exit 0.
in_pane end "$S watch $a"
"$S" stop "$a" >/dev/null
restored "the task's end"
assert_eq "$(rc)" "0" "exit 0 at the task's end"
end=$(screen)
assert_contains "$end" "task $a has stopped" "says the task stopped"
grep -qE '^tick \(count\) +[0-9]+ ' <<<"$end" || fail "the last view stays: $end"
ok "watch: the task's end leaves the last view and exits 0"

# The agent goes away: exit 3, the message readable on the normal screen.
b=$("$S" start -a tick)
in_pane gone "$S watch $b"
kill "$AGENT"
wait "$AGENT" 2>/dev/null || true
restored "the agent gone"
assert_eq "$(rc)" "3" "exit 3 without an agent"
assert_contains "$(screen)" "sca: no agent answered on unix://$T/agent.sock" "the error, readable"
ok "watch: an agent gone is exit 3, said on the normal screen"
X kill-server
start_agent
"$S" stop "$b" >/dev/null

# --- not a terminal: lines --------------------------------------------------------
c=$("$S" start -a short)
expect_exit 0 timeout 60 "$S" watch "$c" --interval 0.5
printf '%s\n' "$OUT"
assert_contains "$(printf '%s\n' "$OUT" | head -n 1)" "watching task $c on " "the first line"
assert_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "task $c has stopped" "the last line"
lines=$(printf '%s\n' "$OUT" | grep -E '^[0-9-]+ [0-9:]+ short \(count\): count [0-9]+, last [0-9]+, rate ')
counts=$(printf '%s\n' "$lines" | sed 's/.*count \([0-9]*\),.*/\1/' | tr '\n' ' ')
# A line only when the count changed: never the same count twice in a row.
prev=-1
for n in $counts; do
  [ "$n" -ne "$prev" ] || fail "the same count twice in a row: $counts"
  prev=$n
done
assert_eq "$prev" "8" "the last count"
[ "$(printf '%s\n' "$lines" | wc -l)" -ge 3 ] || fail "too few refreshes: $OUT"
ok "watch without a terminal: a line per change, then 'has stopped'"

# --- bad input ----------------------------------------------------------------------
expect_exit 2 "$S" --json watch
assert_contains "$OUT" "watch has no JSON output" "--json"
expect_exit 2 "$S" watch --interval 0.01
assert_contains "$OUT" "--interval is at least 0.1" "a short interval"
expect_exit 2 "$S" watch --last "$c"
expect_exit 2 "$S" watch nope
expect_exit 2 "$S" --all-hosts watch
assert_contains "$OUT" "watch cannot take --all-hosts" "--all-hosts"
expect_exit 1 "$S" watch ffffffff
assert_contains "$OUT" "NotFound" "an unknown task"
expect_exit 3 "$S" --transport-url "unix://$T/none.sock" watch
ok "watch: bad input"
