#!/usr/bin/python3
"""Baseline for ca-bench's eigentrust_vs_scipy_ratio: the same EigenTrust power
iteration as lib/reputation/score.c, in scipy.sparse, on a graph the benchmark
wrote. Run with Debian's python3 and python3-scipy (not needed by the tests;
tests/bench/run.sh installs it).

Usage: eigentrust_scipy.py GRAPH [ROUNDS]
Prints: "<median seconds of the iteration> <iterations> <L1 distance to the C result>"

Usage: eigentrust_scipy.py GRAPH serve
ca-bench's way: loads the graph and builds the matrix, prints "ready", then
for each line "run" on its standard input runs the iteration once and prints
"<seconds> <iterations> <L1 distance to the C result>", until its input ends.
So ca-bench can time the C side and this side in turns (bench_interleave).

Graph file, little-endian:
  u32 magic "CAET", u32 version 1, u32 n, u32 nnz, f64 damping, f64 tolerance,
  u32 max_iterations, u32 0,
  nnz edges of 12 bytes: u32 dst (ratee j), u32 src (rater i), f32 val = max(s_ij, 0)
  f64 out_sum[n]      W_i = sum of val over i's out-edges (0: dangling)
  f64 p[n]            teleport distribution
  f64 t0[n]           start vector
  f64 t_c[n]          the C result, for comparison
Iteration (identical to the C code): c_ij = val / W_i;
  t' = (1 - a) * (C^T t + d * p) + a * p, d = sum of t over dangling agents;
  stop when sum |t' - t| < tolerance.
Only the loop is timed (process CPU time, as the C side uses its thread's
CPU time), not loading the file or building the matrix.
"""
import statistics
import sys
import time

try:
    import numpy as np
    import scipy.sparse as sp
except ImportError as e:  # one line for ca-bench's log instead of a traceback
    sys.exit(f"eigentrust_scipy.py: {e} (tests/bench/run.sh installs python3-scipy)")


def main():
    path = sys.argv[1]
    serve = len(sys.argv) > 2 and sys.argv[2] == "serve"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 and not serve else 3
    raw = open(path, "rb").read()
    magic, version, n, nnz = np.frombuffer(raw, "<u4", 4, 0)
    if magic != 0x54454143 or version != 1:
        sys.exit("not an eigentrust graph file")
    damping, tol = np.frombuffer(raw, "<f8", 2, 16)
    max_iter = int(np.frombuffer(raw, "<u4", 1, 32)[0])
    off = 40
    edges = np.frombuffer(raw, np.dtype([("dst", "<u4"), ("src", "<u4"), ("val", "<f4")]), nnz, off)
    off += 12 * nnz
    dst = edges["dst"].astype(np.int32)
    src = edges["src"].astype(np.int32)
    val = edges["val"].astype(np.float64)
    w = np.frombuffer(raw, "<f8", n, off)
    off += 8 * n
    p = np.frombuffer(raw, "<f8", n, off)
    off += 8 * n
    t0 = np.frombuffer(raw, "<f8", n, off)
    off += 8 * n
    t_c = np.frombuffer(raw, "<f8", n, off)

    # Row j of M holds c_ij for the raters i of j, so M @ t = C^T t.
    safe_w = np.where(w > 0, w, 1.0)
    m = sp.csr_matrix((val / safe_w[src], (dst, src)), shape=(n, n))
    dangling = w == 0
    keep = 1.0 - damping

    def iterate():
        t = t0.copy()
        start = time.process_time()
        it = 0
        while it < max_iter:
            d = t[dangling].sum()
            tn = keep * (m @ t + d * p) + damping * p
            l1 = np.abs(tn - t).sum()
            t = tn
            it += 1
            if l1 < tol:
                break
        return time.process_time() - start, it, np.abs(t - t_c).sum()

    if serve:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "run":
                sys.exit(f"eigentrust_scipy.py: unknown request {line.strip()!r}")
            secs, it, diff = iterate()
            print(f"{secs:.6f} {it} {diff:.3e}", flush=True)
        return
    times = []
    for _ in range(rounds):
        secs, it, diff = iterate()
        times.append(secs)
    print(f"{statistics.median(times):.6f} {it} {diff:.3e}")


if __name__ == "__main__":
    main()
