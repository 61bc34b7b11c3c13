#!/usr/bin/env python3
"""Tests of check_defaults.py: it passes on the tree and fails on every kind of planted mismatch.

Usage: test_check_defaults.py ROOT LIB CC [CFLAGS]. Each case copies include/
and docs/ into a scratch folder, plants one contradiction, and runs the check
against the real library (whose init functions were compiled from the
unchanged headers, exactly as a stale comment or macro would sit beside them).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = LIB = CC = None
CFLAGS = ""


class TestCheckDefaults(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        shutil.copytree(os.path.join(ROOT, "include"), os.path.join(self.tmp, "include"))
        shutil.copytree(os.path.join(ROOT, "docs"), os.path.join(self.tmp, "docs"))

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
            [sys.executable, os.path.join(HERE, "check_defaults.py"), "--include",
             os.path.join(self.tmp, "include"), "--lib", LIB, "--cc", CC, "--cflags=" + CFLAGS,
             "--docs", os.path.join(self.tmp, "docs")],
            capture_output=True, text=True,
        )
        return r.returncode, r.stdout + r.stderr

    def assert_fails(self, *needles):
        rc, out = self.run_check()
        self.assertEqual(rc, 1, out)
        for n in needles:
            self.assertIn(n, out)

    def test_clean_tree_passes(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        self.assertIn("all match", out)

    def test_header_says_16_where_init_gives_64(self):
        # The case: the header documents a default init does not write.
        self.edit("include/cyberagent/routing.h",
                  "#define CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT       1048576u",
                  "#define CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT       16u")
        self.assert_fails("MISMATCH ca_routing_options.max_capability_names after init: 1048576, "
                          "documented 16")

    def test_value_in_the_comment_differs_from_the_macro(self):
        self.edit("include/cyberagent/routing.h",
                  "CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT (64,",
                  "CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT (16,")
        self.assert_fails("the value of CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT, written in "
                          "include/cyberagent/routing.h, 64, documented 16")

    def test_value_in_a_docs_page_differs(self):
        self.edit("docs/PROTOCOL.md", "`CA_TASK_MAX_BIDS_DEFAULT` = 1000", "`CA_TASK_MAX_BIDS_DEFAULT` = 100")
        self.assert_fails("the value of CA_TASK_MAX_BIDS_DEFAULT, written in docs/PROTOCOL.md, 1000, "
                          "documented 100")

    def test_value_with_a_unit_differs(self):
        self.edit("docs/SECURITY.md", "`CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT` = 24 h",
                  "`CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT` = 12 h")
        self.assert_fails("CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT, written in docs/SECURITY.md, 86400000, "
                          "documented 43200000")

    def test_floating_default_differs(self):
        self.edit("include/cyberagent/reputation.h", "#define CA_REPUTATION_TOLERANCE_DEFAULT       1e-9",
                  "#define CA_REPUTATION_TOLERANCE_DEFAULT       1e-6")
        self.assert_fails("MISMATCH ca_reputation_options.tolerance after init:")

    def test_zero_default_that_init_does_not_give(self):
        # A field documented as 0 while init writes something else.
        self.edit("include/cyberagent/ledger.h",
                  "uint64_t jail_equivocation;    /* default CA_LEDGER_JAIL_EQUIVOCATION_DEFAULT (604800000) */",
                  "uint64_t jail_equivocation;    /* default 0 */")
        self.assert_fails("MISMATCH ca_ledger_options.jail_equivocation after init: not the documented zero")

    def test_weights_default_differs(self):
        # The weights are their own versioned struct (the options point to them).
        self.edit("include/cyberagent/routing.h", "#define CA_ROUTING_WEIGHTS_PRICE_DEFAULT          3u",
                  "#define CA_ROUTING_WEIGHTS_PRICE_DEFAULT          5u")
        self.assert_fails("MISMATCH ca_routing_weights.price after init: 3, documented 5")

    def test_bare_number_is_refused(self):
        self.edit("include/cyberagent/routing.h", "default CA_KAD_BUCKET_SIZE_DEFAULT (20)", "default 20")
        self.assert_fails("ca_kad_options (routing.h).bucket_size: default given as the bare number 20; "
                          "name CA_KAD_BUCKET_SIZE_DEFAULT")

    def test_field_without_a_default_is_refused(self):
        self.edit("include/cyberagent/ledger.h", "uint64_t jail_dispute;         /* default 0 */",
                  "uint64_t jail_dispute;")
        self.assert_fails("ca_ledger_options (ledger.h).jail_dispute: no documented default "
                          "(name CA_LEDGER_JAIL_DISPUTE_DEFAULT")

    def test_other_name_for_a_default_is_refused(self):
        self.edit("include/cyberagent/task.h", "default CA_TASK_MAX_BIDS_DEFAULT (1000)",
                  "default CA_TASK_BIDS_DEFAULT (1000)")
        self.assert_fails("ca_task_options (task.h).max_bids: default named CA_TASK_BIDS_DEFAULT",
                          "CA_TASK_BIDS_DEFAULT, which no header defines")

    def test_stray_default_macro_is_refused(self):
        self.edit("include/cyberagent/ledger.h", "#define CA_LEDGER_OPTIONS_VERSION 4u",
                  "#define CA_LEDGER_OPTIONS_VERSION 4u\n#define CA_LEDGER_DEFAULT_UNBONDING_DELAY 1u")
        self.assert_fails("#define CA_LEDGER_DEFAULT_UNBONDING_DELAY: not the CA_<S>_<F>_DEFAULT")

    def test_stale_name_in_docs_is_refused(self):
        self.edit("docs/ROUTING.md", "CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT", "CA_ROUTING_CARD_LIFETIME_DEFAULT_MS")
        self.assert_fails("docs/ROUTING.md: names CA_ROUTING_CARD_LIFETIME_DEFAULT_MS, which no header defines")

if __name__ == "__main__":
    ROOT, LIB, CC = sys.argv[1:4]
    CFLAGS = sys.argv[4] if len(sys.argv) > 4 else ""
    unittest.main(argv=[sys.argv[0]], verbosity=1)
