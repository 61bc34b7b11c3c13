#!/usr/bin/env python3
"""Tests of bindings/check_drift.py: it passes on the tree and names every kind of drift."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIGS = "bindings/python/cyberagent/_sigs.py"
SYS_RS = "bindings/rust/cyberagent-sys/src/lib.rs"


class TestCheckDrift(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        shutil.copytree(os.path.join(ROOT, "include"), os.path.join(self.tmp, "include"))
        for rel in (SIGS, SYS_RS, "bindings/check_drift.py"):
            os.makedirs(os.path.dirname(os.path.join(self.tmp, rel)), exist_ok=True)
            shutil.copy(os.path.join(ROOT, rel), os.path.join(self.tmp, rel))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def edit(self, rel, old, new):
        path = os.path.join(self.tmp, rel)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        self.assertIn(old, text, "test fixture out of date: %r not in %s" % (old, rel))
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text.replace(old, new, 1))

    def run_check(self):
        r = subprocess.run(
            [sys.executable, os.path.join(self.tmp, "bindings/check_drift.py"), "--root", self.tmp],
            capture_output=True, text=True,
        )
        return r.returncode, r.stdout

    def test_clean_tree_passes(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        self.assertIn("match in Python and Rust", out)

    def test_new_header_function_is_missing_in_both(self):
        self.edit("include/cyberagent/common.h", "CA_API void ca_wipe(", "CA_API int ca_new_thing(const uint8_t *p, size_t n);\nCA_API void ca_wipe(")
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("python: missing function ca_new_thing", out)
        self.assertIn("rust: missing function ca_new_thing", out)

    def test_mismatches_are_named(self):
        self.edit(SIGS, '("ca_wipe", None, [c_void_p, c_size_t])', '("ca_wipe", None, [c_void_p, c_uint])')
        self.edit(SYS_RS, "pub fn ca_identity_free(identity: *mut ca_identity);",
                  "pub fn ca_identity_free(identity: *mut ca_identity, extra: u8);")
        self.edit(SYS_RS, "pub fn ca_envelope_kind(env: *const ca_envelope) -> u32;",
                  "pub fn ca_envelope_kind(env: *const ca_envelope) -> u64;")
        self.edit(SYS_RS, "    pub memlimit: usize,", "    pub memlimit: u64,")
        self.edit(SIGS, '"CA_ERR_BAD_DID": -101,', '"CA_ERR_BAD_DID": -111,')
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("python: ca_wipe parameter 2 is u32, header says u64", out)
        self.assertIn("rust: ca_identity_free takes 2 parameters, header says 1", out)
        self.assertIn("rust: ca_envelope_kind returns u64, header says u32", out)
        self.assertIn("rust: struct ca_keyfile_options fields", out)
        self.assertIn("python: constant CA_ERR_BAD_DID = -111, header says -101", out)

    def test_pointer_kinds_are_compared(self):
        # a handle out-parameter declared as a plain pointer, a size_t* declared as a byte buffer
        self.edit(SIGS, '("ca_identity_generate", ca_status, [P(P(ca_identity))])',
                  '("ca_identity_generate", ca_status, [P(ca_identity)])')
        self.edit(SYS_RS, "out_len: *mut usize,\n    ) -> ca_status;\n    pub fn ca_did_parse",
                  "out_len: *mut u8,\n    ) -> ca_status;\n    pub fn ca_did_parse")
        rc, out = self.run_check()
        self.assertEqual(rc, 1)
        self.assertIn("python: ca_identity_generate parameter 1 is *ca_identity, header says **ca_identity", out)
        self.assertIn("rust: ca_did_encode parameter 4 is *, header says *usize", out)

    def test_extra_and_experimental(self):
        self.edit(SIGS, "SIGNATURES = [", 'SIGNATURES = [\n    ("ca_gone", None, []),')
        rc, out = self.run_check()
        self.assertIn("python: extra function ca_gone", out)
        # declarations under CA_EXPERIMENTAL are not part of the default ABI
        self.edit("include/cyberagent/common.h", "CA_API void ca_wipe(",
                  "#ifdef CA_EXPERIMENTAL\nCA_API int ca_exp(void);\n#endif\nCA_API void ca_wipe(")
        rc, out = self.run_check()
        self.assertNotIn("ca_exp", out)


if __name__ == "__main__":
    unittest.main()
