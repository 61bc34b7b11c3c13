#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_roundtrip: tests/fuzz/corpus/roundtrip/.

One or more valid encodings per decoder, each prefixed with its selector byte
(tests/fuzz/fuzz_roundtrip.c lists them). Most are copied from the other
targets' corpora (the same encodings, valid for the same options); the rest
are made here with the Python binding (a signed card, task messages, an
unsigned ledger op, a key file at the cheapest Argon2id cost).

Usage (after `cmake --build --preset dev`, so the binding finds the library):
    python3 tests/fuzz/roundtrip_seeds.py
Regression inputs (canonicality bugs found by the target) are the files named
`regress-*` in that directory, written here too.
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

import cyberagent as ca  # noqa: E402
from cyberagent import card, envelope, ledger, task  # noqa: E402

CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
OUT = os.path.join(CORPUS, "roundtrip")

# Selectors (fuzz_roundtrip.c).
ENVELOPE, CARD_BODY, CARD, TASK_BODY = 0, 1, 2, 3
TASK_MSG, TASK_THREAD, EVIDENCE, LEDGER_OP, LEDGER_OP_RAW = 10, 11, 12, 13, 14
DID, KEYFILE, LEDGER_SNAPSHOT, REP_SNAPSHOT, LEDGER_JOURNAL = 15, 16, 17, 18, 19
DELEGATION, REVOCATION = 21, 22  # 20 is KEY_EVENT (seeds key-event-*, written by the key history work)
TASK_KINDS = ["request", "bid", "award", "result", "receipt", "cancel", "dispute"]

# Valid files of the other corpora (the invalid ones there test refusals).
COPIES = [
    (ENVELOPE, "envelope", "envelope", ["request-minimal", "result-recipient-parent", "award-sealed",
                            "app-compressed", "result-sealed-compressed", "extreme-kind-and-times"]),
    (CARD_BODY, "card-body", "card", ["full", "minimal"]),
    (TASK_THREAD, "task-thread", "task_thread", ["hire", "canceled", "disputed"]),
    (EVIDENCE, "evidence", "evidence", ["bids", "awards", "results"]),
    (LEDGER_OP, "ledger-op", "ledger_op", ["escrow_open", "slash", "transfer", "withdraw", "deliver"]),
    (DID, "did", "did", ["rfc8032-1", "spec-example", "zero-key", "ff-key"]),
    (LEDGER_SNAPSHOT, "ledger-snapshot", "ledger_snapshot", ["empty", "one_account", "full"]),
    (LEDGER_JOURNAL, "ledger-journal", "ledger_journal", ["header_only", "seven_ops",
                                                          "torn_tail"]),
    (REP_SNAPSHOT, "rep-snapshot", "reputation_snapshot", ["empty", "scored-small", "offenses", "pruned",
                                           "pruned-offenses", "unscored-one-rating"]),
    (DELEGATION, "delegation", "delegation", ["root", "redelegation", "max", "star-zero"]),
    (REVOCATION, "revocation", "delegation", ["revocation"]),
]

NOW = 1700000000000


def write(name, selector, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([selector]) + data)


def identity(tag):
    return ca.Identity.from_seed(bytes([tag]) * 32)


