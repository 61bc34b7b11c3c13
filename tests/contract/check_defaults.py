#!/usr/bin/env python3
"""Interface contract: every documented default is the one init writes.

The rule (docs/ABI.md, "Defaults"): the default of field F of an options or
params struct `ca_S[_options]` is a macro named CA_<S>_<F>_DEFAULT (S and F
upper-cased, `_options` dropped: CA_ROUTING_MAX_AGENTS_DEFAULT,
CA_ROUTING_QUERY_MAX_PRICE_DEFAULT, CA_ROUTING_WEIGHTS_PRICE_DEFAULT). The
field's comment names that macro (and may give its value in parentheses:
"default CA_KAD_BUCKET_SIZE_DEFAULT (20)"); a default that means "unset" is
written `default 0`, `default NULL` or `default all-zero`; a nested struct
names the function that fills it. An init documented as "Zeroes the params"
gives 0 for every field that states nothing else.

This script finds every struct that has `ca_X_init(ca_X *, unsigned int
version)` or `void ca_X_default(ca_X *)` in include/cyberagent/*.h, reads the
comments of each field (its own trailing comment and the comment block above
it or above its group), and fails when

  - a field states no default, states it as a bare number, or names a macro
    that is not its CA_<S>_<F>_DEFAULT;
  - a #define CA_..._DEFAULT... is not the default of any field (a stale
    or second name);
  - a CA_..._DEFAULT... named in a header or in docs/*.md does not exist;

then compiles a small C probe against the headers and the built library that
fills every struct with 0xA5 bytes, calls its init at the current version,
and compares each field with the documented default (so a comment or macro
saying 16 while init writes 64 fails), and each value written next to a
default's name ("CA_X_DEFAULT (64)", "`CA_X_DEFAULT` = 64") with the macro.

Standard library only. Exit status 0 when everything matches, 1 otherwise.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

# An integer as the docs write one: 2^N, digits grouped by spaces, commas or
# underscores, or plain digits (never the start of 1e-9 or 1.5).
NUMBER = r"(?:2\^\d+|\d{1,3}(?:[ ,_]\d{3})+|\d+)(?!\d|\.\d|[eE][-+]?\d|[xX])"
# A unit after a value written next to a default's name: "= 24 h", "(256 MiB)".
UNITS = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000, "hours": 3600000, "day": 86400000,
         "days": 86400000, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
UNIT = r"(?:\s*(%s)\b)?" % "|".join(sorted(UNITS, key=len, reverse=True))
ZERO_WORDS = ("0", "NULL", "all-zero")


def parse_number(text, unit=None):
    if text.startswith("2^"):
        value = 2 ** int(text[2:])
    else:
        value = int(re.sub(r"[ ,_]", "", text))
    return value * UNITS[unit] if unit else value


class Field:
    def __init__(self, decl, trailing, leading):
        self.decl = " ".join(decl.split())
        self.trailing = trailing
        self.leading = leading
        toks = re.findall(r"[A-Za-z_]\w*|\*|\[", self.decl)
        self.pointer = "*" in toks
        self.array = "[" in toks
        words = [t for t in toks if t not in ("const", "volatile", "struct", "*", "[")]
        self.name = words[-1] if not self.array else re.findall(r"(\w+)\s*\[", self.decl)[0]
        self.type = " ".join(w for w in words if w != self.name)

    @property
    def comment(self):
        return " ".join((self.leading + " " + self.trailing).split())


def comment_blocks(body):
    """(start, end, text) of every /* */ comment in a struct body."""
    return [(m.start(), m.end(), m.group(1)) for m in re.finditer(r"/\*(.*?)\*/", body, re.S)]


def clean(text):
    return " ".join(line.strip().lstrip("*").strip() for line in text.splitlines())


def parse_struct(body):
    """Fields of a struct body, each with its trailing and (own or inherited) leading comment."""
    comments = comment_blocks(body)
    fields = []
    pos = 0
    group_leading = ""
    no_comments = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), body, flags=re.S)
    for m in re.finditer(r"[^;]*;", no_comments):
        start, end = m.start(), m.end()
        decl = m.group(0)[:-1].strip()
        if not decl:
            continue
        # Declaration text begins at its first non-space character.
        decl_start = start + (len(m.group(0)) - len(m.group(0).lstrip()))
        line_end = body.find("\n", end)
        line_end = len(body) if line_end < 0 else line_end
        own_leading = [c for c in comments if pos <= c[0] and c[1] <= decl_start]
        trailing = [c for c in comments if end <= c[0] < line_end]
        if own_leading:
            group_leading = " ".join(clean(c[2]) for c in own_leading)
        f = Field(decl, " ".join(clean(c[2]) for c in trailing), group_leading)
        fields.append(f)
        pos = trailing[-1][1] if trailing else end
    return fields


def preceding_comment(text, index):
    """The comment block that ends right before `index` (only whitespace between)."""
    head = text[:index].rstrip()
    if not head.endswith("*/"):
        return ""
    start = head.rfind("/*")
    return clean(head[start + 2:-2])


class Headers:
    def __init__(self, include):
        self.files = {}
        d = os.path.join(include, "cyberagent")
        for f in sorted(os.listdir(d)):
            if f.endswith(".h"):
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    self.files[f] = fh.read()
        self.all = "\n".join(self.files.values())
        self.defines = dict(re.findall(r"^\s*#\s*define\s+(CA_\w+)\b[ \t]*([^\n]*)", self.all, re.M))
        self.structs = {}  # name -> (header, fields, filler, zeroed, version macro)
        fillers = []
        for hname, text in self.files.items():
            for m in re.finditer(
                    r"CA_API\s+ca_status\s+(\w+_init)\s*\(\s*(ca_\w+)\s*\*\s*\w+\s*,\s*unsigned int \w+\s*\)",
                    text):
                fillers.append((hname, m.group(1), m.group(2), "init", preceding_comment(text, m.start())))
            for m in re.finditer(r"CA_API\s+void\s+(\w+_default)\s*\(\s*(ca_\w+)\s*\*\s*\w+\s*\)", text):
                fillers.append((hname, m.group(1), m.group(2), "default", preceding_comment(text, m.start())))
        for hname, fn, sname, kind, doc in fillers:
            text = self.files[hname]
            m = re.search(r"typedef struct %s \{(.*?)\n\} %s;" % (sname, sname), text, re.S)
            if not m:
                raise SystemExit("check_defaults: no definition of %s in %s" % (sname, hname))
            fields = parse_struct(m.group(1))
            version = None
            if fields and fields[0].name == "version":
                vm = re.search(r"\b(CA_\w+_VERSION)\b", fields[0].trailing)
                version = vm.group(1) if vm else None
            self.structs[sname] = dict(header=hname, fields=fields, fn=fn, kind=kind,
                                       zeroed=bool(re.search(r"\bZeroes\b", doc)), version=version)

    @staticmethod
    def prefix(sname):
        base = sname[3:]
        if base.endswith("_options"):
            base = base[: -len("_options")]
        return "CA_" + base.upper() + "_"

    def canonical(self, sname, field):
        return self.prefix(sname) + field.upper() + "_DEFAULT"


def plan(headers):
    """Convention problems and the expectations the probe checks."""
    problems = []
    expect = {}  # sname -> [(field, kind, arg)]
    canon_all = set()
    for sname, s in headers.structs.items():
        for f in s["fields"]:
            canon_all.add(headers.canonical(sname, f.name))
    for sname, s in headers.structs.items():
        where = "%s (%s)" % (sname, s["header"])
        canon_here = {headers.canonical(sname, f.name) for f in s["fields"]}
        rows = []
        for f in s["fields"]:
            if f.name == "version":
                if s["version"] is None:
                    problems.append("%s.version: the comment names no CA_..._VERSION macro" % where)
                continue
            text = f.comment
            canon = headers.canonical(sname, f.name)
            for m in re.finditer(r"(?i:\bdefaults?\b):?\s+(?:and ceiling\s+)?(CA_\w+)", text):
                name = m.group(1)
                if name not in canon_here:
                    problems.append("%s.%s: default named %s, which is no field's CA_<S>_<F>_DEFAULT "
                                    "(expected %s)" % (where, f.name, name, canon))
            for m in re.finditer(r"(?i:\bdefaults?\b):?\s+(?:and ceiling\s+)?(%s)" % NUMBER, f.trailing + " " + f.leading):
                if parse_number(m.group(1)) != 0:
                    problems.append("%s.%s: default given as the bare number %s; name %s"
                                    % (where, f.name, m.group(1), canon))
            nested = f.type if (not f.pointer and f.type in headers.structs) else None
            zero_word = re.search(r"(?i:\bdefaults?\b):?\s+(%s)(?![\w-])" % "|".join(map(re.escape, ZERO_WORDS)),
                                  text)
            if re.search(r"\b%s\b" % canon, text):
                if canon not in headers.defines:
                    problems.append("%s.%s: %s is named but not defined" % (where, f.name, canon))
                    continue
                rows.append((f, "macro", canon))
            elif nested:
                filler = headers.structs[nested]["fn"]
                if filler not in text:
                    problems.append("%s.%s: a nested %s; the comment must name %s"
                                    % (where, f.name, nested, filler))
                rows.append((f, "nested", nested))
            elif zero_word or s["zeroed"]:
                rows.append((f, "zero", None))
            else:
                problems.append("%s.%s: no documented default (name %s, or write 'default 0')"
                                % (where, f.name, canon))
        expect[sname] = rows
    for name in sorted(headers.defines):
        if "_DEFAULT" in name and name not in canon_all:
            problems.append("#define %s: not the CA_<S>_<F>_DEFAULT of any options field "
                            "(a default is named after its struct and field)" % name)
    return problems, expect


def documented_values(headers, docs):
    """(macro, value, where) for every value written next to a default's name."""
    out = []
    sources = [("include/cyberagent/" + h, t) for h, t in headers.files.items()]
    for path in docs:
        with open(path, encoding="utf-8") as fh:
            sources.append((os.path.relpath(path, os.path.dirname(os.path.dirname(path))), fh.read()))
    problems = []
    for where, text in sources:
        flat = re.sub(r"\s*\n\s*\*?\s*", " ", text)  # comment lines joined
        for m in re.finditer(r"\b(CA_\w+_DEFAULT)\b`?\s*(?:\(|=|\|)\s*(%s)%s" % (NUMBER, UNIT), flat):
            if m.group(1) in headers.defines:
                out.append((m.group(1), parse_number(m.group(2), m.group(3)), where))
        for m in re.finditer(r"\b(CA_\w+_DEFAULT)\b`?\s*(?:\(|=|\|)\s*(\d+(?:\.\d+)?[eE][-+]?\d+)", flat):
            if m.group(1) in headers.defines:
                out.append((m.group(1), float(m.group(2)), where))
        for m in re.finditer(r"\bCA_\w*_DEFAULT\w*", text):
            if m.group(0) not in headers.defines:
                problems.append("%s: names %s, which no header defines" % (where, m.group(0)))
    return problems, out


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def probe_source(headers, expect, values):
    lines = [
        "#include <stdio.h>",
        "#include <string.h>",
        "#include <cyberagent.h>",
        "static int bad;",
        "static void eq_u(const char *what, unsigned long long got, unsigned long long want)",
        "{",
        "    if (got != want) {",
        '        printf("MISMATCH %s %llu, documented %llu\\n", what, got, want);',
        "        bad = 1;",
        "    }",
        "}",
        "static void eq_d(const char *what, double got, double want)",
        "{",
        "    if (!(got == want)) {",
        '        printf("MISMATCH %s %.17g, documented %.17g\\n", what, got, want);',
        "        bad = 1;",
        "    }",
        "}",
        "static void zero(const char *what, const void *p, size_t n)",
        "{",
        "    const unsigned char *b = p;",
        "    for (size_t i = 0; i < n; i++)",
        "        if (b[i] != 0) {",
        '            printf("MISMATCH %s not the documented zero\\n", what);',
        "            bad = 1;",
        "            return;",
        "        }",
        "}",
        "static void null(const char *what, const void *p)",
        "{",
        "    if (p != NULL) {",
        '        printf("MISMATCH %s not the documented NULL\\n", what);',
        "        bad = 1;",
        "    }",
        "}",
        "int main(void)",
        "{",
        "    (void)eq_u;",
        "    (void)eq_d;",
        "    (void)zero;",
        "    (void)null;",
    ]
    count = [0]

    def checks(sname, access, out, label):
        for f, kind, arg in expect[sname]:
            what = c_string("%s.%s after init:" % (label, f.name))
            lv = "%s.%s" % (access, f.name)
            count[0] += 1
            if kind == "nested":
                checks(arg, lv, out, "%s.%s" % (label, f.name))
                count[0] -= 1
            elif kind == "zero":
                if f.pointer:
                    out.append("    null(%s, (const void *)%s);" % (what, lv))
                else:
                    out.append("    zero(%s, &%s, sizeof %s);" % (what, lv, lv))
            elif f.type in ("double", "float"):
                out.append("    eq_d(%s, %s, (double)(%s));" % (what, lv, arg))
            else:
                out.append("    eq_u(%s, (unsigned long long)%s, (unsigned long long)(%s));"
                           % (what, lv, arg))

    for sname, s in sorted(headers.structs.items()):
        lines.append("    {")
        lines.append("        %s v;" % sname)
        lines.append("        memset(&v, 0xA5, sizeof v);")
        if s["kind"] == "init":
            lines.append("        if (%s(&v, %s) != CA_OK) {" % (s["fn"], s["version"]))
            lines.append('            printf("FAIL %s(current version)\\n");' % s["fn"])
            lines.append("            return 1;")
            lines.append("        }")
            lines.append("        eq_u(%s, v.version, %s);" % (c_string(sname + ".version"), s["version"]))
        else:
            lines.append("        %s(&v);" % s["fn"])
        body = []
        checks(sname, "v", body, sname)
        lines += ["    " + b for b in body]
        lines.append("    }")
    for macro, value, where in values:
        what = c_string("the value of %s, written in %s," % (macro, where))
        if isinstance(value, float):
            lines.append("    eq_d(%s, (double)(%s), %r);" % (what, macro, value))
        else:
            lines.append("    eq_u(%s, (unsigned long long)(%s), %dull);" % (what, macro, value))
    lines.append('    printf("%s\\n", bad ? "probe: mismatches" : "probe: all match");')
    lines.append("    return bad;")
    lines.append("}")
    return "\n".join(lines) + "\n", count[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--include", required=True)
    ap.add_argument("--lib", required=True, help="the built libcyberagent shared library")
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cflags", default="", help="extra compiler flags (sanitizers of the library)")
    ap.add_argument("--docs", default=None, help="folder of *.md pages to check too")
    args = ap.parse_args()

    headers = Headers(args.include)
    problems, expect = plan(headers)
    docs = []
    if args.docs:
        docs = [os.path.join(args.docs, f) for f in sorted(os.listdir(args.docs)) if f.endswith(".md")]
    p2, values = documented_values(headers, docs)
    problems += p2
    for p in problems:
        print("FAIL:", p)

    src, nfields = probe_source(headers, expect, values)
    libdir = os.path.dirname(os.path.abspath(args.lib))
    with tempfile.TemporaryDirectory() as tmp:
        c = os.path.join(tmp, "defaults_probe.c")
        exe = os.path.join(tmp, "defaults_probe")
        with open(c, "w", encoding="utf-8") as fh:
            fh.write(src)
        cmd = ([args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror"] + shlex.split(args.cflags)
               + ["-I", args.include, c, "-o", exe, os.path.abspath(args.lib), "-Wl,-rpath," + libdir])
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL: the probe does not compile:\n" + r.stdout + r.stderr)
            return 1
        r = subprocess.run([exe], capture_output=True, text=True)
        sys.stdout.write(r.stdout + r.stderr)
        if r.returncode != 0:
            problems.append("probe")
    print("check_defaults: %d structs, %d fields, %d documented values; %s"
          % (len(headers.structs), nfields, len(values), "FAIL" if problems else "all match"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
