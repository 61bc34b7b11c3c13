#!/usr/bin/env bash
# Bindings drift check: every public C function, struct and constant must be
# declared identically in the Python signature table and the Rust -sys crate.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 bindings/check_drift.py
