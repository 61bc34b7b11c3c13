#!/usr/bin/env bash
# The market across processes, attacked and crashed (ctest nats_market, label nats).
#
# A 3-node JetStream cluster on free loopback ports (examples/replica/cluster.sh),
# 8 worker processes (worker 0 equivocates once it has won a task honestly),
# a hostile peer publishing garbage, bad signatures, forgeries, expired
# messages and replays on every subject (the ledger stream's too), and the
# market with TASKS tasks. Mid-run, kill -9 of the busiest honest worker
# (restarted: it rejoins with a higher card sequence) and kill -9 of the market
# (restarted with the same arguments: it rebuilds its ledger from the stream).
#
# Checked, from the counts the processes print (key=value lines):
#  - every task settled: completed + refunded + slashed = TASKS, exit 0;
#  - the equivocator was slashed (slashed >= 1);
#  - no unit minted or lost: ledger check CA_OK, nothing left in escrow,
#    minted = the hirer's mint + 5000 per worker exactly (one mint per identity,
#    however often workers join or restart), no account but the known ones;
#  - independent replicas (cyberagent-nats audit to the market's last sequence,
#    and cyberagent-replica to the stream's end) get the market's state hash;
#  - the hostile traffic was dropped and counted: the market and the workers
#    counted garbage, bad signatures, forgeries, expired messages and replays,
#    and the ledger refused the hostile stream entries;
#  - nothing died of input: every worker (the restarted one too) and the hostile
#    peer ended with exit 0 at the hirer's signed DONE.
# Exit 77 (skipped) only when nats-server is not installed.
set -uo pipefail
bin=$1
server=${2:-}
replica=${3:-} # cyberagent-replica (optional)
tasks=${TASKS:-60}
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../replica/cluster.sh
if [ -z "$server" ] || [ ! -x "$server" ]; then
  echo "SKIP: nats-server not found (apt-get install nats-server)"
  exit 77
