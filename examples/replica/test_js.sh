#!/usr/bin/env bash
# The JetStream module across a leader failover: starts a 3-node cluster on
# free loopback ports (cluster.sh), runs cyberagent-js-test against it,
# stops the cluster. Exit 77 (ctest: skipped) only when nats-server is not
# installed; every other failure is exit 1.
set -uo pipefail
bin=$1
server=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$server" ] || [ ! -x "$server" ]; then
  echo "SKIP: nats-server not found (apt-get install nats-server)"
  exit 77
fi
export NATS_SERVER=$server
tmp=$(mktemp -d)
cleanup() {
  bash "$here/cluster.sh" stop "$tmp/cluster" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

mapfile -t ports < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
for s in ss: print(s.getsockname()[1])
')
bash "$here/cluster.sh" start "$tmp/cluster" "${ports[@]}" || exit 1
rc=0
"$bin" --script "$here/cluster.sh" --dir "$tmp/cluster" "${@:3}" || rc=$?
if [ "$rc" -ne 0 ]; then
  for n in n1 n2 n3; do
    echo "--- $n.log (tail)"
    tail -n 40 "$tmp/cluster/$n.log"
  done
  exit 1
fi
