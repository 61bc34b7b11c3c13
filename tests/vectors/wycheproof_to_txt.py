#!/usr/bin/env python3
"""Converts a Project Wycheproof Ed25519 JSON file into the line format the C
tests read: `tcId result publickey message signature` (hex, '-' for empty).

Source of the data: google/wycheproof, testvectors_v1/ed25519_test.json
(Apache-2.0), as copied in ../shared/vectors/wycheproof/.
Usage: wycheproof_to_txt.py IN.json > OUT.txt
"""
import json
import sys


def main() -> None:
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    print(f"# {data['algorithm']} {data['numberOfTests']} tests, generated from Project Wycheproof")
    for group in data["testGroups"]:
        pk = group["publicKey"]["pk"]
        for t in group["tests"]:
            print(t["tcId"], t["result"], pk, t["msg"] or "-", t["sig"] or "-")


if __name__ == "__main__":
    main()
