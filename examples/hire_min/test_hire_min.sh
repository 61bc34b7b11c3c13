#!/usr/bin/env bash
# Runs hire_min: it must exit 0 and print each step of the hire; its source
# must stay within a page (150 lines).
set -euo pipefail
bin=$1
src=$2
out=$("$bin")
printf '%s\n' "$out"
expect() {
  grep -qx -- "$1" <<<"$out" || { echo "hire_min: missing line: $1" >&2; exit 1; }
}
expect 'card: bob does llm.summarize for 45 cr'
expect 'escrow: 45 cr from alice, 20 from bob'
expect 'delivered: a short summary'
expect 'paid: bob has 145 cr, rated 95, reputation 0\.[0-9][0-9]; task completed'
lines=$(wc -l <"$src")
if [ "$lines" -gt 150 ]; then
  echo "hire_min: $src has $lines lines, more than a page (150)" >&2
  exit 1
fi
echo "hire_min: all checks passed ($lines lines)"
