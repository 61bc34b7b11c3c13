#!/usr/bin/env bash
# Rust binding tests: cargo test --offline (unit, integration and doc tests,
# examples compiled) against the dev build of the library. The test binaries
# carry an rpath to it, so no LD_LIBRARY_PATH is needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
if [ ! -e "$root/build/dev/lib/libcyberagent.so.1" ]; then
  cmake --preset dev >/dev/null
  cmake --build --preset dev -j 2 --target cyberagent
fi
export CYBERAGENT_LIB_DIR="$root/build/dev/lib"
export CARGO_TARGET_DIR="$root/build/cargo"
cd bindings/rust
cargo --version
cargo test --offline --quiet
# The hiring story in Rust must tell exactly what the Python one tells (same
# keys, same messages, same ledger state hash): the bindings agree byte for byte.
cargo run --offline --quiet --example hire >"$CARGO_TARGET_DIR/hire-rust.txt"
if command -v python3 >/dev/null; then
  python3 "$root/examples/python/hire.py" >"$CARGO_TARGET_DIR/hire-python.txt"
  diff "$CARGO_TARGET_DIR/hire-python.txt" "$CARGO_TARGET_DIR/hire-rust.txt"
  echo "hiring story: Rust and Python agree ($(tail -1 "$CARGO_TARGET_DIR/hire-rust.txt"))"
fi
