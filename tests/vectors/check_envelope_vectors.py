#!/usr/bin/env python3
"""Independent check of tests/vectors/envelope_vectors.txt (docs/WIRE.md).

Written from the specification only, with Python's hashlib (BLAKE2b) and the
`cryptography` package (Ed25519), not the C library: for every vector it
rebuilds the signed bytes and the envelope from the listed fields (for
vectors whose body is stored as is), checks the id and the signature.
Usage: check_envelope_vectors.py [FILE]; exit status 0 when every vector holds.
"""
import hashlib
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization


def uint(v):
    if v <= 0x7F:
        return bytes([v])
    for tag, width in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
        if v < 1 << (8 * width):
            return bytes([tag]) + v.to_bytes(width, "big")
    raise ValueError(v)


def binary(b):
    n = len(b)
    for tag, width in ((0xC4, 1), (0xC5, 2), (0xC6, 4)):
        if n < 1 << (8 * width):
            return bytes([tag]) + n.to_bytes(width, "big") + b
    raise ValueError(n)


def read_vectors(path):
    vectors, cur = [], {}
    for line in open(path, encoding="ascii"):
        line = line.rstrip("\r\n")
        if not line:
            if cur:
                vectors.append(cur)
            cur = {}
            continue
        if line.startswith("#"):
            continue
        key, value = line.split(" = ", 1)
        cur[key] = value
    if cur:
        vectors.append(cur)
    return vectors


def hx(v):
    return b"" if v == "-" else bytes.fromhex(v)


def check(v):
    seed = bytes.fromhex(v["seed"])
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert pk.hex() == v["sender"], "sender"
    kind, flags = int(v["kind"]), int(v["flags"])
    envelope, signed = hx(v["envelope"]), hx(v["signed"])
    sig = envelope[-64:]
    # Rebuild the fields 0..8 and the signed bytes from the listed values.
    if flags == 0:
        body = hx(v["body"])
    else:  # compressed / sealed: take the wire body from the envelope itself
        body = None
    entries = [(0, uint(1)), (1, uint(kind)), (2, binary(pk))]
    if v["recipient"] != "-":
        entries.append((3, binary(hx(v["recipient"]))))
    entries += [(4, uint(int(v["created_at"]))), (5, uint(int(v["expires_at"])))]
    if v["parent"] != "-":
        entries.append((6, binary(hx(v["parent"]))))
    if flags:
        entries.append((7, uint(flags)))
    head = b"".join(uint(k) + val for k, val in entries)
    tag = b"cyberagent/1/" + str(kind).encode()
    n = len(entries) + 1  # + body
    assert n <= 15
    if body is None:  # the rest of the fields up to key 9 is "08" + bin(wire body)
        start = 1 + len(head)
        assert envelope[1:start] == head, "fields before the body"
        body_field = envelope[start:-67]
    else:
        body_field = uint(8) + binary(body)
    fields = head + body_field
    assert signed == tag + bytes([0x80 | n]) + fields, "signed bytes"
    assert envelope == bytes([0x80 | (n + 1)]) + fields + uint(9) + binary(sig), "envelope"
    assert hashlib.blake2b(signed, digest_size=32).digest().hex() == v["id"], "id"
    Ed25519PublicKey.from_public_bytes(pk).verify(sig, signed)
    if v["mode"] == "sign":  # Ed25519 is deterministic: re-signing gives the same signature
        assert sk.sign(signed) == sig, "deterministic signature"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else __file__.rsplit("/", 1)[0] + "/envelope_vectors.txt"
    vectors = read_vectors(path)
    for v in vectors:
        check(v)
        print("ok", v["name"])
    assert len(vectors) >= 5
    return 0


if __name__ == "__main__":
    sys.exit(main())
