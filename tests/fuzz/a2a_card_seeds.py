#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_a2a_card (tests/fuzz/corpus/a2a_card/).

Mode byte 'v' (verify as is) or 's' (sign as a payload first), then JSON:
the committed signed vector (tests/vectors/a2a_card.json) and its payload, a
foreign A2A v1.0 card signed with an independent signer (`cryptography`),
and small inputs for each refusal. Usage: a2a_card_seeds.py (from anywhere).
"""
import base64
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "vectors"))
from check_a2a_card import jcs  # noqa: E402

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def did_of(pub):
    n = int.from_bytes(b"\xed\x01" + pub, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "did:key:z" + s


def sign(card, seed, header=None):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    did = did_of(pub)
    header = header or {"alg": "EdDSA", "kid": did + "#" + did[8:], "typ": "JOSE"}
    prot = b64url(jcs(header).encode())
    payload = jcs(card).encode()
    sig = key.sign((prot + "." + b64url(payload)).encode())
    out = dict(card)
    out["signatures"] = [{"protected": prot, "signature": b64url(sig)}]
    return json.dumps(out, ensure_ascii=False, indent=1)


def main():
    out = os.path.join(here, "corpus", "a2a_card")
    os.makedirs(out, exist_ok=True)
    vector = open(os.path.join(here, "..", "vectors", "a2a_card.json"), encoding="utf-8").read()
    card = json.loads(vector)
    payload = dict(card)
    del payload["signatures"]
    foreign = {
        "name": "GeoSpatial Route Planner Agent", "description": "Route planning",
        "supportedInterfaces": [{"url": "https://georoute-agent.example.com/a2a/v1",
                                 "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "version": "1.2.0", "capabilities": {"streaming": True},
        "defaultInputModes": ["application/json"], "defaultOutputModes": ["image/png"],
        "skills": [{"id": "route", "name": "Route", "description": "Optimal routes",
                    "tags": ["maps"]}],
    }
    seeds = {
        "vector": "v" + vector,
        "vector_payload": "s" + jcs(payload),
        "foreign_signed": "v" + sign(foreign, bytes(range(32))),
        "foreign_es256": "v" + sign(foreign, bytes(range(32)), {"alg": "ES256", "kid": "k"}),
        "foreign_payload": "s" + json.dumps(foreign, indent=2),
        "v03_card": "s" + json.dumps({"protocolVersion": "0.3.0", "name": "x", "url": "u"}),
        "duplicate": 'v{"a":1,"\\u0061":2}',
        "surrogates": 'v["\\ud83d\\ude00","\\ud800"]',
        "numbers": "v[0,-0,1E2,1.50e1,9007199254740993,1.5,1e400]",
        "deep": "v" + "[" * 40 + "]" * 40,
        "utf8": 'v["\xc3\xa9\xe2\x82\xac"]',
    }
    for name, text in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(text.encode("utf-8", "surrogateescape") if name != "utf8"
                    else text.encode("latin-1"))


if __name__ == "__main__":
    main()
