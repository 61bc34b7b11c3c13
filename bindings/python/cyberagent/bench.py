"""Binding benchmarks: ``python3 -m cyberagent.bench`` prints ``name value unit`` lines.

Figures (goals from issue 9):

``py_envelope_verify_ratio`` (goal <= 1.15)
    verify+decode of a typical task envelope (task.bid with recipient and
    parent, 256-byte body, 64 signers rotating: the message ca-bench's
    envelope area uses) through the binding (``Envelope.open`` + ``close``),
    divided by the same operation in C. The C time is ca-bench's own
    ``envelope_verify_per_s`` (``ca_envelope_open`` + ``ca_envelope_free``
    called from C), from the ca-bench binary of the same build tree as the
    loaded library, run as a child process between the Python rounds of this
    same run (or ``CA_BENCH_BIN``). When no ca-bench is found the baseline
    falls back to the next figure's and a note says so on stderr.
``py_envelope_verify_ratio_ctypes``
    the same binding time divided by the bare C function called through
    ctypes with pre-built arguments, in this process. This isolates the cost
    of the Python wrapper (argument checks, objects, finalizer) but hides
    ctypes' own per-call cost, which the first figure includes.
``py_verify_2thread_speedup`` (goal >= 1.6 on two cores)
    two threads verifying distinct envelopes against one thread doing the
    same total work; ctypes releases the GIL during the C call.
``py_rss_growth_kb`` (goal <= 1024)
    growth of the resident set over 200,000 sign / verify / decode round
    trips through the binding, after a warm-up.

Times are medians of per-operation samples (operations alternate between the
two sides) and of rounds, as ca-bench does; CA_BENCH_ROUNDS and
CA_BENCH_QUICK are honoured.
"""

import ctypes
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, List, Optional, Tuple

from . import _lib, _sigs
from .envelope import Envelope, sign_envelope
from .identity import Identity

NOW = 1_700_000_000_000
KEYS = 64
BODY_LEN = 256


def figure(name: str, value: float, unit: str) -> None:
    print("%s %.6g %s" % (name, value, unit), flush=True)


def note(text: str) -> None:
    print("# " + text, file=sys.stderr, flush=True)


def rounds() -> int:
    try:
        r = int(os.environ.get("CA_BENCH_ROUNDS", "5"))
    except ValueError:
        r = 5
    return r if r > 0 else 5


def quick() -> bool:
    q = os.environ.get("CA_BENCH_QUICK", "")
    return q not in ("", "0")


def typical_envelopes() -> List[bytes]:
    """64 task.bid envelopes shaped like ca-bench's: recipient, parent, 256-byte body."""
    out = []
    for i in range(KEYS):
        seed = bytes([i, 0xE7]) + bytes(30)
        with Identity.from_seed(seed) as me:
            rcpt = bytearray(me.public_key)
            rcpt[0] ^= 1
            out.append(
                sign_envelope(
                    me,
                    os.urandom(BODY_LEN),
                    kind=_sigs.CONSTANTS["CA_KIND_TASK_BID"],
                    created_at=NOW + i,
                    expires_at=NOW + 600_000,
                    recipient=bytes(rcpt),
                    parent=os.urandom(32),
                )
            )
    return out


def op_binding(data: bytes) -> None:
    Envelope.open(data, NOW).close()


def make_op_ctypes() -> Callable[[bytes], None]:
    """ca_envelope_open + ca_envelope_free through ctypes, arguments pre-built."""
    F = _lib.F
    open_, free = F.ca_envelope_open, F.ca_envelope_free
    p = ctypes.POINTER(_sigs.ca_envelope)()
    ref = ctypes.byref(p)

    def op(data: bytes) -> None:
        if open_(ref, data, len(data), NOW, None) != 0:
            raise RuntimeError("verify failed")
        free(p)

    return op


def paired_ratio(
    envs: List[bytes], a: Callable[[bytes], None], b: Callable[[bytes], None], ops: int
) -> Tuple[float, float]:
    """Median time of a / median time of b, per-op samples alternating; also a's median time (s)."""
    ta, tb = [], []
    clock = time.perf_counter
    for k in range(ops):
        d = envs[k % KEYS]
        if k % 2 == 0:
            t0 = clock()
            a(d)
            t1 = clock()
            b(d)
            t2 = clock()
            ta.append(t1 - t0)
            tb.append(t2 - t1)
        else:
            t0 = clock()
            b(d)
            t1 = clock()
            a(d)
            t2 = clock()
            tb.append(t1 - t0)
            ta.append(t2 - t1)
    ma, mb = statistics.median(ta), statistics.median(tb)
    return ma / mb, ma


