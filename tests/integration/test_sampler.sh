#!/bin/bash
# sca-sampler end to end: every kv kind prints the promised number of lines
# with the promised keys, bad usage exits 2, runtime errors exit 1, and
# SIGINT/SIGTERM end it at once with exit 0.  The port and iocount kinds are
# measured against real load in test_sampler_kinds.sh.  No check measures
# how fast the sampler is: a loaded machine only makes each run take longer,
# and the timeouts are there to end a run that hangs.
set -u

S="$SCA_BIN/sca-sampler"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# Every line of $1 must be kv pairs as the kv parser reads them (keys
# [A-Za-z0-9_.:/-]{1,64}, plain decimal values, an optional unit).
check_kv_syntax() {
    awk '{
        if (NF == 0) { print "empty line " NR; bad = 1 }
        for (i = 1; i <= NF; i++)
            if ($i !~ /^[A-Za-z0-9_.:\/-]+=-?[0-9]+(\.[0-9]+)?([A-Za-df-zA-DF-Z%\/][A-Za-z%\/]*)?$/ ||
                index($i, "=") > 65) {
                print "line " NR ": bad pair \"" $i "\""; bad = 1
            }
    } END { exit bad }' "$1"
}

# The keys of each line of $1, sorted, one line per input line.
line_keys() {
    awk '{ s = ""; for (i = 1; i <= NF; i++) { split($i, kv, "="); s = s " " kv[1] } print s }' "$1" |
        while read -r -a keys; do printf '%s\n' "${keys[@]}" | sort | tr '\n' ' '; echo; done
}

# run NAME EXPECTED_LINES ARGS...: runs the sampler into $tmp/NAME.out;
# --count makes it end by itself (exit 0) after that many lines.
run() {
    local name=$1 lines=$2
    shift 2
    timeout 120 "$S" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    [ $rc -eq 0 ] || fail "$name: exit $rc: $(cat "$tmp/$name.err")"
    local got
    got=$(wc -l <"$tmp/$name.out")
    [ "$got" -eq "$lines" ] || fail "$name: $got lines, expected $lines"
    check_kv_syntax "$tmp/$name.out" || fail "$name: not kv: $(cat "$tmp/$name.out")"
}

