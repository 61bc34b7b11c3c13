#!/bin/sh
# Instructions per in-memory ledger op, by type (valgrind callgrind; repeatable):
#   tests/bench/callgrind/ledger.sh [SRC_DIR [BUILD_DIR]]
# builds SRC_DIR's static library (Release) in BUILD_DIR (default SRC_DIR/build/cg),
# links tests/bench/callgrind/ledger_ops.c (public API only) against it and prints, per
# phase, callgrind's inclusive instruction count / N. Compare two commits by
# running it on a worktree of each.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here/../../..}" && pwd)
bld=${2:-$src/build/cg}
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DCA_BUILD_TESTS=OFF -DCA_BUILD_EXAMPLES=OFF \
    -DCA_BUILD_BENCH=OFF -DCA_WERROR=ON >/dev/null
cmake --build "$bld" -j2 --target cyberagent_static >/dev/null
cc -O2 -std=c11 -I"$src/include" "$here/ledger_ops.c" "$bld/lib/libcyberagent.a" \
    $(pkg-config --libs libsodium msgpack libzstd) -lm -o "$bld/ledger_ops_cg"
out="$bld/callgrind.out"
valgrind --tool=callgrind --callgrind-out-file="$out" "$bld/ledger_ops_cg" >/dev/null 2>&1
n=$(awk '/^#define N /{print $3 + 0}' "$here/ledger_ops.c")
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk -v n="$n" '
    /:phase_/ { gsub(",", "", $1); name = $0; sub(/.*:phase_/, "", name); sub(/ .*/, "", name);
                printf "%-16s %8.1f\n", name, $1 / n }' | sort
