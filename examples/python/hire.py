#!/usr/bin/env python3
"""The hiring story in Python: an agent finds workers through signed cards,
posts a signed task, ranks the bids, escrows payment against the worker's
stake, gets a signed result, pays, and rates; reputation steers the next hire.

Run from a checkout after building (cmake --preset dev && cmake --build --preset dev):
    python3 examples/python/hire.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))

import cyberagent as ca  # noqa: E402
from cyberagent import ledger as L  # noqa: E402
from cyberagent import task as T  # noqa: E402

EPOCH = 1_767_225_600_000  # 2026-01-01T00:00:00Z, in ms: every clock below is the caller's
CAP, TTL = "llm.summarize", 3_600_000
seed = lambda name: name.encode().ljust(32, b".")  # noqa: E731  (deterministic demo keys)
authority, alice = ca.Identity.from_seed(seed("authority")), ca.Identity.from_seed(seed("alice"))
workers = {n: ca.Identity.from_seed(seed(n)) for n in ("bob", "carol", "dave")}
names = {w.public_key: n for n, w in workers.items()}
quality = {"bob": 95, "carol": 10, "dave": 90}  # how good each worker's results turn out
prices = {"bob": 45, "carol": 20, "dave": 30}
now = EPOCH

ledger, nonce = ca.Ledger(authority=authority.public_key), {}


def ledger_op(kind, signer, cosigner=None, attach=None, **fields):
    """Signs a ledger op for this ledger (the worker cosigns an escrow) and submits it, with the
    message it claims when there is one (a delivery's RESULT): the ledger checks the signatures."""
    nonce[signer.public_key] = nonce.get(signer.public_key, 0) + 1
    op = L.LedgerOp(kind, signer=signer.public_key, nonce=nonce[signer.public_key], **fields)
    msg = L.op_sign(ledger.id, op, signer, cosigner)
    ledger.submit(msg, now) if attach is None else ledger.submit_evidence(msg, attach, now)


routing, reputation = ca.Routing(), ca.Reputation()
for who in [alice, *workers.values()]:
    ledger_op(L.OP_MINT, authority, counterparty=who.public_key, amount=1000)
for name, w in workers.items():
    ledger_op(L.OP_BOND, w, amount=300)  # stake that a cheater would lose
    card = ca.sign_card(w, name=name, endpoint="agents.%s.inbox" % name, capabilities=[(CAP, prices[name], 2000)],
                        not_before=EPOCH, not_after=EPOCH + 86_400_000, created_at=now, stake=300)
    routing.add_card(ca.Card.open(card, now), now)  # only verified cards enter the registry
    routing.set_stake(w.public_key, ledger.account(w.public_key).bonded)

for n in range(1, 7):
    now += 10_000
    req, _ = T.sign_request(alice, capability=CAP, input=b"report %d" % n, max_price=50, collateral=20,
                                  deadline=now + 60_000, created_at=now, expires_at=now + TTL)
    thread, request = ca.Task(req, now), ca.TaskMessage.open(req, now)  # bidders read the verified request
    bids = {}
    for c in routing.select(CAP, now, k=3, max_price=50):  # the registry's best candidates bid
        bid, bid_id = T.reply_bid(workers[names[c.agent]], request, price=c.price, completion=now + 30_000,
                                  created_at=now + 1, expires_at=now + TTL)  # a reply: task, parent, recipient
        thread.apply(bid, now + 1)
        bids[c.agent] = (bid_id, c.price)
    best = routing.rank_bids(CAP, now + 1, [(a, p) for a, (_, p) in bids.items()], k=1)[0]
    worker, (bid_id, price) = workers[names[best.agent]], bids[best.agent]
    award, award_id = T.reply_award(alice, thread.find(bid_id), deadline=now + 40_000, created_at=now + 2,
                                    expires_at=now + TTL)  # the bid's worker, price and collateral
    thread.apply(award, now + 2)
    ledger_op(L.OP_ESCROW_OPEN, alice, worker, counterparty=worker.public_key, ref=award_id, amount=price,
              amount2=20, deadline=now + 40_000)
    result, result_id = T.reply_result(worker, ca.TaskMessage.open(award, now + 3), output=b"summary %d" % n,
                                       created_at=now + 3, expires_at=now + TTL)
    thread.apply(result, now + 3)
    ledger_op(L.OP_ESCROW_DELIVER, worker, attach=result, ref=award_id, result=result_id)  # names its RESULT
    rating = quality[names[worker.public_key]]
    receipt, _ = T.reply_receipt(alice, thread.find(result_id), accept=True, rating=rating, paid=price,
                                 created_at=now + 4, expires_at=now + TTL)
    thread.apply(receipt, now + 4)
    ledger_op(L.OP_ESCROW_RELEASE, alice, ref=award_id)
    reputation.add_settled(thread, ledger)  # the receipt rates; the ledger says what was paid
    reputation.sync_stakes(ledger, now + 4)  # every rated agent's stake, as the ledger holds it
    reputation.update(now + 4)
    for w in workers.values():
        score = reputation.get(w.public_key)
        if score is not None:
            routing.set_reputation(w.public_key, int(score.expected * ca.ledger.PPM))
    audited = ca.Task.deserialize(thread.serialize())  # anyone can re-verify the whole thread
    assert audited.digest() == thread.digest()
    print("task %d: %-5s won at %2d cr (score %s), rated %d, thread %s"
          % (n, names[worker.public_key], price, best.explanation.split(" = ")[0][6:], rating, thread.state_name))

ledger.check()  # conservation and every invariant, from scratch
for name, w in workers.items():
    a, s = ledger.account(w.public_key), reputation.get(w.public_key)
    print("%-5s balance %4d bonded %3d reputation %.2f" % (name, a.balance, a.bonded, s.expected if s else 0.5))
print("alice balance %d; ledger state %s" % (ledger.account(alice.public_key).balance, ledger.state_hash().hex()[:16]))
