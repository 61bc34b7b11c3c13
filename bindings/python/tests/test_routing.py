"""Routing registry and Kademlia table through the binding."""

import threading
import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Card, Identity, Kad, Routing
from cyberagent import routing as RT

T0 = 1_700_000_000_000


def card(me, price, seq=1, caps=None, stake=0, name="agent"):
    data = cyberagent.sign_card(
        me, name=name, endpoint="nats.%s" % name, capabilities=caps or [("llm.translate.en-fr", price, 500)],
        not_before=T0, not_after=T0 + 3_600_000, created_at=T0, stake=stake, sequence=seq,
    )
    return Card.open(data, T0)


class TestRouting(unittest.TestCase):
    def test_add_select_explain(self):
        rt = Routing()
        cheap, dear = Identity.generate(), Identity.generate()
        rt.add_card(card(cheap, 10, name="cheap"), T0)
        rt.add_card(card(dear, 5000, name="dear"), T0)
        self.assertEqual(len(rt), 2)
        res = rt.select("llm.translate.*", T0, k=5)
        self.assertEqual([r.agent for r in res], [cheap.public_key, dear.public_key])
        top = res[0]
        self.assertEqual(top.capability, "llm.translate.en-fr")
        self.assertEqual(top.score, top.price_term + top.reputation_term + top.stake_term + top.latency_term)
        self.assertTrue(top.explanation.startswith("score %d" % top.score))
        self.assertEqual(top.price, 10)
        self.assertEqual(rt.select("llm.translate.en-fr", T0, max_price=100)[0].agent, cheap.public_key)
        self.assertEqual(rt.select("nothing.here", T0), [])
        with self.assertRaises(cyberagent.BadCapabilityError):
            rt.select("Bad!", T0)
        self.assertEqual(rt.name(cheap.public_key), "cheap")
        self.assertEqual(rt.endpoint(cheap.public_key), b"nats.cheap")
        self.assertIn("2 agents", repr(rt))

    def test_reputation_stake_evidence_and_thompson(self):
        rt = Routing(weights=RT.routing_weights(price=0, latency=0, stake=0))
        a, b = Identity.generate(), Identity.generate()
        rt.add_card(card(a, 10, stake=77), T0)
        rt.add_card(card(b, 10), T0)
        info = rt.get(a.public_key)
        self.assertEqual((info.stake, info.claimed_stake, info.stake_from_ledger), (77, 77, False))
        rt.set_stake(a.public_key, 5)
        self.assertTrue(rt.get(a.public_key).stake_from_ledger)
        rt.set_reputation(a.public_key, 100_000)
        rt.set_reputation(b.public_key, 900_000)
        self.assertEqual(rt.select("*", T0)[0].agent, b.public_key)
        self.assertEqual(len(rt.select("*", T0, min_reputation_ppm=500_000)), 1)
        rt.set_evidence(a.public_key, 9000, 1000)
        s1 = rt.select("*", T0, thompson=True, seed=42)
        s2 = rt.select("*", T0, thompson=True, seed=42)
        self.assertEqual(s1, s2)
        rep = [r.reputation_ppm for r in s1 if r.agent == a.public_key][0]
        # exploration replaces the set reputation by a Beta(10, 2) sample, drawn per seed
        self.assertTrue(0 <= rep <= 1_000_000 and rep != 100_000)
        other = rt.select("*", T0, thompson=True, seed=43)
        self.assertNotEqual(rep, [r.reputation_ppm for r in other if r.agent == a.public_key][0])
        self.assertEqual(rt.get(a.public_key).positive_milli, 9000)
        self.assertIsNone(rt.get(Identity.generate().public_key))

    def test_replace_stale_conflict_remove_expire(self):
        rt = Routing()
        a = Identity.generate()
        rt.add_card(card(a, 10, seq=2), T0)
        with self.assertRaises(cyberagent.RoutingStaleError):
            rt.add_card(card(a, 10, seq=1), T0)
        with self.assertRaises(cyberagent.RoutingConflictError):
            rt.add_card(card(a, 11, seq=2), T0)
        rt.add_card(card(a, 12, seq=3), T0)
        self.assertEqual(rt.get(a.public_key).sequence, 3)
        rt.remove(a.public_key)
        with self.assertRaises(cyberagent.NotFoundError):
            rt.remove(a.public_key)
        rt.add_card(card(a, 12, seq=4), T0)
        self.assertEqual(rt.expire(T0 + 3_600_001), 1)
        self.assertEqual(len(rt), 0)

    def test_limits_and_options(self):
        # Routing's limits are the card's: the option defaults, which may only be lowered.
        o = RT.routing_options()
        self.assertEqual(o.max_capabilities_per_agent, cyberagent.CA_CARD_CAPABILITIES_MAX)
        self.assertEqual(o.max_capability_chars, cyberagent.CA_CAPABILITY_MAX)
        self.assertEqual(o.max_name_chars, cyberagent.CA_CARD_NAME_MAX)
        self.assertEqual(o.max_endpoint_bytes, cyberagent.CA_CARD_ENDPOINT_MAX)
        with self.assertRaises(cyberagent.ArgumentError):
            Routing(max_endpoint_bytes=cyberagent.CA_CARD_ENDPOINT_MAX + 1)
        self.assertFalse(hasattr(cyberagent, "CA_ROUTING_PPM"))
        self.assertEqual(RT.routing_options(max_agents=1).max_agents, 1)
        rt = Routing(max_agents=1)
        rt.add_card(card(Identity.generate(), 1), T0)
        with self.assertRaises(cyberagent.LimitError):
            rt.add_card(card(Identity.generate(), 1), T0)
        with self.assertRaises(TypeError):
            Routing(bogus=1)

    def test_card_lifetime_cap(self):
        # A card is kept at most max_card_lifetime_ms after its last add; the
        # same card again renews that; the next add forgets cards that ended.
        self.assertEqual(RT.routing_options().max_card_lifetime_ms, cyberagent.CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT)
        self.assertEqual(cyberagent.CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT, 86_400_000)
        rt = Routing(max_card_lifetime_ms=1000)
        a, b = Identity.generate(), Identity.generate()
        ca = card(a, 10)  # valid until T0 + 3_600_000
        rt.add_card(ca, T0)
        self.assertEqual(rt.get(a.public_key).valid_until, T0 + 1000)
        rt.add_card(ca, T0 + 500)
        self.assertEqual(rt.get(a.public_key).valid_until, T0 + 1500)
        self.assertEqual(len(rt.select("*", T0 + 1500)), 1)
        self.assertEqual(rt.select("*", T0 + 1501), [])
        rt.add_card(card(b, 10, name="b"), T0 + 1501)
        self.assertEqual(len(rt), 1)
        self.assertIsNone(rt.get(a.public_key))
        with self.assertRaises(cyberagent.ArgumentError):
            Routing(max_card_lifetime_ms=0)

    def test_sync_from_ledger_and_reputation(self):
        from cyberagent import ledger as L
        auth, arb, hirer = Identity.generate(), Identity.generate(), Identity.generate()
        led = cyberagent.Ledger(authority=auth.public_key, arbiter=arb.public_key, jail_dispute=5000)
        nonces = {}

        def apply(type_, signer, now=T0, **kw):
            nonces[signer] = nonces.get(signer, 0) + 1
            led.apply(L.LedgerOp(type_, signer=signer, nonce=nonces[signer], **kw), now)

        rt = Routing()
        ws = [Identity.generate() for _ in range(3)]
        for i, w in enumerate(ws):
            rt.add_card(card(w, 100, stake=999, name="w%d" % i), T0)
        for who in (hirer, ws[0], ws[1]):  # ws[2] has no ledger account
            apply(L.OP_MINT, auth.public_key, counterparty=who.public_key, amount=1000)
        apply(L.OP_BOND, ws[0].public_key, amount=300)
        apply(L.OP_BOND, ws[1].public_key, amount=200)
        apply(L.OP_UNBOND, ws[1].public_key, amount=50)
        rt.sync_stakes(led, T0)
        self.assertEqual([rt.get(w.public_key).stake for w in ws], [300, 200, 0])
        self.assertTrue(all(rt.get(w.public_key).stake_from_ledger for w in ws))
        # The arbiter rules against ws[0]: slashed and jailed, so min_stake=1 drops it.
        award = bytes([7]) * 32
        apply(L.OP_ESCROW_OPEN, hirer.public_key, counterparty=ws[0].public_key, ref=award, amount=80,
              amount2=20, deadline=T0 + 100_000)
        led.apply(L.LedgerOp(L.OP_SLASH, signer=arb.public_key, nonce=1, counterparty=ws[0].public_key,
                             ref=award, evidence=L.EVIDENCE_DISPUTE), T0)
        jailed_until = led.account(ws[0].public_key).jailed_until
        self.assertGreater(jailed_until, T0)
        rt.sync_stakes(led, T0)
        self.assertEqual(rt.get(ws[0].public_key).stake, 0)
        self.assertEqual([r.agent for r in rt.select("llm.translate.*", T0, k=5, min_stake=1)],
                         [ws[1].public_key])
        rt.sync_stakes(led, jailed_until)
        acc = led.account(ws[0].public_key)
        self.assertEqual(rt.get(ws[0].public_key).stake, acc.bonded + acc.unbonding)

        rep = cyberagent.Reputation()
        rep.add_rating(bytes([1]) * 32, hirer.public_key, ws[0].public_key, 90, 100, T0)
        rep.add_rating(bytes([2]) * 32, hirer.public_key, ws[1].public_key, 10, 100, T0)
        rep.update(T0 + 1)
        rt.set_reputation(ws[2].public_key, 123456)  # unknown to reputation: kept
        rt.sync_reputation(rep)
        for w in ws[:2]:
            sc, info = rep.get(w.public_key), rt.get(w.public_key)
            self.assertEqual(info.reputation_ppm, min(cyberagent.ledger.PPM, int(sc.expected * cyberagent.ledger.PPM + 0.5)))
            self.assertEqual((info.positive_milli, info.negative_milli),
                             (int(sc.positive * 1000.0), int(sc.negative * 1000.0)))
        self.assertGreater(rt.get(ws[0].public_key).reputation_ppm, rt.get(ws[1].public_key).reputation_ppm)
        self.assertEqual(rt.get(ws[2].public_key).reputation_ppm, 123456)

    def test_shared_across_threads(self):
        rt = Routing()
        for _ in range(20):
            rt.add_card(card(Identity.generate(), 10), T0)
        errs = []

        def work():
            try:
                for _ in range(100):
                    assert len(rt.select("*", T0, k=3)) == 3
            except Exception as exc:  # pragma: no cover
                errs.append(exc)

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errs, [])


