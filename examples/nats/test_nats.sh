#!/usr/bin/env bash
# The hire across processes: starts nats-server on a free loopback port, four
# worker processes (worker 0 equivocates once it has won a task honestly) and
# the market; checks the market's verdict; stops every process it started.
set -euo pipefail
bin=$1
server=${2:-nats-server}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$server" -a 127.0.0.1 -p "$port" >"$tmp/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
url="nats://127.0.0.1:$port"

"$bin" worker --url "$url" --index 0 --cheat 2>"$tmp/w0.log" &
pids+=($!)
for i in 1 2 3; do
  "$bin" worker --url "$url" --index "$i" 2>"$tmp/w$i.log" &
  pids+=($!)
done

rc=0
timeout 120 "$bin" market --url "$url" --workers 4 --tasks 9 >"$tmp/market.log" 2>&1 || rc=$?
cat "$tmp/market.log"
if [ "$rc" -ne 0 ]; then
  for f in "$tmp"/w*.log "$tmp/server.log"; do echo "--- $f"; cat "$f"; done
  exit 1
fi
grep -q 'EQUIVOCATION' "$tmp/market.log"
grep -q 'ledger check CA_OK, 0 cr in open escrows' "$tmp/market.log"
# Workers exit 0 on ca.done.
for p in "${pids[@]:1}"; do wait "$p"; done
pids=("${pids[0]}")
echo "nats hire: all checks passed"
