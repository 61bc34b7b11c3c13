#!/usr/bin/env python3
"""Interface contract: status codes.

Every status code in include/cyberagent/common.h has a unique value, lies
inside the block its module comment announces ("/* ledger: -400 .. -499 */"),
and is named in lib/core/status.c (CAI_NAME(...)), so ca_status_str never
answers CA_ERR_UNKNOWN for a real code.
"""
import re
import sys


def main():
    common, status_c = sys.argv[1], sys.argv[2]
    text = open(common, encoding="utf-8").read()
    named = set(re.findall(r"CAI_NAME\((CA_\w+)\)", open(status_c, encoding="utf-8").read()))
    bad, seen = [], {}
    block = None
    token = re.compile(r"/\*\s*([\w ]+):\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*\*/|\b(CA_\w+)\s*=\s*(-?\d+)")
    for m in token.finditer(text):
        if m.group(1):
            hi, lo = int(m.group(2)), int(m.group(3))
            block = (m.group(1).strip(), min(hi, lo), max(hi, lo))
            continue
        name, value = m.group(4), int(m.group(5))
        if name == "CA_STATUS_RESERVED_END_":
            continue
        if value in seen:
            bad.append(f"{name} = {value} reuses the value of {seen[value]}")
        seen[value] = name
        if value != 0:
            if block is None:
                bad.append(f"{name} = {value} is not inside a module block comment")
            elif not block[1] <= value <= block[2]:
                bad.append(f"{name} = {value} is outside the {block[0]} block "
                           f"{block[2]} .. {block[1]}")
        if name not in named:
            bad.append(f"{name} has no CAI_NAME({name}) in lib/core/status.c")
    for b in bad:
        print("FAIL:", b)
    print(f"{len(seen)} status codes, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
