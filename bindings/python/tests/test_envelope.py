"""Envelopes: docs/WIRE.md vectors byte for byte, sign/decode/verify, errors, replay guard."""

import threading
import unittest

import helpers
from helpers import hex_or_none, read_envelope_vectors

import cyberagent
from cyberagent import Envelope, Identity, ReplayGuard

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - depends on the machine
    Ed25519PublicKey = None  # type: ignore[assignment,misc]

T0 = 1_700_000_000_000


def make(signer=None, body=b"x" * 256, **kw):
    signer = signer or Identity.generate()
    args = dict(kind=cyberagent.CA_KIND_TASK_REQUEST, created_at=T0, expires_at=T0 + 60_000)
    args.update(kw)
    return cyberagent.sign_envelope(signer, body, **args)


class TestVectors(unittest.TestCase):
    def setUp(self):
        self.vectors = read_envelope_vectors()
        self.assertGreaterEqual(len(self.vectors), 5)

    def test_every_vector(self):
        for v in self.vectors:
            with self.subTest(v["name"]):
                env = bytes.fromhex(v["envelope"])
                body = hex_or_none(v["body"]) or b""
                signer = Identity.from_seed(bytes.fromhex(v["seed"]))
                self.assertEqual(signer.public_key.hex(), v["sender"])
                self.assertEqual(signer.did, v["sender_did"])
                sign_flags = int(v["sign_flags"])
                if v["mode"] == "sign":
                    data, mid = cyberagent.sign_envelope_with_id(
                        signer,
                        body,
                        kind=int(v["kind"]),
                        created_at=int(v["created_at"]),
                        expires_at=int(v["expires_at"]),
                        recipient=hex_or_none(v["recipient"]),
                        parent=hex_or_none(v["parent"]),
                        compress=bool(sign_flags & cyberagent.CA_ENVELOPE_COMPRESS),
                        seal=bool(sign_flags & cyberagent.CA_ENVELOPE_SEAL),
                    )
                    self.assertEqual(data.hex(), v["envelope"])
                    self.assertEqual(mid.hex(), v["id"])
                # With the default options: the lifetime cap (vector field verify_default).
                if v["verify_default"] == "CA_OK":
                    Envelope.open(env, int(v["created_at"])).close()
                else:
                    with self.assertRaises(cyberagent.Error) as cm:
                        Envelope.open(env, int(v["created_at"]))
                    self.assertEqual(cm.exception.status_name, v["verify_default"])
                with Envelope.open(env, int(v["created_at"]), max_lifetime_ms=2**64 - 1) as e:
                    self.assertEqual(e.kind, int(v["kind"]))
                    self.assertEqual(e.sender.hex(), v["sender"])
                    self.assertEqual(e.sender_did, v["sender_did"])
                    self.assertEqual(e.recipient, hex_or_none(v["recipient"]))
                    self.assertEqual(e.parent, hex_or_none(v["parent"]))
                    self.assertEqual(e.created_at, int(v["created_at"]))
                    self.assertEqual(e.expires_at, int(v["expires_at"]))
                    self.assertEqual(e.flags, int(v["flags"]))
                    self.assertEqual(e.id.hex(), v["id"])
                    self.assertEqual(e.signature, env[-64:])
                    self.assertEqual(e.encoded, env)
                    self.assertEqual(bytes(e), env)
                    reader = None
                    if v["reader_seed"] != "-":
                        reader = Identity.from_seed(bytes.fromhex(v["reader_seed"]))
                    if v["body_status"] == "CA_OK":
                        self.assertEqual(e.body(reader), body)
                    else:
                        with self.assertRaises(cyberagent.Error) as cm:
                            e.body(reader)
                        self.assertEqual(cm.exception.status_name, v["body_status"])
                    # the signature covers the domain tag + the signed bytes (checked with
                    # an independent Ed25519 when one is installed) ...
                    signed = bytes.fromhex(v["signed"])
                    if Ed25519PublicKey is not None:
                        Ed25519PublicKey.from_public_bytes(e.sender).verify(e.signature, signed)
                    # ... and is never an application signature, under any tag
                    for tag in ("example.com/chat/v1", signed[:10], "c"):
                        self.assertFalse(cyberagent.verify_detached(e.sender, tag, signed, e.signature))


