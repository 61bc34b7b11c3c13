#!/usr/bin/env python3
"""Interface contract: the library's layers.

The modules of lib/ form an ordered list of layers, lowest first, written once:
in docs/ARCHITECTURE.md, section "Layers" (a numbered list; one layer may name
several modules, which must not use each other). A module may use only its own
layer's files and those of the layers below. This check reads that list and
fails when a file of lib/ or include/cyberagent/ reaches above its module:

- include: a `#include "..."` (resolved like the compiler: the file's own
  directory, then lib/, then include/) of a file owned by a higher module,
  the public headers including each other included;
- use: a reference (a call, or a function pointer taken) to a function
  defined in a higher module, public `ca_` or internal `cai_`: the owner of a
  function is the module whose .c file defines it (or whose header defines
  it inline, or #defines it as a macro), wherever it is declared, so a hook
  declared in a shared header (lib/internal.h) still counts against its owner;
- declaration: a header of a lower module declaring a function a higher
  module defines (the shared header then names that module).

Owners of files: lib/<m>/... belongs to <m>; lib/internal.h to core;
include/cyberagent/<m>.h to <m>, and common.h and version.h to core (HEADER_OWNER);
include/cyberagent.h (the umbrella) uses every module. Every folder of lib/ must
appear in the list exactly once.

Usage: check_layers.py [--root ROOT] [--doc docs/ARCHITECTURE.md] [-v]
       check_layers.py --self-test   (plants violations in a temporary copy;
                                      each must make the check fail)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

DOC = "docs/ARCHITECTURE.md"
LAYER_SECTION = "## Layers"
# Public headers not named after a module.
HEADER_OWNER = {"common": "core", "version": "core"}
UMBRELLA = "include/cyberagent.h"

def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def parse_layers(doc_text):
    """[(number, [modules])] from the "Layers" section's numbered list."""
    start = doc_text.find("\n" + LAYER_SECTION + "\n")
    if start < 0:
        raise SystemExit(f"FAIL: {DOC} has no '{LAYER_SECTION}' section")
    body = doc_text[start + len(LAYER_SECTION) + 2:]
    end = body.find("\n## ")
    body = body if end < 0 else body[:end]
    layers = []
    for m in re.finditer(r"^(\d+)\. ((?:`\w+`(?:, )?)+)", body, re.M):
        layers.append((int(m.group(1)), re.findall(r"`(\w+)`", m.group(2))))
    if not layers:
        raise SystemExit(f"FAIL: {DOC}, '{LAYER_SECTION}': no numbered list of `module` names")
    return layers


