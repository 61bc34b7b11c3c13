"""Spending through a delegation in the ledger, through the binding: a
delegate's transfer draws on the delegator's balance within the caps, the
records, a REVOKE from its position on (docs/LEDGER.md, "Delegation")."""

import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Identity, Ledger, LedgerOp
from cyberagent import delegation as D
from cyberagent import ledger as L

T0 = 1_000_000


class TestLedgerDelegation(unittest.TestCase):
    def test_delegated_spend_caps_and_revoke(self):
        auth, boss, helper, shop = (Identity.generate() for _ in range(4))
        led = Ledger(authority=auth.public_key)
        led.submit(L.op_sign(led.id, LedgerOp(L.OP_MINT, signer=auth.public_key, nonce=1,
                                               counterparty=boss.public_key, amount=1000), auth), T0)
        root, root_id = D.sign_delegation_with_id(
            boss, audience=helper.public_key, capabilities=[L.CAPABILITY_TRANSFER],
            total_cap=100, task_cap=60, not_before=T0 - 1, expires_at=T0 + 10_000,
            created_at=T0 - 1)

        def spend(amount, nonce, now=T0):
            op = LedgerOp(L.OP_TRANSFER, signer=boss.public_key, nonce=nonce,
                          counterparty=shop.public_key, amount=amount)
            return led.submit(L.op_sign_delegated(led.id, op, helper, [root]), now)

        spend(60, 1)
        self.assertEqual(led.account(boss.public_key).balance, 940)
        self.assertEqual(led.account(boss.public_key).nonce, 0)  # the delegator's own is untouched
        rec = led.delegation(root_id)
        self.assertEqual((rec.spent, rec.total_cap, rec.nonce), (60, 100, 1))
        with self.assertRaises(cyberagent.Error) as cm:
            spend(41, 2)  # 60 + 41 > 100: all or nothing
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_LEDGER_CAP_EXCEEDED)
        msg = L.op_sign_delegated(led.id, LedgerOp(L.OP_TRANSFER, signer=boss.public_key, nonce=2,
                                                   counterparty=shop.public_key, amount=1),
                                  helper, [root])
        self.assertEqual(L.op_decode(msg).delegation, root_id)
        self.assertTrue(L.op_verify(led.id, msg))
        self.assertGreater(L.delegated_op_max_bytes(), L.op_max_bytes())
        # The delegator revokes; the delegate is cut off from the REVOKE's position on.
        self.assertIsNone(led.revocation(root_id, boss.public_key))
        led.submit(L.op_sign(led.id, LedgerOp(L.OP_REVOKE, signer=boss.public_key, nonce=1,
                                               ref=root_id), boss), T0 + 1)
        self.assertEqual(led.revocation(root_id, boss.public_key),
                         T0 + 1 + cyberagent.CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT)
        with self.assertRaises(cyberagent.Error) as cm:
            led.submit(msg, T0 + 2)
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_DELEGATION_REVOKED)
        with self.assertRaises(cyberagent.Error) as cm:
            led.delegation(bytes(32))
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_LEDGER_UNKNOWN_DELEGATION)
        led.check()


if __name__ == "__main__":
    unittest.main()
