"""Finding and loading libcyberagent, and the OWNERSHIP RULE helper.

Search order (the first that loads wins):

1. ``CYBERAGENT_LIBRARY``: a path to the shared library. When set, it is the
   only candidate: a wrong path is an error, not a silent fallback.
2. The build tree, when this package sits in a libcyberagent checkout
   (``bindings/python/cyberagent``): ``build/dev/lib/libcyberagent.so.1``,
   then ``build/release/...``, then any other ``build/*/lib/`` (ASan builds
   last: they only load into an ASan-instrumented process).
3. The system: ``ctypes.util.find_library("cyberagent")``, then
   ``libcyberagent.so.1``, then ``libcyberagent.so``.
"""

import ctypes
import ctypes.util
import glob
import os
import threading
from typing import Callable, List, Optional

from . import _sigs

_SONAME = "libcyberagent.so.1"
_lock = threading.Lock()
_loaded_path: Optional[str] = None


def _build_tree_candidates() -> List[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    if not os.path.isfile(os.path.join(root, "include", "cyberagent.h")):
        return []
    build = os.path.join(root, "build")
    preferred = [os.path.join(build, p, "lib", _SONAME) for p in ("dev", "release")]
    others = sorted(glob.glob(os.path.join(build, "*", "lib", _SONAME)))
    others = [p for p in others if p not in preferred]
    others.sort(key=lambda p: "asan" in os.path.basename(os.path.dirname(os.path.dirname(p))))
    return [p for p in preferred + others if os.path.exists(p)]


def candidates() -> List[str]:
    """The paths or names the loader will try, in order."""
    env = os.environ.get("CYBERAGENT_LIBRARY")
    if env:
        return [env]
    found = _build_tree_candidates()
    system = ctypes.util.find_library("cyberagent")
    for name in (system, _SONAME, "libcyberagent.so"):
        if name and name not in found:
            found.append(name)
    return found


def _open() -> ctypes.CDLL:
    global _loaded_path
    errors = []
    for cand in candidates():
        try:
            lib = ctypes.CDLL(cand)
        except OSError as exc:
            errors.append("%s: %s" % (cand, exc))
            continue
        _loaded_path = cand
        return lib
    raise ImportError(
        "libcyberagent not found; set CYBERAGENT_LIBRARY to the path of libcyberagent.so.1 "
        "(tried: %s)" % "; ".join(errors)
    )


class _Functions:
    """Attribute access to the foreign functions; loads the library on first use.

    After loading, each function is a plain instance attribute, so a call
    costs one attribute lookup plus the ctypes call itself.
    """

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("__"):
            raise AttributeError(name)
        with _lock:
            if "ca_init" not in self.__dict__:
                lib = _open()
                table = {}
                for fname, restype, argtypes in _sigs.SIGNATURES:
                    try:
                        fn = getattr(lib, fname)
                    except AttributeError:
                        raise ImportError(
                            "%s lacks %s: the library is older than this binding" % (_loaded_path, fname)
                        ) from None
                    fn.restype = restype
                    fn.argtypes = argtypes
                    table[fname] = fn
                table["_lib"] = lib
                self.__dict__.update(table)  # all or nothing
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError("%s is not in the signature table" % name) from None


F = _Functions()


def library_path() -> str:
    """Path or name of the loaded shared library (loads it if needed)."""
    F.ca_init  # noqa: B018 - triggers loading
    assert _loaded_path is not None
    return _loaded_path


def out_bytes(call: Callable[[Optional[ctypes.Array], int, "ctypes._Pointer"], int], guess: int) -> bytes:
    """Runs a C function that follows the OWNERSHIP RULE and returns its output.

    ``call(out, out_cap, out_len_ptr)`` must invoke the C function. The first
    attempt uses a ``guess``-byte buffer; on CA_ERR_BUFFER_TOO_SMALL the C side
    has stored the exact size and the call is repeated once with that size.
    """
    from .errors import check

    n = ctypes.c_size_t(0)
    cap = max(guess, 1)
    out = ctypes.create_string_buffer(cap)
    st = call(out, cap, ctypes.byref(n))
    if st == _sigs.CONSTANTS["CA_ERR_BUFFER_TOO_SMALL"]:
        cap = n.value + 1
        out = ctypes.create_string_buffer(cap)
        st = call(out, cap, ctypes.byref(n))
    check(st)
    return ctypes.string_at(out, n.value)


def out_text(call: Callable[[Optional[ctypes.Array], int, "ctypes._Pointer"], int], guess: int) -> str:
    """Like out_bytes for NUL-terminated text output (the buffer holds *out_len + 1)."""
    return out_bytes(call, guess + 1).decode("utf-8")