class TestEnvelope(unittest.TestCase):
    def test_roundtrip_fields(self):
        alice, bob = Identity.generate(), Identity.generate()
        parent = bytes(range(32))
        data, mid = cyberagent.sign_envelope_with_id(
            alice, b"hello", kind=cyberagent.CA_KIND_TASK_BID, created_at=T0, expires_at=T0 + 5000,
            recipient=bob.did, parent=parent,
        )
        self.assertLessEqual(len(data), cyberagent.envelope_bound(5))
        e = Envelope.open(data, T0 + 1000)
        self.assertEqual(e.kind, cyberagent.CA_KIND_TASK_BID)
        self.assertEqual(e.kind_name, cyberagent.kind_name(cyberagent.CA_KIND_TASK_BID))
        self.assertEqual(e.sender, alice.public_key)
        self.assertEqual(e.recipient, bob.public_key)
        self.assertEqual(e.parent, parent)
        self.assertEqual(e.id, mid)
        self.assertFalse(e.compressed)
        self.assertFalse(e.sealed)
        self.assertEqual(e.body(), b"hello")
        self.assertIn("kind=17", repr(e))
        self.assertIn(alice.did, repr(e))
        # recipient may be an Identity or raw key bytes too
        d2 = make(alice, recipient=bob)
        d3 = make(alice, recipient=bob.public_key)
        self.assertEqual(d2, d3)

    def test_kind_names(self):
        self.assertIsNotNone(cyberagent.kind_name(cyberagent.CA_KIND_TASK_REQUEST))
        self.assertIsNone(cyberagent.kind_name(cyberagent.CA_KIND_APP_MIN + 5))
        e = Envelope.decode(make(kind=cyberagent.CA_KIND_APP_MIN + 5))
        self.assertIsNone(e.kind_name)

    def test_decode_then_verify(self):
        data = make()
        e = Envelope.decode(data)
        e.verify(T0)
        self.assertTrue(e.is_valid(T0))
        with self.assertRaises(cyberagent.ExpiredError):
            e.verify(T0 + 60_000 + 30_001)
        e.verify(T0 + 60_000 + 30_000)
        with self.assertRaises(cyberagent.ExpiredError):
            e.verify(T0 + 60_001, max_skew_ms=0)
        with self.assertRaises(cyberagent.NotYetValidError):
            e.verify(T0 - 30_001)
        self.assertFalse(e.is_valid(T0 - 30_001))

    def test_tampered_envelope_raises(self):
        data = bytearray(make(body=b"pay 10"))
        i = bytes(data).index(b"pay 10")
        data[i + 4] = ord("9")
        e = Envelope.decode(bytes(data))  # still well-formed
        with self.assertRaises(cyberagent.SignatureError) as cm:
            e.verify(T0)
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_BAD_SIGNATURE)
        with self.assertRaises(cyberagent.SignatureError):
            Envelope.open(bytes(data), T0)

    def test_malformed_inputs_raise(self):
        data = make()
        for bad in (b"", b"\x00", data[:-1], data + b"\x00", b"\xff" * 100):
            with self.assertRaises(cyberagent.EnvelopeError):
                Envelope.open(bad, T0)
        with self.assertRaises(cyberagent.MalformedError):
            Envelope.decode(data + b"\x00")
        with self.assertRaises(cyberagent.LimitError):
            Envelope.decode(data, max_envelope_bytes=10)

    def test_compression_and_bomb_cap(self):
        me = Identity.generate()
        body = b"A" * 100_000
        data = make(me, body=body, compress=True)
        self.assertLess(len(data), 2000)
        e = Envelope.open(data, T0)
        self.assertTrue(e.compressed)
        self.assertEqual(e.body(), body)
        with self.assertRaises(cyberagent.Error) as cm:
            e.body(max_body_bytes=1000)
        self.assertIn(cm.exception.status, (cyberagent.CA_ERR_DECOMPRESS, cyberagent.CA_ERR_LIMIT))

    def test_sealed(self):
        alice, bob, eve = Identity.generate(), Identity.generate(), Identity.generate()
        data = make(alice, body=b"secret", recipient=bob, seal=True)
        self.assertNotIn(b"secret", data)
        e = Envelope.open(data, T0)  # anyone can verify
        self.assertTrue(e.sealed)
        self.assertEqual(e.body(bob), b"secret")
        with self.assertRaises(cyberagent.SealedError):
            e.body(eve)
        with self.assertRaises(cyberagent.Error):
            e.body()
        with self.assertRaises(cyberagent.ArgumentError):
            make(alice, seal=True)  # no recipient

    def test_sealed_box_bound_to_sender(self):
        """Vector award-sealed-resigned: Alice's sealed box re-signed by Mallory
        verifies as Mallory's, but Bob cannot open it (as he opens Alice's)."""
        vs = {v["name"]: v for v in read_envelope_vectors()}
        alice_v, mallory_v = vs["award-sealed"], vs["award-sealed-resigned"]
        bob = Identity.from_seed(bytes.fromhex(alice_v["reader_seed"]))
        now = int(alice_v["created_at"])
        alice_env = Envelope.open(bytes.fromhex(alice_v["envelope"]), now)
        mallory_env = Envelope.open(bytes.fromhex(mallory_v["envelope"]), now)
        self.assertNotEqual(mallory_env.sender, alice_env.sender)
        self.assertEqual(alice_env.body(bob), bytes.fromhex(alice_v["body"]))
        with self.assertRaises(cyberagent.SealMismatchError) as cm:
            mallory_env.body(bob)
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_SEAL_MISMATCH)
        self.assertIsInstance(cm.exception, cyberagent.SealedError)
        with self.assertRaises(cyberagent.SealedError) as cm:
            mallory_env.body(Identity.generate())  # not the recipient: no crypto at all
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_SEALED)

    def test_sign_argument_errors(self):
        me = Identity.generate()
        with self.assertRaises(cyberagent.Error):
            make(me, kind=0)
        with self.assertRaises(cyberagent.Error):
            make(me, created_at=T0, expires_at=T0)
        with self.assertRaises(ValueError):
            make(me, parent=b"short")
        with self.assertRaises(cyberagent.DidError):
            make(me, recipient="did:key:nope")

    def test_options(self):
        self.assertIsNone(cyberagent.envelope_options())
        o = cyberagent.envelope_options(max_skew_ms=5)
        self.assertEqual(o.max_skew_ms, 5)
        self.assertEqual(o.max_body_bytes, 1 << 20)
        self.assertEqual(o.max_envelope_bytes, (1 << 20) + 4096)
        self.assertEqual(o.max_lifetime_ms, 86_400_000)
        self.assertEqual(cyberagent.envelope.MAX_LIFETIME_MS_DEFAULT, 86_400_000)

    def test_max_lifetime(self):
        me = Identity.generate()
        day = cyberagent.CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT
        forever = make(me, expires_at=2**64 - 1)
        with self.assertRaises(cyberagent.LifetimeError) as cm:
            Envelope.open(forever, T0)
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_LIFETIME)
        Envelope.open(forever, T0, max_lifetime_ms=2**64 - 1).close()
        e = Envelope.decode(make(me, expires_at=T0 + day + 1))  # decoding does not judge it
        self.assertFalse(e.is_valid(T0))
        self.assertTrue(e.is_valid(T0, max_lifetime_ms=day + 1))
        Envelope.open(make(me, expires_at=T0 + day), T0).close()

    def test_handle_lifetime(self):
        e = Envelope.decode(make())
        e.close()
        e.close()
        with self.assertRaises(ValueError):
            e.kind  # noqa: B018
        self.assertIn("closed", repr(e))
        for _ in range(2000):
            Envelope.decode(DATA)

    def test_shared_across_threads(self):
        e = Envelope.open(DATA, T0)
        ok = []

        def work():
            ok.append(all(e.is_valid(T0) and e.body() == b"x" * 256 for _ in range(100)))

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(ok, [True] * 4)


