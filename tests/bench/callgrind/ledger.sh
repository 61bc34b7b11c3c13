#!/bin/sh
# Instructions per in-memory ledger op, by type, and per batched transfer of ca-bench's
# ledger workload in memory and durable (valgrind callgrind; repeatable):
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
for d in ledger_ops ledger_batch; do
    cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$src/include" "$here/$d.c" \
        "$bld/lib/libcyberagent.a" $(pkg-config --libs libsodium msgpack libzstd) -lm -o "$bld/${d}_cg"
done
out="$bld/callgrind.out"
valgrind --tool=callgrind --callgrind-out-file="$out" "$bld/ledger_ops_cg" >/dev/null 2>&1
n=$(awk '/^#define N /{print $3 + 0}' "$here/ledger_ops.c")
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk -v n="$n" '
    /:phase_/ { gsub(",", "", $1); name = $0; sub(/.*:phase_/, "", name); sub(/ .*/, "", name);
                printf "%-16s %8.1f\n", name, $1 / n }' | sort
# ca-bench's ledger_mem_ops / ledger_durable_ops workload (ledger_batch.c): inclusive count of
# the batch phase / ops, and the ledger's bytes per account.
batch() { # NAME OPS [DURABLE_DIR]
    rm -rf "$bld/durable"
    if [ -n "${3:-}" ]; then
        DURABLE=$3 valgrind --tool=callgrind --callgrind-out-file="$out.$1" "$bld/ledger_batch_cg" >"$out.$1.txt" 2>/dev/null
    else
        valgrind --tool=callgrind --callgrind-out-file="$out.$1" "$bld/ledger_batch_cg" >"$out.$1.txt" 2>/dev/null
    fi
    callgrind_annotate --inclusive=yes "$out.$1" 2>/dev/null | awk -v n="$2" -v name="$1" '
        /:phase_batch_transfer/ { gsub(",", "", $1); printf "%-16s %8.1f\n", name, $1 / n }'
}
batch batch_transfer 200000
batch batch_durable 20000 "$bld/durable"
rm -rf "$bld/durable"
awk '{ printf "%-16s %8s\n", $1, $2 }' "$out.batch_transfer.txt"
