#!/usr/bin/env python3
"""Interface contract: the LAST ERROR RULE of include/cyberagent/common.h.

What the source must look like for the rule to hold (the unit tests and the
fuzz targets check the behaviour: assert_status, FUZZ_CALL, test_last_error):

- a failure comes with a sentence: no `return CA_ERR_X;` in lib/ (a status
  leaves a function through cai_fail, which records the sentence first);
- nothing clears the sentence: the only write to the thread's buffer is
  cai_record_error's, in lib/core/status.c, and no clearing function exists;
- functions that return no ca_status (ca_*_free, getters, sizes) never
  change it: no public function whose declared result is not ca_status may
  reach cai_record_error, directly or through the functions it calls (call
  graph of lib/, by name; macros that expand to cai_fail count as callers).

Usage: check_last_error.py [--root ROOT] [-v]
       check_last_error.py --self-test   (plants violations in a temporary
                                          copy; each must make the check fail)
"""
import argparse
import os
import re
import shutil
import sys
import tempfile

RECORDER = "cai_record_error"
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "defined", "_Alignof",
            "__attribute__", "__builtin_expect", "__typeof__"}


def strip(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)


def sources(root):
    out = {}
    for base in ("lib",):
        for dirpath, _, files in os.walk(os.path.join(root, base)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    p = os.path.join(dirpath, f)
                    with open(p, encoding="utf-8") as fh:
                        out[os.path.relpath(p, root)] = strip(fh.read())
    return out


def bodies(text):
    """(name, result type, body) of every function defined in `text`."""
    found = []
    for m in re.finditer(r"(?m)^([A-Za-z_][\w \t\*]*?)\b(\w+)\s*\(([^;{}]*)\)\s*\{", text):
        ret, name = m.group(1).strip(), m.group(2)
        if name in KEYWORDS:
            continue
        i, depth = m.end(), 1
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found.append((name, ret, text[m.end():i - 1]))
    return found


def macros(text):
    """name -> replacement text of every #define (continuation lines joined)."""
    out = {}
    joined = re.sub(r"\\\n", " ", text)
    for m in re.finditer(r"(?m)^\s*#\s*define\s+(\w+)(\([^)]*\))?\s*(.*)$", joined):
        out[m.group(1)] = m.group(3)
    return out


def calls(text):
    return {c for c in re.findall(r"\b([A-Za-z_]\w*)\s*\(", text) if c not in KEYWORDS}


def public_results(root):
    """name -> declared result type of every CA_API function in include/."""
    out = {}
    inc = os.path.join(root, "include")
    for dirpath, _, files in os.walk(inc):
        for f in sorted(files):
            if not f.endswith(".h"):
                continue
            with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                text = re.sub(r"\s+", " ", strip(fh.read()))
            for m in re.finditer(r"CA_API ((?:CA_NODISCARD )?[\w \*]*?)\b(ca_\w+)\s*\(", text):
                out[m.group(2)] = m.group(1).replace("CA_NODISCARD", "").strip()
    return out


def check(root, verbose=False):
    src = sources(root)
    problems = []
    # 1. a failure status leaves only through cai_fail
    for path, text in sorted(src.items()):
        for m in re.finditer(r"\breturn\s+\(?\s*(?:\(ca_status\)\s*)?(CA_ERR_\w+)\s*\)?\s*;", text):
            line = text[:m.start()].count("\n") + 1
            problems.append(f"{path}:{line}: returns {m.group(1)} without a sentence (use cai_fail)")
    # 2. nothing clears the sentence
    for path, text in sorted(src.items()):
        for m in re.finditer(r"\b(\w*clear_error\w*)\b", text):
            line = text[:m.start()].count("\n") + 1
            problems.append(f"{path}:{line}: {m.group(1)}: nothing may clear the last error")
    status = src.get(os.path.join("lib", "core", "status.c"), "")
    writers = [n for n, _, b in bodies(status) if re.search(r"\blast_error\s*\[[^\]]*\]\s*=[^=]", b)
               or re.search(r"\b(memset|memcpy|strcpy|snprintf|vsnprintf)\s*\(\s*last_error\b", b)]
    for w in writers:
        if w != RECORDER:
            problems.append(f"lib/core/status.c: {w} writes the last error; only {RECORDER} may")
    # 3. functions without a status never reach the recorder
    graph, recorders = {}, {RECORDER}
    for text in src.values():
        for name, _, body in bodies(text):
            graph.setdefault(name, set()).update(calls(body))
        for name, repl in macros(text).items():
            graph.setdefault(name, set()).update(calls(repl))
    changed = True
    while changed:
        changed = False
        for name, callees in graph.items():
            if name not in recorders and callees & recorders:
                recorders.add(name)
                changed = True
    results = public_results(root)
    checked = 0
    for name, ret in sorted(results.items()):
        if ret == "ca_status":
            continue
        if name not in graph:
            problems.append(f"{name} returns {ret}: its definition was not found in lib/")
            continue
        checked += 1
        bad = sorted(graph[name] & recorders)
        if bad:
            problems.append(f"{name} returns {ret}, yet may change the last error "
                            f"(through {', '.join(bad)})")
    for p in problems:
        print("FAIL:", p)
    if verbose or not problems:
        print(f"{len(src)} files, {len(recorders)} functions and macros may record a sentence, "
              f"{checked} public functions without a status checked, {len(problems)} problems")
    return 1 if problems else 0


def self_test():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    plants = [
        ("lib/card/card.c", r"(?m)^(const char \*ca_card_name\(const ca_card \*card\)\n\{\n)",
         r"\1    (void)ca_capability_check(\"\", 0);\n", "getter reaching cai_fail"),
        ("lib/routing/kademlia.c", r"return cai_fail\(CA_ERR_NOT_FOUND, \"kad: not a contact\"\);",
         "return CA_ERR_NOT_FOUND;", "status without a sentence"),
        ("lib/core/status.c", r"(ca_status cai_ensure_init\(void\)\n)",
         "void cai_forget_error(void)\n{\n    last_error[0] = '\\\\0';\n}\n\n\\1",
         "a function that clears"),
        ("lib/ledger/ledger.c", r"(?m)^(void ca_ledger_free\(ca_ledger \*l\)\n\{\n)",
         r"\1    (void)ca_ledger_check(l);\n", "free reaching cai_fail"),
    ]
    failures = 0
    if check(root) != 0:
        print("self-test: the tree itself fails the check")
        return 1
    for path, pattern, repl, what in plants:
        with tempfile.TemporaryDirectory() as tmp:
            for d in ("lib", "include"):
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
            p = os.path.join(tmp, path)
            with open(p, encoding="utf-8") as fh:
                text = fh.read()
            planted, n = re.subn(pattern, repl, text, count=1)
            if n != 1:
                print(f"self-test: cannot plant '{what}' in {path}")
                failures += 1
                continue
            with open(p, "w", encoding="utf-8") as fh:
                fh.write(planted)
            print(f"--- planted: {what}")
            if check(tmp) == 0:
                print(f"self-test: '{what}' was not caught")
                failures += 1
    print("self-test", "failed" if failures else "passed")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    return check(os.path.normpath(a.root), a.v)


if __name__ == "__main__":
    sys.exit(main())
