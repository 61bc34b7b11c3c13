#!/usr/bin/env bash
# Runs hire_delegated: it must exit 0 and print each step of the delegated hire, the
# cap's refusal and the revocation's; its source must stay within 260 lines.
set -euo pipefail
bin=$1
src=$2
out=$("$bin")
printf '%s\n' "$out"
expect() {
  grep -qx -- "$1" <<<"$out" || { echo "hire_delegated: missing line: $1" >&2; exit 1; }
}
expect 'delegation: alice -> scout: ledger\.escrow, llm\.\*; caps 100 in all, 60 per task'
expect 'task: scout asks for alice (chain of 1, task cap 60), max 50 cr; bob bids 45'
expect 'escrow: 45 cr from alice, 20 from bob'
expect 'delivered: a short summary'
expect 'paid: alice 1000 -> 955 cr, bob 145 cr; spent 45'
expect 'rated: bob 95 by alice (scout rated nobody), bob.s reputation 0\.[0-9][0-9]; task completed'
expect 'task: scout asks for alice (chain of 1, task cap 60), max 60 cr; bob bids 60'
expect 'escrow of 60 cr refused: CA_ERR_LEDGER_CAP_EXCEEDED (.*)'
expect 'nothing moved: alice has 955 cr (was 955), spent 45 of 100'
expect 'task: scout asks for alice (chain of 1, task cap 60), max 40 cr; bob bids 40'
expect "revoked: alice revokes scout's delegation (ledger and threads)"
expect 'escrow of 40 cr refused: CA_ERR_DELEGATION_REVOKED (.*revoked.*)'
expect 'new request refused: CA_ERR_DELEGATION_REVOKED (.*revoked.*)'
expect 'ledger: consistent; alice 955 cr, bob 145 cr, spent 45'
lines=$(wc -l <"$src")
if [ "$lines" -gt 260 ]; then
  echo "hire_delegated: $src has $lines lines, more than 260" >&2
  exit 1
fi
echo "hire_delegated: all checks passed ($lines lines)"
