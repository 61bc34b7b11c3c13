"""Delegation: an agent hands another a signed, narrow, capped right to act for
it (capability patterns, a total and a per-task spending cap in ledger units,
a validity window); the audience may pass on a narrower part of it, and chains
verify offline and only narrow. An issuer in a chain can revoke a link.
Formats and rules: docs/IDENTITY.md, "Delegation".

THREAD SAFETY (as include/cyberagent/delegation.h): a :class:`Delegation` is
immutable; any number of threads may read or verify one at once. A
:class:`RevocationSet` has one owner at a time (adds need a lock if shared).
Functions without a handle are thread-safe.
"""

import ctypes
import threading
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from . import _sigs
from ._handle import Handle, LightHandle
from ._lib import F, out_bytes
from .errors import check, make_error
from .identity import BytesLike, Identity, _bytes, did_encode

_C = _sigs.CONSTANTS
_byref = ctypes.byref


def limits() -> Dict[str, int]:
    """The delegation limits as the library reports them."""
    return {
        "max_depth": int(F.ca_delegation_max_depth()),
        "capabilities": int(F.ca_delegation_capabilities_max()),
        "pattern": int(F.ca_capability_pattern_max()),
    }


def pattern_check(pattern: str) -> None:
    """Raises :class:`~cyberagent.BadCapabilityError` unless ``pattern`` is a
    capability name, a name followed by ``.*``, or ``*``."""
    b = pattern.encode("utf-8")
    check(F.ca_capability_pattern_check(b, len(b)))


def pattern_covers(outer: str, inner: str) -> bool:
    """True when every name ``inner`` matches is matched by ``outer`` (both
    valid patterns; a name matches only itself)."""
    o, i = outer.encode("utf-8"), inner.encode("utf-8")
    return bool(F.ca_capability_pattern_covers(o, len(o), i, len(i)))


def _hash(value: Optional[BytesLike], field: str) -> Optional[_sigs.ca_hash]:
    if value is None:
        return None
    b = _bytes(value, field)
    if len(b) != 32:
        raise ValueError("%s must be 32 bytes" % field)
    return _sigs.ca_hash.from_buffer_copy(b)


def _agent(value: BytesLike, field: str) -> _sigs.ca_agent_id:
    b = _bytes(value, field)
    if len(b) != 32:
        raise ValueError("%s must be a 32-byte agent id" % field)
    return _sigs.ca_agent_id.from_buffer_copy(b)


def sign_delegation_with_id(
    issuer: Identity,
    *,
    audience: BytesLike,
    capabilities: Iterable[str],
    total_cap: int,
    task_cap: int,
    not_before: int,
    expires_at: int,
    created_at: int,
    nonce: int = 0,
    parent: Optional[BytesLike] = None,
) -> Tuple[bytes, bytes]:
    """Like :func:`sign_delegation`, returning ``(bytes, delegation_id)``."""
    caps = [c.encode("utf-8") for c in capabilities]
    arr = (ctypes.c_char_p * max(len(caps), 1))(*caps)
    p = _sigs.ca_delegation_params()
    check(F.ca_delegation_params_init(_byref(p), _C["CA_DELEGATION_PARAMS_VERSION"]))
    aud = _agent(audience, "audience")
    par = _hash(parent, "parent")
    p.audience = ctypes.pointer(aud)
    p.capabilities = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p)) if caps else None
    p.capability_count = len(caps)
    p.total_cap = total_cap
    p.task_cap = task_cap
    p.not_before = not_before
    p.expires_at = expires_at
    p.nonce = nonce
    p.parent = ctypes.pointer(par) if par is not None else None
    p.created_at = created_at
    mid = _sigs.ca_hash()
    sp = issuer._p()
    data = out_bytes(
        lambda out, cap, n: F.ca_delegation_sign(sp, _byref(p), out, cap, n, _byref(mid)), 512
    )
    del arr, caps
    return data, bytes(mid)


def sign_delegation(issuer: Identity, **kw: Any) -> bytes:
    """Signs a delegation from ``issuer`` to ``audience`` (a 32-byte agent id)
    and returns its bytes. ``capabilities``: patterns (a name, ``name.*`` or
    ``*``), any order, distinct, 1 .. 16. Caps are ledger units
    (``task_cap <= total_cap``); times are ms since the Unix epoch
    (``not_before < expires_at``, ``created_at < expires_at``). ``parent``:
    the id of the delegation this one narrows (None for a root)."""
    return sign_delegation_with_id(issuer, **kw)[0]


