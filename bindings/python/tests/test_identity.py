"""Identity: keys, signatures, did:key, key files, X25519, handle lifetime."""

import gc
import os
import tempfile
import threading
import unittest

import helpers
from helpers import FAST_KDF, RFC8032_PUBLIC, RFC8032_SEED, RFC8032_SIG_EMPTY

import cyberagent
from cyberagent import Identity

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    HAVE_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_CRYPTOGRAPHY = False


class TestIdentity(unittest.TestCase):
    def test_rfc8032_test1(self):
        with Identity.from_seed(RFC8032_SEED) as me:
            self.assertEqual(me.public_key, RFC8032_PUBLIC)
            self.assertEqual(me.agent_id, RFC8032_PUBLIC)
            self.assertEqual(me.sign(b""), RFC8032_SIG_EMPTY)
            self.assertEqual(me.export_seed(), RFC8032_SEED)

    def test_generate_is_random(self):
        a, b = Identity.generate(), Identity.generate()
        self.assertNotEqual(a.public_key, b.public_key)
        self.assertEqual(len(a.public_key), 32)

    def test_sign_verify(self):
        me = Identity.generate()
        sig = me.sign(b"hello")
        self.assertEqual(len(sig), 64)
        self.assertTrue(cyberagent.verify_detached(me.public_key, b"hello", sig))
        self.assertTrue(me.verify(b"hello", sig))
        self.assertFalse(cyberagent.verify_detached(me.public_key, b"hellO", sig))
        bad = bytearray(sig)
        bad[0] ^= 1
        self.assertFalse(cyberagent.verify_detached(me.public_key, b"hello", bytes(bad)))
        other = Identity.generate()
        self.assertFalse(cyberagent.verify_detached(other.public_key, b"hello", sig))
        # bytearray and memoryview are accepted as input
        self.assertTrue(cyberagent.verify_detached(bytearray(me.public_key), memoryview(b"hello"), sig))

    def test_verify_argument_errors(self):
        me = Identity.generate()
        sig = me.sign(b"x")
        with self.assertRaises(ValueError):
            cyberagent.verify_detached(me.public_key[:31], b"x", sig)
        with self.assertRaises(ValueError):
            cyberagent.verify_detached(me.public_key, b"x", sig[:63])
        with self.assertRaises(TypeError):
            cyberagent.verify_detached(me.public_key, "x", sig)  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            Identity.from_seed(b"short")

    def test_did(self):
        me = Identity.from_seed(RFC8032_SEED)
        did = me.did
        self.assertTrue(did.startswith("did:key:z6Mk"))
        self.assertLessEqual(len(did), cyberagent.CA_DID_MAX_CHARS)
        self.assertEqual(cyberagent.did_encode(me.public_key), did)
        self.assertEqual(cyberagent.did_parse(did), me.public_key)
        self.assertEqual(cyberagent.did_parse(did.encode()), me.public_key)

    def test_bad_did(self):
        me = Identity.generate()
        good = me.did
        for bad in [
            "",
            "did:web:example.com",
            good.replace("did:key:", "did:kex:"),
            good[:-1],
            good + "1",
            good[:12] + "0" + good[13:],  # '0' is not base58
            "did:key:z" + "1" * 47,
        ]:
            with self.assertRaises(cyberagent.DidError, msg=bad) as cm:
                cyberagent.did_parse(bad)
            self.assertEqual(cm.exception.status, cyberagent.CA_ERR_BAD_DID)

    def test_x25519(self):
        me = Identity.generate()
        x = me.x25519_public_key
        self.assertEqual(len(x), cyberagent.CA_X25519_PUBLIC_BYTES)
        self.assertEqual(cyberagent.x25519_public_key(me.public_key), x)
        with self.assertRaises(cyberagent.BadKeyError):
            # y = 2 has no x on the curve: not a point
            cyberagent.x25519_public_key(b"\x02" + bytes(31))

    def test_encrypted_roundtrip_and_errors(self):
        me = Identity.generate()
        blob = me.to_encrypted("correct horse", **FAST_KDF)
        self.assertEqual(len(blob), cyberagent.CA_KEYFILE_BYTES)
        again = Identity.from_encrypted(blob, "correct horse")
        self.assertEqual(again.public_key, me.public_key)
        again2 = Identity.from_encrypted(blob, b"correct horse")
        self.assertEqual(again2.public_key, me.public_key)
        with self.assertRaises(cyberagent.WrongPassphrase) as cm:
            Identity.from_encrypted(blob, "wrong")
        self.assertEqual(cm.exception.status, cyberagent.CA_ERR_WRONG_PASSPHRASE)
        self.assertIsInstance(cm.exception, cyberagent.KeyFileError)
        damaged = bytearray(blob)
        damaged[3] ^= 0xFF
        with self.assertRaises(cyberagent.KeyFileError):
            Identity.from_encrypted(bytes(damaged), "correct horse")
        with self.assertRaises(cyberagent.KeyFileCorrupt):
            Identity.from_encrypted(blob[:-1], "correct horse")
        with self.assertRaises(cyberagent.KeyFileTooCostly):
            strong = me.to_encrypted("pw", opslimit=3, memlimit=8192)
            Identity.from_encrypted(strong, "pw", max_opslimit=2)

    def test_save_load(self):
        me = Identity.generate()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "agent.key")
            me.save(path, "pw", **FAST_KDF)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            with Identity.load(path, "pw") as back:
                self.assertEqual(back.public_key, me.public_key)
            with self.assertRaises(cyberagent.WrongPassphrase):
                Identity.load(path, "not it")
            with self.assertRaises(cyberagent.NotFoundError):
                Identity.load(os.path.join(d, "missing.key"), "pw")
            from pathlib import Path

            me.save(Path(d) / "p.key", "pw", **FAST_KDF)
            self.assertEqual(Identity.load(Path(d) / "p.key", "pw").did, me.did)

    def test_repr_never_shows_secret(self):
        me = Identity.from_seed(RFC8032_SEED)
        r = repr(me)
        self.assertIn(me.did, r)
        self.assertNotIn(RFC8032_SEED.hex(), r)
        self.assertNotIn(RFC8032_SEED.hex(), str(me))
        me.close()
        self.assertIn("closed", repr(me))

    def test_close_is_idempotent_and_use_after_close_raises(self):
        me = Identity.generate()
        me.close()
        me.close()
        self.assertTrue(me.closed)
        with self.assertRaises(ValueError):
            me.sign(b"x")
        with self.assertRaises(ValueError):
            with me:
                pass
        # the public key stays readable: it is not a secret and not the handle
        self.assertEqual(len(me.public_key), 32)

    def test_finalizer_frees_collected_handles(self):
        for _ in range(1000):
            Identity.generate()
        gc.collect()

    def test_threads_share_one_identity(self):
        me = Identity.generate()
        results = []

        def work():
            ok = all(me.verify(b"m%d" % i, me.sign(b"m%d" % i)) for i in range(200))
            results.append(ok)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [True] * 4)


