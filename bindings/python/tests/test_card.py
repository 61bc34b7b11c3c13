"""Agent cards through the binding."""

import json
import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Capability, Card, Envelope, Identity

T0 = 1_700_000_000_000


def card_bytes(me, **kw):
    args = dict(
        name="Translator",
        endpoint="agents.translator",
        capabilities=[("llm.translate.en-fr", 50, 2000), Capability("llm.summarize", 20)],
        not_before=T0,
        not_after=T0 + 86_400_000,
        created_at=T0,
        stake=500,
        sequence=3,
        description="EN->FR",
    )
    args.update(kw)
    return cyberagent.sign_card(me, **args)


class TestCard(unittest.TestCase):
    def test_sign_open_accessors(self):
        me = Identity.generate()
        data, mid = cyberagent.sign_card_with_id(
            me, name="T", endpoint="e", capabilities=[("a.b", 1)], not_before=T0, not_after=T0 + 10,
            created_at=T0,
        )
        self.assertEqual(Envelope.open(data, T0).id, mid)
        data = card_bytes(me)
        with Card.open(data, T0 + 1) as c:
            self.assertEqual(c.agent, me.public_key)
            self.assertEqual(c.agent_did, me.did)
            self.assertEqual(c.name, "Translator")
            self.assertEqual(c.description, "EN->FR")
            self.assertEqual(c.endpoint, "agents.translator")
            self.assertEqual(c.stake, 500)
            self.assertEqual(c.sequence, 3)
            self.assertEqual(c.created_at, T0)
            self.assertEqual((c.not_before, c.not_after), (T0, T0 + 86_400_000))
            self.assertEqual(len(c), 2)
            self.assertEqual(
                c.capabilities,
                [Capability("llm.summarize", 20, 0), Capability("llm.translate.en-fr", 50, 2000)],
            )
            self.assertEqual(c.capability_at(1).name, "llm.translate.en-fr")
            with self.assertRaises(cyberagent.NotFoundError):
                c.capability_at(2)
            self.assertEqual(c.find_capability("llm.summarize").price, 20)
            self.assertIsNone(c.find_capability("llm.nothing"))
            self.assertTrue(c.valid_at(T0))
            self.assertFalse(c.valid_at(T0 - 1))
            self.assertEqual(c.message_id, Envelope.decode(data).id)
            doc = json.loads(c.to_a2a_json())
            self.assertEqual(doc["name"], "Translator")
            self.assertIn("Translator", repr(c))

    def test_parse_from_envelope(self):
        me = Identity.generate()
        env = Envelope.open(card_bytes(me), T0)
        self.assertEqual(Card.parse(env).name, "Translator")
        other = Envelope.open(
            cyberagent.sign_envelope(me, b"x", kind=cyberagent.CA_KIND_TASK_REQUEST, created_at=T0,
                                     expires_at=T0 + 5),
            T0,
        )
        with self.assertRaises(cyberagent.WrongKindError):
            Card.parse(other)

    def test_one_signed_encoding(self):
        # A card's envelope expires at not_after and carries the body uncompressed;
        # the same body in any other envelope is refused (CA_ERR_MALFORMED).
        me = Identity.generate()
        body = Envelope.decode(card_bytes(me, description="x" * 1000)).body()
        for expires, compress in ((T0 + 86_400_001, False), (T0 + 86_400_000, True)):
            env = Envelope.decode(cyberagent.sign_envelope(
                me, body, kind=cyberagent.CA_KIND_CARD, created_at=T0, expires_at=expires,
                compress=compress))
            with self.assertRaises(cyberagent.MalformedError):
                Card.parse(env)
        env = Envelope.decode(cyberagent.sign_envelope(
            me, body, kind=cyberagent.CA_KIND_CARD, created_at=T0, expires_at=T0 + 86_400_000))
        self.assertEqual(Card.parse(env).name, "Translator")

    def test_errors(self):
        me = Identity.generate()
        with self.assertRaises(cyberagent.ExpiredError):
            Card.open(card_bytes(me), T0 + 86_400_000 + 60_000)
        with self.assertRaises(cyberagent.BadCapabilityError):
            card_bytes(me, capabilities=[("Bad Name", 1)])
        with self.assertRaises(cyberagent.ArgumentError):
            card_bytes(me, capabilities=[("a", 1), ("a", 2)])
        with self.assertRaises(cyberagent.Error):
            card_bytes(me, capabilities=[])
        with self.assertRaises(cyberagent.LimitError):
            card_bytes(me, name="x" * 1000)
        with self.assertRaises(ValueError):
            card_bytes(me, name="nul\0byte")

    def test_capability_grammar_and_limits(self):
        cyberagent.capability_check("llm.translate.en-fr")
        self.assertTrue(cyberagent.is_capability("a.b-c.d0"))
        self.assertFalse(cyberagent.is_capability("A"))
        self.assertFalse(cyberagent.is_capability("a..b"))
        with self.assertRaises(cyberagent.BadCapabilityError):
            cyberagent.capability_check("")
        lim = cyberagent.card.limits()
        self.assertEqual(lim["name"], cyberagent.CA_CARD_NAME_MAX)
        self.assertEqual(lim["description"], cyberagent.CA_CARD_DESCRIPTION_MAX)
        self.assertEqual(lim["endpoint"], cyberagent.CA_CARD_ENDPOINT_MAX)
        self.assertEqual(lim["capabilities"], cyberagent.CA_CARD_CAPABILITIES_MAX)
        self.assertEqual(lim["capability"], cyberagent.CA_CAPABILITY_MAX)
        self.assertEqual(lim["capability_segments"], cyberagent.CA_CAPABILITY_SEGMENTS_MAX)


if __name__ == "__main__":
    unittest.main()
