"""Key rotation with pre-rotation: events, history, the window rule, the recovery drill."""

import hashlib
import unittest

import helpers  # noqa: F401

import cyberagent
from cyberagent import Envelope, Identity, KeyHistory, keyhistory, sign_envelope

T0 = 1_700_000_000_000
MIN = 60_000
APP = cyberagent.CONSTANTS["CA_KIND_APP_MIN"]
SKEW = cyberagent.CONSTANTS["CA_ENVELOPE_MAX_SKEW_MS_DEFAULT"]


def key(n):
    return Identity.from_seed(bytes([0x6B, n]) + bytes(30))


def env(signer, created, expires):
    return Envelope.decode(sign_envelope(signer, b"hi", kind=APP, created_at=created, expires_at=expires))


class TestKeyHistory(unittest.TestCase):
    def test_inception_bytes(self):
        k0, k1 = key(0), key(1)
        c1 = keyhistory.commitment(k1.public_key)
        self.assertEqual(c1, hashlib.blake2b(b"cyberagent/1/next-key" + k1.public_key, digest_size=32).digest())
        ev = keyhistory.incept(k0, c1, T0)
        info = keyhistory.open_event(ev)
        self.assertEqual(info.type, keyhistory.INCEPTION)
        self.assertEqual((info.sequence, info.time, info.key, info.next), (0, T0, k0.public_key, c1))
        # digest = BLAKE2b-256(tag || map without the signature, header one entry fewer)
        signed = b"cyberagent/1/key-event" + bytes([ev[0] - 1]) + ev[1:-67]
        self.assertEqual(info.digest, hashlib.blake2b(signed, digest_size=32).digest())
        self.assertEqual(info.identifier, info.digest)
        h = KeyHistory(ev)
        self.assertEqual((h.id, h.sequence, h.current), (info.digest, 0, k0.public_key))
        bad = bytearray(ev)
        bad[-1] ^= 1
        with self.assertRaises(cyberagent.SignatureError):
            keyhistory.open_event(bytes(bad))

    def test_chain_and_windows(self):
        keys = [key(i) for i in range(18)]
        h = KeyHistory(keyhistory.incept(keys[0], keyhistory.commitment(keys[1].public_key), T0))
        ident = h.id
        for i in range(1, 17):
            h.append(h.rotate(keys[i], keyhistory.commitment(keys[i + 1].public_key), T0 + i * MIN))
        self.assertEqual((h.id, h.sequence, h.current), (ident, 16, keys[16].public_key))
        self.assertEqual(h.key(keys[3].public_key), (3, T0 + 3 * MIN, T0 + 4 * MIN, False))
        self.assertEqual(h.key(keys[16].public_key), (16, T0 + 16 * MIN, keyhistory.FOREVER, True))
        with self.assertRaises(cyberagent.NotFoundError):
            h.key(keys[17].public_key)
        # key 3: accepted when its lifetime ends by its rotation, refused one ms later
        h.verify_envelope(env(keys[3], T0 + 3 * MIN, T0 + 4 * MIN), T0 + 3 * MIN)
        with self.assertRaises(cyberagent.KeyRotatedError):
            h.verify_envelope(env(keys[3], T0 + 3 * MIN, T0 + 4 * MIN + 1), T0 + 3 * MIN)
        with self.assertRaises(cyberagent.KeyUnknownError):
            h.verify_envelope(env(keys[17], T0 + 16 * MIN, T0 + 17 * MIN), T0 + 16 * MIN)

    def test_recovery_drill(self):
        owner0, owner1, owner2, thief_next = key(20), key(21), key(22), key(66)
        inception = keyhistory.incept(owner0, keyhistory.commitment(owner1.public_key), T0)
        owner, verifier = KeyHistory(inception), KeyHistory(inception)
        ident = verifier.id
        thief = Identity.from_seed(owner0.export_seed())
        theft = T0 + 5 * MIN
        verifier.verify_envelope(env(thief, theft, theft + MIN), theft)  # not yet rotated
        with self.assertRaises(cyberagent.KeyNotCommittedError):
            verifier.rotate(thief, keyhistory.commitment(thief_next.public_key), theft)
        with self.assertRaises(cyberagent.KeyNotCommittedError):
            verifier.rotate(thief_next, keyhistory.commitment(thief_next.public_key), theft)
        R = T0 + 20 * MIN
        rot = owner.rotate(owner1, keyhistory.commitment(owner2.public_key), R)
        owner.append(rot)
        verifier.append(rot)
        with self.assertRaises(cyberagent.KeyEventOrderError):
            verifier.append(rot)
        with self.assertRaises(cyberagent.KeyRotatedError):
            verifier.verify_envelope(env(thief, R + MIN, R + 2 * MIN), R + MIN)
        with self.assertRaises(cyberagent.KeyRotatedError):
            verifier.verify_envelope(env(thief, R - MIN, R + MIN), R)  # backdated
        with self.assertRaises(cyberagent.ExpiredError):
            verifier.verify_envelope(env(thief, R - MIN, R), R + SKEW + 1)
        verifier.verify_envelope(env(owner1, R + MIN, R + 2 * MIN), R + MIN)
        self.assertEqual((verifier.id, verifier.current), (ident, owner1.public_key))
        self.assertTrue(issubclass(cyberagent.KeyRotatedError, cyberagent.IdentityError))


if __name__ == "__main__":
    unittest.main()