class TestCrossImplementation(unittest.TestCase):
    """Signatures cross-verify with the independent `cryptography` package."""

    def setUp(self):
        if not HAVE_CRYPTOGRAPHY:
            self.skipTest("the 'cryptography' package is not installed: Ed25519 cross-check skipped")

    def test_binding_signs_cryptography_verifies(self):
        me = Identity.generate()
        pub = Ed25519PublicKey.from_public_bytes(me.public_key)
        for msg in (b"", b"x", os.urandom(1000)):
            pub.verify(me.sign(msg), msg)  # raises InvalidSignature on failure
        with self.assertRaises(InvalidSignature):
            pub.verify(me.sign(b"a"), b"b")

    def test_cryptography_signs_binding_verifies(self):
        from cryptography.hazmat.primitives import serialization

        for _ in range(5):
            sk = Ed25519PrivateKey.generate()
            pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            seed = sk.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            msg = os.urandom(77)
            self.assertTrue(cyberagent.verify_detached(pk, msg, sk.sign(msg)))
            self.assertFalse(cyberagent.verify_detached(pk, msg + b"!", sk.sign(msg)))
            # same seed, same key and same (deterministic) signature
            self.assertEqual(Identity.from_seed(seed).public_key, pk)
            self.assertEqual(Identity.from_seed(seed).sign(msg), sk.sign(msg))


if __name__ == "__main__":
    unittest.main()
