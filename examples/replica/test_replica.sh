#!/usr/bin/env bash
# ctest replica_cluster: three cyberagent-replica processes on a 3-node
# JetStream cluster (free loopback ports), >= 5,000 signed ops of every kind
# from four submitter threads, kill -9 of a replica and of the stream leader
# mid-run; cyberagent-replica-test checks the counts (README.md, "The test").
# Exit 77 (ctest: skipped) only when nats-server is not installed.
set -uo pipefail
test_bin=$1
replica_bin=$2
server=${3:-}
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
[ -n "${KEEP:-}" ] && echo "keeping $tmp" || trap cleanup EXIT

mapfile -t ports < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
for s in ss: print(s.getsockname()[1])
')
bash "$here/cluster.sh" start "$tmp/cluster" "${ports[@]}" || exit 1
urls=$(bash "$here/cluster.sh" urls "$tmp/cluster")
mkdir -p "$tmp/work"
rc=0
"$test_bin" --replica "$replica_bin" --script "$here/cluster.sh" --dir "$tmp/cluster" \
  --urls "$urls" --work "$tmp/work" "${@:4}" || rc=$?
if [ "$rc" -ne 0 ]; then
  for n in n1 n2 n3; do
    echo "--- $n.log (tail)"
    tail -n 20 "$tmp/cluster/$n.log"
  done
  exit 1
fi
