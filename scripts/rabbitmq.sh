#!/usr/bin/env bash
# Start or stop a private RabbitMQ node bound to loopback only, for tests and
# benchmarks.  It never touches a system RabbitMQ node.
#
#   scripts/rabbitmq.sh start|stop|status [DIR] [PORT]
#
# DIR defaults to $SCA_RABBIT_DIR or ./build/rabbitmq; PORT to 5673 (the
# distribution port is PORT+20000).  Requires the rabbitmq-server package.
#
# SCA_RABBIT_ADDR: the address AMQP listens on instead of 127.0.0.1, for a
# node that clients in other network namespaces reach (the distribution port
# and epmd stay on loopback).  The guest user may then log in from anywhere,
# as such clients are not on the node's loopback: only for a private network.
set -euo pipefail

cmd=${1:-}
dir=${2:-${SCA_RABBIT_DIR:-$PWD/build/rabbitmq}}
port=${3:-5673}
node="sca-test-$port@localhost"
addr=${SCA_RABBIT_ADDR:-127.0.0.1}
rabbit_bin=/usr/lib/rabbitmq/bin

die() { echo "rabbitmq.sh: $*" >&2; exit 1; }
[ -x "$rabbit_bin/rabbitmq-server" ] || die "rabbitmq-server is not installed: apt-get install rabbitmq-server"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export HOME="$dir" RABBITMQ_NODENAME="$node" \
  RABBITMQ_NODE_IP_ADDRESS="$addr" RABBITMQ_NODE_PORT="$port" \
  RABBITMQ_DIST_PORT=$((port + 20000)) \
  RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
  RABBITMQ_PID_FILE="$dir/rabbit.pid" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
  RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
  ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'

# port_busy PORT [ADDR]: something accepts there (ADDR defaults to loopback).
port_busy() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

start() {
  if [ -f "$dir/rabbit.pid" ] && kill -0 "$(cat "$dir/rabbit.pid")" 2>/dev/null; then
    echo "rabbitmq.sh: node $node already running (pid $(cat "$dir/rabbit.pid"))"
    return 0
  fi
  port_busy "$port" "$addr" && die "port $addr:$port is already in use"
  # An Erlang CLI that finds no epmd starts one on every interface: start ours first.
  if ! port_busy 4369; then
    epmd -address 127.0.0.1 -daemon
    touch "$dir/epmd.started"
  fi
  # The server and the rabbitmqctl started beside it would each create a
  # missing cookie with a random value, and whichever writes second is then
  # refused by the other ("Invalid challenge reply"): create it first.
  if [ ! -s "$dir/.erlang.cookie" ]; then
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/.erlang.cookie.tmp")
    chmod 400 "$dir/.erlang.cookie.tmp"
    mv "$dir/.erlang.cookie.tmp" "$dir/.erlang.cookie"
  fi
  if [ "$addr" != 127.0.0.1 ]; then
    echo 'loopback_users = none' >"$dir/rabbitmq.conf"
  fi
  : >"$dir/enabled_plugins.tmp" && echo '[].' >"$dir/enabled_plugins.tmp" && mv "$dir/enabled_plugins.tmp" "$dir/enabled_plugins"
  rm -f "$dir/rabbit.pid"
  "$rabbit_bin/rabbitmq-server" -detached
  if ! "$rabbit_bin/rabbitmqctl" -n "$node" wait --timeout 90 "$dir/rabbit.pid" >"$dir/wait.log" 2>&1; then
    cat "$dir/wait.log" >&2
    tail -n 30 "$dir/log/"*.log >&2 2>/dev/null || true
    die "node $node did not start"
  fi
  for _ in $(seq 100); do port_busy "$port" "$addr" && break; sleep 0.1; done
  port_busy "$port" "$addr" || die "node $node started but $addr:$port does not accept"
  echo "rabbitmq.sh: node $node accepting on $addr:$port"
}

stop() {
  if [ -f "$dir/rabbit.pid" ]; then
    "$rabbit_bin/rabbitmqctl" -n "$node" stop "$dir/rabbit.pid" >/dev/null 2>&1 || true
    pid=$(cat "$dir/rabbit.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/rabbit.pid"
  fi
  if [ -f "$dir/epmd.started" ]; then
    for _ in $(seq 50); do epmd -kill >/dev/null 2>&1 && break; sleep 0.2; done
    rm -f "$dir/epmd.started"
  fi
  echo "rabbitmq.sh: node $node stopped"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) "$rabbit_bin/rabbitmqctl" -n "$node" status ;;
  *) die "usage: rabbitmq.sh start|stop|status [DIR] [PORT]" ;;
esac
