"""A ledger fed by an external log through the binding (ledger.h, LOG): positions,
refused entries that stay refused, the now rule, snapshots to and from bytes."""

import os
import tempfile
import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Identity, Ledger, LedgerOp, LogEntry
from cyberagent import ledger as L

STALE = cyberagent.CA_ERR_LEDGER_STALE_POSITION


class Log:
    """Alice is minted 1000; Bob's transfer comes before Alice funds him."""

    def __init__(self):
        self.auth, self.alice, self.bob = Identity.generate(), Identity.generate(), Identity.generate()
        led = Ledger(authority=self.auth.public_key)
        self.carol = Identity.generate().public_key
        self.led = led
        a, b = self.alice.public_key, self.bob.public_key
        bob_pays = L.op_sign(led.id, LedgerOp(L.OP_TRANSFER, signer=b, nonce=1, counterparty=self.carol,
                                              amount=60), self.bob)
        alice_funds = L.op_sign(led.id, LedgerOp(L.OP_TRANSFER, signer=a, nonce=1, counterparty=b,
                                                 amount=100), self.alice)
        self.entries = [
            LogEntry(1, 1000, op=LedgerOp(L.OP_MINT, signer=self.auth.public_key, nonce=1, counterparty=a,
                                          amount=1000)),
            LogEntry(2, 1001, msg=bob_pays),  # Bob has no account yet: refused
            LogEntry(3, 1002, msg=alice_funds),
            LogEntry(5, 1003, msg=b"\xc1" * 9),  # a gap, and bytes that never decode: refused
            LogEntry(6, 1004, msg=alice_funds),  # the same op again: refused, duplicate
        ]
        self.want = [0, cyberagent.CA_ERR_LEDGER_UNKNOWN_ACCOUNT, 0, cyberagent.CA_ERR_MALFORMED,
                     cyberagent.CA_ERR_LEDGER_DUPLICATE]


def opts(auth):
    return {"authority": auth.public_key}


