#!/usr/bin/env bash
# Builds and runs every test: C (dev and ASan+UBSan presets), fuzz corpus
# smoke runs, Python and Rust bindings. This is the README's second
# quick-start command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

.ci/deps.sh

# Each step header also reports how long the previous step took.
last=$SECONDS
step() {
  printf '\n=== %s === (previous step %ds, total %ds)\n' "$*" $((SECONDS - last)) "$SECONDS"
  last=$SECONDS
}

step "C: dev preset (debug, -Werror)"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev -j "$jobs"

step "C: asan preset (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
# The contract_* tests check interfaces, docs and scripts, not memory: the
# dev run above covers them, so the sanitizer run skips them.
ctest --preset asan -j "$jobs" -E '^contract_'

# Further suites (fuzz smoke, bindings) add themselves here.
for extra in "$root"/tests/run.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$(basename "$extra" .sh)"
  bash "$extra"
done

step "all test suites passed"