def main():
    os.makedirs(OUT, exist_ok=True)
    for selector, label, src, names in COPIES:
        for n in names:
            with open(os.path.join(CORPUS, src, n), "rb") as f:
                write("%s-%s" % (label, n.replace("_", "-")), selector, f.read())
    for i, kind in enumerate(TASK_KINDS):
        with open(os.path.join(CORPUS, "task_body", kind), "rb") as f:
            body = f.read()
        write("task-body-" + kind, TASK_BODY + i, body[1:])  # theirs: kind byte, then the body
    with open(os.path.join(CORPUS, "task_body", "result_failed"), "rb") as f:
        write("task-body-result-failed", TASK_BODY + 3, f.read()[1:])
    with open(os.path.join(CORPUS, "keyfile", "valid"), "rb") as f:
        write("keyfile-valid", KEYFILE, f.read()[1:])  # theirs: flags, then pass length, pass, file

    alice, bob = identity(1), identity(2)
    # A signed card with every field, and a minimal one.
    write("card-full", CARD, card.sign_card(
        alice, name="Translator 7", description="EN\u2192FR, fast", endpoint="nats://a.7",
        capabilities=[("llm.translate.en-fr", 120, 500), ("img.resize", 7)],
        not_before=NOW - 1000, not_after=NOW + 3600000, created_at=NOW, stake=5000, sequence=3))
    write("card-minimal", CARD, card.sign_card(
        bob, name="b", endpoint="e", capabilities=[("x", 0)], not_before=0, not_after=1,
        created_at=0))
    # Regressions (refused since ca_card_parse checks them; the round trip failed on both before):
    # a card whose envelope expires after its not_after, and a card with a compressed body.
    signed = card.sign_card(alice, name="r", description="x" * 1000, endpoint="e",
                            capabilities=[("x", 1)], not_before=NOW, not_after=NOW + 1000,
                            created_at=NOW)
    body = envelope.Envelope.decode(signed).body()
    write("regress-card-expiry-after-not-after", CARD, envelope.sign_envelope(
        alice, body, kind=1, created_at=NOW, expires_at=NOW + 2000))
    write("regress-card-compressed", CARD, envelope.sign_envelope(
        alice, body, kind=1, created_at=NOW, expires_at=NOW + 1000, compress=True))
    # Task messages: every message of the threads above, and a direct hire with a URI input.
    for name in ["hire", "disputed", "canceled"]:
        with open(os.path.join(CORPUS, "task_thread", name), "rb") as f:
            t = task.Task.deserialize(f.read())
        for i, m in enumerate(t.messages):
            write("task-msg-%s-%d" % (name, i), TASK_MSG, m.encoded)
    write("task-msg-direct-hire", TASK_MSG, task.sign_request(
        alice, capability="llm.summarize", max_price=90, deadline=NOW + 60000, created_at=NOW,
        expires_at=NOW + 30000, collateral=9, recipient=bob.public_key,
        input=task.Content(uri="https://example.org/in.txt", hash=b"\x22" * 32))[0])
    # The unsigned encoding of ops (journal records of ca_ledger_apply) has no public encoder
    # since 1.0 (ca_ledger_op_encode is internal, docs/ABI.md): the committed seeds
    # ledger-op-raw-transfer and ledger-op-raw-escrow-open stay as they are.
    write("ledger-journal-every-record-type", LEDGER_JOURNAL, journal(alice, bob))
    del alice, bob
    delegated_seeds()


def fuzz_agent(k):
    """fuzz_ledger_agent (tests/fuzz/fuzz_ledger_common.h)."""
    return bytes([k]) + bytes(30) + b"\xf0"