class TestLedgerLog(unittest.TestCase):
    def make(self):
        return Log()

    def test_refused_stays_refused(self):
        log = self.make()
        led = log.led
        self.assertEqual(led.apply_log(log.entries), log.want)
        info = led.log_position()
        self.assertEqual((info.position, info.clock, info.failed, info.durable_position), (6, 1004, 3, 6))
        self.assertEqual(led.totals().seq, 2)  # refused entries take a position, not a seq
        h = led.state_hash()
        # Read again from the start: every entry skipped, Bob's transfer still refused.
        self.assertEqual(led.apply_log(log.entries), [STALE] * 5)
        self.assertEqual(led.apply_log(log.entries[1:3]), [STALE] * 2)
        self.assertEqual(led.state_hash(), h)
        self.assertEqual(led.log_position(), info)
        self.assertEqual(led.account(log.bob.public_key).balance, 100)
        # Without positions the refused transfer would now succeed.
        plain = Ledger(authority=log.auth.public_key)
        plain.apply(log.entries[0].op, 1000)
        plain.submit(log.entries[2].msg, 1002)
        plain.submit(log.entries[1].msg, 1003)
        self.assertEqual(plain.account(log.bob.public_key).balance, 40)
        led.check()

    def test_now_rule(self):
        auth, a, b = Identity.generate(), Identity.generate().public_key, Identity.generate().public_key
        led = Ledger(authority=auth.public_key)
        mint = LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=1, counterparty=a, amount=1000)
        mint_b = LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=2, counterparty=b, amount=1000)
        open_ = LedgerOp(L.OP_ESCROW_OPEN, signer=a, nonce=1, counterparty=b, ref=b"\xe5" * 32, amount=100,
                         deadline=1800)
        refund = LedgerOp(L.OP_ESCROW_REFUND, signer=a, nonce=2, ref=b"\xe5" * 32)
        res = led.apply_log([
            LogEntry(1, 1000, op=mint), LogEntry(2, 1000, op=mint_b), LogEntry(3, 1100, op=open_),
            LogEntry(4, 2000, msg=b""),  # refused at 2000: the clock moves all the same
            LogEntry(5, 1500, op=refund),  # stamped 1500 by a new leader: applied at 2000 > deadline
        ])
        self.assertEqual(res, [0, 0, 0, cyberagent.CA_ERR_MALFORMED, 0])
        self.assertEqual(led.log_position().clock, 2000)
        e = led.escrow(b"\xe5" * 32)
        self.assertEqual((e.state, e.missed), (L.ESCROW_REFUNDED, True))

    def test_malformed_entry_stops_the_call(self):
        log = self.make()
        entries = [log.entries[0], LogEntry(0, 5, msg=b"x"), log.entries[2]]
        with self.assertRaises(cyberagent.ArgumentError) as cm:
            log.led.apply_log(entries)
        self.assertEqual(cm.exception.done, 1)
        self.assertEqual(cm.exception.results,
                         [0, cyberagent.CA_ERR_INVALID_ARGUMENT, cyberagent.CA_ERR_INVALID_ARGUMENT])
        self.assertEqual(log.led.log_position().position, 1)
        with self.assertRaises(cyberagent.ArgumentError):  # an op and bytes in one entry
            log.led.apply_log([LogEntry(7, 5, msg=b"x", op=log.entries[0].op)])
        self.assertEqual(log.led.apply_log([]), [])

    def test_snapshot_bytes(self):
        log = self.make()
        log.led.apply_log(log.entries)
        snap = log.led.snapshot_export()
        self.assertEqual(len(Ledger(authority=log.auth.public_key).snapshot_export()), 196)
        copy = Ledger.from_snapshot(snap, authority=log.auth.public_key)
        self.assertEqual(copy.state_hash(), log.led.state_hash())
        self.assertEqual(copy.log_position(), log.led.log_position())
        self.assertEqual(copy.snapshot_export(), snap)
        self.assertEqual(copy.apply_log(log.entries), [STALE] * 5)
        with self.assertRaises(cyberagent.LedgerOptionsMismatchError):
            Ledger.from_snapshot(snap, authority=log.alice.public_key)
        bad = bytearray(snap)
        bad[100] ^= 1
        with self.assertRaises(cyberagent.LedgerCorruptError):
            Ledger.from_snapshot(bytes(bad), authority=log.auth.public_key)

    def test_durable_positions_and_restore(self):
        log = self.make()
        o = opts(log.auth)
        with tempfile.TemporaryDirectory() as d:
            p1, p2 = os.path.join(d, "a"), os.path.join(d, "b")
            led = Ledger.open(p1, **o)
            self.assertEqual((led.open_info.position, led.open_info.failed), (0, 0))
            self.assertEqual(led.apply_log(log.entries[:4]), log.want[:4])
            self.assertEqual(led.log_position().durable_position, 0)
            led.commit()
            self.assertEqual(led.log_position().durable_position, 5)
            led.close()
            led = Ledger.open(p1, **o)
            self.assertEqual((led.open_info.position, led.open_info.failed, led.open_info.replayed), (5, 2, 2))
            self.assertEqual(led.apply_log(log.entries), [STALE] * 4 + [cyberagent.CA_ERR_LEDGER_DUPLICATE])
            # The same state, position and snapshot bytes as a replica that ran straight through.
            self.assertEqual(log.led.apply_log(log.entries), log.want)
            self.assertEqual(led.state_hash(), log.led.state_hash())
            self.assertEqual(led.log_position().position, 6)
            snap = led.snapshot_export()
            self.assertEqual(snap, log.led.snapshot_export())
            with self.assertRaises(cyberagent.StateError):  # p1 is open: nothing installed
                Ledger.open_from_snapshot(p1, snap, **o)
            led.close()
            # Another directory with another history is replaced by the snapshot.
            other = Ledger.open(p2, **o)
            other.apply_log([LogEntry(100, 5, op=LedgerOp(L.OP_MINT, signer=log.auth.public_key, nonce=1,
                                                          counterparty=log.carol, amount=5))])
            other.commit()
            other.close()
            led = Ledger.open_from_snapshot(p2, snap, **o)
            self.assertEqual((led.open_info.position, led.open_info.failed, led.open_info.snapshot_seq), (6, 3, 2))
            self.assertEqual(led.state_hash(), log.led.state_hash())
            led.close()
            led = Ledger.open(p2, **o)
            self.assertEqual(led.open_info.position, 6)
            self.assertEqual(led.state_hash(), log.led.state_hash())
            led.close()


if __name__ == "__main__":
    unittest.main()
