#!/usr/bin/env bash
# The replication figures (issue 15), outside the default test suite:
#   tests/bench/replication.sh BUILD_DIR
# BUILD_DIR is a configured and built tree with libnats found; the release
# preset is the one to measure:
#   cmake --preset release && cmake --build --preset release -j2
#   tests/bench/replication.sh build/release
# Needs nats-server (NATS_SERVER overrides the binary, as for cluster.sh) and
# python3 (to pick free loopback ports).
#
# Starts a 3-node JetStream cluster on free loopback ports in a temporary
# directory (examples/replica/cluster.sh), runs BUILD_DIR's
# ca-bench-replication against it (three cyberagent-replica processes, see
# tests/bench/bench_replication.c for what each figure times), stops the
# cluster, then runs BUILD_DIR's `ca-bench nats` (which starts its own
# cluster). The cluster, every replica process and the temporary directory
# are stopped and removed on any exit (trap). Prints one figure a line,
# "name value unit", exactly these:
#   replicated_ops_per_s            ops through the R3 stream until all 3 replicas applied them
#   replicated_vs_verify_ratio      that / single-core ca_ledger_op_verify rate (same run)
#   replica_catchup_ops_per_s       a fresh replica reading the stream from sequence 1
#   replica_catchup_vs_verify_ratio that / single-core ca_ledger_op_verify rate (same run)
#   replica_restore_ms              fetch + install + open a confirmed snapshot of 100k accounts
#   nats_market_tasks_per_s         the market across processes (ca-bench nats)
#   nats_vs_inprocess_ratio         that / the same hire in one process (ca-bench nats)
# Notes (op counts, the verify rate itself, snapshot size) go to stderr.
# Figures are medians over CA_BENCH_ROUNDS rounds (default 5; ca-bench nats
# caps at 3); ratios are medians of per-round ratios, the two sides timed in
# turns. CA_BENCH_QUICK=1: small sizes (a smoke run, not the issue's figures).
# CA_BENCH_FRAME: ops per stream message of the throughput rounds (default 500).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR   (e.g. build/release)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
helper=$build/tests/bench/ca-bench-replication
replica=$build/examples/replica/cyberagent-replica
bench=$build/tests/bench/ca-bench
cluster=$root/examples/replica/cluster.sh
for f in "$helper" "$replica" "$bench"; do
  if [ ! -x "$f" ]; then
    echo "replication.sh: $f is missing (built only when libnats is found)" >&2
    exit 2
  fi
done
if [ -z "${NATS_SERVER:-}" ]; then
  NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
fi
if [ ! -x "$NATS_SERVER" ]; then
  echo "replication.sh: nats-server not found (.ci/deps.sh installs it)" >&2
  exit 2
fi
export NATS_SERVER

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ca-replication-XXXXXX")
cleanup() {
  # Replicas the helper started (it records their pids): only those still
  # running cyberagent-replica.
  if [ -f "$tmp/pids" ]; then
    while read -r pid; do
      if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q cyberagent-replica; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    done <"$tmp/pids"
  fi
  if [ -d "$tmp/cluster" ]; then
    bash "$cluster" stop "$tmp/cluster" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r p1 p2 p3 < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(3)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(*[s.getsockname()[1] for s in ss])')
bash "$cluster" start "$tmp/cluster" "$p1" "$p2" "$p3" >/dev/null
urls=$(bash "$cluster" urls "$tmp/cluster")

frame_args=()
if [ -n "${CA_BENCH_FRAME:-}" ]; then
  frame_args=(--frame "$CA_BENCH_FRAME")
fi
status=0
"$helper" --urls "$urls" --replica "$replica" --dir "$tmp" --pids "$tmp/pids" \
  "${frame_args[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "replication.sh: ca-bench-replication failed ($status); replica logs:" >&2
  tail -n 5 "$tmp"/*.err >&2 2>/dev/null || true
fi
bash "$cluster" stop "$tmp/cluster" >/dev/null 2>&1 || true

# ca-bench nats starts and stops its own cluster; keep its two figures.
"$bench" nats | grep -E '^(nats_market_tasks_per_s|nats_vs_inprocess_ratio) ' || status=1
exit "$status"