# wait_for SECONDS 'CONDITION': until the condition holds; 1 if it never did.
wait_for() {
    local end=$((SECONDS + $1))
    until eval "$2"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# catches_stop_signals PID: the sampler runs as PID (exec done) and has its
# handlers for SIGINT and SIGTERM in place (SigCgt bits 2 and 15).
catches_stop_signals() {
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sca-sampler ] || return 1
    local mask
    mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [ -n "$mask" ] && [ $((16#$mask & 0x4002)) -eq $((0x4002)) ]
}

# expect_keys NAME "k1 k2 ...": every line has exactly these keys.
expect_keys() {
    local want
    want=$(printf '%s\n' $2 | sort | tr '\n' ' ')
    while read -r line; do
        [ "$line " = "$want" ] || fail "$1: keys '$line', expected '$want'"
    done < <(line_keys "$tmp/$1.out")
}

# expect_units NAME "key:unit ...": every pair whose key is KEY or ends in
# .KEY carries that unit glued to its value ("-" for none).
expect_units() {
    local bad
    bad=$(awk -v spec="$2" 'BEGIN { n = split(spec, s, " "); for (i = 1; i <= n; i++) {
            split(s[i], ku, ":"); want[ku[1]] = ku[2] == "-" ? "" : ku[2] } }
        { for (i = 1; i <= NF; i++) {
            split($i, kv, "="); key = kv[1]; sub(/^.*\./, "", key)
            unit = kv[2]; sub(/^-?[0-9.]+/, "", unit)
            if (!(key in want) || unit != want[key]) print $i
        } }' "$tmp/$1.out")
    [ -z "$bad" ] || fail "$1: pairs without their unit: $bad"
}

# expect_dev_keys NAME "suffix1 suffix2 ...": every key is DEV.suffix, and
# each device has all the suffixes.
expect_dev_keys() {
    local name=$1 suffixes=$2 devs
    devs=$(tr ' ' '\n' <"$tmp/$name.out" | sed -n 's/^\(.*\)\.[a-z_]*=.*/\1/p' | sort -u)
    [ -n "$devs" ] || fail "$name: no device keys"
    local want="" d s
    for d in $devs; do
        for s in $suffixes; do want="$want $d.$s"; done
    done
    expect_keys "$name" "$want"
}

run cpu 3 cpu --interval 0.2 --count 3
expect_keys cpu "user system iowait idle steal"
expect_units cpu "user:% system:% iowait:% idle:% steal:%"
awk '{ t = 0; for (i = 1; i <= NF; i++) { split($i, kv, "="); t += kv[2] }
       if (t < 99.5 || t > 100.5) { print "sum " t; exit 1 } }' "$tmp/cpu.out" ||
    fail "cpu: percentages do not add up to 100: $(cat "$tmp/cpu.out")"

run mem 3 mem --interval 0.2 --count 3
expect_keys mem "total_kb used_kb available_kb cached_kb swap_used_kb"
expect_units mem "total_kb:kB used_kb:kB available_kb:kB cached_kb:kB swap_used_kb:kB"

run netdev 3 netdev --interval 0.2 --count 3
expect_dev_keys netdev "rx_kbps tx_kbps rx_pps tx_pps"
expect_units netdev "rx_kbps:kB/s tx_kbps:kB/s rx_pps:pkt/s tx_pps:pkt/s"
grep -Eq '(^| )lo\.' "$tmp/netdev.out" && fail "netdev: loopback reported by default"
run netdev_lo 2 netdev --dev lo --interval 0.2 --count 2
expect_keys netdev_lo "lo.rx_kbps lo.tx_kbps lo.rx_pps lo.tx_pps"
# --dev takes a comma list (what the netdev_devs data option holds); an
# empty one is the default.
other=$(sed -n 's/^\([^ .]*\)\..*/\1/p' "$tmp/netdev.out" | head -n 1)
run netdev_list 2 netdev --dev "lo, $other" --interval 0.2 --count 2
expect_keys netdev_list "lo.rx_kbps lo.tx_kbps lo.rx_pps lo.tx_pps $other.rx_kbps $other.tx_kbps $other.rx_pps $other.tx_pps"
run netdev_empty 2 netdev --dev '' --interval 0.2 --count 2
grep -Eq '(^| )lo\.' "$tmp/netdev_empty.out" && fail "netdev --dev '': loopback reported"
expect_dev_keys netdev_empty "rx_kbps tx_kbps rx_pps tx_pps"

run diskio 3 diskio --interval 0.2 --count 3
expect_dev_keys diskio "read_kbps write_kbps iops"
expect_units diskio "read_kbps:kB/s write_kbps:kB/s iops:IO/s"
grep -Eq '(^| )loop[0-9]*\.' "$tmp/diskio.out" && fail "diskio: loop devices reported by default"

run proc_pid 3 proc --pid $$ --interval 0.2 --count 3
# The shipped proc template passes both options; the empty one is ignored.
run proc_pid_empty_pname 2 proc --pid $$ --pname '' --interval 0.2 --count 2
expect_keys proc_pid "cpu_pct rss_kb threads read_kbps write_kbps"
expect_units proc_pid "cpu_pct:% rss_kb:kB threads:- read_kbps:kB/s write_kbps:kB/s"
grep -Eq '(^| )threads=1( |$)' "$tmp/proc_pid.out" || fail "proc --pid: this bash has one thread"

run proc_pname 3 proc --pname bash --interval 0.2 --count 3
expect_keys proc_pname "cpu_pct rss_kb threads read_kbps write_kbps"

# No process of that name: nothing printed, said once, still exit 0.
run proc_none 0 proc --pname no-such-procx --interval 0.1 --count 3
[ "$(grep -c "no process named 'no-such-procx'" "$tmp/proc_none.err")" -eq 1 ] ||
    fail "proc --pname with no match: $(cat "$tmp/proc_none.err")"

# The watched process ends: the sampler ends too, normally.
sleep 0.5 &
sleeper=$!
timeout 120 "$S" proc --pid $sleeper --interval 0.1 >"$tmp/exit.out" 2>"$tmp/exit.err"
rc=$?
[ $rc -eq 0 ] || fail "proc --pid of an exiting process: exit $rc"
grep -q "process $sleeper has exited" "$tmp/exit.err" || fail "no exit notice: $(cat "$tmp/exit.err")"
wait $sleeper

# Each line is written out as it is made, not when stdio's buffer fills:
# a buffered writer would first write a block of 4096 bytes cut mid-line
# (about 50 lines of mem, 50 s at this interval), this one whole lines.
"$S" mem --interval 1 >"$tmp/flush.out" 2>"$tmp/flush.err" &
flusher=$!
wait_for 120 '[ -s "$tmp/flush.out" ]' || fail "mem wrote nothing: $(cat "$tmp/flush.err")"
kill -9 $flusher
wait $flusher 2>/dev/null
size=$(stat -c %s "$tmp/flush.out")
[ "$size" -lt 4096 ] && [ "$(tail -c 1 "$tmp/flush.out" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "lines are not written out one by one: $size bytes first: $(head -c 200 "$tmp/flush.out")"

# Usage errors: exit 2 with a message naming the problem.
usage_error() {
    local want=$1
    shift
    "$S" "$@" >"$tmp/usage.out" 2>"$tmp/usage.err"
    local rc=$?
    [ $rc -eq 2 ] || fail "'$*': exit $rc, expected 2"
    [ -s "$tmp/usage.out" ] && fail "'$*': printed on stdout"
    grep -q -- "$want" "$tmp/usage.err" || fail "'$*': message '$(cat "$tmp/usage.err")' lacks '$want'"
}
usage_error "no KIND" 
usage_error "unknown kind 'disk'" disk
usage_error "bad --interval '0'" cpu --interval 0
usage_error "bad --interval '-1'" cpu --interval -1
usage_error "bad --interval 'fast'" cpu --interval fast
usage_error "bad --interval 'nan'" cpu --interval nan
usage_error "bad --count '0'" cpu --count 0
usage_error "needs a value" cpu --interval
usage_error "exactly one of --pid PID or --pname NAME" proc
usage_error "exactly one of --pid PID or --pname NAME" proc --pid 1 --pname init
"$S" proc --pid '' --pname '' >/dev/null 2>"$tmp/both-empty.err" && fail "proc with both options empty ran"
grep -q "exactly one of --pid PID or --pname NAME" "$tmp/both-empty.err" || fail "proc with both options empty: $(cat "$tmp/both-empty.err")"
usage_error "bad --pid 'abc'" proc --pid abc
usage_error "for the proc kind only" cpu --pid 1
usage_error "for the diskio and netdev kinds only" mem --dev sda
usage_error "bad --dev 'lo,'" netdev --dev lo,
usage_error "bad --dev 'lo,,eth0'" netdev --dev lo,,eth0
usage_error "bad --dev ',lo'" netdev --dev ,lo
usage_error "unknown option '--bogus'" cpu --bogus
usage_error "unexpected argument" cpu mem
usage_error "port needs --port PORT" port
usage_error "bad --port '0'" port --port 0
usage_error "bad --port '65536'" port --port 65536
usage_error "bad --port '-1'" port --port -1
usage_error "bad --port 'amqp'" port --port amqp
usage_error "bad --port '80x'" port --port 80x
usage_error "for the port kind only" iocount --port 80
usage_error "for the proc kind only" port --port 80 --pid 1
usage_error "unknown kind 'io'" io

# Runtime errors: exit 1 with a clear message.
runtime_error() {
    local want=$1
    shift
    "$S" "$@" --count 1 --interval 0.1 >/dev/null 2>"$tmp/rt.err"
    local rc=$?
    [ $rc -eq 1 ] || fail "'$*': exit $rc, expected 1"
    grep -q -- "$want" "$tmp/rt.err" || fail "'$*': message '$(cat "$tmp/rt.err")' lacks '$want'"
}
runtime_error "no running process with pid 2147483646" proc --pid 2147483646
runtime_error "no disk 'nosuchdisk'" diskio --dev nosuchdisk
runtime_error "no network interface 'nosuchif'" netdev --dev nosuchif

# Readiness (the worker contract in docs/tracers.md): with SCA_READY_FD
# naming a descriptor above stderr, the line "ready" there once the first
# reading is taken, long before the first sample; nothing there after a
# usage or runtime error; never a line on stdout, whatever it names.
SCA_READY_FD=3 "$S" cpu --interval 3600 >"$tmp/ready.out" 2>"$tmp/ready.err" 3>"$tmp/ready" &
pid=$!
wait_for 120 '[ -s "$tmp/ready" ]' || fail "ready: no line on SCA_READY_FD: $(cat "$tmp/ready.err")"
kill -TERM $pid
wait $pid || fail "ready: exit $?: $(cat "$tmp/ready.err")"
[ "$(cat "$tmp/ready")" = ready ] || fail "ready: the line is '$(cat "$tmp/ready")'"
[ -s "$tmp/ready.out" ] && fail "ready: a sample within the hour: $(cat "$tmp/ready.out")"
for args in "proc" "proc --pid 2147483646 --count 1"; do
    # shellcheck disable=SC2086 # the words of args are the sampler's arguments
    SCA_READY_FD=3 "$S" $args 2>/dev/null 3>"$tmp/ready" && fail "ready: $args ran"
    [ -s "$tmp/ready" ] && fail "ready: $args failed but said ready"
done
SCA_READY_FD=1 "$S" cpu --count 1 --interval 0.1 >"$tmp/ready.out" || fail "SCA_READY_FD=1: exit $?"
[ "$(wc -l <"$tmp/ready.out")" -eq 1 ] && check_kv_syntax "$tmp/ready.out" ||
    fail "SCA_READY_FD=1 reached stdout: $(cat "$tmp/ready.out")"
SCA_READY_FD=9 "$S" cpu --count 1 --interval 0.1 >/dev/null 9>&- || fail "SCA_READY_FD=9, closed: exit $?"

"$S" --help >"$tmp/help.out" || fail "--help: exit $?"
for word in cpu mem diskio netdev proc port iocount --interval --count --pid --pname --dev \
    --port; do
    grep -q -- "$word" "$tmp/help.out" || fail "--help does not mention $word"
done

# iocount skips the processes it may not read.  As root that is quiet (the
# few that even root may not read, such as a sandbox's init, or every
# process of the parent namespaces for root in a user namespace, are nobody's
# to see); without root the count misses every other user's processes, which
# is said once, however many readings follow.
iocount_quiet() {
    "$@" "$S" iocount --interval 0.1 --count 3 >"$tmp/io.out" 2>"$tmp/io.err" ||
        fail "iocount ($*): exit $?: $(cat "$tmp/io.err")"
    [ "$(grep -cx '[0-9]*' "$tmp/io.out")" -eq 3 ] || fail "iocount ($*): $(cat "$tmp/io.out")"
}
if [ "$(id -u)" -eq 0 ]; then
    iocount_quiet env
    [ -s "$tmp/io.err" ] && fail "iocount as root said: $(cat "$tmp/io.err")"
    if unshare -U -r true 2>/dev/null; then
        iocount_quiet unshare -U -r
        [ -s "$tmp/io.err" ] && fail "iocount as root of a user namespace said: $(cat "$tmp/io.err")"
    else
        echo "skip: iocount as root of a user namespace (unshare -U not permitted)"
    fi
    iocount_quiet setpriv --reuid=65534 --regid=65534 --clear-groups
    [ "$(grep -c 'other process.* left out' "$tmp/io.err")" -eq 1 ] && [ "$(wc -l <"$tmp/io.err")" -eq 1 ] ||
        fail "iocount as nobody: expected one note on the processes left out, got: $(cat "$tmp/io.err")"
else
    echo "skip: iocount as root and as another user (needs root)"
fi

# SIGINT and SIGTERM end an interval of an hour at once, with exit 0 and
# nothing printed: the signal cut the wait short (the bound, far below the
# interval, only ends a sampler that waits the hour out).  A signal sent
# before the sampler has its handlers would kill it (exit 130 or 143): the
# test waits until it catches them.
for sig in INT TERM; do
    "$S" cpu --interval 3600 >"$tmp/sig.out" 2>"$tmp/sig.err" &
    pid=$!
    wait_for 120 "catches_stop_signals $pid" || fail "SIG$sig: the sampler never caught its stop signals"
    kill -$sig $pid
    wait_for 300 "! kill -0 $pid 2>/dev/null" || { kill -9 $pid; fail "SIG$sig: still waiting the hour out"; }
    wait $pid
    rc=$?
    [ $rc -eq 0 ] || fail "SIG$sig: exit $rc, expected 0: $(cat "$tmp/sig.err")"
    [ -s "$tmp/sig.out" ] && fail "SIG$sig: printed a line: $(cat "$tmp/sig.out")"
done

if [ $failures -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "sampler: all checks passed"