class DelegationInfo(NamedTuple):
    issuer: bytes
    audience: bytes
    id: bytes
    parent: Optional[bytes]
    signature_checked: bool
    created_at: int
    not_before: int
    expires_at: int
    total_cap: int
    task_cap: int
    nonce: int
    capabilities: List[str]


class ChainInfo(NamedTuple):
    """What a verified chain grants (the leaf's values)."""

    delegator: bytes
    delegate: bytes
    root: bytes
    leaf: bytes
    depth: int
    total_cap: int
    task_cap: int
    not_before: int
    expires_at: int


class Delegation(LightHandle):
    """A decoded delegation (immutable; share across threads freely)."""

    __slots__ = ()

    @classmethod
    def decode(cls, data: BytesLike) -> "Delegation":
        """Strict decoder, no signature check (the chain verify checks it)."""
        d = _bytes(data, "data")
        p = ctypes.POINTER(_sigs.ca_delegation)()
        check(F.ca_delegation_decode(_byref(p), d, len(d)))
        return cls(p, F.ca_delegation_free)

    @classmethod
    def open(cls, data: BytesLike) -> "Delegation":
        """Decode and check the issuer's signature once (the chain verify then skips it)."""
        d = _bytes(data, "data")
        p = ctypes.POINTER(_sigs.ca_delegation)()
        check(F.ca_delegation_open(_byref(p), d, len(d)))
        return cls(p, F.ca_delegation_free)

    def info(self) -> DelegationInfo:
        i = _sigs.ca_delegation_info()
        i.version = _C["CA_DELEGATION_INFO_VERSION"]
        p = self._p()
        check(F.ca_delegation_get(p, _byref(i)))
        caps = [F.ca_delegation_capability(p, k).decode("ascii") for k in range(i.capability_count)]
        return DelegationInfo(
            bytes(i.issuer),
            bytes(i.audience),
            bytes(i.id),
            bytes(i.parent) if i.has_parent else None,
            bool(i.signature_checked),
            int(i.created_at),
            int(i.not_before),
            int(i.expires_at),
            int(i.total_cap),
            int(i.task_cap),
            int(i.nonce),
            caps,
        )

    @property
    def id(self) -> bytes:
        return self.info().id

    @property
    def capabilities(self) -> List[str]:
        """Capability patterns in ascending byte order."""
        p = self._p()
        out = []
        k = 0
        while True:
            c = F.ca_delegation_capability(p, k)
            if c is None:
                return out
            out.append(c.decode("ascii"))
            k += 1

    def grants(self, capability: str) -> bool:
        """True when a pattern of this delegation covers ``capability`` (a name or
        a pattern); raises :class:`~cyberagent.BadCapabilityError` for a malformed one."""
        b = capability.encode("utf-8")
        st = F.ca_delegation_grants(self._p(), b, len(b))
        if st == _C["CA_ERR_DELEGATION_CAPABILITY"]:
            return False
        check(st)
        return True

    def encoded(self) -> bytes:
        p = self._p()
        return out_bytes(lambda out, cap, n: F.ca_delegation_encoded(p, out, cap, n), 512)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Delegation closed>"
        i = self.info()
        return "<Delegation %s -> %s %r>" % (
            did_encode(i.issuer),
            did_encode(i.audience),
            i.capabilities,
        )


def sign_revocation(
    revoker: Identity, delegation_id: BytesLike, *, created_at: int, expires_at: int
) -> bytes:
    """Signs a revocation of the delegation ``delegation_id``; it has force over
    chains in which ``revoker`` issued that delegation or one above it."""
    h = _hash(delegation_id, "delegation_id")
    sp = revoker._p()
    return out_bytes(
        lambda out, cap, n: F.ca_revocation_sign(
            sp, _byref(h), created_at, expires_at, out, cap, n, None
        ),
        256,
    )


class RevocationInfo(NamedTuple):
    revoker: bytes
    delegation: bytes
    id: bytes
    created_at: int
    expires_at: int


def _revocation(fn, data: BytesLike) -> RevocationInfo:
    d = _bytes(data, "data")
    i = _sigs.ca_revocation_info()
    i.version = _C["CA_REVOCATION_INFO_VERSION"]
    check(fn(d, len(d), _byref(i)))
    return RevocationInfo(
        bytes(i.revoker), bytes(i.delegation), bytes(i.id), int(i.created_at), int(i.expires_at)
    )


