#!/usr/bin/env python3
"""Interface contract: the API conventions of docs/ARCHITECTURE.md and ABI.md.

For the public headers (comments stripped):
  - every options/params struct `ca_X_options` / `ca_X_params` has
    `unsigned int version` as its first member, a `CA_X_OPTIONS_VERSION` /
    `CA_X_PARAMS_VERSION` macro, and a `ca_X_options_init` / `ca_X_params_init`
    function taking (struct *, unsigned int version);
  - every opaque handle `typedef struct ca_X ca_X;` has `void ca_X_free(ca_X *)`.
"""
import os
import re
import sys


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def main():
    inc = sys.argv[1]
    text = ""
    for dirpath, _, files in os.walk(inc):
        for f in sorted(files):
            if f.endswith(".h"):
                text += strip_comments(open(os.path.join(dirpath, f), encoding="utf-8").read())
    flat = re.sub(r"\s+", " ", text)
    bad = []
    structs = re.findall(r"typedef struct (ca_(\w+)_(options|params)) \{([^}]*)\}", flat)
    for name, base, kind, body in structs:
        first = body.strip().split(";")[0].strip()
        if first != "unsigned int version":
            bad.append(f"{name}: first member is '{first}', not 'unsigned int version'")
        macro = f"CA_{base.upper()}_{kind.upper()}_VERSION"
        if not re.search(rf"#\s*define {macro}\b", flat):
            bad.append(f"{name}: no {macro} macro")
        init = rf"\b{name}_init\s*\(\s*{name}\s*\*\s*\w*\s*,\s*unsigned int\b"
        if not re.search(init, flat):
            bad.append(f"{name}: no {name}_init({name} *, unsigned int version)")
    handles = re.findall(r"typedef struct (ca_\w+) \1\s*;", flat)
    for h in handles:
        if not re.search(rf"\bvoid {h}_free\s*\(\s*{h}\s*\*", flat):
            bad.append(f"opaque handle {h} has no void {h}_free({h} *)")
    for b in bad:
        print("FAIL:", b)
    print(f"{len(structs)} options/params structs, {len(handles)} handles, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
