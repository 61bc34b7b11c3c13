"""Task protocol through the binding: builders, parser, thread, evidence, serialization."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Envelope, Identity, Task, TaskMessage
from cyberagent import task as T

T0 = 1_700_000_000_000
TTL = 3_600_000


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
        self.assertEqual(th.award.id, award_id)
        self.assertIsNone(th.result)
        result, result_id = T.sign_result(s.worker, task=s.task_id, award=award_id, output=b"summary", **times(3))
        th.apply(result, T0 + 3)
        self.assertEqual(th.state, T.INPUT_REQUIRED)
        self.assertEqual(th.result.body.output.data, b"summary")
        receipt, _ = T.sign_receipt(s.hirer, task=s.task_id, award=award_id, result=result_id,
                                    worker=s.worker.public_key, accept=True, rating=90, paid=50, **times(4))
        th.apply(receipt, T0 + 4)
        self.assertEqual(th.state, T.COMPLETED)
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
        self.assertEqual(T.evidence_encode(b1, b2), ev)
        with T.Evidence.open(ev) as e:
            self.assertEqual(e.offender, s.worker.public_key)
            self.assertEqual(e.hash, summary.hash)
            self.assertEqual(len(e.offense), 32)
            self.assertNotEqual(e.offense, e.hash)
            self.assertEqual(e.kind, cyberagent.CA_KIND_TASK_BID)
            self.assertNotEqual(e.message(0), e.message(1))
        with self.assertRaises(cyberagent.BadEvidenceError):
            T.evidence_encode(b1, b1)
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
        self.assertFalse(s.thread.disputed(by_worker=True))
        self.assertEqual(s.thread.messages[-1].body.refs, (bid_id,))
        lim = T.limits()
        self.assertEqual(lim["inline"], cyberagent.CA_TASK_INLINE_MAX)
        self.assertEqual(lim["uri"], cyberagent.CA_TASK_URI_MAX)
        self.assertEqual(lim["text"], cyberagent.CA_TASK_TEXT_MAX)
        self.assertEqual(lim["refs"], cyberagent.CA_TASK_REFS_MAX)
        self.assertEqual(T.state_name(T.FAILED), "failed")
        self.assertEqual(T.task_options(max_messages=3).max_messages, 3)
        small = Task(s.req, T0, max_messages=1)
        with self.assertRaises(cyberagent.LimitError):
            small.apply(bid, T0 + 1)


if __name__ == "__main__":
    unittest.main()
