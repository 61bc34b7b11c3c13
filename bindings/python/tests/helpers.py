"""Shared test helpers: make the package importable from the source tree."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(os.path.dirname(PKG_ROOT))
if PKG_ROOT not in sys.path:
    sys.path.insert(0, PKG_ROOT)

# Cheap Argon2id costs for key-file tests (libsodium's minimums).
FAST_KDF = {"opslimit": 1, "memlimit": 8192}

RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIG_EMPTY = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
# Application signature known answer (tests/unit/test_identity.c): the RFC 8032 test 1
# key signs b"hello" under the tag "example.com/chat/v1".
APP_SIG_TAG = "example.com/chat/v1"
APP_SIG_HELLO = bytes.fromhex(
    "22789cc47d32d6eea82b8619febb84bf32d01b1cfd7ffcfaa1ad0615f13b2baa2cb8e9cc20646ab6f891f708d8822028937a499eaa0f91b177e39ae9cf88540e"
)

VECTORS_FILE = os.path.join(REPO_ROOT, "tests", "vectors", "envelope_vectors.txt")


def read_envelope_vectors(path=VECTORS_FILE):
    """The envelope vectors (docs/WIRE.md): a list of dicts of strings."""
    vectors, cur = [], {}
    with open(path, encoding="ascii") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line.startswith("#"):
                continue
            if not line:
                if cur:
                    vectors.append(cur)
                cur = {}
                continue
            key, _, value = line.partition(" = ")
            cur[key.strip()] = value.strip()
    if cur:
        vectors.append(cur)
    return vectors


def hex_or_none(v):
    return None if v == "-" else bytes.fromhex(v)
