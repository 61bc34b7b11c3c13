#!/usr/bin/env python3
"""Independent check of a signed A2A v1.0 agent card (docs/PROTOCOL.md).

Written from the specifications only (A2A v1.0 section 8.4, RFC 7515, RFC
8037, RFC 8785, W3C did:key), with Python's json module and the
`cryptography` package (Ed25519), not the C library. It checks that the card
text is its own RFC 8785 canonical form, rebuilds the JWS signing input from
the canonical card without `signatures`, resolves the kid (a did:key URL) to
the Ed25519 key and verifies the signature; the kid must name the card's
`urn:cyberagent:card:1` agent. Also checks RFC 8037 appendix A.4 with the
same code, so the verifier itself is shown to verify a known JWS.

Usage: check_a2a_card.py [FILE ...] (default tests/vectors/a2a_card.json);
exit status 0 when every card holds.
"""
import base64
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b64url_decode(s):
    if "=" in s:
        raise ValueError("padded base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def no_duplicates(pairs):
    names = [k for k, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("duplicate member name")
    return dict(pairs)


def jcs(value):
    """RFC 8785 for the values a card holds (no non-integer numbers)."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise ValueError(f"unexpected value {value!r}")


def did_key_to_public(did):
    if not did.startswith("did:key:z"):
        raise ValueError("not a did:key")
    n = 0
    for c in did[len("did:key:z"):]:
        n = n * 58 + B58.index(c)
    raw = n.to_bytes(34, "big")
    if raw[:2] != b"\xed\x01":
        raise ValueError("not an Ed25519 did:key")
    return raw[2:]


def verify_jws(protected_b64, payload, signature_b64, public):
    signing_input = (protected_b64 + "." + b64url(payload)).encode("ascii")
    Ed25519PublicKey.from_public_bytes(public).verify(b64url_decode(signature_b64), signing_input)


def check_rfc8037():
    public = b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    protected = b64url(b'{"alg":"EdDSA"}')
    assert protected == "eyJhbGciOiJFZERTQSJ9"
    verify_jws(protected, b"Example of Ed25519 signing",
               "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
               public)


def check_card(text):
    card = json.loads(text, object_pairs_hook=no_duplicates)
    if jcs(card) != text:
        raise ValueError("the card is not in RFC 8785 canonical form")
    sigs = card.pop("signatures")
    payload = jcs(card).encode("utf-8")
    if len(sigs) != 1 or set(sigs[0]) != {"protected", "signature"}:
        raise ValueError("expected one AgentCardSignature {protected, signature}")
    header = json.loads(b64url_decode(sigs[0]["protected"]), object_pairs_hook=no_duplicates)
    if header.get("alg") != "EdDSA" or header.get("typ") != "JOSE":
        raise ValueError(f"protected header {header}")
    did, _, fragment = header["kid"].partition("#")
    if fragment != did[len("did:key:"):]:
        raise ValueError("kid fragment is not the did's key id")
    verify_jws(sigs[0]["protected"], payload, sigs[0]["signature"], did_key_to_public(did))
    ext = [e for e in card["capabilities"]["extensions"] if e["uri"] == "urn:cyberagent:card:1"]
    if len(ext) != 1 or ext[0]["params"]["agent"] != did:
        raise ValueError("the kid does not name the card's agent")
    iface = card["supportedInterfaces"][0]
    if iface["protocolBinding"] != "CYBERAGENT/1" or iface["protocolVersion"] != "1.0":
        raise ValueError(f"interface {iface}")
    return did


def main():
    check_rfc8037()
    here = os.path.dirname(os.path.abspath(__file__))
    files = sys.argv[1:] or [os.path.join(here, "a2a_card.json")]
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read().rstrip("\n")
        try:
            did = check_card(text)
        except (ValueError, KeyError, InvalidSignature) as e:
            print(f"FAIL {path}: {e!r}")
            return 1
        print(f"ok {path}: signed by {did}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
