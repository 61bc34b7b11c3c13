#!/usr/bin/env python3
"""Interface contract: the README's Quick start.

The "## Quick start" section holds exactly one ```sh block with exactly two
commands, one per line, and both name files that exist and are executable
(the first runs the demo, the second every test; .ci/run runs the second).
"""
import os
import re
import sys


def main():
    readme = sys.argv[1]
    root = os.path.dirname(os.path.abspath(readme))
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        print("FAIL: README.md has no '## Quick start' section")
        return 1
    blocks = re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M)
    if len(blocks) != 1:
        print(f"FAIL: Quick start has {len(blocks)} ```sh blocks, expected exactly one")
        return 1
    cmds = [l for l in blocks[0].splitlines() if l.strip()]
    bad = []
    if len(cmds) != 2:
        bad.append(f"Quick start has {len(cmds)} commands, expected exactly two: {cmds}")
    for c in cmds:
        exe = c.split()[0]
        path = os.path.join(root, exe)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            bad.append(f"'{exe}' is not an executable file in the repository")
    ci = os.path.join(root, ".ci", "run")
    if len(cmds) == 2 and os.path.exists(ci) and cmds[1].split()[0].lstrip("./") not in open(ci).read():
        bad.append(f".ci/run does not run the second command '{cmds[1]}'")
    for b in bad:
        print("FAIL:", b)
    print(f"Quick start: {cmds}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
