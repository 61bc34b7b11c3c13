"""Library-wide functions, exceptions, loading and the signature table."""

import ctypes
import gc
import os
import subprocess
import sys
import unittest

import helpers  # noqa: F401  (sets sys.path)

import cyberagent
from cyberagent import _lib, _sigs, errors


class TestCore(unittest.TestCase):
    def test_init_and_version(self):
        cyberagent.init()
        cyberagent.init()
        self.assertEqual(cyberagent.version_number(), cyberagent.CA_VERSION_NUMBER)
        self.assertEqual(
            cyberagent.version_string(),
            "%d.%d.%d" % (cyberagent.CA_VERSION_MAJOR, cyberagent.CA_VERSION_MINOR, cyberagent.CA_VERSION_PATCH),
        )

    def test_status_str_and_constants(self):
        for name, value in _sigs.CONSTANTS.items():
            if name.startswith("CA_ERR_") or name == "CA_OK":
                self.assertEqual(cyberagent.status_str(value), name)
        self.assertEqual(cyberagent.status_str(-9999), "CA_ERR_UNKNOWN")

    def test_sizes_match_constants(self):
        s = cyberagent.sizes()
        self.assertEqual(s["agent_id"], cyberagent.CA_AGENT_ID_BYTES)
        self.assertEqual(s["hash"], cyberagent.CA_HASH_BYTES)
        self.assertEqual(s["signature"], cyberagent.CA_SIGNATURE_BYTES)
        self.assertEqual(s["seed"], cyberagent.CA_SEED_BYTES)
        self.assertEqual(s["did_max_chars"], cyberagent.CA_DID_MAX_CHARS)
        self.assertEqual(s["x25519_public"], 32)
        self.assertEqual(s["keyfile"], cyberagent.CA_KEYFILE_BYTES)
        self.assertEqual(ctypes.sizeof(_sigs.ca_agent_id), s["agent_id"])
        self.assertEqual(ctypes.sizeof(_sigs.ca_signature), s["signature"])

    def test_equal_and_wipe(self):
        self.assertTrue(cyberagent.equal(b"abc", b"abc"))
        self.assertFalse(cyberagent.equal(b"abc", b"abd"))
        self.assertFalse(cyberagent.equal(b"abc", b"ab"))
        self.assertTrue(cyberagent.equal(b"", b""))
        buf = bytearray(b"secret")
        cyberagent.wipe(buf)
        self.assertEqual(buf, bytearray(6))
        cbuf = ctypes.create_string_buffer(b"xyz", 3)
        cyberagent.wipe(cbuf)
        self.assertEqual(cbuf.raw, b"\0\0\0")
        cyberagent.wipe(bytearray())
        with self.assertRaises(TypeError):
            cyberagent.wipe(b"immutable")  # type: ignore[arg-type]

    def test_last_error_is_set_by_failure(self):
        with self.assertRaises(cyberagent.DidError):
            cyberagent.did_parse("did:web:example.com")
        self.assertNotEqual(cyberagent.last_error(), "")

    def test_each_error_carries_its_own_sentence(self):
        # LAST ERROR RULE (common.h): the binding reads ca_last_error() right
        # after the failing call, so an exception never shows an earlier one.
        ident = cyberagent.Identity.generate()
        with self.assertRaises(cyberagent.DidError) as first:
            cyberagent.did_parse("did:web:example.com")
        self.assertIn("did:key", first.exception.message)
        with self.assertRaises(cyberagent.MalformedError) as second:
            cyberagent.Envelope.decode(b"\x81\x00\xc1")
        self.assertIn("malformed", second.exception.message)
        self.assertNotEqual(first.exception.message, second.exception.message)
        self.assertEqual(cyberagent.last_error(), second.exception.message)
        # A finalizer that frees a handle between a failure and the read
        # cannot replace the sentence: ca_*_free never touches it.
        del ident
        gc.collect()
        self.assertEqual(cyberagent.last_error(), second.exception.message)
        # Successes never clear it ("" does not mean success); routing and
        # the ledger used to clear it, identity and envelope did not.
        cyberagent.did_encode(bytes(range(32)))
        self.assertNotEqual(cyberagent.last_error(), "")
        rt = cyberagent.Routing()
        self.assertEqual(len(rt), 0)
        self.assertNotEqual(cyberagent.last_error(), "")

    def test_every_table_entry_has_types(self):
        names = set()
        for name, restype, argtypes in _sigs.SIGNATURES:
            self.assertNotIn(name, names)
            names.add(name)
            fn = getattr(_lib.F, name)
            self.assertIs(fn.restype, restype)
            self.assertEqual(list(fn.argtypes), list(argtypes))


