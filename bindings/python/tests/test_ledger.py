"""Ledger through the binding: ops, signing, escrow, durable mode, errors."""

import hashlib
import os
import tempfile
import threading
import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Identity, Ledger, LedgerOp
from cyberagent import ledger as L


class World:
    def __init__(self, **opts):
        self.auth, self.arb = Identity.generate(), Identity.generate()
        self.alice, self.bob = Identity.generate(), Identity.generate()
        self.nonces = {}
        self.led = Ledger(authority=self.auth.public_key, arbiter=self.arb.public_key, **opts)

    def op(self, type_, signer, **kw):
        n = self.nonces.get(signer.public_key, 0) + 1
        self.nonces[signer.public_key] = n
        return LedgerOp(type_, signer=signer.public_key, nonce=n, **kw)

    def sign(self, type_, signer, cosigner=None, **kw):
        return L.op_sign(self.led.id, self.op(type_, signer, **kw), signer, cosigner)

    def submit(self, type_, signer, now=100, cosigner=None, **kw):
        return self.led.submit(self.sign(type_, signer, cosigner, **kw), now)


class TestLedger(unittest.TestCase):
    def test_mint_transfer_bond_and_queries(self):
        w = World()
        self.assertEqual(w.submit(L.OP_MINT, w.auth, counterparty=w.alice.public_key, amount=1000), 1)
        w.submit(L.OP_TRANSFER, w.alice, counterparty=w.bob.public_key, amount=300)
        w.submit(L.OP_BOND, w.alice, amount=200)
        a = w.led.account(w.alice.public_key)
        self.assertEqual((a.balance, a.bonded, a.nonce), (500, 200, 2))
        self.assertEqual(w.led.account(w.bob.public_key).balance, 300)
        t = w.led.totals()
        self.assertEqual((t.minted, t.seq, t.burned), (1000, 3, 0))
        self.assertEqual(len(w.led.state_hash()), 32)
        w.led.check()
        self.assertEqual(w.led.commit(), 3)
        self.assertIn("seq=3", repr(w.led))
        with self.assertRaises(cyberagent.LedgerUnknownAccountError):
            w.led.account(Identity.generate().public_key)

    def test_apply_and_errors(self):
        w = World()
        w.led.apply(w.op(L.OP_MINT, w.auth, counterparty=w.alice.public_key, amount=10), 1)
        with self.assertRaises(cyberagent.LedgerInsufficientFundsError) as cm:
            w.led.apply(w.op(L.OP_TRANSFER, w.alice, counterparty=w.bob.public_key, amount=11), 1)
        self.assertIsInstance(cm.exception, cyberagent.LedgerError)
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_LEDGER_INSUFFICIENT_FUNDS)
        with self.assertRaises(cyberagent.LedgerUnauthorizedError):
            w.led.apply(w.op(L.OP_MINT, w.alice, counterparty=w.alice.public_key, amount=10), 1)
        # replaying a signed op is refused as a duplicate
        msg = L.op_sign(w.led.id, LedgerOp(L.OP_TRANSFER, signer=w.alice.public_key, nonce=1,
                                           counterparty=w.bob.public_key, amount=1), w.alice)
        w.led.submit(msg, 2)
        with self.assertRaises(cyberagent.LedgerDuplicateError):
            w.led.submit(msg, 2)

    def test_apply_batch(self):
        w = World()
        ops = [w.op(L.OP_MINT, w.auth, counterparty=w.alice.public_key, amount=10),
               w.op(L.OP_TRANSFER, w.alice, counterparty=w.bob.public_key, amount=100),
               w.op(L.OP_MINT, w.auth, counterparty=w.bob.public_key, amount=5)]
        res = w.led.apply_batch(ops, 1)
        self.assertEqual(res, [0, cyberagent.CA_ERR_LEDGER_INSUFFICIENT_FUNDS, 0])
        self.assertEqual(w.led.account(w.bob.public_key).balance, 5)

    def test_op_sign_decode_verify(self):
        a, b = Identity.generate(), Identity.generate()
        lid = L.ledger_id(authority=a.public_key)
        op = LedgerOp(L.OP_TRANSFER, signer=a.public_key, nonce=7, counterparty=b.public_key, amount=5)
        msg = L.op_sign(lid, op, a)
        self.assertEqual(msg, L.op_sign(lid, op, a))  # deterministic
        self.assertLessEqual(len(msg), L.op_max_bytes())
        self.assertEqual(L.op_decode(msg), op)
        self.assertTrue(L.op_verify(lid, msg))
        self.assertFalse(L.op_verify(bytes(32), msg))  # signed for another ledger
        bad = bytearray(msg)
        bad[-1] ^= 1
        self.assertFalse(L.op_verify(lid, bytes(bad)))
        with self.assertRaises(cyberagent.MalformedError):
            L.op_decode(msg + b"\0")
        with self.assertRaises(cyberagent.Error):
            L.op_sign(lid, op, b)  # signer does not match op.signer
        with self.assertRaises(cyberagent.Error):
            L.op_sign(lid, LedgerOp(L.OP_TRANSFER, signer=a.public_key, nonce=1, counterparty=b.public_key,
                                    amount=1, result=bytes(31) + b"\1"), a)  # only DELIVER names a result

    def test_escrow_lifecycle(self):
        w = World()
        for who in (w.alice, w.bob):
            w.submit(L.OP_MINT, w.auth, counterparty=who.public_key, amount=1000)
        w.submit(L.OP_BOND, w.bob, amount=500)
        award = hashlib.blake2b(b"award", digest_size=32).digest()
        open_op = w.op(L.OP_ESCROW_OPEN, w.alice, counterparty=w.bob.public_key, ref=award,
                       amount=100, amount2=50, deadline=1000)
        lid = w.led.id
        consent = L.op_cosign(lid, open_op, w.bob)  # in the worker's process
        self.assertEqual(len(consent), 64)
        with self.assertRaises(cyberagent.Error):
            L.op_cosign(lid, open_op, w.alice)  # only the worker consents
        two_step = L.op_sign_cosigned(lid, open_op, w.alice, consent)  # in the hirer's process
        self.assertEqual(two_step, L.op_sign(lid, open_op, w.alice, w.bob))
        with self.assertRaises(cyberagent.Error):
            L.op_sign_cosigned(lid, open_op, w.alice, bytes(64))
        w.led.submit(two_step, 100)
        e = w.led.escrow(award)
        self.assertEqual((e.hirer, e.worker, e.payment, e.collateral), (w.alice.public_key, w.bob.public_key, 100, 50))
        self.assertEqual(e.state, L.ESCROW_OPEN)
        self.assertFalse(e.delivered)
        self.assertEqual((e.paid, e.missed, e.result), (0, False, bytes(32)))
        w.led.apply(w.op(L.OP_ESCROW_DELIVER, w.bob, ref=award, result=b"\x5e" * 32), 100)  # trusted path
        w.submit(L.OP_ESCROW_RELEASE, w.alice, ref=award)
        e = w.led.escrow(award)
        self.assertEqual(e.state, L.ESCROW_RELEASED)
        self.assertTrue(e.delivered)
        self.assertEqual((e.paid, e.result), (100, b"\x5e" * 32))
        self.assertEqual(w.led.account(w.alice.public_key).balance, 900)
        with self.assertRaises(cyberagent.LedgerUnknownEscrowError):
            w.led.escrow(bytes(32))
        w.led.check()

    def test_slash_with_evidence(self):
        from cyberagent import task as T

        w = World()
        w.submit(L.OP_MINT, w.auth, counterparty=w.bob.public_key, amount=1000)
        w.submit(L.OP_BOND, w.bob, amount=1000)
        t0 = 1_700_000_000_000
        req, task_id = T.sign_request(w.alice, capability="a.b", max_price=10, deadline=t0 + 60_000,
                                      created_at=t0, expires_at=t0 + 3_600_000)
        b1, _ = T.sign_bid(w.bob, task=task_id, price=5, completion=t0 + 10, collateral=0, created_at=t0 + 1,
                           expires_at=t0 + 3_600_000)
        b2, _ = T.sign_bid(w.bob, task=task_id, price=4, completion=t0 + 10, collateral=0, created_at=t0 + 2,
                           expires_at=t0 + 3_600_000)
        refused, _ = T.sign_bid(w.bob, task=task_id, price=11, completion=t0 + 10, collateral=0, created_at=t0 + 1,
                                expires_at=t0 + 3_600_000)  # above max_price: no thread accepts it
        with self.assertRaises(cyberagent.BadEvidenceError):
            T.evidence_encode(req, refused, b1)  # a refused bid and its correction prove nothing
        ev = T.evidence_encode(req, b1, b2)
        self.assertLessEqual(len(ev), L.evidence_max_bytes())
        evo = T.Evidence.open(ev)
        self.assertEqual(evo.deadline, t0 + 60_000)  # the task's deadline: the offense time
        w.submit(L.OP_MINT, w.auth, counterparty=w.alice.public_key, amount=1)  # reporters need accounts
        slash = w.sign(L.OP_SLASH, w.alice, counterparty=w.bob.public_key, ref=evo.offense,
                       evidence=L.EVIDENCE_EQUIVOCATION, deadline=evo.deadline)
        with self.assertRaises(cyberagent.LedgerBadEvidenceError):
            w.led.submit(slash, t0 + 100)  # an equivocation slash needs its evidence
        w.led.submit_evidence(slash, ev, t0 + 100)
        self.assertLess(w.led.account(w.bob.public_key).bonded, 1000)
        w.led.check()

    def test_availability_rules(self):
        """Slashes that take nothing, old offenses and reports from unknown accounts are refused;
        escrows are bounded per hirer and in time (issue 13, ledger availability)."""
        w = World(max_evidence_age=1000, max_escrow_duration=500, max_escrows_per_hirer=1)
        for who in (w.alice, w.bob):
            w.submit(L.OP_MINT, w.auth, counterparty=who.public_key, amount=100)
        with self.assertRaises(cyberagent.LedgerNoStakeError):  # bob has nothing at stake
            w.led.apply(w.op(L.OP_SLASH, w.alice, counterparty=w.bob.public_key, ref=bytes(32),
                             evidence=L.EVIDENCE_EQUIVOCATION, deadline=100), 100)
        w.nonces[w.alice.public_key] -= 1
        w.led.apply(w.op(L.OP_BOND, w.bob, amount=50), 100)
        with self.assertRaises(cyberagent.LedgerEvidenceExpiredError):
            w.led.apply(w.op(L.OP_SLASH, w.alice, counterparty=w.bob.public_key, ref=bytes(32),
                             evidence=L.EVIDENCE_EQUIVOCATION, deadline=100), 1101)
        w.nonces[w.alice.public_key] -= 1
        stranger = Identity.generate()
        with self.assertRaises(cyberagent.LedgerUnknownAccountError):  # reports create no accounts
            w.led.apply(LedgerOp(L.OP_SLASH, signer=stranger.public_key, nonce=1, counterparty=w.bob.public_key,
                                 ref=bytes(32), evidence=L.EVIDENCE_EQUIVOCATION, deadline=100), 200)
        with self.assertRaises(cyberagent.LimitError):  # deadline beyond max_escrow_duration
            w.submit(L.OP_ESCROW_OPEN, w.alice, now=200, cosigner=w.bob, counterparty=w.bob.public_key,
                     ref=b"\x01" * 32, amount=10, deadline=701)
        w.nonces[w.alice.public_key] -= 1
        w.submit(L.OP_ESCROW_OPEN, w.alice, now=200, cosigner=w.bob, counterparty=w.bob.public_key,
                 ref=b"\x01" * 32, amount=10, deadline=700)
        with self.assertRaises(cyberagent.LimitError):  # one escrow per hirer here
            w.submit(L.OP_ESCROW_OPEN, w.alice, now=200, cosigner=w.bob, counterparty=w.bob.public_key,
                     ref=b"\x02" * 32, amount=10, deadline=700)
        w.nonces[w.alice.public_key] -= 1
        w.submit(L.OP_ESCROW_RELEASE, w.alice, now=300, ref=b"\x01" * 32)
        self.assertEqual(w.led.totals().escrows, 1)  # kept until deadline + max_evidence_age
        w.submit(L.OP_TRANSFER, w.bob, now=1701, counterparty=w.alice.public_key, amount=1)
        self.assertEqual(w.led.totals().escrows, 0)
        with self.assertRaises(cyberagent.LedgerUnknownEscrowError):
            w.led.escrow(b"\x01" * 32)
        w.led.check()

    def test_durable_reopen(self):
        auth, alice = Identity.generate(), Identity.generate()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ledger")
            led = Ledger.open(path, authority=auth.public_key)
            self.assertEqual(led.open_info.replayed, 0)
            for n in range(1, 4):
                led.submit(L.op_sign(led.id, LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=n,
                                                      counterparty=alice.public_key, amount=10), auth), 1)
            self.assertEqual(led.commit(), 3)
            h = led.state_hash()
            led.close()
            led = Ledger.open(path, authority=auth.public_key)
            self.assertEqual(led.open_info.replayed, 3)
            self.assertEqual(led.state_hash(), h)
            led.snapshot()
            led.close()
            led = Ledger.open(path, authority=auth.public_key)
            self.assertEqual(led.open_info.snapshot_seq, 3)
            self.assertEqual(led.account(alice.public_key).balance, 30)
            with self.assertRaises(cyberagent.StateError):  # one handle per directory
                Ledger.open(path, authority=auth.public_key)
            led.close()
            with self.assertRaises(cyberagent.LedgerOptionsMismatchError):
                Ledger.open(path, authority=alice.public_key)
        with self.assertRaises(cyberagent.StateError):
            Ledger(authority=auth.public_key).snapshot()

    def test_options(self):
        with self.assertRaises(TypeError):
            Ledger(no_such_option=1)
        o = L.ledger_options(unbonding_delay=5)
        self.assertEqual(o.unbonding_delay, 5)
        self.assertEqual(o.max_evidence_age, cyberagent.CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT)
        self.assertEqual(o.max_escrow_duration, 30 * 24 * 3600 * 1000)
        self.assertEqual(o.max_escrows_per_hirer, cyberagent.CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT)
        self.assertNotEqual(L.ledger_id(max_evidence_age=1), L.ledger_id())

    def test_delivery_carries_its_result(self):
        """A signed DELIVER names the worker's RESULT and comes with it (issue 13, finding 7)."""
        from cyberagent import task as T

        w = World()
        for who in (w.alice, w.bob):
            w.submit(L.OP_MINT, w.auth, counterparty=who.public_key, amount=1000)
        t0 = 1_700_000_000_000
        ttl = 3_600_000
        req, task_id = T.sign_request(w.alice, capability="a.b", max_price=10, deadline=t0 + 60_000,
                                      created_at=t0, expires_at=t0 + ttl)
        bid, bid_id = T.sign_bid(w.bob, task=task_id, price=5, completion=t0 + 10_000, collateral=0,
                                 created_at=t0 + 1, expires_at=t0 + ttl)
        award, award_id = T.sign_award(w.alice, task=task_id, bid=bid_id, worker=w.bob.public_key, price=5,
                                       collateral=0, deadline=t0 + 20_000, created_at=t0 + 2, expires_at=t0 + ttl)
        w.submit(L.OP_ESCROW_OPEN, w.alice, now=t0 + 3, cosigner=w.bob, counterparty=w.bob.public_key,
                 ref=award_id, amount=5, deadline=t0 + 20_000)
        result, result_id = T.sign_result(w.bob, task=task_id, award=award_id, output=b"done",
                                          created_at=t0 + 4, expires_at=t0 + ttl)
        op = L.op_escrow_deliver(cyberagent.TaskMessage.parse(result, t0 + 5))
        self.assertEqual((op.type, op.signer, op.ref, op.result), (L.OP_ESCROW_DELIVER, w.bob.public_key,
                                                                   award_id, result_id))
        op.nonce = 1
        msg = L.op_sign(w.led.id, op, w.bob)
        with self.assertRaises(cyberagent.LedgerBadEvidenceError):
            w.led.submit(msg, t0 + 5)  # a bare claim
        with self.assertRaises(cyberagent.LedgerBadEvidenceError):
            w.led.submit_evidence(msg, award, t0 + 5)  # not the RESULT
        w.led.submit_evidence(msg, result, t0 + 5)
        e = w.led.escrow(award_id)
        self.assertTrue(e.delivered)
        self.assertEqual(e.result, result_id)

    def test_missed_deadline_survives_refund(self):
        """The worker's refund after its deadline does not erase the offense (issue 13, finding 6)."""
        w = World(slash_missed_deadline_ppm=10_000)
        for who in (w.alice, w.bob):
            w.submit(L.OP_MINT, w.auth, counterparty=who.public_key, amount=1000)
        w.submit(L.OP_BOND, w.bob, amount=500)
        award = hashlib.blake2b(b"late", digest_size=32).digest()
        w.submit(L.OP_ESCROW_OPEN, w.alice, now=10, cosigner=w.bob, counterparty=w.bob.public_key, ref=award,
                 amount=100, amount2=10, deadline=50)
        w.submit(L.OP_ESCROW_REFUND, w.bob, now=51, ref=award)
        self.assertTrue(w.led.escrow(award).missed)
        reporter = Identity.generate()
        w.submit(L.OP_MINT, w.auth, counterparty=reporter.public_key, amount=1)  # reporters need accounts
        w.submit(L.OP_SLASH, reporter, now=52, counterparty=w.bob.public_key, ref=award,
                 evidence=L.EVIDENCE_MISSED_DEADLINE)
        self.assertEqual(w.led.account(w.bob.public_key).bonded, 495)
        with self.assertRaises(cyberagent.LedgerEvidenceUsedError):
            w.submit(L.OP_SLASH, reporter, now=53, counterparty=w.bob.public_key, ref=award,
                     evidence=L.EVIDENCE_MISSED_DEADLINE)

    def test_ops_name_their_ledger(self):
        """Two ledgers with the same rules and accounts: an op signed for one fails on the other."""
        auth, alice, bob = Identity.generate(), Identity.generate(), Identity.generate()
        a = Ledger(authority=auth.public_key)
        b = Ledger(authority=auth.public_key, network=b"\1" * 32)
        self.assertNotEqual(a.id, b.id)
        self.assertEqual(a.id, L.ledger_id(authority=auth.public_key))
        self.assertEqual(b.id, L.ledger_id(authority=auth.public_key, network=b"\1" * 32))
        for led in (a, b):
            led.submit(L.op_sign(led.id, LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=1,
                                                  counterparty=alice.public_key, amount=10), auth), 1)
        msg = L.op_sign(a.id, LedgerOp(L.OP_TRANSFER, signer=alice.public_key, nonce=1,
                                       counterparty=bob.public_key, amount=3), alice)
        with self.assertRaises(cyberagent.SignatureError):
            b.submit(msg, 2)
        a.submit(msg, 2)
        self.assertEqual((a.account(alice.public_key).balance, b.account(alice.public_key).balance), (7, 10))

    def test_shared_across_threads(self):
        w = World()
        w.submit(L.OP_MINT, w.auth, counterparty=w.alice.public_key, amount=10_000)
        errors = []

        def work():
            try:
                for _ in range(200):
                    w.led.totals()
                    w.led.account(w.alice.public_key)
            except Exception as exc:  # pragma: no cover
                errors.append(exc)

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
