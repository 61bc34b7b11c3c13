"""Signed A2A v1.0 agent cards through the binding (docs/PROTOCOL.md)."""

import base64
import json
import os
import unittest

import helpers

import cyberagent
from cyberagent import A2ACard, Card, Identity

VECTOR = os.path.join(helpers.REPO_ROOT, "tests", "vectors", "a2a_card.json")
T0 = 1_700_000_000_000


def vector_card():
    """The card of tests/vectors/a2a_card.json (RFC 8032 test 1 key)."""
    me = Identity.from_seed(helpers.RFC8032_SEED)
    data = cyberagent.sign_card(
        me,
        name="Translator \u20ac \U0001F600",
        description="EN\u2192FR\n\"quoted\"",
        endpoint="https://agent.example.com/cyberagent",
        stake=5_000_000,
        not_before=T0,
        not_after=1_731_536_000_000,
        sequence=3,
        capabilities=[("llm.translate.en-fr", 120, 500), ("img.resize", 7)],
        created_at=T0,
    )
    return me, Card.parse(cyberagent.Envelope.decode(data))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class TestA2A(unittest.TestCase):
    def test_vector_byte_for_byte(self):
        me, card = vector_card()
        text = card.to_a2a_signed_json(me)
        with open(VECTOR, encoding="utf-8") as f:
            self.assertEqual(text, f.read().rstrip("\n"))
        self.assertEqual(cyberagent.jcs_canonicalize(text), text)

    def test_verify_and_native(self):
        me, card = vector_card()
        text = card.to_a2a_signed_json(me)
        a = A2ACard.verify(text)
        self.assertEqual(a.signer, me.public_key)
        self.assertEqual(a.signer_did, me.did)
        self.assertEqual(a.kid, me.did + "#" + me.did[len("did:key:"):])
        self.assertEqual(a.name, card.name)
        self.assertEqual(a.version, "3")
        self.assertEqual(a.interfaces, [("https://agent.example.com/cyberagent", "CYBERAGENT/1", "1.0")])
        self.assertEqual(a.skills, [("img.resize", "img.resize"), ("llm.translate.en-fr", "llm.translate.en-fr")])
        doc = json.loads(text)
        del doc["signatures"]
        self.assertEqual(json.loads(a.payload), doc)
        native = a.native()
        self.assertEqual(Card.parse(cyberagent.Envelope.decode(native)).message_id, card.message_id)
        self.assertEqual(A2ACard.verify(text.encode(), key=me.public_key).signer, me.public_key)
        with self.assertRaises(cyberagent.KeyMismatchError) as cm:
            A2ACard.verify(text, key=Identity.generate().public_key)
        self.assertIsInstance(cm.exception, cyberagent.A2AError)
        with self.assertRaises(cyberagent.KeyMismatchError):
            card.to_a2a_signed_json(Identity.generate())

    def test_refusals(self):
        me, card = vector_card()
        text = card.to_a2a_signed_json(me)
        with self.assertRaises(cyberagent.SignatureError):
            A2ACard.verify(text.replace('"version":"3"', '"version":"4"'))
        with self.assertRaises(cyberagent.JsonError):
            A2ACard.verify('{"a":1,"a":2}')
        with self.assertRaises(cyberagent.A2aCardError):
            A2ACard.verify("[]")
        with self.assertRaises(cyberagent.UnsupportedError):
            A2ACard.verify(card.to_a2a_json())  # the A2A 0.3.0 shape
        doc = json.loads(text)
        del doc["signatures"]
        with self.assertRaises(cyberagent.JwsError):
            A2ACard.verify(json.dumps(doc))
        with self.assertRaises(cyberagent.LimitError):
            A2ACard.verify(" " * (cyberagent.a2a_limits()["json"] + 1))

    def test_jcs(self):
        # RFC 8785 section 3.2.3
        text = ('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew",'
                '"1":"One","\\ud83d\\ude00":"Emoji","\\u0080":"Control","\\u00f6":"o"}')
        out = cyberagent.jcs_canonicalize(text)
        self.assertEqual(list(json.loads(out)), ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"])
        self.assertEqual(cyberagent.jcs_canonicalize("[1E2, -0, 1.50e1]"), "[100,0,15]")
        with self.assertRaises(cyberagent.UnsupportedError):
            cyberagent.jcs_canonicalize("1.5")
        with self.assertRaises(cyberagent.JsonError):
            cyberagent.jcs_canonicalize('"\\ud800"')
        self.assertEqual(cyberagent.a2a_limits(), {"json": 65536, "depth": 32})

    @unittest.skipUnless(__import__("importlib").util.find_spec("cryptography"), "needs cryptography")
    def test_independent_ed25519(self):
        """The JWS verifies with another Ed25519 implementation (OpenSSL via cryptography)."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        me, card = vector_card()
        a = A2ACard.verify(card.to_a2a_signed_json(me))
        sig = json.loads(card.to_a2a_signed_json(me))["signatures"][0]
        data = (sig["protected"] + "." + b64url(a.payload.encode())).encode()
        raw = base64.urlsafe_b64decode(sig["signature"] + "==")
        Ed25519PublicKey.from_public_bytes(me.public_key).verify(raw, data)


if __name__ == "__main__":
    unittest.main()
