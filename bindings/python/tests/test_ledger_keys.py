"""Key rotation in the ledger: KEY_EVENT binds an account to its key history, and after a
rotation only the current key signs for it (docs/LEDGER.md "Key rotation")."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Identity, KeyHistory, Ledger, LedgerOp, LogEntry, keyhistory
from cyberagent import ledger as L

T0 = 1_700_000_000_000


def key(n):
    return Identity.from_seed(bytes([0x4C, n]) + bytes(30))


class TestLedgerKeys(unittest.TestCase):
    def test_recovery_drill(self):
        auth, k0, k1, k2, dest = key(1), key(2), key(3), key(4), key(5)
        led = Ledger(authority=auth.public_key, unbonding_delay=1000)
        lid, A = led.id, k0.public_key
        led.apply(LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=1, counterparty=A, amount=1000), T0)

        def op(typ, nonce, k, **kw):
            return L.op_sign_with_key(lid, LedgerOp(typ, signer=A, nonce=nonce, **kw), k)

        led.submit(op(L.OP_BOND, 1, k0, amount=300), T0)
        inc = keyhistory.incept(k0, keyhistory.commitment(k1.public_key), T0)
        info = keyhistory.open_event(inc)
        with self.assertRaises(cyberagent.NotFoundError):
            led.key_state(A)
        led.submit_evidence(op(L.OP_KEY_EVENT, 2, k0, ref=info.digest, amount=0), inc, T0)
        self.assertEqual((led.key_state(A).sequence, led.key_state(A).key), (0, A))
        # the thief (k0) cannot rotate: the key it reveals is not the committed one
        hist = KeyHistory(inc)
        with self.assertRaises(cyberagent.KeyNotCommittedError):
            hist.rotate(k0, keyhistory.commitment(dest.public_key), T0 + 1)
        rot = hist.rotate(k1, keyhistory.commitment(k2.public_key), T0 + 5)
        ri = keyhistory.open_event(rot)
        pay = dict(counterparty=dest.public_key, amount=10)
        res = led.apply_log([
            LogEntry(1, T0 + 10, msg=op(L.OP_TRANSFER, 3, k0, **pay)),  # before: applied
            LogEntry(2, T0 + 10, msg=op(L.OP_KEY_EVENT, 4, k1, ref=ri.digest, amount=1), attachment=rot),
            LogEntry(3, T0 + 10, msg=op(L.OP_TRANSFER, 5, k0, **pay)),  # the thief after: refused
            LogEntry(4, T0 + 10, msg=op(L.OP_UNBOND, 5, k0, amount=300)),
            LogEntry(5, T0 + 10, msg=op(L.OP_TRANSFER, 5, k1, **pay)),  # the owner: applied
        ])
        rotated = cyberagent.CONSTANTS["CA_ERR_KEY_ROTATED"]
        self.assertEqual(res, [0, 0, rotated, rotated, 0])
        ks = led.key_state(A)
        self.assertEqual((ks.sequence, ks.key, ks.identifier, ks.position), (1, k1.public_key, info.digest, 2))
        # which account a key speaks for: k1 for A, A's id (k0) for nothing
        self.assertEqual(led.account_of_key(k1.public_key), A)
        self.assertEqual(led.account_of_key(dest.public_key), dest.public_key)
        with self.assertRaises(cyberagent.KeyRotatedError):
            led.account_of_key(A)
        with self.assertRaises(cyberagent.LedgerUnknownAccountError):
            led.account_of_key(k2.public_key)
        a = led.account(A)
        self.assertEqual((a.balance, a.bonded), (1000 - 300 - 20, 300))
        back = Ledger.from_snapshot(led.snapshot_export(), authority=auth.public_key, unbonding_delay=1000)
        self.assertEqual(back.state_hash(), led.state_hash())
        self.assertEqual(back.key_state(A), ks)
        with self.assertRaises(cyberagent.KeyRotatedError):
            back.submit(op(L.OP_TRANSFER, 6, k0, **pay), T0 + 20)
        back.submit(op(L.OP_TRANSFER, 6, k1, **pay), T0 + 20)


if __name__ == "__main__":
    unittest.main()
