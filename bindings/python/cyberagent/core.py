"""Library-wide functions: version, status names, initialization, sizes.

THREAD SAFETY: everything here is safe from any thread (as common.h says).
``last_error()`` is per thread; the binding reads it for you when it raises.
"""

import ctypes
from typing import Dict, Union

from ._lib import F, library_path
from .errors import check

__all__ = [
    "init",
    "version_string",
    "version_number",
    "status_str",
    "last_error",
    "equal",
    "wipe",
    "sizes",
    "library_path",
]


def init() -> None:
    """Initializes the crypto backend (optional, idempotent, thread-safe);
    raises :class:`~cyberagent.InitError` when it cannot."""
    check(F.ca_init())


def version_string() -> str:
    """Version of the loaded library, e.g. ``"1.0.0"``."""
    return F.ca_version_string().decode("ascii")


def version_number() -> int:
    """``major * 10000 + minor * 100 + patch`` of the loaded library."""
    return int(F.ca_version_number())


def status_str(status: int) -> str:
    """Stable name of a status code, e.g. ``"CA_ERR_BAD_SIGNATURE"``."""
    return F.ca_status_str(status).decode("ascii")


def last_error() -> str:
    """This thread's sentence for the last failed library call ("" if none yet).

    Meaningful only right after a call that failed (LAST ERROR RULE in
    common.h): a successful call may leave an older sentence or replace it, and
    never clears it. Every :class:`~cyberagent.Error` already carries the
    sentence of its own failure as ``.message``; read that instead."""
    return F.ca_last_error().decode("utf-8", "replace")


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison; False for different lengths."""
    if len(a) != len(b):
        return False
    return bool(F.ca_equal(bytes(a), bytes(b), len(a)))


def wipe(buffer: Union[bytearray, ctypes.Array]) -> None:  # type: ignore[type-arg]
    """Overwrites a mutable buffer (bytearray or ctypes array) with zeros."""
    if isinstance(buffer, bytearray):
        n = len(buffer)
        if n:
            F.ca_wipe((ctypes.c_char * n).from_buffer(buffer), n)
    elif isinstance(buffer, ctypes.Array):
        F.ca_wipe(buffer, ctypes.sizeof(buffer))
    else:
        raise TypeError("wipe needs a bytearray or a ctypes array (bytes are immutable)")


def sizes() -> Dict[str, int]:
    """The library's fixed sizes as its size functions report them."""
    return {
        "agent_id": int(F.ca_agent_id_bytes()),
        "hash": int(F.ca_hash_bytes()),
        "signature": int(F.ca_signature_bytes()),
        "seed": int(F.ca_seed_bytes()),
        "did_max_chars": int(F.ca_did_max_chars()),
        "keyfile": int(F.ca_keyfile_bytes()),
        "x25519_public": int(F.ca_x25519_public_bytes()),
    }
