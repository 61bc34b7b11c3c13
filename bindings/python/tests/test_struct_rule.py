"""STRUCT RULE (common.h) through the binding: the layouts carry a version or take an
element size, the wrappers set them, and the library refuses what it does not know."""

import ctypes
import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Identity, Ledger, Reputation, Routing, _sigs
from cyberagent._lib import F

_C = _sigs.CONSTANTS
_byref = ctypes.byref

# Structs the caller versions; structs passed with an element size.
VERSIONED = [
    "ca_ledger_op", "ca_ledger_account_info", "ca_ledger_escrow_info", "ca_ledger_totals",
    "ca_ledger_delegation_info",
    "ca_reputation_stats", "ca_routing_weights", "ca_routing_agent_info", "ca_task_content",
    "ca_task_request", "ca_task_bid", "ca_task_award", "ca_task_result", "ca_task_receipt",
    "ca_task_cancel", "ca_task_dispute",
]


class StructRule(unittest.TestCase):
    def test_layouts_start_with_version(self):
        for name in VERSIONED:
            cls = getattr(_sigs, name)
            self.assertEqual(cls._fields_[0][0], "version", name)
            self.assertIn(name.upper() + "_VERSION", _C, name)

    def test_unknown_version_is_refused(self):
        auth = Identity.generate()
        led = Ledger(authority=auth.public_key)
        a = _sigs.ca_agent_id.from_buffer_copy(auth.public_key)
        for bad in (0, _C["CA_LEDGER_TOTALS_VERSION"] + 1):
            t = _sigs.ca_ledger_totals(version=bad)
            st = led._locked(lambda p: F.ca_ledger_totals_get(p, _byref(t)))
            self.assertEqual(st, _C["CA_ERR_UNSUPPORTED"])
            i = _sigs.ca_ledger_account_info(version=bad)
            st = led._locked(lambda p: F.ca_ledger_account(p, _byref(a), _byref(i)))
            self.assertEqual(st, _C["CA_ERR_UNSUPPORTED"])
            op = _sigs.ca_ledger_op(version=bad and _C["CA_LEDGER_OP_VERSION"] + 1,
                                    type=_C["CA_LEDGER_OP_MINT"])
            st = led._locked(lambda p: F.ca_ledger_apply(p, _byref(op), 1, None))
            self.assertEqual(st, _C["CA_ERR_UNSUPPORTED"])
            with self.assertRaises(cyberagent.UnsupportedError):
                cyberagent.errors.check(st)
        # The wrappers set this build's versions.
        self.assertEqual(led.totals().seq, 0)
        with self.assertRaises(cyberagent.LedgerUnknownAccountError):
            led.account(auth.public_key)

    def test_short_element_size_is_refused(self):
        rep = Reputation()
        a, b = Identity.generate(), Identity.generate()
        rep.add_rating(bytes(32), a.public_key, b.public_key, 90, 100, 1000)
        rep.update(2000)
        s = _sigs.ca_reputation_score()
        aid = _sigs.ca_agent_id.from_buffer_copy(b.public_key)
        size = ctypes.sizeof(s)
        for bad in (size - 1, size + 1):
            st = rep._locked(lambda p: F.ca_reputation_get(p, _byref(aid), _byref(s), bad))
            self.assertEqual(st, _C["CA_ERR_UNSUPPORTED"])
        self.assertEqual(rep.get(b.public_key).ratings_received, 1)
        rt = Routing()
        q = _sigs.ca_routing_query()
        self.assertEqual(F.ca_routing_query_init(_byref(q), _C["CA_ROUTING_QUERY_VERSION"]), 0)
        q.capability, q.capability_len = b"*", 1
        arr = (_sigs.ca_routing_result * 2)()
        n = ctypes.c_size_t()
        rsize = ctypes.sizeof(_sigs.ca_routing_result)
        st = rt._locked(lambda p: F.ca_routing_select(p, _byref(q), arr, rsize - 8, 2, _byref(n)))
        self.assertEqual(st, _C["CA_ERR_UNSUPPORTED"])
        self.assertEqual(rt.select("*", 0), [])

    def test_weights_by_pointer(self):
        w = cyberagent.routing.routing_weights(price=0)
        self.assertEqual(w.version, _C["CA_ROUTING_WEIGHTS_VERSION"])
        with self.assertRaises(TypeError):
            cyberagent.routing.routing_weights(version=2)
        bad = cyberagent.routing.routing_weights()
        bad.version = _C["CA_ROUTING_WEIGHTS_VERSION"] + 1
        with self.assertRaises(cyberagent.UnsupportedError):
            Routing(weights=bad)
        Routing(weights=w).close()


if __name__ == "__main__":
    unittest.main()