def find_ca_bench() -> Optional[str]:
    env = os.environ.get("CA_BENCH_BIN")
    if env:
        return env
    lib = _lib.library_path()
    if os.path.isabs(lib):
        build = os.path.dirname(os.path.dirname(os.path.realpath(lib)))
        cand = os.path.join(build, "tests", "bench", "ca-bench")
        if os.access(cand, os.X_OK):
            return cand
    return None


def c_verify_seconds(ca_bench: str) -> Optional[float]:
    """One C figure: 1 / envelope_verify_per_s from `ca-bench envelope`."""
    env = dict(os.environ)
    env["CA_BENCH_ROUNDS"] = "3"
    try:
        r = subprocess.run([ca_bench, "envelope"], capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        note("ca-bench failed: %s" % exc)
        return None
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "envelope_verify_per_s":
            rate = float(parts[1])
            return 1.0 / rate if rate > 0 else None
    note("ca-bench printed no envelope_verify_per_s")
    return None


def bench_verify_ratio(envs: List[bytes]) -> None:
    ops = 400 if quick() else 2000
    op_c = make_op_ctypes()
    for d in envs:  # warm-up
        op_binding(d)
        op_c(d)
    ca_bench = find_ca_bench()
    py_times, ctypes_ratios, c_times = [], [], []
    for _ in range(rounds()):
        ratio, t_py = paired_ratio(envs, op_binding, op_c, ops)
        ctypes_ratios.append(ratio)
        py_times.append(t_py)
        if ca_bench is not None:
            t_c = c_verify_seconds(ca_bench)
            if t_c is not None:
                c_times.append(t_c)
    t_py = statistics.median(py_times)
    r_ctypes = statistics.median(ctypes_ratios)
    if c_times:
        note("C baseline: %s envelope (median of %d runs)" % (ca_bench, len(c_times)))
        figure("py_envelope_verify_ratio", t_py / statistics.median(c_times), "x")
    else:
        note("no ca-bench found (set CA_BENCH_BIN): py_envelope_verify_ratio uses the ctypes baseline")
        figure("py_envelope_verify_ratio", r_ctypes, "x")
    figure("py_envelope_verify_ratio_ctypes", r_ctypes, "x")
    figure("py_envelope_verify_per_s", 1.0 / t_py, "ops/s")


def bench_two_threads(envs: List[bytes]) -> None:
    n = 1000 if quick() else 4000
    half = [envs[: KEYS // 2], envs[KEYS // 2 :]]

    def work(batch: List[bytes], count: int) -> None:
        for k in range(count):
            op_binding(batch[k % len(batch)])

    speedups = []
    for _ in range(rounds()):
        t0 = time.perf_counter()
        work(envs, 2 * n)
        one = time.perf_counter() - t0
        ts = [threading.Thread(target=work, args=(half[i], n)) for i in range(2)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        two = time.perf_counter() - t0
        speedups.append(one / two)
    figure("py_verify_2thread_speedup", statistics.median(speedups), "x")


def rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def bench_rss() -> None:
    total = 20_000 if quick() else 200_000
    me = Identity.generate()
    them = Identity.generate()
    body = os.urandom(BODY_LEN)
    kind = _sigs.CONSTANTS["CA_KIND_TASK_REQUEST"]

    def round_trip(i: int) -> None:
        data = sign_envelope(me, body, kind=kind, created_at=NOW + i, expires_at=NOW + 600_000, recipient=them)
        env = Envelope.open(data, NOW + i)
        if env.body() != body:
            raise RuntimeError("body mismatch")
        env.close()
        if i % 2:  # half the envelopes are left to the garbage collector
            Envelope.decode(data).sender  # noqa: B018

    for i in range(5000):
        round_trip(i)
    before = rss_kb()
    for i in range(total):
        round_trip(i)
    after = rss_kb()
    note("%d round trips (sign, open, body, decode); RSS %d -> %d kB" % (total, before, after))
    figure("py_rss_growth_kb", max(0, after - before), "kB")


def main() -> int:
    note("library: %s" % _lib.library_path())
    envs = typical_envelopes()
    bench_verify_ratio(envs)
    bench_two_threads(envs)
    bench_rss()
    return 0


if __name__ == "__main__":
    sys.exit(main())