class TestErrors(unittest.TestCase):
    def test_class_by_code(self):
        C = _sigs.CONSTANTS
        self.assertIs(errors.error_class(C["CA_ERR_BAD_SIGNATURE"]), cyberagent.SignatureError)
        self.assertIs(errors.error_class(C["CA_ERR_WRONG_PASSPHRASE"]), cyberagent.WrongPassphrase)
        self.assertIs(errors.error_class(C["CA_ERR_MALFORMED"]), cyberagent.MalformedError)
        self.assertIs(errors.error_class(C["CA_ERR_EXPIRED"]), cyberagent.ExpiredError)
        self.assertIs(errors.error_class(C["CA_ERR_REPLAY"]), cyberagent.ReplayError)
        self.assertIs(errors.error_class(-150), cyberagent.IdentityError)
        self.assertIs(errors.error_class(-350), cyberagent.TaskError)
        self.assertIs(errors.error_class(-450), cyberagent.LedgerError)
        self.assertIs(errors.error_class(-550), cyberagent.ReputationError)
        self.assertIs(errors.error_class(-650), cyberagent.RoutingError)
        self.assertIs(errors.error_class(-9000), cyberagent.Error)
        self.assertTrue(issubclass(cyberagent.WrongPassphrase, cyberagent.KeyFileError))
        self.assertTrue(issubclass(cyberagent.DidError, ValueError))

    def test_error_attributes(self):
        try:
            cyberagent.did_parse("nope")
        except cyberagent.Error as e:
            self.assertEqual(e.status, cyberagent.CA_ERR_BAD_DID)
            self.assertEqual(e.status_name, "CA_ERR_BAD_DID")
            self.assertTrue(e.message)
            self.assertIn("CA_ERR_BAD_DID", str(e))
        else:
            self.fail("no exception")


class TestLoading(unittest.TestCase):
    def _run(self, env_extra):
        env = dict(os.environ)
        env.update(env_extra)
        code = "import cyberagent; print(cyberagent.library_path())"
        return subprocess.run(
            [sys.executable, "-c", code], cwd=helpers.PKG_ROOT, env=env, capture_output=True, text=True
        )

    def test_env_variable_wins(self):
        path = cyberagent.library_path()
        if not os.path.isabs(path):
            self.skipTest("library loaded from the system, no path to point at")
        r = self._run({"CYBERAGENT_LIBRARY": path})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), path)

    def test_bad_env_variable_is_an_error_not_a_fallback(self):
        r = self._run({"CYBERAGENT_LIBRARY": "/nonexistent/libcyberagent.so.1"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("CYBERAGENT_LIBRARY", r.stderr)

    def test_candidates_order(self):
        old = os.environ.pop("CYBERAGENT_LIBRARY", None)
        try:
            cands = _lib.candidates()
        finally:
            if old is not None:
                os.environ["CYBERAGENT_LIBRARY"] = old
        self.assertIn("libcyberagent.so.1", cands)
        self.assertEqual(cands[-1], "libcyberagent.so")
        build = [c for c in cands if os.path.isabs(c)]
        for c in build:
            self.assertTrue(c.startswith(os.path.join(helpers.REPO_ROOT, "build")))
        dev = os.path.join(helpers.REPO_ROOT, "build", "dev", "lib", "libcyberagent.so.1")
        if os.path.exists(dev):
            self.assertEqual(cands[0], dev)

    def test_signature_table_imports_without_loading(self):
        code = (
            "import importlib.util, sys;"
            "s = importlib.util.spec_from_file_location('t', %r);"
            "m = importlib.util.module_from_spec(s); s.loader.exec_module(m);"
            "print(len(m.SIGNATURES), 'cyberagent._lib' in sys.modules)"
            % os.path.join(helpers.PKG_ROOT, "cyberagent", "_sigs.py")
        )
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip().endswith("False"))


if __name__ == "__main__":
    unittest.main()
