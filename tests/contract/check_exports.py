#!/usr/bin/env python3
"""Interface contract: the shared library exports exactly the public API.

The set of dynamic symbols defined by the library (nm -D --defined-only)
must equal the set of functions and variables the public headers declare
with CA_API. The headers are run through the C preprocessor (so
#ifdef CA_EXPERIMENTAL blocks count only when that build exports them), and
CA_API is recognised by what it expands to, visibility("default").
Every exported symbol must also start with ca_.
"""
import argparse
import os
import re
import subprocess
import sys

EXPORT_ATTR = re.compile(r'__attribute__\s*\(\(\s*visibility\s*\(\s*"default"\s*\)\s*\)\)')
# Any other attribute, with one level of nested parentheses: format(printf, 1, 2).
OTHER_ATTR = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")
DECL = re.compile(r"@EXPORT@([^;{}]*?)\b([A-Za-z_]\w*)\s*(\(|\[|;|=)")


def declared(cc, include, defines):
    headers = []
    for dirpath, _, files in os.walk(include):
        for f in files:
            if f.endswith(".h"):
                headers.append(os.path.relpath(os.path.join(dirpath, f), include))
    tu = "".join(f'#include "{h}"\n' for h in sorted(headers))
    cmd = [cc, "-E", "-P", "-std=c11", "-x", "c", "-I", include]
    cmd += [f"-D{d}" for d in defines] + ["-"]
    proc = subprocess.run(cmd, input=tu, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"preprocessing the headers failed:\n{proc.stderr}")
    text = EXPORT_ATTR.sub(" @EXPORT@ ", proc.stdout)
    text = OTHER_ATTR.sub(" ", text)
    text = re.sub(r"\s+", " ", text)
    return {m.group(2) for m in DECL.finditer(text)}


def exported(nm, lib):
    proc = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{nm} failed on {lib}:\n{proc.stderr}")
    names = set()
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.add(parts[2].split("@")[0])
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--define", action="append", default=[])
    args = ap.parse_args()

    decl = declared(args.cc, os.path.abspath(args.include), args.define)
    exp = exported(args.nm, args.lib)
    bad = []
    for s in sorted(exp):
        if not s.startswith("ca_"):
            bad.append(f"exported symbol outside the ca_ namespace: {s}")
    for s in sorted(exp - decl):
        if s.startswith("ca_"):
            bad.append(f"exported but not declared CA_API in include/: {s} "
                       "(make it static, rename it cai_, or declare it)")
    for s in sorted(decl - exp):
        bad.append(f"declared CA_API but not exported by the library: {s} (not implemented?)")
    for b in bad:
        print("FAIL:", b)
    print(f"{len(exp)} exported symbols, {len(decl)} CA_API declarations, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
