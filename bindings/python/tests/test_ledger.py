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

    def submit(self, type_, signer, now=100, cosigner=None, **kw):
        return self.led.submit(L.op_sign(self.op(type_, signer, **kw), signer, cosigner), now)


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
        self.assertGreater(w.led.memory_bytes(), 0)
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
        msg = L.op_sign(LedgerOp(L.OP_TRANSFER, signer=w.alice.public_key, nonce=1,
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

    def test_op_encode_sign_decode_verify(self):
        a, b = Identity.generate(), Identity.generate()
        op = LedgerOp(L.OP_TRANSFER, signer=a.public_key, nonce=7, counterparty=b.public_key, amount=5)
        enc = L.op_encode(op)
        self.assertEqual(enc, L.op_encode(op))
        msg = L.op_sign(op, a)
        self.assertLessEqual(len(msg), L.op_max_bytes())
        self.assertEqual(L.op_decode(msg), op)
        self.assertTrue(L.op_verify(msg))
        bad = bytearray(msg)
        bad[-1] ^= 1
        self.assertFalse(L.op_verify(bytes(bad)))
        with self.assertRaises(cyberagent.MalformedError):
            L.op_decode(msg + b"\0")
        with self.assertRaises(cyberagent.Error):
            L.op_sign(op, b)  # signer does not match op.signer

    def test_escrow_lifecycle(self):
        w = World()
        for who in (w.alice, w.bob):
            w.submit(L.OP_MINT, w.auth, counterparty=who.public_key, amount=1000)
        w.submit(L.OP_BOND, w.bob, amount=500)
        award = hashlib.blake2b(b"award", digest_size=32).digest()
        open_op = w.op(L.OP_ESCROW_OPEN, w.alice, counterparty=w.bob.public_key, ref=award,
                       amount=100, amount2=50, deadline=1000)
        consent = L.op_cosign(open_op, w.bob)  # in the worker's process
        self.assertEqual(len(consent), 64)
        with self.assertRaises(cyberagent.Error):
            L.op_cosign(open_op, w.alice)  # only the worker consents
        two_step = L.op_sign_cosigned(open_op, w.alice, consent)  # in the hirer's process
        self.assertEqual(two_step, L.op_sign(open_op, w.alice, w.bob))
        with self.assertRaises(cyberagent.Error):
            L.op_sign_cosigned(open_op, w.alice, bytes(64))
        w.led.submit(two_step, 100)
        e = w.led.escrow(award)
        self.assertEqual((e.hirer, e.worker, e.payment, e.collateral), (w.alice.public_key, w.bob.public_key, 100, 50))
        self.assertEqual(e.state, L.ESCROW_OPEN)
        self.assertFalse(e.delivered)
        w.submit(L.OP_ESCROW_DELIVER, w.bob, ref=award)
        w.submit(L.OP_ESCROW_RELEASE, w.alice, ref=award)
        e = w.led.escrow(award)
        self.assertEqual(e.state, L.ESCROW_RELEASED)
        self.assertTrue(e.delivered)
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
        offense = T.Evidence.open(ev).offense
        slash = L.op_sign(w.op(L.OP_SLASH, w.alice, counterparty=w.bob.public_key, ref=offense,
                               evidence=L.EVIDENCE_EQUIVOCATION), w.alice)
        with self.assertRaises(cyberagent.LedgerBadEvidenceError):
            w.led.submit(slash, 200)  # an equivocation slash needs its evidence
        w.led.submit_evidence(slash, ev, 200)
        self.assertLess(w.led.account(w.bob.public_key).bonded, 1000)
        w.led.check()

    def test_durable_reopen(self):
        auth, alice = Identity.generate(), Identity.generate()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ledger")
            led = Ledger.open(path, authority=auth.public_key)
            self.assertEqual(led.open_info.replayed, 0)
            for n in range(1, 4):
                led.submit(L.op_sign(LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=n,
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
