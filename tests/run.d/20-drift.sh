#!/usr/bin/env bash
# Bindings drift check: every public C function, struct and constant must be
# declared identically in the Python signature table and the Rust -sys crate.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 bindings/check_drift.py
# ...and the checker itself detects each kind of drift.
python3 bindings/test_check_drift.py 2>&1 | tail -3
