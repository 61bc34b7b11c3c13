#!/usr/bin/env bash
# The README's first quick-start command: install what is missing, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec ./build/release/tests/bench/ca-bench identity
