#!/usr/bin/env python3
"""Interface contract: the public surface is what docs/ABI.md says it is.

docs/ABI.md, "Public surface at 1.0", holds a table (between the markers
<!-- surface-table --> and <!-- /surface-table -->) of every function that
left the stable API or changed shape at 1.0, with its fate:

  removed       gone: no header declares it, in any build, and no build exports it
  internal      gone from the API: renamed cai_ inside the library (tests reach
                it through lib/*.h); likewise never declared nor exported
  experimental  declared only under #ifdef CA_EXPERIMENTAL: a translation unit
                that includes the headers without that macro cannot name it
                (checked by compiling a probe that takes its address), one
                with it can; exported only by a build configured with
                -DCA_EXPERIMENTAL=ON
  changed       same name, new signature: declared and exported

and, conversely, every CA_API function declared inside a CA_EXPERIMENTAL
block must be listed as experimental, so the table is the whole fenced API.
Each header compiles alone with CA_EXPERIMENTAL defined, as C11 and C++11
(-pedantic -Werror), so the fenced declarations stay valid too.

  check_surface.py --root DIR --cc CC [--cxx CXX] [--lib libcyberagent.so]
                   [--nm NM] [--experimental-build]
  check_surface.py --self-test --root DIR --cc CC
                   (plants violations in a temporary copy; each must fail)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

DOC = "docs/ABI.md"
BEGIN, END = "<!-- surface-table -->", "<!-- /surface-table -->"
FATES = ("removed", "internal", "experimental", "changed")
EXPORT_ATTR = re.compile(r'__attribute__\s*\(\(\s*visibility\s*\(\s*"default"\s*\)\s*\)\)')
OTHER_ATTR = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")
DECL = re.compile(r"@EXPORT@([^;{}]*?)\b([A-Za-z_]\w*)\s*\(")
FLAGS = ["-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def parse_table(doc_text):
    """{function: fate} from the surface table."""
    a, b = doc_text.find(BEGIN), doc_text.find(END)
    if a < 0 or b < a:
        raise SystemExit(f"FAIL: {DOC} has no {BEGIN} ... {END} table")
    fates = {}
    for line in doc_text[a + len(BEGIN):b].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        fate = cells[1].split()[0].strip("*") if cells[1] else ""
        if fate not in FATES:
            raise SystemExit(f"FAIL: {DOC}: fate {cells[1]!r} of {cells[0]} is none of {FATES}")
        for name in re.findall(r"`(ca_\w+)`", cells[0]):
            if name in fates:
                raise SystemExit(f"FAIL: {DOC}: {name} is listed twice")
            fates[name] = fate
    if not fates:
        raise SystemExit(f"FAIL: {DOC}: the surface table lists no function")
    return fates


def headers_of(include):
    out = []
    for dirpath, _, files in os.walk(include):
        for f in files:
            if f.endswith(".h"):
                out.append(os.path.relpath(os.path.join(dirpath, f), include))
    return sorted(out)


def declared(cc, include, defines):
    """CA_API functions the headers declare, as the preprocessor sees them."""
    tu = "".join(f'#include "{h}"\n' for h in headers_of(include))
    cmd = [cc, "-E", "-P", "-std=c11", "-x", "c", "-I", include]
    cmd += [f"-D{d}" for d in defines] + ["-"]
    proc = subprocess.run(cmd, input=tu, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: preprocessing the headers failed:\n{proc.stderr}")
    text = EXPORT_ATTR.sub(" @EXPORT@ ", proc.stdout)
    text = OTHER_ATTR.sub(" ", text)
    text = re.sub(r"\s+", " ", text)
    return {m.group(2) for m in DECL.finditer(text)}


def compiles(cmd, source):
    proc = subprocess.run(cmd, input=source, capture_output=True, text=True)
    return proc.returncode == 0, proc.stdout + proc.stderr


def probe(cc, include, name, experimental):
    """Whether a C file that includes cyberagent.h can take the address of `name`."""
    src = (f'#include "cyberagent.h"\nvoid ca_probe(void);\n'
           f"void ca_probe(void)\n{{\n    (void)sizeof(&{name});\n}}\n")
    defs = ["-DCA_EXPERIMENTAL"] if experimental else []
    return compiles([cc, "-std=c11", "-x", "c"] + FLAGS + defs + ["-I", include, "-"], src)


def exported(nm, lib):
    proc = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: {nm} failed on {lib}:\n{proc.stderr}")
    return {p[2].split("@")[0] for p in (ln.split() for ln in proc.stdout.splitlines()) if len(p) >= 3}


def check(root, cc, cxx="", lib=None, nm="nm", experimental_build=False):
    """The list of failures (empty when the surface is as documented)."""
    include = os.path.join(root, "include")
    fates = parse_table(read(os.path.join(root, DOC)))
    plain = declared(cc, include, [])
    fenced = declared(cc, include, ["CA_EXPERIMENTAL"])
    exp = exported(nm, lib) if lib else None
    failures = []
    for name, fate in sorted(fates.items()):
        if fate in ("removed", "internal"):
            if name in fenced:
                failures.append(f"{name} is {fate} ({DOC}) but a public header declares it")
            if exp is not None and name in exp:
                failures.append(f"{name} is {fate} ({DOC}) but the library exports it")
        elif fate == "changed":
            if name not in plain:
                failures.append(f"{name} changed at 1.0 ({DOC}) but no header declares it")
            if exp is not None and name not in exp:
                failures.append(f"{name} changed at 1.0 ({DOC}) but the library does not export it")
        else:  # experimental
            if name in plain:
                failures.append(f"{name} is experimental ({DOC}) but is declared outside "
                                "#ifdef CA_EXPERIMENTAL")
            if name not in fenced:
                failures.append(f"{name} is experimental ({DOC}) but no header declares it "
                                "under CA_EXPERIMENTAL")
            ok, _ = probe(cc, include, name, experimental=False)
            if ok:
                failures.append(f"{name}: a file including cyberagent.h without CA_EXPERIMENTAL "
                                "can name it")
            ok, out = probe(cc, include, name, experimental=True)
            if not ok:
                failures.append(f"{name}: a file including cyberagent.h with CA_EXPERIMENTAL "
                                f"cannot name it:\n{out}")
            if exp is not None and (name in exp) != experimental_build:
                failures.append(f"{name} is experimental: exported only by a CA_EXPERIMENTAL "
                                f"build (this build {'does not export' if experimental_build else 'exports'} it)")
    for name in sorted(fenced - plain):
        if fates.get(name) != "experimental":
            failures.append(f"{name} is declared under CA_EXPERIMENTAL but {DOC}'s surface "
                            "table does not list it as experimental")
    for h in headers_of(include):
        tu = f'#include "{h}"\n#include "{h}"\n'
        langs = [("C11", [cc, "-std=c11", "-x", "c"])]
        if cxx:
            langs.append(("C++11", [cxx, "-std=c++11", "-x", "c++"]))
        for lang, base in langs:
            ok, out = compiles(base + FLAGS + ["-DCA_EXPERIMENTAL", "-I", include, "-"], tu)
            if not ok:
                failures.append(f"{h}: does not compile alone as {lang} with CA_EXPERIMENTAL:\n{out}")
    return failures, fates, plain, fenced


# ---- self-test: each planted violation must make the check fail with its message ----

def _edit(tmp, rel, old, new):
    path = os.path.join(tmp, rel)
    text = read(path)
    if old not in text:
        raise AssertionError(f"self-test fixture out of date: {old!r} not in {rel}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace(old, new, 1))


def _fence_moved(t):
    _edit(t, "include/cyberagent/routing.h", "#ifdef CA_EXPERIMENTAL\n/*\n * EXPERIMENTAL: the exploration",
          "/*\n * EXPERIMENTAL: the exploration")
    _edit(t, "include/cyberagent/routing.h", "uint32_t *sample_ppm);\n#endif", "uint32_t *sample_ppm);")


PLANTS = [
    ("a removed function declared again",
     lambda t: _edit(t, "include/cyberagent/identity.h", "CA_API size_t ca_sign_tag_max_bytes(void);",
                     "CA_API size_t ca_sign_tag_max_bytes(void);\n"
                     "CA_API int ca_identity_sign(const ca_identity *identity);"),
     "ca_identity_sign is removed"),
    ("an internal function declared under the fence",
     lambda t: _edit(t, "include/cyberagent/routing.h", "#ifdef CA_EXPERIMENTAL\n",
                     "#ifdef CA_EXPERIMENTAL\nCA_API unsigned ca_kad_bucket_index(void);\n"),
     "ca_kad_bucket_index is internal"),
    ("an experimental function outside the fence",
     _fence_moved,
     "without CA_EXPERIMENTAL can name it"),
    ("a fenced function the table does not list",
     lambda t: _edit(t, "include/cyberagent/routing.h", "#ifdef CA_EXPERIMENTAL\n",
                     "#ifdef CA_EXPERIMENTAL\nCA_API int ca_routing_secret(void);\n"),
     "ca_routing_secret is declared under CA_EXPERIMENTAL"),
    ("a fenced declaration that is not valid C",
     lambda t: _edit(t, "include/cyberagent/routing.h", "#ifdef CA_EXPERIMENTAL\n",
                     "#ifdef CA_EXPERIMENTAL\nCA_API int ca_routing_bad(int x,);\n"),
     "with CA_EXPERIMENTAL"),
    ("a changed function missing",
     lambda t: _edit(t, "docs/ABI.md", "| `ca_replay_guard_new` | changed",
                     "| `ca_replay_guard_new`, `ca_replay_guard_make` | changed"),
     "ca_replay_guard_make changed at 1.0"),
]


def self_test(root, cc):
    ok = True
    with tempfile.TemporaryDirectory() as base:
        clean = os.path.join(base, "clean")
        for d in ("include", "docs"):
            shutil.copytree(os.path.join(root, d), os.path.join(clean, d))
        failures, *_ = check(clean, cc)
        if failures:
            print("SELF-TEST FAIL: the unmodified tree already fails:\n  " + "\n  ".join(failures))
            return 1
        for i, (what, plant, expect) in enumerate(PLANTS):
            t = os.path.join(base, f"plant{i}")
            shutil.copytree(clean, t)
            plant(t)
            failures, *_ = check(t, cc)
            hit = [f for f in failures if expect in f]
            print(f"{'ok  ' if hit else 'MISS'} {what}: {hit[0].splitlines()[0] if hit else failures}")
            ok = ok and bool(hit)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", default="")
    ap.add_argument("--lib")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--experimental-build", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if args.self_test:
        return self_test(root, args.cc)
    failures, fates, plain, fenced = check(root, args.cc, args.cxx, args.lib, args.nm,
                                           args.experimental_build)
    for f in failures:
        print("FAIL:", f)
    counts = {k: sum(1 for v in fates.values() if v == k) for k in FATES}
    print(f"{len(plain)} stable functions, {len(fenced - plain)} experimental; table: "
          + ", ".join(f"{n} {k}" for k, n in counts.items()) + f"; {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
