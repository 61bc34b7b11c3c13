"""Task protocol through the binding: builders, parser, thread, evidence, serialization."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Envelope, Identity, Task, TaskMessage
from cyberagent import task as T

T0 = 1_700_000_000_000
TTL = 3_600_000
KIND = {k[len("CA_KIND_TASK_"):]: v for k, v in cyberagent._sigs.CONSTANTS.items() if k.startswith("CA_KIND_TASK_")}


def times(dt=0):
    return dict(created_at=T0 + dt, expires_at=T0 + dt + TTL)


class Story:
    def __init__(self):
        self.hirer, self.worker, self.other = Identity.generate(), Identity.generate(), Identity.generate()
        self.req, self.task_id = T.sign_request(
            self.hirer, capability="llm.summarize", input=b"text\0with nul", max_price=100,
            deadline=T0 + 60_000, collateral=10, **times()
        )
        self.thread = Task(self.req, T0)

    def bid(self, who=None, price=50, dt=1):
        return T.sign_bid(who or self.worker, task=self.task_id, price=price, completion=T0 + 30_000,
                          collateral=10, **times(dt))


class TestTask(unittest.TestCase):
    def test_full_thread(self):
        s = Story()
        th = s.thread
        self.assertEqual(th.id, s.task_id)
        self.assertEqual(th.requester, s.hirer.public_key)
        self.assertEqual(th.state, T.SUBMITTED)
        self.assertEqual(th.state_name, "submitted")
        bid, bid_id = s.bid()
        th.apply(bid, T0 + 1)
        th.apply(Envelope.open(s.bid(s.other, 60)[0], T0 + 1), T0 + 1)
        self.assertEqual(th.bid_count, 2)
        award, award_id = T.sign_award(s.hirer, task=s.task_id, bid=bid_id, worker=s.worker.public_key, price=50,
                                       collateral=10, deadline=T0 + 40_000, **times(2))
        th.apply(award, T0 + 2)
        self.assertEqual(th.state, T.WORKING)
        self.assertEqual(th.last(KIND["AWARD"]).id, award_id)
        self.assertIsNone(th.last(KIND["RESULT"]))
        result, result_id = T.sign_result(s.worker, task=s.task_id, award=award_id, output=b"summary", **times(3))
        th.apply(result, T0 + 3)
        self.assertEqual(th.state, T.INPUT_REQUIRED)
        self.assertEqual(th.last(KIND["RESULT"]).body.output.data, b"summary")
        receipt, _ = T.sign_receipt(s.hirer, task=s.task_id, award=award_id, result=result_id,
                                    worker=s.worker.public_key, accept=True, rating=90, paid=50, **times(4))
        th.apply(receipt, T0 + 4)
        self.assertEqual(th.state, T.COMPLETED)
        self.assertEqual(th.last(KIND["RECEIPT"]).body.rating, 90)
        self.assertEqual(th.last(KIND["BID"]).body.price, 60)  # the bid accepted last
        self.assertIsNone(th.last(KIND["CANCEL"]))
        self.assertEqual(len(th), 6)
        kinds = [type(m.body).__name__ for m in th.messages]
        self.assertEqual(kinds, ["Request", "Bid", "Bid", "Award", "Result", "Receipt"])
        req = th.messages[0].body
        self.assertEqual(req.input.data, b"text\0with nul")
        self.assertEqual((req.capability, req.max_price, req.collateral), ("llm.summarize", 100, 10))
        self.assertIsNone(req.recipient)
        self.assertEqual(th.find(bid_id).body.price, 50)
        self.assertIsNone(th.find(bytes(32)))
        self.assertFalse(th.disputed())
        # serialize, audit, same digest
        again = Task.deserialize(th.serialize())
        self.assertEqual(again.digest(), th.digest())
        self.assertEqual(again.state, T.COMPLETED)
        self.assertIn("completed", repr(th))
        # the settled thread rates the worker: rater = requester, weight from the paid amount
        rep = cyberagent.Reputation()
        rep.add_receipt(th)
        with self.assertRaises(cyberagent.DuplicateRatingError):
            rep.add_receipt(th)
        rep.update(T0 + 5)
        self.assertEqual(rep.get(s.worker.public_key).ratings_received, 1)
        self.assertEqual(rep.get(s.hirer.public_key).ratings_given, 1)

    def _settled(self, paid=50):
        """A completed thread (price 50, rating 90, the receipt claiming ``paid``) and its award id."""
        s = Story()
        th = s.thread
        bid, bid_id = s.bid()
        th.apply(bid, T0 + 1)
        award, award_id = T.sign_award(s.hirer, task=s.task_id, bid=bid_id, worker=s.worker.public_key, price=50,
                                       collateral=10, deadline=T0 + 40_000, **times(2))
        th.apply(award, T0 + 2)
        result, result_id = T.sign_result(s.worker, task=s.task_id, award=award_id, output=b"summary", **times(3))
        th.apply(result, T0 + 3)
        receipt, _ = T.sign_receipt(s.hirer, task=s.task_id, award=award_id, result=result_id,
                                    worker=s.worker.public_key, accept=True, rating=90, paid=paid, **times(4))
        th.apply(receipt, T0 + 4)
        return s, award_id

    def test_replies(self):
        """A hire signed with replies: each takes the task, parent and recipient from the
        message it answers; the thread accepts every one."""
        s = Story()
        th = s.thread
        request = TaskMessage.open(s.req, T0 + 1)  # what the bidder reads
        bid, bid_id = T.reply_bid(s.worker, request, price=50, completion=T0 + 30_000, **times(1))
        th.apply(bid, T0 + 1)
        b = Envelope.open(bid, T0 + 1)
        self.assertEqual((b.parent, b.recipient), (s.task_id, s.hirer.public_key))
        self.assertEqual(th.last(KIND["BID"]).body, T.Bid(s.task_id, 50, T0 + 30_000, 10))
        award, award_id = T.reply_award(s.hirer, th.last(KIND["BID"]), **times(2))
        th.apply(award, T0 + 2)
        a = th.last(KIND["AWARD"]).body
        self.assertEqual((a.bid, a.worker, a.price, a.collateral, a.deadline),
                         (bid_id, s.worker.public_key, 50, 10, T0 + 30_000))
        result, result_id = T.reply_result(s.worker, TaskMessage.open(award, T0 + 3), output=b"summary",
                                           **times(3))
        th.apply(result, T0 + 3)
        self.assertEqual(Envelope.open(result, T0 + 3).recipient, s.hirer.public_key)
        receipt, _ = T.reply_receipt(s.hirer, th.last(KIND["RESULT"]), accept=True, rating=90, paid=50,
                                     **times(4))
        th.apply(receipt, T0 + 4)
        r = th.last(KIND["RECEIPT"]).body
        self.assertEqual((r.award, r.result, r.worker, r.rating, r.paid),
                         (award_id, result_id, s.worker.public_key, 90, 50))
        self.assertEqual(th.state, T.COMPLETED)
        # A reply to a message of the wrong kind: WrongKindError.
        with self.assertRaises(cyberagent.WrongKindError):
            T.reply_award(s.hirer, request, **times(5))
        with self.assertRaises(cyberagent.WrongKindError):
            T.reply_receipt(s.hirer, th.last(KIND["AWARD"]), accept=True, rating=1, paid=1, **times(5))
        with self.assertRaises(cyberagent.ExpiredError):
            TaskMessage.open(s.req, T0 + 10 * TTL)
        # A thread from the request's bytes (ca_task_new_bytes) digests like the original.
        self.assertEqual(Task(s.req, T0).digest(), Task(Envelope.decode(s.req), T0).digest())

    def test_escrow_consent_from_the_award(self):
        from cyberagent import ledger as L
        s, award_id = self._settled()
        op = L.op_escrow_open(s.thread.last(KIND["AWARD"]))
        self.assertEqual((op.type, op.signer, op.counterparty, op.ref, op.amount, op.amount2, op.nonce),
                         (L.OP_ESCROW_OPEN, s.hirer.public_key, s.worker.public_key, award_id, 50, 10, 0))
        auth = Identity.generate()
        led = cyberagent.Ledger(authority=auth.public_key, arbiter=auth.public_key)
        consent = L.op_cosign(led.id, op, s.worker)  # the worker, before the hirer's nonce is known
        for n, who in enumerate((s.hirer, s.worker), start=1):
            led.apply(L.LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=n, counterparty=who.public_key,
                                 amount=1000), T0 + 5)
        # The hirer spends nonce 1 elsewhere; the consent still holds for nonce 2.
        led.apply(L.LedgerOp(L.OP_TRANSFER, signer=s.hirer.public_key, nonce=1, counterparty=s.worker.public_key,
                             amount=5), T0 + 5)
        op.nonce = 2
        led.submit(L.op_sign_cosigned(led.id, op, s.hirer, consent), T0 + 5)
        e = led.escrow(award_id)
        self.assertEqual((e.payment, e.collateral, e.state), (50, 10, L.ESCROW_OPEN))
        op.amount2 = 11  # other terms: the consent does not carry over
        with self.assertRaises(cyberagent.SignatureError):
            L.op_sign_cosigned(led.id, op, s.hirer, consent)
        with self.assertRaises(cyberagent.Error):
            L.op_escrow_open(s.thread.messages[0])  # the REQUEST, not an AWARD

    def test_settled_rating_checks_the_ledger(self):
        from cyberagent import ledger as L
        s, award_id = self._settled(paid=1)  # the receipt claims 1; the ledger will pay 50
        auth, arb = Identity.generate(), Identity.generate()
        led = cyberagent.Ledger(authority=auth.public_key, arbiter=arb.public_key)
        nonces = {}

        def apply(type_, signer, **kw):
            nonces[signer] = nonces.get(signer, 0) + 1
            led.apply(L.LedgerOp(type_, signer=signer, nonce=nonces[signer], **kw), T0 + 5)

        for who in (s.hirer, s.worker):
            apply(L.OP_MINT, auth.public_key, counterparty=who.public_key, amount=1000)
        rep = cyberagent.Reputation()
        with self.assertRaises(cyberagent.LedgerUnknownEscrowError):
            rep.add_settled(s.thread, led)
        apply(L.OP_ESCROW_OPEN, s.hirer.public_key, counterparty=s.worker.public_key, ref=award_id, amount=50,
              amount2=10, deadline=T0 + 40_000)
        self.assertEqual(led.escrow(award_id).paid, 0)
        with self.assertRaises(cyberagent.UnpaidRatingError):  # still open
            rep.add_settled(s.thread, led)
        apply(L.OP_ESCROW_RELEASE, s.hirer.public_key, ref=award_id)
        self.assertEqual(led.escrow(award_id).paid, 50)
        rep.add_settled(s.thread, led)
        with self.assertRaises(cyberagent.DuplicateRatingError):
            rep.add_settled(s.thread, led)
        rep.update(T0 + 4)
        score = rep.get(s.worker.public_key)
        self.assertEqual(score.ratings_received, 1)
        self.assertAlmostEqual(score.positive, 6.3)  # weight isqrt(50) = 7 from the ledger, not 1

        # Stakes straight from the ledger: what the worker bonded, 0 for the hirer.
        apply(L.OP_BOND, s.worker.public_key, amount=300)
        rep.sync_stakes(led, T0 + 5)
        self.assertEqual(rep.get(s.worker.public_key).stake, 300)
        self.assertEqual(rep.get(s.hirer.public_key).stake, 0)

        # An escrow for the award between other parties is refused.
        s2, award2 = self._settled()
        for who in (s2.hirer, s2.worker, s2.other):
            apply(L.OP_MINT, auth.public_key, counterparty=who.public_key, amount=1000)
        apply(L.OP_ESCROW_OPEN, s2.hirer.public_key, counterparty=s2.other.public_key, ref=award2, amount=50,
              amount2=10, deadline=T0 + 40_000)
        apply(L.OP_ESCROW_RELEASE, s2.hirer.public_key, ref=award2)
        with self.assertRaises(cyberagent.EscrowMismatchError) as cm:
            rep.add_settled(s2.thread, led)
        self.assertIsInstance(cm.exception, cyberagent.ReputationError)
        self.assertEqual(rep.rating_count, 1)
        with self.assertRaises(cyberagent.LedgerUnknownEscrowError):
            led.escrow(bytes(32))

    def test_message_parse_and_views(self):
        s = Story()
        m = TaskMessage.parse(s.req, now=T0)
        self.assertEqual(m.kind, cyberagent.CA_KIND_TASK_REQUEST)
        self.assertEqual(m.id, s.task_id)
        self.assertEqual(m.task_id, s.task_id)
        self.assertIsNone(m.parent)
        self.assertEqual(m.sender, s.hirer.public_key)
        self.assertEqual(m.created_at, T0)
        self.assertEqual(m.encoded, s.req)
        self.assertIsInstance(m.view(T.Request), T.Request)
        with self.assertRaises(cyberagent.WrongKindError):
            m.view(T.Bid)
        b = TaskMessage.parse(Envelope.open(s.bid()[0], T0 + 1))
        self.assertEqual(b.parent, s.task_id)
        with self.assertRaises(ValueError):
            TaskMessage.parse(s.req)
        uri_req, _ = T.sign_request(s.hirer, capability="a.b", max_price=1, deadline=T0 + 10,
                                    input=T.Content(uri="https://example.org/x", hash=bytes(range(32))), **times())
        body = TaskMessage.parse(uri_req, now=T0).body
        self.assertEqual(body.input.uri, "https://example.org/x")
        self.assertEqual(body.input.hash, bytes(range(32)))

    def test_protocol_errors_and_evidence(self):
        s = Story()
        th = s.thread
        award_early, _ = T.sign_award(s.hirer, task=s.task_id, bid=bytes(32), worker=s.worker.public_key,
                                      price=1, collateral=1, deadline=T0 + 10, **times(1))
        with self.assertRaises(cyberagent.TaskError):
            th.apply(award_early, T0 + 1)
        b1, _ = s.bid(price=50)
        b2, _ = s.bid(price=40, dt=2)
        th.apply(b1, T0 + 1)
        with self.assertRaises(cyberagent.TaskEquivocationError):
            th.apply(b2, T0 + 2)
        ev = th.evidence(b2)
        summary = T.evidence_verify(ev)
        self.assertEqual(summary.offender, s.worker.public_key)
        self.assertEqual(summary.task, s.task_id)
        self.assertEqual(summary.kind, cyberagent.CA_KIND_TASK_BID)
        self.assertEqual(T.evidence_encode(s.req, b1, b2), ev)
        self.assertEqual(T.evidence_encode(s.req, b2, b1, context=[s.req]), ev)  # extra context is ignored
        with T.Evidence.open(ev) as e:
            self.assertEqual(e.offender, s.worker.public_key)
            self.assertEqual(e.hash, summary.hash)
            self.assertEqual(len(e.offense), 32)
            self.assertNotEqual(e.offense, e.hash)
            self.assertEqual(e.kind, cyberagent.CA_KIND_TASK_BID)
            self.assertNotEqual(e.message(0), e.message(1))
        with self.assertRaises(cyberagent.BadEvidenceError):
            T.evidence_encode(s.req, b1, b1)
        # a bid the thread refuses (above max_price), then the corrected bid: no evidence
        refused, _ = s.bid(price=101, dt=1)
        with self.assertRaises(cyberagent.TaskTermsError):
            Task(s.req, T0).apply(refused, T0 + 1)
        with self.assertRaises(cyberagent.BadEvidenceError):
            T.evidence_encode(s.req, refused, b1)
        # the same terms in a new envelope are one statement: a duplicate, not equivocation
        resigned, _ = s.bid(price=50, dt=3)
        with self.assertRaises(cyberagent.TaskDuplicateError):
            th.apply(resigned, T0 + 3)
        with self.assertRaises(cyberagent.TaskDuplicateError):
            th.apply(b1, T0 + 3)
        cancel, _ = T.sign_cancel(s.hirer, task=s.task_id, reason="changed my mind", **times(5))
        th.apply(cancel, T0 + 5)
        self.assertEqual(th.state, T.CANCELED)

    def test_dispute_and_limits(self):
        s = Story()
        bid, bid_id = s.bid()
        s.thread.apply(bid, T0 + 1)
        award, award_id = T.sign_award(s.hirer, task=s.task_id, bid=bid_id, worker=s.worker.public_key, price=50,
                                       collateral=10, deadline=T0 + 40_000, **times(2))
        s.thread.apply(award, T0 + 2)
        d, _ = T.sign_dispute(s.hirer, task=s.task_id, reason="late", refs=[bid_id], parent=award_id, **times(3))
        s.thread.apply(d, T0 + 3)
        self.assertTrue(s.thread.disputed())
        self.assertTrue(s.thread.disputed(T.PARTY_REQUESTER))
        self.assertFalse(s.thread.disputed(T.PARTY_WORKER))
        self.assertEqual(s.thread.messages[-1].body.refs, (bid_id,))
        lim = T.limits()
        self.assertEqual(lim["inline"], cyberagent.CA_TASK_INLINE_MAX)
        self.assertEqual(lim["uri"], cyberagent.CA_TASK_URI_MAX)
        self.assertEqual(lim["text"], cyberagent.CA_TASK_TEXT_MAX)
        self.assertEqual(lim["refs"], cyberagent.CA_TASK_REFS_MAX)
        self.assertEqual(T.state_name(T.FAILED), "failed")
        self.assertEqual(T.task_options(max_messages=3).max_messages, 3)
        self.assertEqual(T.task_options().max_bids, cyberagent.CA_TASK_MAX_BIDS_DEFAULT)
        with self.assertRaises(cyberagent.ArgumentError):
            Task(s.req, T0, max_messages=cyberagent.CA_TASK_NONBID_MAX)
        # one bid allowed: the second is refused, the award still fits
        small = Task(s.req, T0, max_bids=1)
        small.apply(bid, T0 + 1)
        with self.assertRaises(cyberagent.LimitError):
            small.apply(s.bid(s.other, 60)[0], T0 + 1)
        small.apply(award, T0 + 2)
        self.assertEqual(small.state, T.WORKING)


if __name__ == "__main__":
    unittest.main()