def journal(alice, bob):
    """A durable journal (options of fuzz_ledger_options) with every record type: trusted
    (MINT, BOND), signed (TRANSFER, ESCROW_OPEN) and attachment records (an equivocation
    SLASH with its evidence, an ESCROW_DELIVER with its RESULT)."""
    with open(os.path.join(CORPUS, "evidence", "results"), "rb") as f:
        ev = f.read()
    e = task.Evidence.open(ev)
    opts = dict(unbonding_delay=10, max_accounts=4096, max_escrows=4096)
    with tempfile.TemporaryDirectory() as d:
        lg = ledger.Ledger.open(d, fuzz_agent(0), fuzz_agent(1), **opts)
        auth = fuzz_agent(0)
        lg.apply(ledger.LedgerOp(ledger.OP_MINT, signer=auth, nonce=1, counterparty=alice.public_key,
                                 amount=10000), NOW)
        lg.apply(ledger.LedgerOp(ledger.OP_MINT, signer=auth, nonce=2, counterparty=e.offender,
                                 amount=5000), NOW)
        lg.apply(ledger.LedgerOp(ledger.OP_BOND, signer=e.offender, nonce=1, amount=4000), NOW)
        lg.submit(ledger.op_sign(lg.id, ledger.LedgerOp(
            ledger.OP_TRANSFER, signer=alice.public_key, nonce=1, counterparty=bob.public_key,
            amount=250), alice), NOW)
        lg.submit_evidence(ledger.op_sign(lg.id, ledger.LedgerOp(
            ledger.OP_SLASH, signer=alice.public_key, nonce=2, counterparty=e.offender,
            ref=e.offense, evidence=ledger.EVIDENCE_EQUIVOCATION, deadline=e.deadline), alice), ev,
            NOW)
        # An escrow delivered with its RESULT attached (an attachment record of another op).
        t0, ttl = NOW, 3600000
        _, task_id = task.sign_request(alice, capability="a.b", max_price=10, deadline=t0 + 60000,
                                       created_at=t0, expires_at=t0 + ttl)
        _, bid_id = task.sign_bid(bob, task=task_id, price=5, completion=t0 + 10000, collateral=0,
                                  created_at=t0 + 1, expires_at=t0 + ttl)
        _, award_id = task.sign_award(alice, task=task_id, bid=bid_id, worker=bob.public_key,
                                      price=5, collateral=0, deadline=t0 + 20000,
                                      created_at=t0 + 2, expires_at=t0 + ttl)
        lg.submit(ledger.op_sign(lg.id, ledger.LedgerOp(
            ledger.OP_ESCROW_OPEN, signer=alice.public_key, nonce=3, counterparty=bob.public_key,
            ref=award_id, amount=5, deadline=t0 + 20000), alice, bob), t0 + 3)
        result, _ = task.sign_result(bob, task=task_id, award=award_id, output=b"done",
                                     created_at=t0 + 4, expires_at=t0 + ttl)
        op = ledger.op_escrow_deliver(task.TaskMessage.parse(result, t0 + 5))
        op.nonce = 1
        lg.submit_evidence(ledger.op_sign(lg.id, op, bob), result, t0 + 5)
        lg.commit()
        del lg
        with open(os.path.join(d, "journal"), "rb") as f:
            return f.read()


def delegated_seeds():
    """A delegated hire (task.h, DELEGATED SIDES): a sub-agent posts for its
    delegator through a two-link chain, a delegate bids for its own. Its
    bodies go to the task_body corpus too, its thread to task_thread."""
    from cyberagent import Delegation, delegation

    p, d, e, w, b = (identity(t) for t in (11, 12, 13, 14, 15))

    def grant(issuer, audience, caps, parent=None):
        data, did = delegation.sign_delegation_with_id(
            issuer, audience=audience.public_key, capabilities=caps, total_cap=1000, task_cap=100,
            not_before=NOW - 3600000, expires_at=NOW + 86400000, parent=parent, created_at=NOW - 3600000)
        return Delegation.decode(data), did

    l0, id0 = grant(p, d, ["llm.*"])
    l1, _ = grant(d, e, ["llm.translate.*"], id0)
    lb, _ = grant(w, b, ["llm.*"])
    rq, tid = task.sign_request(e, capability="llm.translate.en-fr", max_price=100, deadline=NOW + 60000,
                                created_at=NOW, expires_at=NOW + 30000, collateral=10, delegation=[l0, l1])
    bd, _ = task.sign_bid(b, task=tid, price=80, completion=NOW + 5000, collateral=10, created_at=NOW + 100,
                          expires_at=NOW + 30000, delegation=[lb])
    t = task.Task(rq, NOW)
    t.apply(bd, NOW + 100)
    aw, _ = task.reply_award(e, t.last(ca.CA_KIND_TASK_BID), created_at=NOW + 300, expires_at=NOW + 30000)
    t.apply(aw, NOW + 300)
    thread = t.serialize()
    write("task-thread-delegated", TASK_THREAD, thread)
    with open(os.path.join(CORPUS, "task_thread", "delegated"), "wb") as f:
        f.write(thread)
    for i, (name, data) in enumerate([("request", rq), ("bid", bd)]):
        write("task-msg-delegated-" + name, TASK_MSG, data)
        body = envelope.Envelope.decode(data).body()
        write("task-body-%s-delegated" % name, TASK_BODY + i, body)
        with open(os.path.join(CORPUS, "task_body", name + "_delegated"), "wb") as f:
            f.write(bytes([i]) + body)


if __name__ == "__main__":
    main()
