#!/usr/bin/env python3
"""Interface contract: every public header stands alone.

For each header under the include directory:
  - compiles on its own, included twice (include guard), as C11 with
    -pedantic -Wall -Wextra -Werror, and as C++11 with the same flags;
  - declares its API inside extern "C" when it declares any CA_API function;
  - states its THREAD SAFETY (module headers; the umbrella is exempt).
The umbrella header cyberagent.h must include every module header.
Exit status 0 when all hold, 1 otherwise (every failure is printed).
"""
import argparse
import os
import re
import subprocess
import sys

FLAGS = ["-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def compile_tu(cmd, source):
    proc = subprocess.run(cmd, input=source, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def own_text(preprocessed, path):
    """The part of preprocessor output that came from `path` itself."""
    own, current = [], None
    for line in preprocessed.splitlines():
        m = re.match(r'#\s*\d+\s+"([^"]*)"', line)
        if m:
            current = os.path.realpath(m.group(1)) == os.path.realpath(path)
        elif current:
            own.append(line)
    return "\n".join(own)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--include", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", default="")
    ap.add_argument("--define", action="append", default=[])
    args = ap.parse_args()

    inc = os.path.abspath(args.include)
    headers = []
    for dirpath, _, files in os.walk(inc):
        for f in files:
            if f.endswith(".h"):
                headers.append(os.path.relpath(os.path.join(dirpath, f), inc))
    headers.sort()
    if not headers:
        print(f"no headers under {inc}")
        return 1

    defs = [f"-D{d}" for d in args.define]
    failures = []
    for h in headers:
        tu = f'#include "{h}"\n#include "{h}"\n'
        langs = [("C11", [args.cc, "-std=c11", "-x", "c"])]
        if args.cxx:
            langs.append(("C++11", [args.cxx, "-std=c++11", "-x", "c++"]))
        for lang, base in langs:
            rc, out = compile_tu(base + FLAGS + defs + ["-I", inc, "-"], tu)
            if rc != 0:
                failures.append(f"{h}: does not compile alone as {lang}:\n{out}")
        text = open(os.path.join(inc, h), encoding="utf-8").read()
        if "CA_API" in text.replace("#define CA_API", "") and args.cxx:
            # The guard must be live when compiled as C++, not merely present.
            rc, out = compile_tu([args.cxx, "-std=c++11", "-x", "c++", "-E"] + defs +
                                 ["-I", inc, "-"], f'#include "{h}"\n')
            if rc != 0 or 'extern "C"' not in own_text(out, os.path.join(inc, h)):
                failures.append(f'{h}: declares CA_API functions outside an extern "C" block')
        if h != "cyberagent.h" and "THREAD SAFETY" not in text:
            failures.append(f"{h}: does not state its THREAD SAFETY near the top")

    umbrella = os.path.join(inc, "cyberagent.h")
    if os.path.exists(umbrella):
        included = set(re.findall(r'#\s*include\s+"([^"]+)"', open(umbrella).read()))
        for h in headers:
            if h != "cyberagent.h" and h not in included:
                failures.append(f"cyberagent.h does not include {h}")

    for f in failures:
        print("FAIL:", f)
    print(f"{len(headers)} headers checked ({'C11, C++11' if args.cxx else 'C11 only: no C++ compiler'}),"
          f" {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
