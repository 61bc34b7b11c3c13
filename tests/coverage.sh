#!/usr/bin/env bash
# Line and function coverage of lib/ by the C test suite (cmocka unit tests,
# contract checks, fuzz corpus replays, the simulation and the examples'
# ctests). Not part of tests/run.sh: it needs its own instrumented build.
#
#   tests/coverage.sh                 prints the per-file table and the total
#   CA_COVERAGE_MIN=90 tests/coverage.sh   also fails below 90% of lib/ lines
#
# Needs lcov (`CA_DEPS_EXTRA=lcov .ci/deps.sh`). Build tree: build/coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v lcov >/dev/null 2>&1; then
  echo "lcov not found: CA_DEPS_EXTRA=lcov .ci/deps.sh" >&2
  exit 2
fi
dir=build/coverage
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="--coverage -O0" \
  -DCMAKE_EXE_LINKER_FLAGS=--coverage -DCMAKE_SHARED_LINKER_FLAGS=--coverage >/dev/null
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
find "$dir" -name '*.gcda' -delete
# The install, ABI and lint checks build or inspect other trees: they add nothing here.
ctest --test-dir "$dir" -j "$(nproc 2>/dev/null || echo 2)" -E 'contract_install|abi_compat' \
  --output-on-failure >/dev/null
lcov --capture --directory "$dir" --output-file "$dir/all.info" --quiet 2>/dev/null
lcov --extract "$dir/all.info" "$(pwd)/lib/*" --output-file "$dir/lib.info" --quiet 2>/dev/null
lcov --list "$dir/lib.info" 2>/dev/null | sed -e "s|$(pwd)/||"
rate=$(lcov --summary "$dir/lib.info" 2>&1 | sed -n 's/.*lines\.*: \([0-9.]*\)%.*/\1/p')
echo "lib/ line coverage: ${rate}%"
if [ -n "${CA_COVERAGE_MIN:-}" ] && awk -v r="$rate" -v m="$CA_COVERAGE_MIN" 'BEGIN{exit !(r < m)}'; then
  echo "below CA_COVERAGE_MIN=${CA_COVERAGE_MIN}%" >&2
  exit 1
fi
