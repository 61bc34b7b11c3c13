#!/usr/bin/env bash
# Short runs of the hiring demo: the default story (text), a quiet run, a
# --json run that must parse, and argument errors.
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" >"$tmp/text"
grep -q 'equivocation evidence' "$tmp/text"
grep -q 'misses its deadline' "$tmp/text"
grep -q '\[ok\] every task settled' "$tmp/text"
grep -q '\[ok\] same state on a second run' "$tmp/text"

"$bin" --agents 12 --tasks 30 --quiet >"$tmp/quiet"
grep -q '^ok: 30 tasks' "$tmp/quiet"

"$bin" --agents 20 --tasks 40 --seed 7 --json >"$tmp/json"
python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] is True, d["checks"]
assert d["totals"]["tasks"] == 40
assert len(d["agents"]) == 20
assert all(d["checks"].values())
kinds = {e["event"] for e in d["events"]}
assert {"request", "award", "paid", "slash"} <= kinds, kinds
' <"$tmp/json"

# Another seed, another story, still consistent.
"$bin" --agents 40 --tasks 60 --seed 12345 --quiet | grep -q '^ok:'

# Bad arguments: usage on stderr, exit 2.
if "$bin" --agents 2 2>/dev/null; then exit 1; fi
if "$bin" --frobnicate 2>/dev/null; then exit 1; fi
"$bin" --help | grep -q usage
echo "hire demo: all checks passed"
