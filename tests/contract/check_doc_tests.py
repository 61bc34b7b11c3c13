#!/usr/bin/env python3
"""Every test a docs page cites exists.

docs/SECURITY.md (and any page given) backs each claim with a test written as
`tests/<path>` or `tests/<path>::function`, and `::function` for another
function of the last file named. This check fails when a cited file is missing
or does not contain the cited function name, so a renamed or deleted test
cannot leave a claim without its backing.

Usage: check_doc_tests.py ROOT PAGE...
"""
import os
import re
import sys

CITE = re.compile(r"`(tests/[\w./-]+\.(?:c|py|rs|sh))(?:::(\w+))?`|`::(\w+)`")


def check(root, page):
    text = open(os.path.join(root, page), encoding="utf-8").read()
    problems, current, count = [], None, 0
    for m in CITE.finditer(text):
        if m.group(1):
            current = m.group(1)
            fn = m.group(2)
            if not os.path.isfile(os.path.join(root, current)):
                problems.append(f"{page}: cites {current}, which does not exist")
                continue
        else:
            fn = m.group(3)
            if current is None:
                problems.append(f"{page}: `::{fn}` before any test file is named")
                continue
        if fn:
            count += 1
            body = open(os.path.join(root, current), encoding="utf-8").read()
            if not re.search(r"\b" + re.escape(fn) + r"\b", body):
                problems.append(f"{page}: {current} has no {fn}")
    return problems, count


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root, problems, total = sys.argv[1], [], 0
    for page in sys.argv[2:]:
        p, n = check(root, page)
        problems += p
        total += n
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_doc_tests: {total} cited tests exist")


if __name__ == "__main__":
    main()
