#!/usr/bin/env python3
"""The docs' message field tables are the library's own.

tests/contract/wire_tables.c prints each message table (envelope, card, task
bodies, ledger op) from the rows lib/wire encodes and decodes with. Every
printed table must appear exactly once in docs/*.md between
`<!-- wire-table: ID -->` and `<!-- /wire-table -->`, byte for byte, and
every such block must name a printed table. With --update the blocks are
rewritten from the program's output instead (the markers must exist).

Usage: check_wire_tables.py --gen WIRE_TABLES_BINARY --docs DOCS_DIR [--update]
"""
import argparse
import os
import re
import subprocess
import sys

BLOCK = re.compile(r"(<!-- wire-table: (.+?) -->\n)(.*?)(<!-- /wire-table -->)", re.S)


def generated(binary):
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    tables, current = {}, None
    for line in out.splitlines(keepends=True):
        if line.startswith("@@ "):
            current = line[3:].strip()
            tables[current] = ""
        elif current is not None:
            tables[current] += line
    return tables


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True)
    ap.add_argument("--docs", required=True)
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    tables = generated(args.gen)
    seen, problems = {}, []
    for name in sorted(os.listdir(args.docs)):
        if not name.endswith(".md"):
            continue
        path = os.path.join(args.docs, name)
        text = open(path, encoding="utf-8").read()

        def block(m):
            ident, body = m.group(2), m.group(3)
            seen.setdefault(ident, []).append(name)
            if ident not in tables:
                problems.append(f"{name}: wire-table '{ident}' is no table of the library")
                return m.group(0)
            if body != tables[ident] and not args.update:
                problems.append(f"{name}: wire-table '{ident}' differs from the library's rows")
            return m.group(1) + tables[ident] + m.group(4)

        new = BLOCK.sub(block, text)
        if args.update and new != text:
            open(path, "w", encoding="utf-8").write(new)
            print(f"updated {path}")
    for ident in tables:
        where = seen.get(ident, [])
        if len(where) != 1:
            problems.append(f"wire-table '{ident}' appears {len(where)} times in docs/ (once needed)")
    for p in problems:
        print(p, file=sys.stderr)
    if problems and not args.update:
        print("run: tests/contract/check_wire_tables.py --update --gen <build>/tests/wire-tables "
              "--docs docs", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