def strip_comments(text):
    """Comments become spaces (newlines kept, so line numbers stay); strings stay."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_strings(text):
    """String and character literals become empty ones: their words are not references."""
    return re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'',
                  lambda m: m.group(0)[0] * 2, text)


class Source:
    """One C file: its includes, the functions it defines and declares, the names it uses."""

    def __init__(self, root, rel):
        self.rel = rel
        raw = strip_comments(read(os.path.join(root, rel)))
        # (line, name, quoted): "..." must resolve inside the tree, <...> may be a system header
        self.includes = [(raw.count("\n", 0, m.start()) + 1, m.group(1) or m.group(2), bool(m.group(1)))
                         for m in re.finditer(r'^[ \t]*#[ \t]*include[ \t]*(?:"([^"]+)"|<([^>]+)>)',
                                              raw, re.M)]
        text = strip_strings(raw)
        self.defines, self.declares, self.uses = {}, {}, []
        self.statics = set()  # functions defined static in a .c file: visible in this file only
        # Preprocessor lines (with continuations): a function-like macro defines
        # its name; the names in any directive's body are uses.
        masked = list(text)
        for m in re.finditer(r"^[ \t]*#(?:[^\n\\]|\\.)*(?:\\\n(?:[^\n\\]|\\.)*)*", text, re.M):
            line = text.count("\n", 0, m.start()) + 1
            d = re.match(r"[ \t]*#[ \t]*define[ \t]+(\w+)(\()?", m.group(0))
            body_from = 0
            if d:
                if d.group(2):
                    self.defines[d.group(1)] = line
                body_from = d.end()
            for u in re.finditer(r"\b(cai?_\w+)\b", m.group(0)[body_from:]):
                self.uses.append((line + m.group(0).count("\n", 0, body_from + u.start()),
                                  u.group(1)))
            for k in range(m.start(), m.end()):
                if masked[k] != "\n":
                    masked[k] = " "
        text = "".join(masked)
        self._scan(text)

    def _scan(self, text):
        """Brace depth outside `extern "C" { }`: names at depth 0 are declared or
        defined there, names at depth > 0 are uses (function bodies, initializers)."""
        depth, stack, n, stmt = 0, [], len(text), 0
        line_at = _line_index(text)
        resume = 0  # tokens before this offset were consumed by a parameter list
        for tok in re.finditer(r"[{};]|\b(?:cai?_\w+)", text):
            pos, c = tok.start(), tok.group(0)
            if pos < resume:
                continue
            if c == "{":
                transparent = re.search(r"\bextern\s*\"\"\s*$", text[max(0, pos - 40):pos]) is not None
                stack.append(transparent)
                depth += 0 if transparent else 1
            elif c == "}":
                if stack and not stack.pop():
                    depth -= 1
                if depth == 0:
                    stmt = pos + 1
            elif c == ";":
                if depth == 0:
                    stmt = pos + 1
            elif depth > 0:
                self.uses.append((line_at(pos), c))
            else:
                j = _skip_space(text, tok.end())
                if j >= n or text[j] != "(":
                    continue
                close = _match_paren(text, j)
                if close < 0:
                    continue
                k = _skip_attributes(text, close + 1)
                if k < n and text[k] == "{":
                    self.defines[c] = line_at(pos)
                    if self.rel.endswith(".c") and re.search(r"\bstatic\b", text[stmt:pos]):
                        self.statics.add(c)
                elif k < n and text[k] in ";,":
                    self.declares[c] = line_at(pos)
                resume = close + 1


def _line_index(text):
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_at(pos):
        lo, hi = 0, len(starts)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if starts[mid] <= pos:
                lo = mid
            else:
                hi = mid
        return lo + 1
    return line_at


def _skip_space(text, i):
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _match_paren(text, j):
    level = 0
    for k in range(j, len(text)):
        if text[k] == "(":
            level += 1
        elif text[k] == ")":
            level -= 1
            if level == 0:
                return k
    return -1


def _skip_attributes(text, i):
    """Skips macro-style attributes after a parameter list: NAME or NAME(...)."""
    while True:
        i = _skip_space(text, i)
        m = re.compile(r"[A-Za-z_]\w*").match(text, i)
        if not m:
            return i
        i = _skip_space(text, m.end())
        if i < len(text) and text[i] == "(":
            close = _match_paren(text, i)
            if close < 0:
                return i
            i = close + 1


def owner_of(rel, modules):
    """The module a file belongs to, "*" for the umbrella header, None if outside."""
    parts = rel.split("/")
    if rel == UMBRELLA:
        return "*"
    if parts[0] == "lib":
        if len(parts) == 2:
            return "core" if parts[1] == "internal.h" else None
        return parts[1]
    if parts[:2] == ["include", "cyberagent"] and len(parts) == 3:
        stem = parts[2][:-2] if parts[2].endswith(".h") else parts[2]
        return HEADER_OWNER.get(stem, stem if stem in modules else None)
    return None


def resolve(root, rel, name):
    for base in (os.path.dirname(rel), "lib", "include"):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, cand)):
            return cand.replace(os.sep, "/")
    return None


def check(root, doc=DOC):
    problems = []
    layers = parse_layers(read(os.path.join(root, doc)))
    level = {}
    for pos, (number, mods) in enumerate(layers, 1):
        if number != pos:
            problems.append(f"{doc}: layer {number} is item {pos} of the list (number them 1, 2, ...)")
        for mod in mods:
            if mod in level:
                problems.append(f"{doc}: module {mod} is listed twice")
            level[mod] = pos
    folders = sorted(d for d in os.listdir(os.path.join(root, "lib"))
                     if os.path.isdir(os.path.join(root, "lib", d)))
    for d in folders:
        if d not in level:
            problems.append(f"lib/{d}/ is a module the layer list in {doc} does not place")
    for mod in level:
        if mod not in folders:
            problems.append(f"{doc}: layer list names {mod}, which has no lib/{mod}/")
    modules = set(folders)

    files = []
    for base in ("lib", "include"):
        for dirpath, _, names in os.walk(os.path.join(root, base)):
            for f in names:
                if f.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    files.sort()
    sources = {}
    for rel in files:
        own = owner_of(rel, modules)
        if own is None:
            problems.append(f"{rel}: belongs to no module (see the owners in check_layers.py)")
            continue
        sources[rel] = (own, Source(root, rel))

    func_owner = {}
    for rel, (own, src) in sources.items():
        if own == "*":
            continue
        for name, line in src.defines.items():
            if name in src.statics:
                continue
            if rel.endswith(".c") or name not in func_owner:
                func_owner[name] = (own, f"{rel}:{line}")
    # Functions whose definition the scan cannot see (made by a macro with ##)
    # belong to the module whose own header declares them.
    for rel, (own, src) in sources.items():
        if own not in ("*", "core") and rel.endswith(".h"):
            for name, line in src.declares.items():
                func_owner.setdefault(name, (own, f"{rel}:{line} (declared)"))

    def above(user, used):
        """True when `user` may not use `used`."""
        if user == "*" or user == used:
            return False
        return used == "*" or level.get(used, 0) >= level.get(user, 0)

    def report(rel, line, text):
        problems.append(f"{rel}:{line}: {text}")

    edges = {}  # module -> {module used: [how, ...]}
    for rel, (own, src) in sources.items():
        for line, name, quoted in src.includes:
            target = resolve(root, rel, name)
            if target is None:
                if not quoted:
                    continue  # a system header
                problems.append(f'{rel}:{line}: #include "{name}" resolves to no file in '
                                f"the file's folder, lib/ or include/")
                continue
            tgt = owner_of(target, modules)
            if tgt is None or tgt == own:
                continue
            edges.setdefault(own, {}).setdefault(tgt, set()).add(f'#include "{name}"')
            if above(own, tgt):
                report(rel, line,
                       f'{own} (layer {level.get(own)}) includes "{name}" of '
                       f"{'every module' if tgt == '*' else tgt} (layer {level.get(tgt, 'top')})")
        for line, name in src.uses:
            if name not in func_owner or name in src.defines:
                continue
            tgt, where = func_owner[name]
            if tgt == own:
                continue
            edges.setdefault(own, {}).setdefault(tgt, set()).add(name)
            if above(own, tgt):
                report(rel, line,
                       f"{own} (layer {level.get(own)}) uses {name}, defined by {tgt} "
                       f"(layer {level.get(tgt)}) at {where}")
        if rel.endswith(".h"):
            for name, line in src.declares.items():
                if name not in func_owner:
                    continue
                tgt, where = func_owner[name]
                if tgt != own and above(own, tgt):
                    report(rel, line,
                           f"{own} (layer {level.get(own)}) declares {name}, defined by {tgt} "
                           f"(layer {level.get(tgt)}) at {where}")
    return layers, edges, problems


def main_check(root, doc, verbose):
    layers, edges, problems = check(root, doc)
    order = " < ".join(", ".join(mods) for _, mods in layers)
    print(f"layers, lowest first: {order}")
    for mod in [m for _, mods in layers for m in mods]:
        used = edges.get(mod, {})
        print(f"  {mod} uses: {', '.join(sorted(e for e in used if e != '*')) or '-'}")
        if verbose:
            for tgt in sorted(used):
                print(f"    {tgt}: {' '.join(sorted(used[tgt]))}")
    for p in problems:
        print("FAIL:", p)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


# ---- self-test: each planted violation must make the check fail with its message ----

def _edit(tmp, rel, old, new):
    path = os.path.join(tmp, rel)
    text = read(path)
    if old not in text:
        raise AssertionError(f"self-test fixture out of date: {old!r} not in {rel}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace(old, new, 1))


def _append(tmp, rel, text):
    with open(os.path.join(tmp, rel), "a", encoding="utf-8") as fh:
        fh.write(text)


PLANTS = [
    ("a module includes an internal header of a higher one",
     lambda t: _edit(t, "lib/identity/identity.c", '#include "internal.h"',
                     '#include "internal.h"\n#include "ledger/ledger_internal.h"'),
     "identity (layer 3) includes \"ledger/ledger_internal.h\" of ledger"),
    ("a module includes a higher module's public header with <...>",
     lambda t: _edit(t, "lib/card/card.c", '#include "internal.h"',
                     '#include "internal.h"\n#include <cyberagent/reputation.h>'),
     "card (layer 6) includes \"cyberagent/reputation.h\" of reputation"),
    ("a static function of the same name elsewhere does not hide a use",
     lambda t: (_append(t, "lib/wire/wire.c",
                        "\nstatic int cai_task_kind_word(void)\n{\n    return 0;\n}\n"),
                _append(t, "lib/identity/did.c",
                        "\nconst char *cai_identity_planted(void)\n{\n"
                        "    return cai_task_kind_word(1);\n}\n")),
     "identity (layer 3) uses cai_task_kind_word, defined by task"),
    ("a public header includes a higher module's header",
     lambda t: _edit(t, "include/cyberagent/envelope.h", '#include "identity.h"',
                     '#include "identity.h"\n#include "task.h"'),
     "envelope (layer 4) includes \"task.h\" of task"),
    ("a lower module calls the ledger's stake hook",
     lambda t: _append(t, "lib/task/task.c",
                       "\nuint64_t cai_task_planted(const struct ca_ledger *l)\n{\n"
                       "    return cai_ledger_weighed_stake(l, NULL, 0);\n}\n"),
     "task (layer 8) uses cai_ledger_weighed_stake, defined by ledger"),
    ("a lower module takes a higher module's public function as a pointer",
     lambda t: _append(t, "lib/card/card.c",
                       "\nvoid *cai_card_planted(void)\n{\n    return (void *)ca_routing_free;\n}\n"),
     "card (layer 6) uses ca_routing_free, defined by routing"),
    ("a higher module's function is used in a lower header's macro",
     lambda t: _edit(t, "lib/wire/wire.h", "#include \"cyberagent/common.h\"",
                     "#include \"cyberagent/common.h\"\n#define CAI_PLANTED(x) cai_task_kind(x)"),
     "wire (layer 2) uses cai_task_kind, defined by task"),
    ("a new folder in lib/ that the list does not place",
     lambda t: (os.makedirs(os.path.join(t, "lib", "market")),
                _append(t, "lib/market/market.c", '#include "internal.h"\n')),
     "lib/market/ is a module the layer list in docs/ARCHITECTURE.md does not place"),
    ("the document puts reputation below the ledger it uses",
     lambda t: (_edit(t, DOC, "9. `ledger`", "9. `reputation`"),
                _edit(t, DOC, "10. `reputation`", "10. `ledger`")),
     'reputation (layer 9) includes "ledger.h" of ledger (layer 10)'),
    ("the document lists a module twice",
     lambda t: _edit(t, DOC, "10. `reputation`", "10. `ledger`, `reputation`"),
     "module ledger is listed twice"),
    ("peers that use each other",
     lambda t: (_edit(t, DOC, "9. `ledger`", "9. `ledger`, `reputation`"),
                _edit(t, DOC, "10. `reputation`", "10. `routing`"),
                _edit(t, DOC, "11. `routing`", "")),
     "reputation (layer 9) uses ca_ledger_escrow, defined by ledger (layer 9)"),
    ("core's shared header declares a function a higher module defines",
     lambda t: _edit(t, "lib/internal.h", "/* Checks a required pointer argument. */",
                     "struct ca_ledger;\nuint64_t cai_ledger_weighed_stake(const struct ca_ledger *l,"
                     " const ca_agent_id *id, uint64_t now_ms);\n\n"
                     "/* Checks a required pointer argument. */"),
     "declares cai_ledger_weighed_stake, defined by ledger"),
]


def self_test():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    failures = 0

    def run(tmp):
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--root", tmp],
                           capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    cases = [("the tree as it is", None, None)] + PLANTS
    for what, plant, expect in cases:
        tmp = tempfile.mkdtemp(prefix="ca_layers_")
        try:
            for d in ("lib", "include"):
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
            os.makedirs(os.path.join(tmp, "docs"))
            shutil.copy(os.path.join(root, DOC), os.path.join(tmp, DOC))
            if plant:
                plant(tmp)
            rc, out = run(tmp)
            ok = rc == 0 if plant is None else (rc == 1 and expect in out)
            print(f"{'ok  ' if ok else 'FAIL'} {what}: exit {rc}")
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
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    ap.add_argument("--doc", default=DOC)
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true", help="name what each use is")
    a = ap.parse_args()
    return self_test() if a.self_test else main_check(a.root, a.doc, a.verbose)


if __name__ == "__main__":
    sys.exit(main())
