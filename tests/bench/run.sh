#!/usr/bin/env bash
# The benchmark, as anyone can repeat it on a fresh Debian 12 machine:
#   tests/bench/run.sh [AREA...]      (areas: identity envelope delegation routing task hire
#                                      reputation ledger codec nats; all when none is named)
# 1. installs what the build and every baseline need: .ci/deps.sh's list
#    (libsqlite3-dev for ledger_vs_sqlite_ratio among them) plus python3-scipy
#    and python3-numpy for eigentrust_vs_scipy_ratio (run by /usr/bin/python3);
# 2. builds ca-bench in the release preset (build/release);
# 3. runs it: one figure a line, "name value unit".
# CA_BENCH_ROUNDS (default 5) and CA_BENCH_QUICK=1 (smaller sizes) pass through,
# as does CA_BENCH_TMP (scratch directory of the durable ledger figures, /tmp).
# Figures that compare with a baseline are medians of per-round ratios, the
# two sides timed in turns (tests/bench/bench.h, bench_interleave).
set -euo pipefail
cd "$(dirname "$0")/../.."

CA_DEPS_EXTRA="${CA_DEPS_EXTRA:-} python3-scipy python3-numpy" .ci/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc 2>/dev/null || echo 2)" --target ca-bench >/dev/null
exec build/release/tests/bench/ca-bench "$@"
