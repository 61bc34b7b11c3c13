#!/usr/bin/env bash
# valgrind memcheck over the unit tests and the fuzz corpus replays of the dev
# build (not part of the default suite: valgrind runs them ~30x slower).
# Every test must finish with 0 errors and 0 leaks (definite, indirect and
# possible; "still reachable" is reported, not counted).
#
# Usage: tests/memcheck.sh [REGEX]   (default: every test_* and fuzz_replay_* ctest)
# Output: one line per test; logs under build/dev/memcheck/.
set -euo pipefail
cd "$(dirname "$0")/.."
regex=${1:-'^(test_|fuzz_replay_)'}
jobs=$(nproc 2>/dev/null || echo 2)
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs" >/dev/null
logs=$(pwd)/build/dev/memcheck
rm -rf "$logs"
mkdir -p "$logs"

# The commands ctest would run (name, working directory, argv), one JSON line each.
ctest --test-dir build/dev --show-only=json-v1 | python3 -c '
import json, re, sys
regex = re.compile(sys.argv[1])
for t in json.load(sys.stdin)["tests"]:
    if regex.search(t["name"]) and "command" in t:
        wd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), ".")
        print(json.dumps([t["name"], wd] + t["command"]))
' "$regex" >"$logs/tests.jsonl"

run_one() {
  local line=$1 logs=$2
  local name wd
  name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0])' "$line")
  wd=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[1])' "$line")
  mapfile -t argv < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])[2:]))' "$line")
  local log="$logs/$name.log"
  local start=$SECONDS
  # 99: valgrind found an error or a leak; any other non-zero: the test failed.
  if (cd "$wd" && valgrind --quiet --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible \
      --track-origins=yes --log-file="$log" "${argv[@]}" >"$log.out" 2>&1); then
    printf '%-32s ok (%ds)\n' "$name" $((SECONDS - start))
  else
    printf '%-32s FAILED (exit %d, see %s)\n' "$name" "$?" "$log"
  fi
}
export -f run_one

results=$(tr '\n' '\0' <"$logs/tests.jsonl" | xargs -0 -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$logs")
printf '%s\n' "$results" | sort
count=$(printf '%s\n' "$results" | grep -c . || true)
failed=$(printf '%s\n' "$results" | grep -c FAILED || true)
echo "memcheck: $count tests, $failed with errors, leaks or failures"
[ "$failed" -eq 0 ]
