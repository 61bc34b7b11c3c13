#!/usr/bin/env python3
"""Independent check of tests/vectors/envelope_vectors.txt (docs/WIRE.md).

Written from the specification only, with Python's hashlib (BLAKE2b,
SHA-512) and the `cryptography` package (Ed25519, X25519), not the C
library: for every vector it rebuilds the signed bytes and the envelope from
the listed fields (for vectors whose body is stored as is), checks the id and
the signature, the lifetime rule behind `verify_default`, and opens sealed
bodies with the construction of docs/WIRE.md ("Body: compression and
sealing"), for which it carries its own XSalsa20-Poly1305 (the `cryptography`
package has none), so `body_status` is checked too.
Usage: check_envelope_vectors.py [FILE]; exit status 0 when every vector holds.
"""
import hashlib
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives import serialization

MAX_LIFETIME_MS_DEFAULT = 86_400_000  # CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT
SEAL_TAG = b"cyberagent/1/seal"


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


# ---- XSalsa20-Poly1305 (crypto_box), from the Salsa20 and Poly1305 papers ----

M32 = 0xFFFFFFFF
SIGMA = [int.from_bytes(b"expand 32-byte k"[i : i + 4], "little") for i in range(0, 16, 4)]


def _rotl(v, c):
    return ((v << c) & M32) | (v >> (32 - c))


def _double_rounds(x):
    def quarter(a, b, c, d):
        x[b] ^= _rotl((x[a] + x[d]) & M32, 7)
        x[c] ^= _rotl((x[b] + x[a]) & M32, 9)
        x[d] ^= _rotl((x[c] + x[b]) & M32, 13)
        x[a] ^= _rotl((x[d] + x[c]) & M32, 18)

    for _ in range(10):
        quarter(0, 4, 8, 12), quarter(5, 9, 13, 1), quarter(10, 14, 2, 6), quarter(15, 3, 7, 11)
        quarter(0, 1, 2, 3), quarter(5, 6, 7, 4), quarter(10, 11, 8, 9), quarter(15, 12, 13, 14)


def _state(key, sixteen):
    k = [int.from_bytes(key[i : i + 4], "little") for i in range(0, 32, 4)]
    n = [int.from_bytes(sixteen[i : i + 4], "little") for i in range(0, 16, 4)]
    return [SIGMA[0], *k[:4], SIGMA[1], *n, SIGMA[2], *k[4:], SIGMA[3]]


def hsalsa20(key, nonce16):
    x = _state(key, nonce16)
    _double_rounds(x)
    return b"".join(x[i].to_bytes(4, "little") for i in (0, 5, 10, 15, 6, 7, 8, 9))


def xsalsa20_stream(key, nonce24, n):
    sub = hsalsa20(key, nonce24[:16])
    out = bytearray()
    counter = 0
    while len(out) < n:
        inp = _state(sub, nonce24[16:24] + counter.to_bytes(8, "little"))
        x = list(inp)
        _double_rounds(x)
        out += b"".join(((x[i] + inp[i]) & M32).to_bytes(4, "little") for i in range(16))
        counter += 1
    return bytes(out[:n])


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p, acc = (1 << 130) - 5, 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i : i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def box_open(c, nonce, their_pk, my_sk):
    """crypto_box_open_easy: c = MAC (16) || ciphertext; None when the MAC fails."""
    shared = X25519PrivateKey.from_private_bytes(my_sk).exchange(X25519PublicKey.from_public_bytes(their_pk))
    k = hsalsa20(shared, bytes(16))
    stream = xsalsa20_stream(k, nonce, 32 + len(c) - 16)
    if poly1305(stream[:32], c[16:]) != c[:16]:
        return None
    return bytes(a ^ b for a, b in zip(c[16:], stream[32:]))


def ed25519_pk_to_x25519(pk):
    """Montgomery u = (1 + y) / (1 - y) mod p of an Edwards point (its sign bit dropped)."""
    p = (1 << 255) - 19
    y = int.from_bytes(pk, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, p - 2, p) % p).to_bytes(32, "little")


def zstd_content_size(frame):
    """The content size a zstd frame header declares (RFC 8878 section 3.1.1.1)."""
    assert frame[:4] == bytes([0x28, 0xB5, 0x2F, 0xFD]), "zstd magic"
    fhd = frame[4]
    fcs_flag, single, did_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[did_flag]
    size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    assert size > 0, "content size declared"
    v = int.from_bytes(frame[pos : pos + size], "little")
    return v + 256 if size == 2 else v


def open_sealed(v, head, box):
    """Opens a sealed body per docs/WIRE.md; returns the plaintext or None."""
    reader = hashlib.sha512(bytes.fromhex(v["reader_seed"])).digest()[:32]
    rpk = ed25519_pk_to_x25519(hx(v["recipient"]))
    assert X25519PrivateKey.from_private_bytes(reader).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == rpk, "the reader is the recipient"
    epk = box[:32]
    nonce = hashlib.blake2b(SEAL_TAG + epk + rpk + head, digest_size=24).digest()
    return box_open(box[32:], nonce, epk, reader)


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
    # Verification with the default options: the lifetime cap.
    lifetime = int(v["expires_at"]) - int(v["created_at"])
    want = "CA_ERR_LIFETIME" if lifetime > MAX_LIFETIME_MS_DEFAULT else "CA_OK"
    assert v["verify_default"] == want, "verify_default"
    # Sealed bodies: open with the reader's key under this envelope's header.
    if flags & 2:
        assert body is None and body_field[0] == 8
        width = {0xC4: 1, 0xC5: 2, 0xC6: 4}[body_field[1]]
        wire = body_field[2 + width :]
        plain = open_sealed(v, head, wire)
        if plain is None:
            assert v["body_status"] == "CA_ERR_SEAL_MISMATCH", "body_status"
        else:
            assert v["body_status"] == "CA_OK", "body_status"
            if flags & 1:  # no zstd in the standard library: check the frame's declared size
                assert zstd_content_size(plain) == len(hx(v["body"])), "compressed sealed body"
            else:
                assert plain == hx(v["body"]), "sealed body"
    else:
        assert v["body_status"] == "CA_OK", "body_status"


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
