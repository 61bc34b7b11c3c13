#!/usr/bin/env python3
"""Drift check: the public C headers against the Python and Rust bindings.

Standard library only. It reads

  * every public header under include/ (declarations marked CA_API, the
    struct definitions and the numeric #define constants),
  * the Python signature table bindings/python/cyberagent/_sigs.py (imported
    by file path; importing it loads no library),
  * the Rust declarations in bindings/rust/cyberagent-sys/src/lib.rs
    (`extern "C"` blocks, `#[repr(C)]` structs, `pub const`, `pub type`),

and compares, for every exported function, the name, the number of
parameters, the kind of each parameter and the return type. A kind is an
integer width ("i32", "u64", "usize", ...), "bool", "void", a pointer
("*" for bytes/text/void, "*ca_agent_id" for a pointer to a public struct or
handle, "**ca_identity" for a handle out-parameter), "fn" for a callback, or
"struct:NAME" for a struct passed by value. Public struct layouts (field
names and kinds) and numeric CA_ constants are compared as well.

Python's ctypes cannot tell size_t from uint64_t (they are the same type
object on LP64), so for Python an integer kind is compared by width and
signedness; Rust is compared exactly (usize is not u64).

Any missing, extra or mismatched item prints one line naming it and the exit
status is 1. `--suggest` prints draft declarations for functions the
bindings lack.
"""

import argparse
import ctypes
import importlib.util
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

C_PRIMITIVES = {
    "void": "void",
    "char": "i8",
    "signed char": "i8",
    "unsigned char": "u8",
    "short": "i16",
    "short int": "i16",
    "unsigned short": "u16",
    "unsigned short int": "u16",
    "int": "i32",
    "signed": "i32",
    "signed int": "i32",
    "unsigned": "u32",
    "unsigned int": "u32",
    "long": "i64",
    "long int": "i64",
    "unsigned long": "u64",
    "unsigned long int": "u64",
    "long long": "i64",
    "long long int": "i64",
    "unsigned long long": "u64",
    "unsigned long long int": "u64",
    "int8_t": "i8",
    "uint8_t": "u8",
    "int16_t": "i16",
    "uint16_t": "u16",
    "int32_t": "i32",
    "uint32_t": "u32",
    "int64_t": "i64",
    "uint64_t": "u64",
    "size_t": "usize",
    "ssize_t": "isize",
    "ptrdiff_t": "isize",
    "intptr_t": "isize",
    "uintptr_t": "usize",
    "_Bool": "bool",
    "bool": "bool",
    "float": "f32",
    "double": "f64",
}

RUST_PRIMITIVES = {
    "u8": "u8", "i8": "i8", "u16": "u16", "i16": "i16", "u32": "u32", "i32": "i32",
    "u64": "u64", "i64": "i64", "usize": "usize", "isize": "isize", "bool": "bool",
    "f32": "f32", "f64": "f64", "c_char": "i8", "c_schar": "i8", "c_uchar": "u8",
    "c_short": "i16", "c_ushort": "u16", "c_int": "i32", "c_uint": "u32",
    "c_long": "i64", "c_ulong": "u64", "c_longlong": "i64", "c_ulonglong": "u64",
    "c_void": "void", "()": "void",
}

TYPE_WORDS = {"int", "long", "char", "short", "unsigned", "signed", "double", "float", "void"}


def pointee_suffix(kind):
    """What a pointer kind says about its target: nothing for bytes, text, void
    and callbacks ("*"), the struct or handle name, or an integer wider than a
    byte ("*u64" for a uint64_t out-parameter), or a further pointer."""
    if kind.startswith("struct:"):
        return kind[len("struct:"):]
    if kind in ("i8", "u8", "void", "fn", "enum") or kind.startswith("?"):
        return ""
    return kind


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, line):
        self.lines.append(line)


