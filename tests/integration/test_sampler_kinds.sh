#!/bin/bash
# run: alone
# (iocount sums the whole node's calls: a process of another test that ends
# unreaped, such as a detached agent, takes its count out of the sum.)
# sca-sampler port and iocount against load made here: real TCP traffic to a
# port of our own (IPv4 and, where the host has it, IPv6) must come out as
# the bytes sent, give or take 20 %, and 0.00 when idle; a loop of small
# writes must show in iocount, and inside a PID namespace of our own (root
# only), where nothing else runs, as that many calls and not more.
set -u

S="$SCA_BIN/sca-sampler"
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
server=
trap '[ -z "$server" ] || kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# ---- port ------------------------------------------------------------------

# A sink on 127.0.0.1:PORT and [::1]:PORT (the same free port number) that
# reads and discards; it prints the port, then "v6" if ::1 could be bound.
cat >"$tmp/sink.py" <<'EOF'
import socket, sys, threading

def drain(conn):
    while conn.recv(1 << 16):
        pass
    conn.close()

def serve(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()

v4 = socket.socket(socket.AF_INET)
v4.bind(("127.0.0.1", 0))
v4.listen(16)
port = v4.getsockname()[1]
print(port, flush=True)
try:
    v6 = socket.socket(socket.AF_INET6)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    v6.bind(("::1", port))
    v6.listen(16)
    threading.Thread(target=serve, args=(v6,), daemon=True).start()
    print("v6", flush=True)
except OSError:
    pass
serve(v4)
EOF

# send.py PORT HOLD HOST:BYTES...: connects to each host, sends its bytes in
# 20 chunks over about a second, keeps the connections open HOLD seconds (so
# the sampler reads them again after the last byte), then closes them.
cat >"$tmp/send.py" <<'EOF'
import socket, sys, time
port, hold = int(sys.argv[1]), float(sys.argv[2])
conns = []
for arg in sys.argv[3:]:
    host, size = arg.rsplit(":", 1)
    conns.append((socket.create_connection((host, port)), int(size)))
for _ in range(20):
    for conn, size in conns:
        conn.sendall(b"x" * (size // 20))
    time.sleep(0.05)
time.sleep(hold)
for conn, _ in conns:
    conn.close()
EOF

"$PY" "$tmp/sink.py" >"$tmp/sink.out" &
server=$!
for _ in $(seq 50); do
    [ -s "$tmp/sink.out" ] && break
    sleep 0.1
done
port=$(head -n 1 "$tmp/sink.out")
[ -n "$port" ] || { echo "FAIL: the sink did not start" >&2; exit 1; }

# Every line of $1 in the traffic parser's format.
check_traffic_syntax() {
    grep -Evq '^[0-9]+\.[0-9]{2} pkt/s [0-9]+\.[0-9]{2} byte/s$' "$1" && return 1
    [ -s "$1" ]
}

# Idle: a listener and an open connection that sends nothing read 0.
"$PY" "$tmp/send.py" "$port" 3 127.0.0.1:0 &
idle_client=$!
sleep 0.5
timeout 10 "$S" port --port "$port" --interval 0.2 --count 3 >"$tmp/idle.out" 2>"$tmp/idle.err" ||
    fail "port idle: exit $?: $(cat "$tmp/idle.err")"
wait $idle_client
[ "$(grep -cx '0.00 pkt/s 0.00 byte/s' "$tmp/idle.out")" -eq 3 ] ||
    fail "port idle: expected three '0.00 pkt/s 0.00 byte/s', got: $(cat "$tmp/idle.out")"

# Traffic: 5 MB over IPv4 and 2 MB over IPv6 during the sampling.
v4=5000000 v6=0
targets=("127.0.0.1:$v4")
if grep -qx v6 "$tmp/sink.out"; then
    v6=2000000
    targets+=("::1:$v6")
fi
interval=0.5
timeout 20 "$S" port --port "$port" --interval $interval --count 12 >"$tmp/port.out" \
    2>"$tmp/port.err" &
sampler=$!
sleep 0.5
"$PY" "$tmp/send.py" "$port" 1.5 "${targets[@]}" || fail "port: the client failed"
wait $sampler || fail "port: exit $?: $(cat "$tmp/port.err")"
check_traffic_syntax "$tmp/port.out" || fail "port: not the traffic format: $(cat "$tmp/port.out")"
[ "$(wc -l <"$tmp/port.out")" -eq 12 ] || fail "port: $(wc -l <"$tmp/port.out") lines, expected 12"
sent=$((v4 + v6))
awk -v i=$interval -v sent=$sent '{ pkts += $1 * i; bytes += $3 * i }
    END { if (pkts <= 0 || bytes < 0.8 * sent || bytes > 1.2 * sent) {
              printf "%d bytes and %d segments counted for %d bytes sent\n", bytes, pkts, sent
              exit 1 } }' "$tmp/port.out" >"$tmp/port.sum" ||
    fail "port: $(cat "$tmp/port.sum"): $(tr '\n' '|' <"$tmp/port.out")"
[ "$(tail -n 1 "$tmp/port.out")" = "0.00 pkt/s 0.00 byte/s" ] ||
    fail "port: not idle after the connections closed: $(tail -n 1 "$tmp/port.out")"

# ---- iocount ---------------------------------------------------------------

# writer.py N: N one-byte writes to /dev/null in ten bursts over about a
# second, so that it is alive at several readings.
cat >"$tmp/writer.py" <<'EOF'
import os, sys, time
n = int(sys.argv[1])
fd = os.open("/dev/null", os.O_WRONLY)
for _ in range(10):
    for _ in range(n // 10):
        os.write(fd, b"x")
    time.sleep(0.1)
EOF

# Every line of $1 a whole number; prints their sum times the interval $2.
count_total() {
    grep -Evq '^[0-9]+$' "$1" && return 1
    awk -v i="$2" '{ t += $1 * i } END { printf "%d\n", t }' "$1"
}

calls=200000
# The sampler reads until after the writer ended, however long a loaded
# machine makes the writer take, then stops on SIGINT as a tracer stops it
# (--count bounds it to 50 s).  The SIGINT goes to the sampler itself, never
# through a `timeout` wrapper: timeout forwards it and then sends SIGCONT to
# the child and its group, and a SIGCONT that comes while a sanitizer build
# exits discards the SIGSTOP with which LeakSanitizer stops the process to
# look for leaks, which then waits for that stop for ever.
"$S" iocount --interval $interval --count 100 >"$tmp/io.out" 2>"$tmp/io.err" &
sampler=$!
sleep 0.3
"$PY" "$tmp/writer.py" $calls || fail "iocount: the writer failed"
sleep 1.2
kill -INT $sampler
wait $sampler || fail "iocount: exit $?: $(cat "$tmp/io.err")"
[ "$(wc -l <"$tmp/io.out")" -ge 3 ] || fail "iocount: $(wc -l <"$tmp/io.out") lines, expected 3 or more"
if total=$(count_total "$tmp/io.out" $interval); then
    # The rest of the machine only adds to it.
    [ "$total" -ge $((calls * 8 / 10)) ] ||
        fail "iocount: $total calls counted for $calls made: $(tr '\n' ' ' <"$tmp/io.out")"
else
    fail "iocount: not one whole number a line: $(cat "$tmp/io.out")"
fi

# In a PID namespace of our own the count is exact but for the few calls of
# the shells and of Python starting.  The writer runs under two subshells
# and lives across readings: were an ended child's count kept while its
# parent takes it in, it would come out about three times.
cat >"$tmp/ns.sh" <<'EOF'
S=$1 PY=$2 dir=$3 calls=$4
"$S" iocount --interval 0.25 --count 240 >"$dir/ns.out" 2>"$dir/ns.err" &
sampler=$!
sleep 0.3
( ( "$PY" "$dir/writer.py" "$calls"; true ); true )
sleep 0.6
kill -INT $sampler
wait $sampler
EOF
if unshare --pid --fork --mount-proc true 2>/dev/null; then
    unshare --pid --fork --mount-proc bash "$tmp/ns.sh" "$S" "$PY" "$tmp" $calls ||
        fail "iocount in a PID namespace: exit $?: $(cat "$tmp/ns.err")"
    if total=$(count_total "$tmp/ns.out" 0.25); then
        [ "$total" -ge $((calls * 95 / 100)) ] && [ "$total" -le $((calls * 12 / 10)) ] ||
            fail "iocount in a PID namespace: $total calls counted for $calls made:" \
                "$(tr '\n' ' ' <"$tmp/ns.out")"
    else
        fail "iocount in a PID namespace: not one whole number a line: $(cat "$tmp/ns.out")"
    fi
    [ -s "$tmp/ns.err" ] && fail "iocount in a PID namespace, as root: $(cat "$tmp/ns.err")"
else
    echo "skip: iocount in a PID namespace (unshare --pid needs root)"
fi

if [ $failures -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "sampler kinds: all checks passed"