def revocation_decode(data: BytesLike) -> RevocationInfo:
    """Strict decoder of a revocation, no signature check."""
    return _revocation(F.ca_revocation_decode, data)


def revocation_open(data: BytesLike) -> RevocationInfo:
    """Decode and check the revoker's signature."""
    return _revocation(F.ca_revocation_open, data)


class RevocationSet(Handle):
    """Verified revocations keyed by (delegation id, revoker). Not thread-safe in
    C (one owner at a time); this object serializes its calls with a lock, so it
    may be shared. A chain verify that uses it holds the lock too."""

    __slots__ = ("_lock",)

    def __init__(self, max_entries: int = 65536) -> None:
        p = ctypes.POINTER(_sigs.ca_revocation_set)()
        check(F.ca_revocation_set_new(_byref(p), max_entries))
        super().__init__(p, F.ca_revocation_set_free)
        self._lock = threading.Lock()

    def add(self, data: BytesLike) -> None:
        """Opens the revocation (signature checked) and adds it; a repeat is a no-op."""
        d = _bytes(data, "data")
        with self._lock:
            check(F.ca_revocation_set_add(self._p(), d, len(d)))

    def contains(self, delegation_id: BytesLike, revoker: BytesLike) -> bool:
        h = _hash(delegation_id, "delegation_id")
        a = _agent(revoker, "revoker")
        with self._lock:
            return bool(F.ca_revocation_set_contains(self._p(), _byref(h), _byref(a)))

    def __len__(self) -> int:
        with self._lock:
            return int(F.ca_revocation_set_count(self._p()))


Lookup = Callable[[bytes, bytes], bool]


def verify_chain(
    chain: Sequence[Delegation],
    now: int,
    *,
    revocations: Optional[RevocationSet] = None,
    lookup: Optional[Lookup] = None,
) -> ChainInfo:
    """Verifies an ordered chain (root first) at ``now``; returns what it grants
    or raises the precise error (``DelegationParentError``,
    ``DelegationAudienceError``, ``DelegationCapabilityError``,
    ``DelegationTotalCapError``, ``DelegationTaskCapError``,
    ``DelegationWindowError``, :class:`~cyberagent.NotYetValidError`,
    :class:`~cyberagent.ExpiredError`, ``DelegationRevokedError``,
    :class:`~cyberagent.SignatureError`, :class:`~cyberagent.LimitError` for a
    chain deeper than 8). ``lookup(delegation_id, revoker)`` answers whether the
    caller holds a revocation of that delegation by that revoker."""
    arr = (ctypes.POINTER(_sigs.ca_delegation) * max(len(chain), 1))(*[d._p() for d in chain])
    o = _sigs.ca_delegation_verify_options()
    check(F.ca_delegation_verify_options_init(_byref(o), _C["CA_DELEGATION_VERIFY_OPTIONS_VERSION"]))
    if revocations is not None:
        o.revocations = revocations._p()
    cb = None
    if lookup is not None:

        def call(ctx, delegation, revoker):  # type: ignore[no-untyped-def]
            try:
                return 1 if lookup(bytes(delegation.contents), bytes(revoker.contents)) else 0
            except Exception:  # a failing lookup must not unwind through C: treat as revoked
                return 1

        cb = _sigs.ca_revocation_lookup(call)
        o.lookup = cb
    info = _sigs.ca_delegation_chain_info()
    info.version = _C["CA_DELEGATION_CHAIN_INFO_VERSION"]
    if revocations is not None:
        with revocations._lock:
            st = F.ca_delegation_chain_verify(arr, len(chain), now, _byref(o), _byref(info))
            err = make_error(st) if st != 0 else None
    else:
        st = F.ca_delegation_chain_verify(arr, len(chain), now, _byref(o), _byref(info))
        err = make_error(st) if st != 0 else None
    if err is not None:
        raise err
    del cb
    return ChainInfo(
        bytes(info.delegator),
        bytes(info.delegate),
        bytes(info.root),
        bytes(info.leaf),
        int(info.depth),
        int(info.total_cap),
        int(info.task_cap),
        int(info.not_before),
        int(info.expires_at),
    )


__all__: Sequence[str] = [
    "ChainInfo",
    "Delegation",
    "DelegationInfo",
    "RevocationInfo",
    "RevocationSet",
    "limits",
    "pattern_check",
    "pattern_covers",
    "revocation_decode",
    "revocation_open",
    "sign_delegation",
    "sign_delegation_with_id",
    "sign_revocation",
    "verify_chain",
]