DATA = make()


class TestReplayGuard(unittest.TestCase):
    def test_replay_and_full(self):
        me, other = Identity.generate(), Identity.generate()
        g = ReplayGuard(2, max_skew_ms=0, max_per_sender=2)
        a = Envelope.open(make(me, body=b"a"), T0)
        b = Envelope.open(make(me, body=b"b"), T0)
        c = Envelope.open(make(other, body=b"c"), T0)
        g.check(a, T0)
        self.assertEqual(len(g), 1)
        with self.assertRaises(cyberagent.ReplayError) as cm:
            g.check(a, T0)
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_REPLAY)
        g.check(b, T0)
        with self.assertRaises(cyberagent.ReplayFullError):
            g.check(c, T0)
        # once a and b expire, their slots are reused
        with self.assertRaises(cyberagent.ExpiredError):
            g.check(c, T0 + 60_001)  # too old to be remembered
        d = Envelope.open(make(me, body=b"d", created_at=T0 + 60_000, expires_at=T0 + 120_000), T0 + 60_000)
        g.check(d, T0 + 60_001)
        self.assertEqual(len(g), 1)
        self.assertIn("1 ids", repr(g))
        g.close()
        self.assertIn("closed", repr(g))

    def test_one_sender_cannot_fill(self):
        mallory, alice = Identity.generate(), Identity.generate()
        g = ReplayGuard(64)
        day = cyberagent.CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT
        kept = 0
        for i in range(40):
            try:
                g.check(Envelope.open(make(mallory, body=b"%d" % i, expires_at=T0 + day), T0), T0)
                kept += 1
            except cyberagent.ReplayQuotaError as e:
                self.assertEqual(e.status, cyberagent.CA_ERR_REPLAY_QUOTA)
        self.assertEqual(kept, 64 // 16)
        g.check(Envelope.open(make(alice), T0), T0)
        with self.assertRaises(cyberagent.LifetimeError):
            g.check(Envelope.decode(make(alice, expires_at=2**64 - 1)), T0)
        self.assertEqual(len(g), 5)

    def test_bad_options(self):
        with self.assertRaises(cyberagent.Error):
            ReplayGuard(0)
        with self.assertRaises(cyberagent.ArgumentError):
            ReplayGuard(10, max_per_sender=11)
        with self.assertRaises(cyberagent.ArgumentError):
            ReplayGuard(10, max_lifetime_ms=0)


if __name__ == "__main__":
    unittest.main()
