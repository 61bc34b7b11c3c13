#!/usr/bin/env bash
# Rust binding tests: cargo test --offline (unit, integration and doc tests,
# examples compiled) against the dev build of the library. The test binaries
# carry an rpath to it, so no LD_LIBRARY_PATH is needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
if [ ! -e "$root/build/dev/lib/libcyberagent.so.0" ]; then
  cmake --preset dev >/dev/null
  cmake --build --preset dev -j 2 --target cyberagent
fi
export CYBERAGENT_LIB_DIR="$root/build/dev/lib"
export CARGO_TARGET_DIR="$root/build/cargo"
cd bindings/rust
cargo --version
cargo test --offline --quiet
