"""Delegations, chains and revocations through the binding."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Delegation, Identity, RevocationSet, delegation

T0 = 1_700_000_000_000
HOUR = 3_600_000


def ids(n):
    return [Identity.from_seed(bytes([i + 1]) * 32) for i in range(n)]


def make_chain(keys, terms):
    """keys[i] delegates to keys[i + 1] with terms[i]; returns the encoded links and their ids."""
    out, parent = [], None
    for i, t in enumerate(terms):
        data, did = delegation.sign_delegation_with_id(
            keys[i],
            audience=keys[i + 1].public_key,
            parent=parent,
            created_at=T0 - HOUR,
            **t,
        )
        out.append(data)
        parent = did
    return out


def terms(caps, total, task, nb, exp, nonce=0):
    return dict(capabilities=caps, total_cap=total, task_cap=task, not_before=nb, expires_at=exp,
                nonce=nonce)


class TestDelegation(unittest.TestCase):
    def setUp(self):
        self.keys = ids(5)
        self.good = [
            terms(["llm.*", "img.resize"], 1000, 100, T0 - HOUR, T0 + 24 * HOUR, 1),
            terms(["llm.translate.*"], 500, 50, T0 - HOUR, T0 + 12 * HOUR),
            terms(["llm.translate.en-fr"], 400, 50, T0, T0 + HOUR),
        ]

    def test_patterns_and_limits(self):
        delegation.pattern_check("llm.*")
        delegation.pattern_check("*")
        with self.assertRaises(cyberagent.BadCapabilityError):
            delegation.pattern_check("llm.**")
        self.assertTrue(delegation.pattern_covers("llm.*", "llm.translate.*"))
        self.assertFalse(delegation.pattern_covers("llm.translate.*", "llm.*"))
        self.assertFalse(delegation.pattern_covers("llm", "llm.x"))
        self.assertEqual(delegation.limits(), {"max_depth": 8, "capabilities": 16, "pattern": 66})
        self.assertEqual(cyberagent.CA_KIND_DELEGATION, 64)
        self.assertEqual(cyberagent.kind_name(cyberagent.CA_KIND_REVOCATION), "revocation")

    def test_round_trip(self):
        data, did = delegation.sign_delegation_with_id(
            self.keys[0], audience=self.keys[1].public_key, created_at=T0, **self.good[0]
        )
        with Delegation.decode(data) as d:
            i = d.info()
            self.assertEqual(i.issuer, self.keys[0].public_key)
            self.assertEqual(i.audience, self.keys[1].public_key)
            self.assertEqual(i.id, did)
            self.assertIsNone(i.parent)
            self.assertFalse(i.signature_checked)
            self.assertEqual((i.total_cap, i.task_cap, i.nonce), (1000, 100, 1))
            self.assertEqual((i.not_before, i.expires_at, i.created_at), (T0 - HOUR, T0 + 24 * HOUR, T0))
            self.assertEqual(i.capabilities, ["img.resize", "llm.*"])
            self.assertEqual(d.capabilities, ["img.resize", "llm.*"])
            self.assertEqual(d.encoded(), data)
            self.assertTrue(d.grants("llm.summarize"))
            self.assertFalse(d.grants("img.crop"))
            with self.assertRaises(cyberagent.BadCapabilityError):
                d.grants("IMG")
        self.assertTrue(Delegation.open(data).info().signature_checked)
        bad = bytearray(data)
        bad[-1] ^= 1
        Delegation.decode(bytes(bad)).close()
        with self.assertRaises(cyberagent.SignatureError):
            Delegation.open(bytes(bad))
        with self.assertRaises(cyberagent.MalformedError):
            Delegation.decode(data[:-3])
        # Refusals of the signer, each with its own error and sentence.
        with self.assertRaises(cyberagent.ArgumentError) as e:
            delegation.sign_delegation(self.keys[0], audience=self.keys[0].public_key, created_at=T0,
                                       **self.good[0])
        self.assertIn("audience", e.exception.message)
        with self.assertRaises(cyberagent.ArgumentError):
            delegation.sign_delegation(self.keys[0], audience=self.keys[1].public_key, created_at=T0,
                                       **terms(["a"], 1, 2, T0, T0 + 1))
        with self.assertRaises(cyberagent.LimitError):
            delegation.sign_delegation(self.keys[0], audience=self.keys[1].public_key, created_at=T0,
                                       **terms([], 1, 1, T0, T0 + 1))

    def test_chain(self):
        links = [Delegation.decode(b) for b in make_chain(self.keys, self.good)]
        info = delegation.verify_chain(links, T0 + 1)
        self.assertEqual(info.delegator, self.keys[0].public_key)
        self.assertEqual(info.delegate, self.keys[3].public_key)
        self.assertEqual(info.depth, 3)
        self.assertEqual(info.root, links[0].id)
        self.assertEqual(info.leaf, links[2].id)
        self.assertEqual((info.total_cap, info.task_cap), (400, 50))
        self.assertEqual((info.not_before, info.expires_at), (T0, T0 + HOUR))
        with self.assertRaises(cyberagent.NotYetValidError):
            delegation.verify_chain(links, T0 - 1)
        with self.assertRaises(cyberagent.ExpiredError):
            delegation.verify_chain(links, T0 + HOUR + 1)
        with self.assertRaises(cyberagent.DelegationParentError):
            delegation.verify_chain(links[1:], T0 + 1)
        with self.assertRaises(cyberagent.ArgumentError):
            delegation.verify_chain([], T0)

    def test_every_widening(self):
        cases = [
            ("capabilities", ["llm.*"], cyberagent.DelegationCapabilityError),
            ("total_cap", 501, cyberagent.DelegationTotalCapError),
            ("task_cap", 51, cyberagent.DelegationTaskCapError),
            ("not_before", T0 - HOUR - 1, cyberagent.DelegationWindowError),
            ("expires_at", T0 + 12 * HOUR + 1, cyberagent.DelegationWindowError),
        ]
        for field, value, err in cases:
            t = [dict(x) for x in self.good]
            t[2][field] = value
            links = [Delegation.open(b) for b in make_chain(self.keys, t)]
            with self.assertRaises(err, msg=field) as e:
                delegation.verify_chain(links, T0 + 1)
            self.assertIsInstance(e.exception, cyberagent.DelegationError)
            delegation.verify_chain(links[:2], T0 + 1)
        # A link issued by someone other than the previous audience.
        b = make_chain(self.keys, self.good[:1])
        root = Delegation.decode(b[0])
        other = delegation.sign_delegation(self.keys[2], audience=self.keys[3].public_key,
                                           parent=root.id, created_at=T0, **self.good[1])
        with self.assertRaises(cyberagent.DelegationAudienceError):
            delegation.verify_chain([root, Delegation.decode(other)], T0 + 1)

    def test_revocation(self):
        links = [Delegation.decode(b) for b in make_chain(self.keys, self.good)]
        rev = delegation.sign_revocation(self.keys[1], links[2].id, created_at=T0, expires_at=T0 + HOUR)
        info = delegation.revocation_open(rev)
        self.assertEqual(info.revoker, self.keys[1].public_key)
        self.assertEqual(info.delegation, links[2].id)
        self.assertEqual(delegation.revocation_decode(rev), info)
        with RevocationSet(8) as s:
            s.add(rev)
            s.add(rev)
            self.assertEqual(len(s), 1)
            self.assertTrue(s.contains(links[2].id, self.keys[1].public_key))
            self.assertFalse(s.contains(links[2].id, self.keys[2].public_key))
            with self.assertRaises(cyberagent.DelegationRevokedError):
                delegation.verify_chain(links, T0 + 1, revocations=s)
            delegation.verify_chain(links[:2], T0 + 1, revocations=s)
            bad = bytearray(rev)
            bad[-1] ^= 1
            with self.assertRaises(cyberagent.SignatureError):
                s.add(bytes(bad))
        # The lookup callback: asked per link and issuer at or above it.
        asked = []

        def lookup(did, revoker):
            asked.append((did, revoker))
            return did == links[1].id and revoker == self.keys[0].public_key

        with self.assertRaises(cyberagent.DelegationRevokedError):
            delegation.verify_chain(links, T0 + 1, lookup=lookup)
        self.assertIn((links[1].id, self.keys[0].public_key), asked)
        asked.clear()
        delegation.verify_chain(links[:1], T0 + 1, lookup=lambda d, r: False)
        with self.assertRaises(cyberagent.WrongKindError):
            delegation.revocation_decode(make_chain(self.keys, self.good[:1])[0])


if __name__ == "__main__":
    unittest.main()
