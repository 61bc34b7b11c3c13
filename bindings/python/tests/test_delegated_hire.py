"""A sub-agent hires for its delegator; a delegate is routed for its delegator;
revocations reach a task thread and the routing registry (task.h, DELEGATED
SIDES; routing.h, DELEGATES) through the binding."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Card, Delegation, Identity, RevocationSet, Routing, Task, delegation, task

T0 = 1_700_000_000_000
HOUR = 3_600_000


def grant(issuer, audience, caps, task_cap, expires=T0 + 24 * HOUR, parent=None):
    data, did = delegation.sign_delegation_with_id(
        issuer, audience=audience.public_key, capabilities=caps, total_cap=1000, task_cap=task_cap,
        not_before=T0 - HOUR, expires_at=expires, parent=parent, created_at=T0 - HOUR,
    )
    return Delegation.decode(data), did


class TestDelegatedHire(unittest.TestCase):
    def setUp(self):
        self.p, self.d, self.w, self.b, self.s = [Identity.from_seed(bytes([i + 40]) * 32) for i in range(5)]

    def test_thread(self):
        rc, rid = grant(self.p, self.d, ["llm.*"], 100)
        bc, _ = grant(self.w, self.b, ["llm.*"], 50)
        rq, tid = task.sign_request(
            self.d, capability="llm.translate.en-fr", max_price=100, deadline=T0 + 10000, created_at=T0,
            expires_at=T0 + HOUR, collateral=10, delegation=[rc],
        )
        revs = RevocationSet(16)
        t = Task(rq, T0, revocations=revs)
        side = t.side(task.PARTY_REQUESTER)
        self.assertEqual(side.principal, self.p.public_key)
        self.assertEqual(side.agent, self.d.public_key)
        self.assertTrue(side.delegated)
        self.assertEqual(side.task_cap, 100)
        self.assertIsNone(t.side(task.PARTY_WORKER))
        bid, _ = task.sign_bid(
            self.b, task=tid, price=80, completion=T0 + 5000, collateral=10, created_at=T0 + 100,
            expires_at=T0 + HOUR, delegation=[bc],
        )
        t.apply(bid, T0 + 100)
        m = t.last(cyberagent.CA_KIND_TASK_BID)
        self.assertEqual(m.delegator, self.w.public_key)
        self.assertEqual(m.body.delegation, (bc.encoded(),))
        self.assertEqual(t.last(cyberagent.CA_KIND_TASK_REQUEST).body.delegation, (rc.encoded(),))
        # Over the per-task cap: refused with the delegation status.
        over, _ = task.sign_request(
            self.d, capability="llm.translate.en-fr", max_price=101, deadline=T0 + 10000, created_at=T0,
            expires_at=T0 + HOUR, delegation=[rc],
        )
        with self.assertRaises(cyberagent.DelegationTaskCapError):
            Task(over, T0)
        # P revokes the link it gave: D's award is refused from then on; the thread says so.
        revs.add(delegation.sign_revocation(self.p, rid, created_at=T0, expires_at=T0 + 48 * HOUR))
        self.assertTrue(t.side(task.PARTY_REQUESTER).revoked)
        aw, _ = task.reply_award(self.d, m, created_at=T0 + 300, expires_at=T0 + HOUR)
        with self.assertRaises(cyberagent.DelegationRevokedError):
            t.apply(aw, T0 + 300)
        self.assertEqual(len(t), 2)

    def test_routing(self):
        rc, rid = grant(self.p, self.d, ["llm.*"], 100)
        data = cyberagent.sign_card(
            self.d, name="sub", endpoint="nats.sub", capabilities=[("llm.translate.en-fr", 90, 0), ("img.x", 5, 0)],
            not_before=T0, not_after=T0 + HOUR, created_at=T0, stake=0, sequence=1,
        )
        rt = Routing(max_revocations=8)
        rt.add_delegate(Card.open(data, T0), [rc], T0)
        self.assertEqual(rt.delegate_count, 1)
        info = rt.get(self.d.public_key)
        self.assertTrue(info.delegated)
        self.assertEqual(info.principal, self.p.public_key)
        self.assertEqual(info.capability_count, 1)
        # A stranger's revocation changes nothing; the delegator's removes the delegate.
        self.assertEqual(rt.add_revocation(
            delegation.sign_revocation(self.s, rid, created_at=T0, expires_at=T0 + HOUR), T0), 0)
        self.assertEqual(rt.add_revocation(
            delegation.sign_revocation(self.p, rid, created_at=T0, expires_at=T0 + HOUR), T0), 1)
        self.assertIsNone(rt.get(self.d.public_key))
        with self.assertRaises(cyberagent.DelegationRevokedError):
            rt.add_delegate(Card.open(data, T0), [rc], T0)


if __name__ == "__main__":
    unittest.main()
