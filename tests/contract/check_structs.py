#!/usr/bin/env python3
"""Interface contract: every public struct can grow (the STRUCT RULE of common.h).

For the public headers (include/**/*.h, comments stripped, the CA_EXPERIMENTAL
blocks left out: they carry no ABI promise), each `typedef struct ca_X {...} ca_X;`
must be one of:

  - a fixed-size value: every member a byte array (`uint8_t bytes[N]`), like
    ca_agent_id, ca_hash, ca_signature (frozen forever);
  - VERSION: its first member is `unsigned int version` and the header
    defines CA_X_VERSION (X upper-cased without the ca_ prefix:
    ca_ledger_escrow_info -> CA_LEDGER_ESCROW_INFO_VERSION);
  - ELEMENT SIZE: every public function parameter and every struct member of
    type `ca_X *` (const or not) is followed directly by a `size_t <name>_size`
    parameter / member (the caller's sizeof), and there is at least one.

And no struct embeds another that is not a fixed-size value by value: a
growable struct inside another would move every field after it when it grows.

Usage: check_structs.py [--include DIR]
       check_structs.py --self-test   (plants violations in a temporary copy
                                       of include/; each must make it fail)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Structs another branch versions at the same time (issue 14): name -> why. The
# check fails once such a struct complies, so the entry is removed then.
PENDING = {}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def drop_experimental(text):
    """Removes every `#ifdef CA_EXPERIMENTAL ... #endif` block (nesting counted)."""
    out, depth, skip_from = [], 0, None
    for line in text.split("\n"):
        d = line.strip()
        if skip_from is None:
            if re.match(r"#\s*if(def)?\s+(defined\s*\(?\s*)?CA_EXPERIMENTAL\b", d):
                skip_from, depth = True, 1
                continue
            out.append(line)
            continue
        if re.match(r"#\s*if", d):
            depth += 1
        elif re.match(r"#\s*endif", d):
            depth -= 1
            if depth == 0:
                skip_from = None
    return "\n".join(out)


def read_headers(inc):
    text = ""
    for dirpath, _, files in os.walk(inc):
        for f in sorted(files):
            if f.endswith(".h"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    text += drop_experimental(strip_comments(fh.read())) + "\n"
    return re.sub(r"\s+", " ", text)


def members(body):
    return [m.strip() for m in body.split(";") if m.strip()]


def check(inc):
    flat = read_headers(inc)
    structs = {name: body for name, body in
               re.findall(r"typedef struct (ca_\w+) ?\{([^}]*)\} ?\1 ?;", flat)}
    macros = set(re.findall(r"#\s*define (CA_\w+)", flat))
    # Parameter lists of the public functions and member lists of the structs: the places a
    # struct pointer may appear, as token sequences split at commas / semicolons.
    decls = []
    for m in re.finditer(r"CA_API [^;{]*?\b(ca_\w+) ?\(([^;{]*?)\) ?;", flat):
        decls.append((f"{m.group(1)}()", [p.strip() for p in m.group(2).split(",")]))
    for name, body in structs.items():
        decls.append((name, members(body)))

    def is_value(body):
        ms = members(body)
        return bool(ms) and all(re.fullmatch(r"uint8_t \w+ ?\[[^\]]+\]", m) for m in ms)

    bad = [] if structs else [f"no struct definitions found under {inc}"]
    kinds = {}
    for name, body in sorted(structs.items()):
        ms = members(body)
        macro = "CA_" + name[3:].upper() + "_VERSION"
        if is_value(body):
            kinds[name] = "value"
        elif ms and ms[0] == "unsigned int version":
            kinds[name] = "version"
            if macro not in macros:
                bad.append(f"{name}: first member is `unsigned int version` but no {macro} macro")
        else:
            uses, missing = 0, []
            ptr = re.compile(rf"^(const )?{name} ?\* ?(const )?(\w+)$")
            for where, items in decls:
                for i, item in enumerate(items):
                    if not ptr.match(item):
                        continue
                    uses += 1
                    nxt = items[i + 1] if i + 1 < len(items) else ""
                    if not re.fullmatch(r"size_t \w+_size", nxt):
                        missing.append(where)
            if uses and not missing:
                kinds[name] = "element size"
            elif name in PENDING:
                kinds[name] = "pending"
            elif uses:
                bad.append(f"{name}: passed without its element size (`size_t <name>_size` right "
                           f"after the pointer) in {', '.join(sorted(set(missing)))}; or give "
                           f"it `unsigned int version` as first member and {macro}")
            else:
                bad.append(f"{name}: neither a version (first member `unsigned int version` "
                           f"and {macro}) nor an element size where it is passed")
        for m in ms:
            t = re.fullmatch(r"(?:const )?(ca_\w+) (\w+)(?: ?\[[^\]]*\])?", m)
            if t and t.group(1) in structs and not is_value(structs[t.group(1)]):
                bad.append(f"{name}: embeds the growable struct {t.group(1)} by value "
                           f"(member {t.group(2)}); refer to it by pointer")
    for name, why in PENDING.items():
        if kinds.get(name) in ("version", "element size"):
            bad.append(f"{name} is listed as pending ({why}) but complies now: remove it from "
                       f"PENDING in {os.path.basename(__file__)}")
    for b in bad:
        print("FAIL:", b)
    counts = {k: sum(1 for v in kinds.values() if v == k) for k in
              ("version", "element size", "value", "pending")}
    print(f"check_structs: {len(structs)} public structs: {counts['version']} versioned, "
          f"{counts['element size']} by element size, {counts['value']} fixed values, "
          f"{counts['pending']} pending; {len(bad)} problems")
    return 1 if bad else 0


def _edit(path, old, new):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if old not in text:
        raise SystemExit(f"self-test: '{old}' not found in {path}: update the plant")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace(old, new, 1))


PLANTS = [
    ("a new struct without version or element size",
     lambda inc: _edit(os.path.join(inc, "cyberagent/ledger.h"), "#ifdef __cplusplus\n}",
                       "typedef struct ca_ledger_fee_info { uint64_t fee; } ca_ledger_fee_info;\n"
                       "CA_API ca_status ca_ledger_fee(const ca_ledger *l, ca_ledger_fee_info *o);\n"
                       "#ifdef __cplusplus\n}"),
     "ca_ledger_fee_info: passed without its element size"),
    ("a task body that lost its version",
     lambda inc: _edit(os.path.join(inc, "cyberagent/task.h"),
                       "    unsigned int version; /* CA_TASK_BID_VERSION */\n", ""),
     "ca_task_bid: passed without its element size"),
    ("a version field without its macro",
     lambda inc: _edit(os.path.join(inc, "cyberagent/ledger.h"),
                       "#define CA_LEDGER_TOTALS_VERSION 1u", ""),
     "ca_ledger_totals: first member is `unsigned int version` but no CA_LEDGER_TOTALS_VERSION"),
    ("an array function without the element size",
     lambda inc: _edit(os.path.join(inc, "cyberagent/routing.h"),
                       "ca_routing_result *out, size_t result_size, size_t k,",
                       "ca_routing_result *out, size_t k,"),
     "ca_routing_result: passed without its element size (`size_t <name>_size` right after the "
     "pointer) in ca_routing_select()"),
    ("a growable struct embedded by value",
     lambda inc: _edit(os.path.join(inc, "cyberagent/routing.h"),
                       "    const ca_routing_weights *weights;\n",
                       "    ca_routing_weights weights;\n"),
     "ca_routing_options: embeds the growable struct ca_routing_weights by value"),
]


def self_test():
    here = os.path.dirname(os.path.abspath(__file__))
    inc_src = os.path.join(os.path.dirname(os.path.dirname(here)), "include")
    failures = 0
    cases = [("the headers as they are", None, None)] + PLANTS
    for what, plant, expect in cases:
        tmp = tempfile.mkdtemp(prefix="ca_structs_")
        try:
            inc = os.path.join(tmp, "include")
            shutil.copytree(inc_src, inc)
            if plant:
                plant(inc)
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--include", inc],
                               capture_output=True, text=True)
            out = r.stdout + r.stderr
            ok = r.returncode == 0 if plant is None else (r.returncode == 1 and expect in out)
            print(f"{'ok  ' if ok else 'FAIL'} {what}: exit {r.returncode}")
            if not ok:
                failures += 1
                print(out)
                if expect:
                    print(f"  expected exit 1 and: {expect}")
        finally:
            shutil.rmtree(tmp)
    print(f"{len(cases)} cases, {failures} failed")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--include", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))), "include"))
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    return self_test() if a.self_test else check(a.include)


if __name__ == "__main__":
    sys.exit(main())
