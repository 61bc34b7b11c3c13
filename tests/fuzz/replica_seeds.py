#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_replica_frame and fuzz_replica_kv:
tests/fuzz/corpus/replica_frame/ and tests/fuzz/corpus/replica_kv/.

Frames are real: the signed ops of tests/fuzz/corpus/ledger_op/ (made by
gen_ledger_seeds) and the evidence of tests/fuzz/corpus/evidence/ as an
attachment, framed as examples/replica/replica_core.h says (0xC1, count u16
BE, per item op length u32 BE, op, attachment length u32 BE, attachment).
Beside them: a bare op (one item, no frame), the largest frame (4,096 empty
items), a count one above it, and frames cut short or with a byte too many
(each one refused item, the whole message).

Checkpoint lines and bucket values are written as rc_format and cpformat.c
write them, with state hashes from BLAKE2b-256; beside them a few lines
the old sscanf parser accepted and the strict one refuses (a sign, a leading
zero, upper-case hex, a value above UINT64_MAX, text after the line).

Usage: python3 tests/fuzz/replica_seeds.py (deterministic; no build needed).
"""

import hashlib
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
CHUNK = 512 * 1024


def read_dir(name):
    d = os.path.join(CORPUS, name)
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def frame(items):
    out = bytes([0xC1]) + struct.pack(">H", len(items))
    for op, att in items:
        out += struct.pack(">I", len(op)) + op + struct.pack(">I", len(att)) + att
    return out


def write(sub, name, data):
    d = os.path.join(CORPUS, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frames():
    ops = read_dir("ledger_op")
    ev = read_dir("evidence")
    for name, op in ops.items():
        write("replica_frame", "op-" + name, op)  # a bare op: one item
        write("replica_frame", "frame1-" + name, frame([(op, b"")]))
    allops = [(op, b"") for op in ops.values()]
    write("replica_frame", "frame-all-ops", frame(allops))
    write("replica_frame", "frame-slash-evidence", frame([(ops["slash"], ev["bids"])]))
    write("replica_frame", "frame-deliver-result",
          frame([(ops["transfer"], b""), (ops["deliver"], ev["results"])]))
    write("replica_frame", "frame-max-items", frame([(b"", b"")] * 4096))
    over = frame([(b"", b"")] * 4097)
    write("replica_frame", "bad-count-4097", over)
    write("replica_frame", "bad-count-0", bytes([0xC1, 0, 0]))
    good = frame([(ops["transfer"], b""), (ops["withdraw"], b"")])
    write("replica_frame", "bad-short", good[:-1])
    write("replica_frame", "bad-trailing", good + b"\x00")
    write("replica_frame", "bad-length-past-end", good[:3] + b"\xff\xff\xff\xff" + good[7:])
    write("replica_frame", "magic-only", bytes([0xC1]))


def fmt(seq, h, failed):
    return "%d %s %d" % (seq, h.hex(), failed)


def kv():
    lines = []
    for i, (seq, failed) in enumerate([(0, 0), (1000, 3), (250, 0), (2**64 - 1, 2**64 - 1)]):
        h = hashlib.blake2b(b"state %d" % i, digest_size=32).digest()
        lines.append((seq, h, failed))
    for i, (seq, h, failed) in enumerate(lines):
        line = fmt(seq, h, failed)
        write("replica_kv", "line-%d" % i, line.encode())
        write("replica_kv", "output-%d" % i, ("%s\n" % line).encode())  # as a program prints it
        write("replica_kv", "start-%d" % i, ("%s snapshot r1 r3\n" % line).encode())
        write("replica_kv", "cp-value-%d" % i, line.split(" ", 1)[1].encode())
        for nbytes in (1, CHUNK, CHUNK + 1, 104857600):
            chunks = (nbytes + CHUNK - 1) // CHUNK
            write("replica_kv", "index-%d-%d" % (i, nbytes), ("%s %d %d" % (line, chunks, nbytes)).encode())
    seq, h, failed = lines[1]
    write("replica_kv", "index-bad-chunks", ("%s 3 %d" % (fmt(seq, h, failed), CHUNK)).encode())
    write("replica_kv", "index-bad-empty", ("%s 0 0" % fmt(seq, h, failed)).encode())
    write("replica_kv", "key-cp", b"cp.r1.1000")
    write("replica_kv", "key-cp-long-name", b"cp.%s.18446744073709551615" % (b"a-Z_9" * 6 + b"xy"))
    write("replica_kv", "name", b"replica-1_A")
    write("replica_kv", "u64-max", b"18446744073709551615")
    # accepted by the sscanf parser before, refused now (test_core.c checks the same)
    write("replica_kv", "old-sign", ("+" + fmt(seq, h, failed)).encode())
    write("replica_kv", "old-leading-zero", ("0" + fmt(seq, h, failed)).encode())
    write("replica_kv", "old-upper-hex", ("%d %s %d" % (seq, h.hex().upper(), failed)).encode())
    write("replica_kv", "old-overflow", ("18446744073709551616 %s 0" % h.hex()).encode())
    write("replica_kv", "old-negative", ("-1 %s 0" % h.hex()).encode())
    write("replica_kv", "old-trailing", (fmt(seq, h, failed) + "junk").encode())
    write("replica_kv", "old-spaces", ("  %d  %s\t%d" % (seq, h.hex(), failed)).encode())
    write("replica_kv", "old-nul-value", h.hex().encode() + b" 3\x00junk")


if __name__ == "__main__":
    frames()
    kv()
