"""Reputation through the binding."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Identity, Reputation
from cyberagent import reputation as R

T0 = 1_700_000_000_000


def h(i):
    return i.to_bytes(8, "big") + bytes(24)  # only the first 8 bytes identify a task


class TestReputation(unittest.TestCase):
    def test_ratings_scores_top_snapshot(self):
        a, b, c = (Identity.generate().public_key for _ in range(3))
        rep = Reputation()
        rep.reserve(10, 10)
        rep.add_rating(h(1), a, b, 100, 100, T0)
        rep.add_rating(h(2), a, c, 0, 100, T0)
        rep.add_rating(h(3), b, c, 10, 100, T0)
        rep.set_stake(a, 1000)
        rep.set_pretrusted(a)
        self.assertEqual(rep.agent_count, 3)
        self.assertEqual(rep.rating_count, 3)
        stats = rep.update(T0 + 1000)
        self.assertEqual(stats.agents, 3)
        self.assertEqual(stats.ratings, 3)
        sb = rep.get(b)
        self.assertGreater(sb.expected, rep.get(c).expected)
        self.assertEqual(sb.ratings_received, 1)
        self.assertTrue(rep.get(a).pretrusted)
        self.assertEqual(rep.get(a).stake, 1000)
        self.assertIsNone(rep.get(Identity.generate().public_key))
        top = rep.top(10)
        self.assertEqual(len(top), 3)
        self.assertAlmostEqual(sum(s.global_ for s in top), 1.0, places=6)
        self.assertEqual(len(rep.top(1)), 1)
        snap = rep.snapshot_export()
        rep2 = Reputation()
        rep2.snapshot_import(snap)
        self.assertEqual(rep2.snapshot_export(), snap)
        self.assertEqual(rep2.get(b), sb)
        with self.assertRaises(cyberagent.StateError):
            rep2.snapshot_import(snap)
        with self.assertRaises(cyberagent.ReputationCorruptError):
            Reputation().snapshot_import(snap[:-1])
        self.assertIn("agents=3", repr(rep))

    def test_errors(self):
        a, b = Identity.generate().public_key, Identity.generate().public_key
        rep = Reputation(unit_amount=10)
        with self.assertRaises(cyberagent.SelfRatingError):
            rep.add_rating(h(1), a, a, 50, 100, T0)
        with self.assertRaises(cyberagent.UnpaidRatingError):
            rep.add_rating(h(1), a, b, 50, 9, T0)
        rep.add_rating(h(1), a, b, 50, 100, T0)
        with self.assertRaises(cyberagent.DuplicateRatingError):
            rep.add_rating(h(1), a, b, 50, 100, T0)
        with self.assertRaises(cyberagent.ArgumentError):
            rep.add_rating(h(2), a, b, 101, 100, T0)
        with self.assertRaises(TypeError):
            Reputation(nope=1)

    def test_offenses(self):
        ids = [Identity.generate().public_key for _ in range(6)]
        honest, ring = ids[:3], ids[3:]
        plain, judged = Reputation(), Reputation()
        for rep in (plain, judged):
            n = 1
            for i in honest:
                for j in honest + ring[:1]:  # the ring's first member did one good task for each
                    if i != j:
                        rep.add_rating(h(n), i, j, 100, 100, T0)
                        n += 1
            for i in ring:
                for j in ring:
                    if i != j:
                        rep.add_rating(h(n), i, j, 100, 100, T0)
                        n += 1
            rep.set_pretrusted(honest[0])
        for k, m in enumerate(ring):
            judged.add_offense(cyberagent.CA_LEDGER_EVIDENCE_DISPUTE, h(1000 + k), m, T0)
        with self.assertRaises(cyberagent.DuplicateOffenseError):
            judged.add_offense(cyberagent.CA_LEDGER_EVIDENCE_DISPUTE, h(1000), ring[0], T0)
        with self.assertRaises(cyberagent.ArgumentError):
            judged.add_offense(9, h(1), ring[0], T0)
        plain.update(T0)
        judged.update(T0)
        before = sum(plain.get(m).global_ for m in ring)
        after = sum(judged.get(m).global_ for m in ring)
        self.assertGreater(before, 0.3)
        self.assertLess(after, before / 20)
        snap = judged.snapshot_export()
        self.assertEqual(int.from_bytes(snap[4:8], "little"), 2)  # offenses, one task per rating
        again = Reputation()
        again.snapshot_import(snap)
        self.assertEqual(again.snapshot_export(), snap)

    def test_prune(self):
        a, b, c = (Identity.generate().public_key for _ in range(3))
        day = 24 * 3600 * 1000
        old, now = T0 - 400 * day, T0 + 1000
        full, pruned = Reputation(), Reputation()
        for rep in (full, pruned):
            rep.add_rating(h(1), a, b, 90, 1, old)  # weight 1, 13 half-lives ago: no evidence left
            rep.add_rating(h(2), b, c, 20, 2, old)
            rep.add_rating(h(3), a, c, 80, 10**12, old)  # heavy: some evidence left
            rep.add_rating(h(4), c, b, 70, 100, T0)
            rep.set_pretrusted(a)
        self.assertEqual(pruned.prune(old), 0)  # nothing is without evidence yet
        self.assertEqual(pruned.prune(now), 2)
        self.assertEqual(pruned.prune(now), 0)
        self.assertEqual(pruned.rating_count, 2)
        self.assertEqual(pruned.agent_count, 3)
        self.assertEqual(pruned.get(b).ratings_received, 1)
        self.assertEqual(pruned.get(b).ratings_given, 0)
        with self.assertRaises(cyberagent.DuplicateRatingError):
            pruned.add_rating(h(1), a, b, 90, 1, now)
        full.update(now)
        pruned.update(now)
        for x in (a, b, c):
            p, q = full.get(x), pruned.get(x)
            self.assertEqual((p.global_, p.positive, p.negative), (q.global_, q.positive, q.negative))
        snap = pruned.snapshot_export()
        self.assertEqual(int.from_bytes(snap[4:8], "little"), 3)  # more tasks than ratings
        again = Reputation()
        again.snapshot_import(snap)
        self.assertEqual(again.snapshot_export(), snap)
        with self.assertRaises(cyberagent.DuplicateRatingError):
            again.add_rating(h(2), b, c, 20, 2, now)

    def test_limits(self):
        self.assertEqual(cyberagent.CA_TASK_RATING_MAX, 100)  # the one rating scale
        self.assertFalse(hasattr(cyberagent, "CA_REPUTATION_RATING_MAX"))
        self.assertEqual(cyberagent.CA_REPUTATION_WEIGHT_MAX, 0x1FFFFFF)
        self.assertEqual(R.reputation_options(damping_ppm=1).damping_ppm, 1)


if __name__ == "__main__":
    unittest.main()
