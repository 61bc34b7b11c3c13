"""Identity: keys, signatures, did:key, key files, X25519, handle lifetime."""

import gc
import os
import tempfile
import threading
import unittest

import helpers
from helpers import APP_SIG_HELLO, APP_SIG_TAG, FAST_KDF, RFC8032_PUBLIC, RFC8032_SEED

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
            self.assertEqual(me.sign(APP_SIG_TAG, b"hello"), APP_SIG_HELLO)
            self.assertEqual(me.sign(APP_SIG_TAG.encode(), b"hello"), APP_SIG_HELLO)
            self.assertEqual(me.export_seed(), RFC8032_SEED)

    def test_generate_is_random(self):
        a, b = Identity.generate(), Identity.generate()
        self.assertNotEqual(a.public_key, b.public_key)
        self.assertEqual(len(a.public_key), 32)

    def test_sign_verify(self):
        me = Identity.generate()
        T = "example.com/chat/v1"
        sig = me.sign(T, b"hello")
        self.assertEqual(len(sig), 64)
        self.assertTrue(cyberagent.verify_detached(me.public_key, T, b"hello", sig))
        self.assertTrue(me.verify(T, b"hello", sig))
        self.assertFalse(cyberagent.verify_detached(me.public_key, T, b"hellO", sig))
        self.assertFalse(cyberagent.verify_detached(me.public_key, "example.com/chat/v2", b"hello", sig))
        bad = bytearray(sig)
        bad[0] ^= 1
        self.assertFalse(cyberagent.verify_detached(me.public_key, T, b"hello", bytes(bad)))
        other = Identity.generate()
        self.assertFalse(cyberagent.verify_detached(other.public_key, T, b"hello", sig))
        # bytearray and memoryview are accepted as input, for the tag too
        self.assertTrue(
            cyberagent.verify_detached(bytearray(me.public_key), memoryview(T.encode()), memoryview(b"hello"), sig)
        )
        # prefix-free: the same concatenation split elsewhere does not verify
        sig = me.sign("ab", b"c")
        self.assertFalse(me.verify("a", b"bc", sig))
        self.assertFalse(me.verify("abc", b"", sig))

    def test_tags(self):
        me = Identity.generate()
        sig = me.sign("t", b"m")
        longest = "x" * cyberagent.CA_SIGN_TAG_MAX_BYTES
        self.assertTrue(me.verify(longest, b"m", me.sign(longest, b"m")))
        for bad in ("", longest + "x", "cyberagent/", "cyberagent/1/16", "cyberagent/1/ledger-op", b"cyberagent/app/"):
            with self.subTest(bad=bad):
                with self.assertRaises(cyberagent.BadSignTagError) as cm:
                    me.sign(bad, b"m")
                self.assertEqual(cm.exception.status, cyberagent.CA_ERR_BAD_SIGN_TAG)
                self.assertIsInstance(cm.exception, cyberagent.IdentityError)
                self.assertIsInstance(cm.exception, ValueError)
                with self.assertRaises(cyberagent.BadSignTagError):
                    cyberagent.verify_detached(me.public_key, bad, b"m", sig)
        with self.assertRaises(TypeError):
            me.sign(1, b"m")  # type: ignore[arg-type]

    def test_never_an_envelope_signature(self):
        """Bytes a peer chose, signed through the public API, never make a valid envelope."""
        me = Identity.generate()
        env = cyberagent.sign_envelope(me, b"pay the bearer", kind=cyberagent.CA_KIND_TASK_REQUEST,
                                       created_at=1_700_000_000_000, expires_at=1_700_000_060_000)
        with cyberagent.Envelope.decode(env) as e:
            signed = b"cyberagent/1/16" + bytes([env[0] - 1]) + env[1:-67]
            self.assertEqual(e.encoded, env)
        forged = env[:-64] + me.sign("example.com/notary/v1", signed)
        with self.assertRaises(cyberagent.SignatureError):
            cyberagent.Envelope.open(forged, 1_700_000_000_001)
        with cyberagent.Envelope.open(env, 1_700_000_000_001):
            pass

    def test_verify_argument_errors(self):
        me = Identity.generate()
        sig = me.sign("t", b"x")
        with self.assertRaises(ValueError):
            cyberagent.verify_detached(me.public_key[:31], "t", b"x", sig)
        with self.assertRaises(ValueError):
            cyberagent.verify_detached(me.public_key, "t", b"x", sig[:63])
        with self.assertRaises(TypeError):
            cyberagent.verify_detached(me.public_key, "t", "x", sig)  # type: ignore[arg-type]
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

    def test_keyfile_cost_caps(self):
        C = cyberagent
        o = cyberagent.keyfile_options(opslimit=1)
        self.assertEqual((o.memlimit, o.max_opslimit, o.max_memlimit),
                         (C.CA_KEYFILE_MEMLIMIT_DEFAULT, C.CA_KEYFILE_MAX_OPSLIMIT_DEFAULT,
                          C.CA_KEYFILE_MAX_MEMLIMIT_DEFAULT))
        self.assertEqual((C.CA_KEYFILE_MAX_OPSLIMIT_DEFAULT, C.CA_KEYFILE_MAX_MEMLIMIT_DEFAULT), (3, 256 << 20))
        me = Identity.generate()
        # a writer refuses a cost its own caps could not read back ...
        with self.assertRaises(cyberagent.KeyFileTooCostly):
            me.to_encrypted("pw", opslimit=4, memlimit=8192)
        # ... and a file declaring more than the default caps is refused before any derivation
        blob = me.to_encrypted("pw", opslimit=4, memlimit=8192, max_opslimit=4)
        with self.assertRaises(cyberagent.KeyFileTooCostly):
            Identity.from_encrypted(blob, "pw")
        self.assertEqual(Identity.from_encrypted(blob, "pw", max_opslimit=4).public_key, me.public_key)

    def test_save_load(self):
        me = Identity.generate()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "agent.key")
            me.save(path, "pw", **FAST_KDF)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            # a symlink planted at the old temporary name is never written through
            victim = os.path.join(d, "victim")
            with open(victim, "w") as fh:
                fh.write("victim")
            os.symlink(victim, path + ".tmp")
            os.chmod(path, 0o644)
            me.save(path, "pw", **FAST_KDF)
            with open(victim) as fh:
                self.assertEqual(fh.read(), "victim")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            self.assertEqual(sorted(os.listdir(d)), ["agent.key", "agent.key.tmp", "victim"])
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
            me.sign("t", b"x")
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
            ok = all(me.verify("t", b"m%d" % i, me.sign("t", b"m%d" % i)) for i in range(200))
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
        for tag, msg in (("t", b""), ("example.com/chat/v1", b"x"), (b"\x00\xff", os.urandom(1000))):
            # raises InvalidSignature on failure
            pub.verify(me.sign(tag, msg), cyberagent.app_signed_bytes(tag, msg))
        self.assertEqual(cyberagent.app_signed_bytes("ab", b"c"), b"cyberagent/app/\x02abc")
        with self.assertRaises(InvalidSignature):
            pub.verify(me.sign("t", b"a"), cyberagent.app_signed_bytes("t", b"b"))
        with self.assertRaises(InvalidSignature):
            pub.verify(me.sign("t", b"a"), b"a")  # never the bare message

    def test_cryptography_signs_binding_verifies(self):
        from cryptography.hazmat.primitives import serialization

        for _ in range(5):
            sk = Ed25519PrivateKey.generate()
            pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            seed = sk.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            msg = os.urandom(77)
            signed = cyberagent.app_signed_bytes("t", msg)
            self.assertTrue(cyberagent.verify_detached(pk, "t", msg, sk.sign(signed)))
            self.assertFalse(cyberagent.verify_detached(pk, "t", msg + b"!", sk.sign(signed)))
            self.assertFalse(cyberagent.verify_detached(pk, "t", msg, sk.sign(msg)))
            # same seed, same key and same (deterministic) signature
            self.assertEqual(Identity.from_seed(seed).public_key, pk)
            self.assertEqual(Identity.from_seed(seed).sign("t", msg), sk.sign(signed))


if __name__ == "__main__":
    unittest.main()
