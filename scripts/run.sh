#!/usr/bin/env bash
# The main job: install what is needed, build, and run a real trace session
# on this node, ending in a report.
#
#   scripts/run.sh            agent on the local unix socket (no broker)
#   scripts/run.sh --rabbit   the same through a private loopback RabbitMQ
#
# Everything lives in build/demo (database, socket, logs); nothing outside
# the checkout is touched but the packages apt-get installs.  The agent, and
# the broker with --rabbit, are stopped at the end.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
mode=${1:-unix}

bash scripts/deps.sh $([ "$mode" = "--rabbit" ] && echo --test)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin="$src/build/bin"

demo="$src/build/demo"
mkdir -p "$demo"
export SCALPELS_CONF="$demo/scalpels.conf"
{
  echo "[DEFAULT]"
  echo "state_dir = $demo"
  [ "$mode" = "--rabbit" ] && echo "transport_url = rabbit://guest:guest@127.0.0.1:5673/"
  echo "[agent]"
  echo "stop_grace = 2"
} >"$SCALPELS_CONF"

cleanup() {
  "$bin/sca-manage" stop >/dev/null 2>&1 || true
  [ "$mode" = "--rabbit" ] && bash scripts/rabbitmq.sh stop "$demo/rabbitmq" 5673 >/dev/null 2>&1
  true
}
trap cleanup EXIT
[ "$mode" = "--rabbit" ] && bash scripts/rabbitmq.sh start "$demo/rabbitmq" 5673

[ -f "$demo/scalpels.db" ] || "$bin/sca-manage" db-create
"$bin/sca-manage" setup -d interval=0.5 >/dev/null
"$bin/sca-agent"
echo "agent: $("$bin/sca-manage" status | head -n 1)"

# The workload: a few seconds of CPU and memory traffic.
"$bin/sca" run -a cpu -a mem -a netdev -- \
  sh -c 'dd if=/dev/urandom of=/dev/null bs=1M count=1000 2>/dev/null; sleep 1'