# ---------------------------------------------------------------- C headers


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def eval_condition(expr, defined):
    """Tiny #if evaluator: defined(X), !, &&, ||, integers. Unknown names are 0."""
    expr = re.sub(r"defined\s*\(\s*(\w+)\s*\)", lambda m: "1" if m.group(1) in defined else "0", expr)
    expr = re.sub(r"defined\s+(\w+)", lambda m: "1" if m.group(1) in defined else "0", expr)
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    expr = re.sub(r"\b(\d+)[uUlL]*\b", r"\1", expr)
    expr = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: m.group(0) if m.group(0) in ("and", "or", "not") else "0", expr)
    try:
        return bool(eval(expr, {"__builtins__": {}}, {}))  # noqa: S307 - digits and operators only
    except Exception:
        return True


def preprocess(text, defined, macros):
    """Drops preprocessor lines, keeps the active branch of every #if, collects numeric macros.

    The model is a GNU/Linux C compiler without CA_EXPERIMENTAL and without
    __cplusplus: what the default build exports.
    """
    out = []
    stack = []  # (branch_active, any_taken, parent_active)
    active = True
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + " " + lines[i]
        i += 1
        s = line.strip()
        if not s.startswith("#"):
            if active:
                out.append(line)
            continue
        m = re.match(r"#\s*(\w+)\s*(.*)", s)
        if not m:
            continue
        d, rest = m.group(1), m.group(2).strip()
        if d in ("if", "ifdef", "ifndef"):
            if d == "ifdef":
                cond = rest.split()[0] in defined
            elif d == "ifndef":
                cond = rest.split()[0] not in defined
            else:
                cond = eval_condition(rest, defined)
            stack.append([active and cond, cond, active])
            active = active and cond
        elif d == "elif":
            top = stack[-1]
            cond = (not top[1]) and eval_condition(rest, defined)
            top[1] = top[1] or cond
            top[0] = top[2] and cond
            active = top[0]
        elif d == "else":
            top = stack[-1]
            cond = not top[1]
            top[1] = True
            top[0] = top[2] and cond
            active = top[0]
        elif d == "endif":
            top = stack.pop()
            active = top[2]
        elif d == "define" and active:
            dm = re.match(r"(\w+)(\([^)]*\))?\s*(.*)", rest)
            if dm:
                defined.add(dm.group(1))
                if dm.group(2) is None:
                    val = parse_c_number(dm.group(3), macros)
                    if val is not None:
                        macros[dm.group(1)] = val
    return "\n".join(out)


def parse_c_number(expr, macros):
    expr = expr.strip()
    if not expr or '"' in expr or "'" in expr:
        return None
    py = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr)
    names = re.findall(r"\b[A-Za-z_]\w*\b", py)
    for n in names:
        if n not in macros:
            return None
    py = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: str(macros[m.group(0)]), py)
    if not re.fullmatch(r"[0-9xXa-fA-F\s()+\-*/<>|&~]+", py):
        return None
    try:
        val = eval(py.replace("/", "//"), {"__builtins__": {}}, {})  # noqa: S307
    except Exception:
        return None
    return val if isinstance(val, int) else None