class TestBids(unittest.TestCase):
    def test_rank_and_score_bids(self):
        rt = Routing()
        a, b, c = Identity.generate(), Identity.generate(), Identity.generate()
        rt.add_card(card(a, 100), T0)
        rt.add_card(card(b, 100), T0)
        bids = [(a.public_key, 90), (b.public_key, 20, 100), (c.public_key, 1)]
        ranked = rt.rank_bids("llm.translate.en-fr", T0, bids, k=5)
        self.assertEqual([r.agent for r in ranked], [b.public_key, a.public_key])
        self.assertEqual(ranked[0].price, 20)
        self.assertEqual(ranked[0].latency_ms, 100)
        self.assertEqual(len(rt.rank_bids("llm.translate.en-fr", T0, bids, k=5, max_price=50)), 1)
        cand, ok = rt.score_bid("llm.translate.en-fr", T0, (a.public_key, 90))
        self.assertTrue(ok)
        self.assertEqual(cand.price, 90)
        cand, ok = rt.score_bid("llm.translate.en-fr", T0, (a.public_key, 90), max_price=50)
        self.assertFalse(ok)
        self.assertEqual(cand.agent, a.public_key)
        self.assertEqual(rt.score_bid("llm.translate.en-fr", T0, (c.public_key, 1)), (None, False))
        self.assertEqual(rt.rank_bids("llm.translate.en-fr", T0, []), [])


class TestKad(unittest.TestCase):
    def test_table(self):
        me = bytes(32)
        kad = Kad(me, bucket_size=2, cache_size=1)
        self.assertEqual(kad.seen(me), RT.KAD_IGNORED)
        ids = [bytes([0x80 | i]) + bytes(31) for i in range(4)]  # all in bucket 0
        self.assertEqual(kad.seen(ids[0]), RT.KAD_ADDED)
        self.assertEqual(kad.seen(ids[1]), RT.KAD_ADDED)
        self.assertEqual(kad.seen(ids[0]), RT.KAD_REFRESHED)
        self.assertEqual(kad.seen(ids[2]), RT.KAD_CACHED)
        self.assertEqual(len(kad), 2)
        kad.mark_failed(ids[0])  # the cached id takes its place
        self.assertEqual(set(kad.closest(ids[2], 5)), {ids[1], ids[2]})
        kad.remove(ids[1])
        with self.assertRaises(cyberagent.NotFoundError):
            kad.remove(ids[3])
        self.assertEqual(kad.closest(ids[2], 1), [ids[2]])
        self.assertIn("contacts", repr(kad))


if __name__ == "__main__":
    unittest.main()