fi
export NATS_SERVER=$server
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$cluster" stop "$tmp/cluster" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*.out "$tmp"/*.err; do
    echo "--- $f (tail)"
    tail -n 15 "$f"
  done
  exit 1
}
# field FILE LINE_PREFIX KEY: the value of KEY=... on the last line starting with LINE_PREFIX
field() {
  grep "^$2" "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}

mapfile -t ports < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
for s in ss: print(s.getsockname()[1])
')
bash "$cluster" start "$tmp/cluster" "${ports[@]}" >/dev/null || fail "cluster did not start"
url=$(bash "$cluster" urls "$tmp/cluster")

declare -A wpid
start_worker() {
  local extra=()
  [ "$1" = 0 ] && extra=(--cheat)
  "$bin" worker --url "$url" --index "$1" --work-ms 300 "${extra[@]}" \
    >>"$tmp/w$1.out" 2>>"$tmp/w$1.err" &
  wpid[$1]=$!
  pids+=($!)
}
for i in 0 1 2 3 4 5 6 7; do start_worker "$i"; done
"$bin" hostile --url "$url" --period 200 --duration 240000 >"$tmp/hostile.out" 2>"$tmp/hostile.err" &
hostile=$!
pids+=($hostile)

market_args=(market --url "$url" --workers 8 --tasks "$tasks" --window 4 --timeout-ms 200000)
"$bin" "${market_args[@]}" >"$tmp/market1.out" 2>"$tmp/market1.err" &
market=$!
pids+=($market)

settled() { field "$1" progress settled; }
wait_settled() { # FILE N: until the market reported N settled tasks (or 120 s)
  for _ in $(seq 1200); do
    local s
    s=$(settled "$1")
    [ -n "$s" ] && [ "$s" -ge "$2" ] && return 0
    kill -0 "$market" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# kill -9 of the busiest honest worker, restarted a second later
wait_settled "$tmp/market1.out" 10 || fail "the market did not settle 10 tasks"
victim=1
kill -9 "${wpid[$victim]}"
wait "${wpid[$victim]}" 2>/dev/null
echo "killed worker $victim (kill -9)"
sleep 1
start_worker "$victim"

# kill -9 of the market, restarted with the same arguments
wait_settled "$tmp/market1.out" 30 || fail "the market did not settle 30 tasks"
kill -9 "$market"
wait "$market" 2>/dev/null
echo "killed the market (kill -9) at $(settled "$tmp/market1.out") settled tasks"
rc=0
timeout 220 "$bin" "${market_args[@]}" >"$tmp/market2.out" 2>"$tmp/market2.err" || rc=$?
cat "$tmp/market2.out"
[ "$rc" -eq 0 ] || fail "the restarted market exited $rc"

# Workers and the hostile peer end at the hirer's DONE, with exit 0.
for i in 0 1 2 3 4 5 6 7; do
  w=0
  for _ in $(seq 100); do kill -0 "${wpid[$i]}" 2>/dev/null || break; sleep 0.1; done
  wait "${wpid[$i]}" || w=$?
  [ "$w" -eq 0 ] || fail "worker $i exited $w"
done
h=0
for _ in $(seq 100); do kill -0 "$hostile" 2>/dev/null || break; sleep 0.1; done
wait "$hostile" || h=$?
[ "$h" -eq 0 ] || fail "the hostile peer exited $h"
cat "$tmp/hostile.out"
[ "$(field "$tmp/hostile.out" hostile done_seen)" = 1 ] || fail "the hostile peer never saw DONE"

m=$tmp/market2.out
completed=$(field "$m" result completed)
refunded=$(field "$m" result refunded)
slashed=$(field "$m" result slashed)
[ "$(field "$m" result unfinished)" = 0 ] || fail "unfinished tasks"
[ $((completed + refunded + slashed)) -eq "$tasks" ] || fail "settled != $tasks"
[ "$slashed" -ge 1 ] || fail "the equivocator was not slashed"
[ "$(field "$m" ledger check)" = CA_OK ] || fail "ledger check"
[ "$(field "$m" ledger escrowed)" = 0 ] || fail "units left in escrow"
expect_minted=$((1000 + 100 * tasks + 5000 * 8))
[ "$(field "$m" ledger minted)" = "$expect_minted" ] || fail "minted != $expect_minted"
[ "$(field "$m" ledger accounts)" = "$(field "$m" ledger known_accounts)" ] ||
  fail "an account other than the known identities exists"
[ "$(field "$m" ledger failed)" -ge 1 ] || fail "the ledger refused no hostile stream entry"
for k in garbage bad_sig expired replay forged; do
  [ "$(field "$m" "dropped market" "$k")" -ge 1 ] || fail "the market counted no $k"
  sum=0
  for i in 0 1 2 3 4 5 6 7; do
    v=$(field "$tmp/w$i.out" "dropped" "$k")
    sum=$((sum + ${v:-0}))
  done
  [ "$sum" -ge 1 ] || fail "the workers counted no $k"
done

# An independent replica of the stream agrees with the market.
seq=$(field "$m" ledger seq)
"$bin" audit --url "$url" --until "$seq" >"$tmp/audit.out" 2>"$tmp/audit.err" || fail "audit"
cat "$tmp/audit.out"
[ "$(field "$tmp/audit.out" audit hash)" = "$(field "$m" ledger hash)" ] || fail "state hashes differ"
[ "$(field "$tmp/audit.out" audit check)" = CA_OK ] || fail "audit ledger check"
# So does cyberagent-replica (examples/replica), drained at the stream's end:
# later entries, if any, are hostile ones it refuses, so the hash is the same.
if [ -n "$replica" ]; then
  # shellcheck disable=SC2046
  "$replica" --urls "$url" --dir "$tmp/r1" --name r1 --checkpoint-every 100 \
    $("$bin" ledger-args) >"$tmp/replica.out" 2>"$tmp/replica.err" &
  rp=$!
  pids+=($rp)
  for _ in $(seq 300); do grep -q '^start ' "$tmp/replica.out" && break; sleep 0.1; done
  kill -TERM "$rp"
  wait "$rp" || fail "cyberagent-replica failed"
  final=$(grep '^final ' "$tmp/replica.out" | tail -n 1)
  echo "cyberagent-replica: $final"
  [ "$(echo "$final" | cut -d' ' -f3)" = "$(field "$m" ledger hash)" ] ||
    fail "cyberagent-replica's state hash differs"
fi
grep -h '^dropped' "$tmp"/w*.out
echo "nats market: $tasks tasks ($completed completed, $refunded refunded, $slashed slashed)," \
  "worker and market killed and restarted, hostile traffic dropped: all checks passed"