def split_top(s, sep=","):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([<{":
            depth += 1
        elif ch in ")]>}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts]


class CHeaders:
    def __init__(self, include_dir):
        self.functions = {}  # name -> (ret_kind, [param kinds], header)
        self.raw = {}  # name -> (return text, [parameter texts]) for --suggest
        self.struct_order = []
        self.structs = {}  # name -> [(field, kind)]
        self.opaque = set()
        self.enums = set()
        self.typedefs = {}  # name -> kind
        self.macros = {}
        self.files = []
        for dirpath, _dirs, files in os.walk(include_dir):
            for f in sorted(files):
                if f.endswith(".h"):
                    self.files.append(os.path.join(dirpath, f))
        self.files.sort()
        defined = {"__GNUC__", "__linux__", "__x86_64__", "__LP64__"}
        texts = []
        self.text_all = ""
        for path in self.files:
            with open(path, encoding="utf-8") as fh:
                raw = strip_comments(fh.read())
            texts.append((path, preprocess(raw, defined, self.macros)))
            self.text_all += texts[-1][1] + "\n"
        # Typedefs first (from every header), then declarations.
        # Twice: a struct field may name a type of a header read later (card.h
        # before common.h); the second pass sees every typedef.
        for _pass in range(2):
            self.struct_order = []
            for _path, text in texts:
                self._collect_types(text)
        for path, text in texts:
            self._collect_functions(text, os.path.relpath(path, ROOT))

    def _collect_types(self, text):
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
            name = m.group(3)
            fields = []
            for decl in m.group(2).split(";"):
                decl = decl.strip()
                if not decl:
                    continue
                fields.append(self._field(decl))
            self.structs[name] = fields
            self.struct_order.append(name)
            self.typedefs[name] = "struct:" + name
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s+(\w+)\s*;", text):
            self.opaque.add(m.group(2))
            self.typedefs[m.group(2)] = "struct:" + m.group(2)
        for m in re.finditer(r"typedef\s+enum\s*\w*\s*\{.*?\}\s*(\w+)\s*;", text, re.S):
            self.enums.add(m.group(1))
            self.typedefs[m.group(1)] = "i32"  # enums are int-sized here (gcc, clang)
        # Enumerators (status codes, ...) are checked like numeric macros.
        for m in re.finditer(r"\benum\s*\w*\s*\{(.*?)\}", text, re.S):
            for item in m.group(1).split(","):
                em = re.match(r"\s*(CA_\w+)\s*=\s*(.+?)\s*$", item, re.S)
                if em:
                    val = parse_c_number(em.group(2), self.macros)
                    if val is not None:
                        self.macros[em.group(1)] = val
        for m in re.finditer(r"typedef\s+[^;{}]*?\(\s*\*\s*(\w+)\s*\)\s*\([^;]*\)\s*;", text, re.S):
            self.typedefs[m.group(1)] = "fn"
        for m in re.finditer(r"typedef\s+([A-Za-z_][\w\s]*?)\s+(\w+)\s*;", text):
            base = " ".join(m.group(1).split())
            if base in C_PRIMITIVES:
                self.typedefs[m.group(2)] = C_PRIMITIVES[base]

    def _field(self, decl):
        arr = re.search(r"\[([^\]]*)\]\s*$", decl)
        n = None
        if arr:
            n = parse_c_number(arr.group(1), self.macros)
            decl = decl[: arr.start()]
        kind, name = self.type_kind(decl, want_name=True)
        if arr:
            kind = "%s[%s]" % (kind, n if n is not None else arr.group(1))
        return (name, kind)

    def type_kind(self, decl, want_name=False, array_is_pointer=False):
        decl = decl.strip()
        stars = decl.count("*")
        if array_is_pointer and re.search(r"\[[^\]]*\]\s*$", decl):
            stars += 1
            decl = re.sub(r"\[[^\]]*\]\s*$", "", decl)
        toks = re.findall(r"[A-Za-z_]\w*", decl)
        toks = [t for t in toks if t not in ("const", "volatile", "restrict", "struct", "enum",
                                             "CA_NODISCARD", "CA_API", "static", "inline")]
        name = None
        if len(toks) >= 2 and toks[-1] not in TYPE_WORDS:
            name = toks.pop()
        base = " ".join(toks)
        kind = self.base_kind(base)
        if stars:
            kind = "*" * stars + pointee_suffix(kind)
        return (kind, name) if want_name else kind

    def base_kind(self, base):
        if base in C_PRIMITIVES:
            return C_PRIMITIVES[base]
        if base in self.typedefs:
            return self.typedefs[base]
        return "?" + base

    def _collect_functions(self, text, header):
        for m in re.finditer(r"\bCA_API\b(.*?);", text, re.S):
            decl = " ".join(m.group(1).split())
            decl = decl.replace("CA_NODISCARD", " ")
            fm = re.match(r"(.*?)\b(\w+)\s*\((.*)\)\s*$", decl)
            if not fm:
                continue
            ret = self.type_kind(fm.group(1))
            params = []
            raw = []
            plist = fm.group(3).strip()
            if plist and plist != "void":
                for p in split_top(plist):
                    params.append(self.type_kind(p, array_is_pointer=True))
                    raw.append(p)
            self.functions[fm.group(2)] = (ret, params, header)
            self.raw[fm.group(2)] = (fm.group(1).strip(), raw)


# ---------------------------------------------------------------- Python


def load_python_table(path):
    spec = importlib.util.spec_from_file_location("_cyberagent_sigs_for_drift", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def py_kind(t):
    if t is None:
        return "void"
    if t in (ctypes.c_char_p, ctypes.c_void_p, ctypes.c_wchar_p):
        return "*"
    if isinstance(t, type) and issubclass(t, ctypes._Pointer):
        inner = py_kind(t._type_)
        if inner.startswith("*"):
            return "*" + inner
        return "*" + pointee_suffix(inner)
    if isinstance(t, type) and issubclass(t, ctypes.Structure):
        return "struct:" + t.__name__
    if isinstance(t, type) and issubclass(t, ctypes.Array):
        return "%s[%d]" % (py_kind(t._type_), t._length_)
    if isinstance(t, type) and hasattr(t, "_argtypes_") and hasattr(t, "_restype_"):
        return "fn"
    if t is ctypes.c_bool:
        return "bool"
    if t in (ctypes.c_float,):
        return "f32"
    if t in (ctypes.c_double,):
        return "f64"
    if isinstance(t, type) and issubclass(t, ctypes._SimpleCData):
        signed = t(-1).value < 0 if t._type_ not in "cz" else True
        return "%s%d" % ("i" if signed else "u", 8 * ctypes.sizeof(t))
    return "?" + getattr(t, "__name__", repr(t))


def c_kind_for_python(kind):
    """Python compares integers by width: usize is u64 on LP64 (ctypes aliases them)."""
    width = 8 * ctypes.sizeof(ctypes.c_size_t)
    kind = re.sub(r"\busize\b", "u%d" % width, kind)
    kind = re.sub(r"\bisize\b", "i%d" % width, kind)
    return kind


# ---------------------------------------------------------------- Rust


class RustSys:
    def __init__(self, path):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        text = re.sub(r"//[^\n]*", " ", text)
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        self.aliases = {}
        self.consts = {}
        self.structs = {}
        self.opaque = set()
        self.functions = {}
        for m in re.finditer(r"pub\s+type\s+(\w+)\s*=\s*([^;]+);", text):
            self.aliases[m.group(1)] = " ".join(m.group(2).split())
        for m in re.finditer(r"pub\s+const\s+(\w+)\s*:\s*[\w:]+\s*=\s*([^;]+);", text):
            val = m.group(2).strip()
            val = re.sub(r"\s+as\s+\w+", "", val).replace("_", "")
            val = re.sub(r"(?<=[0-9a-fA-F])(u8|u16|u32|u64|usize|i32|i64|isize)$", "", val)
            try:
                self.consts[m.group(1)] = int(val, 0)
            except ValueError:
                pass
        for m in re.finditer(r"pub\s+struct\s+(\w+)\s*\{(.*?)\}", text, re.S):
            fields = []
            body = m.group(2).strip()
            if body.startswith("_") or "_private" in body or "_opaque" in body:
                self.opaque.add(m.group(1))
                continue
            for f in split_top(body):
                fm = re.match(r"(?:pub\s+)?(?:r#)?(\w+)\s*:\s*(.+)$", f.strip(), re.S)
                if fm:
                    fields.append((fm.group(1), self.kind(fm.group(2))))
            self.structs[m.group(1)] = fields
        for m in re.finditer(r"pub\s+enum\s+(\w+)\s*\{\s*\}", text):
            self.opaque.add(m.group(1))
        for block in re.finditer(r"extern\s+\"C\"\s*\{", text):
            start = block.end()
            depth, i = 1, start
            while depth and i < len(text):
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                i += 1
            body = text[start : i - 1]
            for fm in re.finditer(r"pub\s+fn\s+(\w+)\s*\(", body):
                j, depth = fm.end(), 1
                while depth:
                    if body[j] == "(":
                        depth += 1
                    elif body[j] == ")":
                        depth -= 1
                    j += 1
                args = body[fm.end() : j - 1]
                rest = body[j : body.index(";", j)].strip()
                ret = self.kind(rest[2:].strip()) if rest.startswith("->") else "void"
                params = []
                for a in split_top(args):
                    if not a:
                        continue
                    am = re.match(r"(\w+)\s*:\s*(.+)$", a, re.S)
                    params.append(self.kind(am.group(2) if am else a))
                self.functions[fm.group(1)] = (ret, params)

    def kind(self, t):
        t = " ".join(t.split())
        if t.startswith("Option<") and "fn" in t:
            return "fn"
        if re.match(r"(unsafe\s+)?(extern\s+\"C\"\s+)?fn\b", t):
            return "fn"
        pm = re.match(r"\*\s*(const|mut)\s+(.+)$", t)
        if pm:
            inner = self.kind(pm.group(2))
            if inner.startswith("*"):
                return "*" + inner
            return "*" + pointee_suffix(inner)
        am = re.match(r"\[\s*(.+?)\s*;\s*(.+)\]$", t)
        if am:
            n = am.group(2).strip()
            n = re.sub(r"\s+as\s+\w+", "", n)
            expr = re.sub(r"\b[A-Z_][A-Z0-9_]*\b", lambda m: str(self.consts.get(m.group(0), m.group(0))), n)
            val = n
            if re.fullmatch(r"[0-9xa-fA-F_\s()+\-*]+", expr):
                try:
                    val = eval(expr.replace("_", ""), {"__builtins__": {}}, {})  # noqa: S307 - digits only
                except Exception:
                    val = n
            return "%s[%s]" % (self.kind(am.group(1)), val)
        t = t.split("::")[-1]
        if t in RUST_PRIMITIVES:
            return RUST_PRIMITIVES[t]
        if t in self.aliases:
            return self.kind(self.aliases[t])
        if t in self.structs or t in self.opaque:
            return "struct:" + t
        return "struct:" + t if t.startswith("ca_") else "?" + t


# ---------------------------------------------------------------- comparison


def compare(headers, py, rust, problems, check_python=True, check_rust=True):
    cfun = headers.functions
    if check_python:
        ptab = {}
        for entry in py.SIGNATURES:
            name, restype, argtypes = entry
            if name in ptab:
                problems.add("python: %s listed twice in SIGNATURES" % name)
            ptab[name] = (py_kind(restype), [py_kind(a) for a in argtypes])
        for name, (ret, params, header) in sorted(cfun.items()):
            if name not in ptab:
                problems.add("python: missing function %s (%s)" % (name, header))
                continue
            pret, pparams = ptab[name]
            want_ret = c_kind_for_python(ret)
            want = [c_kind_for_python(k) for k in params]
            if pret != want_ret:
                problems.add("python: %s returns %s, header says %s" % (name, pret, want_ret))
            if len(pparams) != len(want):
                problems.add("python: %s takes %d parameters, header says %d"
                             % (name, len(pparams), len(want)))
            else:
                for i, (a, b) in enumerate(zip(pparams, want)):
                    if a != b and not (b == "enum" and a in ("i32", "u32")):
                        problems.add("python: %s parameter %d is %s, header says %s" % (name, i + 1, a, b))
        for name in sorted(set(ptab) - set(cfun)):
            problems.add("python: extra function %s (not in any public header)" % name)
        pstructs = {s.__name__: s for s in getattr(py, "STRUCTS", [])}
        for name, fields in sorted(headers.structs.items()):
            s = pstructs.get(name)
            if s is None:
                problems.add("python: missing struct %s" % name)
                continue
            got = [(f[0], py_kind(f[1])) for f in s._fields_]
            want = [(f, c_kind_for_python(k)) for f, k in fields]
            if got != want:
                problems.add("python: struct %s fields %s, header says %s" % (name, got, want))
        for name in sorted(set(pstructs) - set(headers.structs)):
            problems.add("python: extra struct %s" % name)
        pconst = getattr(py, "CONSTANTS", {})
        for name, val in sorted(headers.macros.items()):
            if not name.startswith("CA_") or name.endswith("_H"):
                continue
            if name not in pconst:
                problems.add("python: missing constant %s = %d" % (name, val))
            elif pconst[name] != val:
                problems.add("python: constant %s = %r, header says %d" % (name, pconst[name], val))
        for name in sorted(set(pconst) - set(headers.macros)):
            problems.add("python: extra constant %s" % name)
    if check_rust:
        for name, (ret, params, header) in sorted(cfun.items()):
            if name not in rust.functions:
                problems.add("rust: missing function %s (%s)" % (name, header))
                continue
            rret, rparams = rust.functions[name]
            if rret != ret:
                problems.add("rust: %s returns %s, header says %s" % (name, rret, ret))
            if len(rparams) != len(params):
                problems.add("rust: %s takes %d parameters, header says %d" % (name, len(rparams), len(params)))
            else:
                for i, (a, b) in enumerate(zip(rparams, params)):
                    if a != b and not (b == "enum" and a in ("i32", "u32")):
                        problems.add("rust: %s parameter %d is %s, header says %s" % (name, i + 1, a, b))
        for name in sorted(set(rust.functions) - set(cfun)):
            problems.add("rust: extra function %s (not in any public header)" % name)
        for name, fields in sorted(headers.structs.items()):
            if name not in rust.structs:
                problems.add("rust: missing struct %s" % name)
            elif rust.structs[name] != fields:
                problems.add("rust: struct %s fields %s, header says %s" % (name, rust.structs[name], fields))
        for name in sorted(set(rust.structs) - set(headers.structs)):
            problems.add("rust: extra struct %s" % name)
        for name, val in sorted(headers.macros.items()):
            if not name.startswith("CA_") or name.endswith("_H"):
                continue
            if name not in rust.consts:
                problems.add("rust: missing constant %s = %d" % (name, val))
            elif rust.consts[name] != val:
                problems.add("rust: constant %s = %r, header says %d" % (name, rust.consts[name], val))
        for name in sorted(set(rust.consts) - set(headers.macros)):
            problems.add("rust: extra constant %s" % name)
    for name, (ret, params, header) in sorted(cfun.items()):
        for k in [ret] + params:
            if "?" in k:
                problems.add("header: %s (%s) uses a type the checker does not know: %s" % (name, header, k))


# ---------------------------------------------------------------- suggestions

PY_OF = {"void": "None", "i8": "c_int8", "u8": "c_uint8", "i16": "c_int16", "u16": "c_uint16",
         "i32": "c_int", "u32": "c_uint32", "i64": "c_int64", "u64": "c_uint64",
         "usize": "c_size_t", "isize": "c_ssize_t", "bool": "c_bool", "fn": "c_void_p", "enum": "c_int",
         "f64": "c_double", "f32": "c_float"}
RS_PRIM = {"char": "c_char", "signed char": "i8", "unsigned char": "u8", "int": "c_int", "unsigned": "c_uint",
           "unsigned int": "c_uint", "uint8_t": "u8", "int8_t": "i8", "uint16_t": "u16", "int16_t": "i16",
           "uint32_t": "u32", "int32_t": "i32", "uint64_t": "u64", "int64_t": "i64", "size_t": "usize",
           "void": "c_void", "bool": "bool", "_Bool": "bool", "ca_status": "ca_status", "double": "f64",
           "float": "f32"}
RS_KEYWORDS = {"in", "type", "ref", "fn", "match", "mod", "move", "impl", "struct", "use", "where", "loop",
               "self", "super", "crate", "box", "let", "mut", "static", "const", "extern", "trait", "enum"}


def _parse_decl(headers, text):
    """(base C type text, stars, const-before-star, name) of a parameter or field."""
    text = text.strip()
    arr = re.search(r"\[[^\]]*\]\s*$", text)
    stars = text.count("*") + (1 if arr else 0)
    if arr:
        text = text[: arr.start()]
    const = bool(re.match(r"\s*const\b", text)) or bool(re.search(r"\bconst\b[^*]*\*", text))
    toks = [t for t in re.findall(r"[A-Za-z_]\w*", text) if t not in ("const", "volatile", "restrict", "struct")]
    name = None
    if len(toks) >= 2 and toks[-1] not in TYPE_WORDS:
        name = toks.pop()
    return " ".join(toks), stars, const, name


def _rust_type(headers, base, stars, const):
    if base in RS_PRIM:
        t = RS_PRIM[base]
    elif headers.typedefs.get(base) == "fn":
        t = base
    elif base in headers.enums:
        t = "c_int"
    else:
        t = base
    if stars:
        t = ("*const " if const else "*mut ") + t
        t = "*mut " * (stars - 1) + t
    return t


def _py_type(headers, base, stars):
    kind = headers.base_kind(base)
    if not stars:
        if kind.startswith("struct:"):
            return kind[7:]
        return "ca_status" if base == "ca_status" else PY_OF.get(kind, kind)
    inner = pointee_suffix(kind)
    if not inner:
        t = "buf" if kind in ("u8", "i8") else "c_void_p"
        return "P(" * (stars - 1) + t + ")" * (stars - 1)
    t = inner if inner.startswith("ca_") else PY_OF.get(inner, inner)
    return "P(" * stars + t + ")" * stars


def suggest(headers, py, rust):
    have_py = {e[0] for e in py.SIGNATURES} if py else set()
    py_structs = {c.__name__ for c in getattr(py, "STRUCTS", [])}
    pconst = getattr(py, "CONSTANTS", {})
    out_py, out_rs = [], []
    for name, val in sorted(headers.macros.items(), key=lambda kv: kv[0]):
        if name.startswith("CA_") and not name.endswith("_H"):
            if name not in pconst:
                out_py.append('    "%s": %d,' % (name, val))
            if name not in rust.consts:
                typ = "ca_status" if name.startswith("CA_ERR_") else ("usize" if name.endswith(("_BYTES", "_CHARS")) else "u32")
                if typ == "u32" and val < 0:
                    typ = "i32"
                out_rs.append("pub const %s: %s = %d;" % (name, typ, val))
    for sname in headers.struct_order:
        fields = headers.structs[sname]
        body = re.search(r"typedef\s+struct\s+%s\s*\{([^{}]*)\}\s*%s\s*;" % (sname, sname), headers.text_all)
        decls = [d for d in body.group(1).split(";") if d.strip()] if body else []
        if sname not in py_structs:
            out_py.append("\n\nclass %s(Structure):\n    _fields_ = [" % sname)
            for (fname, kind), d in zip(fields, decls):
                base, stars, const, _n = _parse_decl(headers, d)
                arr = re.search(r"\[([^\]]*)\]\s*$", d.strip())
                t = _py_type(headers, base, stars - (1 if arr else 0))
                if arr:
                    t = "%s * %s" % (t, kind.split("[")[-1].rstrip("]"))
                out_py.append('        ("%s", %s),' % (fname, t))
            out_py.append("    ]")
        if sname not in rust.structs:
            out_rs.append("\n#[repr(C)]\n#[derive(Clone, Copy, Debug)]\npub struct %s {" % sname)
            for (fname, kind), d in zip(fields, decls):
                base, stars, const, _n = _parse_decl(headers, d)
                arr = re.search(r"\[([^\]]*)\]\s*$", d.strip())
                if arr:
                    t = "[%s; %s]" % (_rust_type(headers, base, 0, False), arr.group(1).strip())
                else:
                    t = _rust_type(headers, base, stars, const)
                out_rs.append("    pub %s: %s," % (fname, t))
            out_rs.append("}")
    for oname in sorted(headers.opaque):
        if oname not in rust.opaque:
            out_rs.append("\n#[repr(C)]\npub struct %s {\n    _private: [u8; 0],\n"
                          "    _marker: PhantomData<(*mut u8, PhantomPinned)>,\n}" % oname)
            out_py.append("\n\nclass %s(Structure):\n    \"\"\"Opaque.\"\"\"" % oname)
    rs_fns = []
    for name, (ret, params, header) in sorted(headers.functions.items()):
        rtext, raw = headers.raw[name]
        rtext = " ".join(t for t in rtext.split() if t not in ("CA_API", "CA_NODISCARD"))
        rbase, rstars, rconst, _n = _parse_decl(headers, rtext + " x")
        if name not in have_py:
            args = ", ".join(_py_type(headers, *_parse_decl(headers, p)[:2]) for p in raw)
            out_py.append('    ("%s", %s, [%s]),' % (name, _py_type(headers, rbase, rstars), args))
        if name not in rust.functions:
            args = []
            for i, p in enumerate(raw):
                base, stars, const, pname = _parse_decl(headers, p)
                pname = pname or "a%d" % i
                if pname in RS_KEYWORDS:
                    pname += "_"
                args.append("%s: %s" % (pname, _rust_type(headers, base, stars, const)))
            r = _rust_type(headers, rbase, rstars, rconst)
            rs_fns.append("    pub fn %s(%s)%s;" % (name, ", ".join(args), "" if r == "c_void" else " -> " + r))
    if rs_fns:
        out_rs.append("\nextern \"C\" {")
        out_rs.extend(rs_fns)
        out_rs.append("}")
    print("# ---- Python (bindings/python/cyberagent/_sigs.py) ----")
    print("\n".join(out_py))
    print("\n// ---- Rust (bindings/rust/cyberagent-sys/src/lib.rs) ----")
    print("\n".join(out_rs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=ROOT)
    ap.add_argument("--suggest", action="store_true", help="print draft declarations for missing functions")
    ap.add_argument("--dump", action="store_true", help="print the parsed header functions")
    args = ap.parse_args()
    headers = CHeaders(os.path.join(args.root, "include"))
    py = load_python_table(os.path.join(args.root, "bindings/python/cyberagent/_sigs.py"))
    rust_path = os.path.join(args.root, "bindings/rust/cyberagent-sys/src/lib.rs")
    rust = RustSys(rust_path)
    if args.dump:
        for name, (ret, params, header) in sorted(headers.functions.items()):
            print("%s: %s(%s)  [%s]" % (name, ret, ", ".join(params), header))
        for name, fields in sorted(headers.structs.items()):
            print("struct %s %s" % (name, fields))
        return 0
    if args.suggest:
        suggest(headers, py, rust)
        return 0
    problems = Problems()
    if not headers.functions:
        problems.add("header: no CA_API function found under include/ (parser broken?)")
    compare(headers, py, rust, problems)
    for line in problems.lines:
        print("drift: " + line)
    if problems.lines:
        print("check_drift: %d problem(s)" % len(problems.lines))
        return 1
    print("check_drift: %d functions, %d structs, %d constants match in Python and Rust"
          % (len(headers.functions), len(headers.structs),
             len([m for m in headers.macros if m.startswith("CA_") and not m.endswith("_H")])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
