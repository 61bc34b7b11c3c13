"""Signed envelopes: the one canonical, signed format of every message.

Byte-level specification: docs/WIRE.md. The library never reads the clock:
``created_at``, ``expires_at`` and ``now`` are milliseconds since the Unix
epoch from the caller (``int(time.time() * 1000)``).

THREAD SAFETY (as include/cyberagent/envelope.h): an :class:`Envelope` is
immutable; any number of threads may read one at once. A C replay guard is
not thread-safe; :class:`ReplayGuard` therefore holds a lock, so the Python
object may be shared. Module-level functions are thread-safe, and ctypes
releases the GIL while the C code verifies, so threads verify in parallel.
"""

import ctypes
import threading
from typing import Optional, Tuple, Union

from . import _sigs
from ._handle import Handle, LightHandle
from ._lib import F, out_bytes
from .errors import check, make_error
from .identity import BytesLike, Identity, _agent_id, _bytes, did_encode, did_parse

_C = _sigs.CONSTANTS
_byref = ctypes.byref

ENVELOPE_VERSION: int = _C["CA_ENVELOPE_VERSION"]
COMPRESS: int = _C["CA_ENVELOPE_COMPRESS"]
SEAL: int = _C["CA_ENVELOPE_SEAL"]
HASH_BYTES: int = _C["CA_HASH_BYTES"]
#: Default maximum lifetime (expires_at - created_at) a verifier accepts: 24 hours.
MAX_LIFETIME_MS_DEFAULT: int = _C["CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT"]

Recipient = Union[bytes, str, Identity]
_EnvelopePtr = ctypes.POINTER(_sigs.ca_envelope)


def kind_name(kind: int) -> Optional[str]:
    """Name of a library kind (``"task.request"``, ...); None for unknown and application kinds."""
    n = F.ca_kind_name(kind)
    return n.decode("ascii") if n is not None else None


def envelope_bound(body_len: int) -> int:
    """Upper bound of the encoded size of an envelope carrying ``body_len`` body bytes."""
    return int(F.ca_envelope_bound(body_len))


def envelope_options(
    max_envelope_bytes: Optional[int] = None,
    max_body_bytes: Optional[int] = None,
    max_skew_ms: Optional[int] = None,
    max_lifetime_ms: Optional[int] = None,
) -> Optional[_sigs.ca_envelope_options]:
    """A ``ca_envelope_options`` with the C defaults (1 MiB + 4 KiB encoded,
    1 MiB body, 30 s skew, 24 h maximum lifetime) overridden where given;
    None when all are default."""
    given = (max_envelope_bytes, max_body_bytes, max_skew_ms, max_lifetime_ms)
    if all(v is None for v in given):
        return None
    o = _sigs.ca_envelope_options()
    check(F.ca_envelope_options_init(_byref(o), _C["CA_ENVELOPE_OPTIONS_VERSION"]))
    if max_envelope_bytes is not None:
        o.max_envelope_bytes = max_envelope_bytes
    if max_body_bytes is not None:
        o.max_body_bytes = max_body_bytes
    if max_skew_ms is not None:
        o.max_skew_ms = max_skew_ms
    if max_lifetime_ms is not None:
        o.max_lifetime_ms = max_lifetime_ms
    return o


def _oref(o: Optional[_sigs.ca_envelope_options]):  # type: ignore[no-untyped-def]
    return _byref(o) if o is not None else None


def _recipient_key(r: Recipient) -> bytes:
    if isinstance(r, Identity):
        return r.public_key
    if isinstance(r, str):
        return did_parse(r)
    return _bytes(r, "recipient", _C["CA_AGENT_ID_BYTES"])


def sign_envelope_with_id(
    signer: Identity,
    body: BytesLike,
    *,
    kind: int,
    created_at: int,
    expires_at: int,
    recipient: Optional[Recipient] = None,
    parent: Optional[BytesLike] = None,
    compress: bool = False,
    seal: bool = False,
) -> Tuple[bytes, bytes]:
    """Like :func:`sign_envelope`, returning ``(envelope_bytes, message_id)``."""
    b = _bytes(body, "body")
    p = _sigs.ca_envelope_params()
    check(F.ca_envelope_params_init(_byref(p), _C["CA_ENVELOPE_PARAMS_VERSION"]))
    p.kind = kind
    p.created_at = created_at
    p.expires_at = expires_at
    p.flags = (COMPRESS if compress else 0) | (SEAL if seal else 0)
    rid = None
    if recipient is not None:
        rid = _agent_id(_recipient_key(recipient), "recipient")
        p.recipient = ctypes.pointer(rid)
    par = None
    if parent is not None:
        par = _sigs.ca_hash.from_buffer_copy(_bytes(parent, "parent", HASH_BYTES))
        p.parent = ctypes.pointer(par)
    mid = _sigs.ca_hash()
    sp = signer._p()
    data = out_bytes(
        lambda out, cap, n: F.ca_envelope_sign(sp, _byref(p), b, len(b), out, cap, n, _byref(mid)),
        int(F.ca_envelope_bound(len(b))),
    )
    del rid, par  # kept alive until here: p points into them
    return data, bytes(mid)


def sign_envelope(
    signer: Identity,
    body: BytesLike,
    *,
    kind: int,
    created_at: int,
    expires_at: int,
    recipient: Optional[Recipient] = None,
    parent: Optional[BytesLike] = None,
    compress: bool = False,
    seal: bool = False,
) -> bytes:
    """Builds, signs and encodes an envelope; returns its canonical bytes.

    ``kind`` is a library kind (``CA_KIND_*``) or an application kind
    (>= ``CA_KIND_APP_MIN``). ``recipient`` is a public key, a did:key or an
    :class:`Identity`; ``parent`` the 32-byte id of the message this one
    follows. ``compress`` zstd-compresses the body when that saves bytes;
    ``seal`` seals it to the recipient (who alone can read it; anyone can
    still verify the envelope).
    """
    return sign_envelope_with_id(
        signer,
        body,
        kind=kind,
        created_at=created_at,
        expires_at=expires_at,
        recipient=recipient,
        parent=parent,
        compress=compress,
        seal=seal,
    )[0]


class Envelope(LightHandle):
    """A decoded envelope (owns a private copy of its bytes).

    Get one from :meth:`open` (decode + verify: what a receiver wants) or
    :meth:`decode` (strict decode without the signature check, then
    :meth:`verify`). Immutable: any number of threads may read it at once.
    """

    __slots__ = ()

    @classmethod
    def decode(
        cls,
        data: BytesLike,
        *,
        max_envelope_bytes: Optional[int] = None,
        max_body_bytes: Optional[int] = None,
        max_skew_ms: Optional[int] = None,
    ) -> "Envelope":
        """Strict decode only (canonical encoding, known version, size limits);
        raises :class:`~cyberagent.MalformedError` and friends. No signature
        check and no lifetime check (both are :meth:`verify`'s)."""
        d = data if type(data) is bytes else _bytes(data, "data")
        if max_envelope_bytes is None and max_body_bytes is None and max_skew_ms is None:
            o = None
        else:
            o = _byref(envelope_options(max_envelope_bytes, max_body_bytes, max_skew_ms))
        p = _EnvelopePtr()
        st = F.ca_envelope_decode(_byref(p), d, len(d), o)
        if st:
            raise make_error(st)
        return cls(p, F.ca_envelope_free)

    @classmethod
    def open(
        cls,
        data: BytesLike,
        now: int,
        *,
        max_envelope_bytes: Optional[int] = None,
        max_body_bytes: Optional[int] = None,
        max_skew_ms: Optional[int] = None,
        max_lifetime_ms: Optional[int] = None,
    ) -> "Envelope":
        """Decode + verify (signature, lifetime, then time against ``now`` in ms) in one call.

        Raises :class:`~cyberagent.SignatureError`, :class:`~cyberagent.LifetimeError`
        (``expires_at - created_at`` above ``max_lifetime_ms``, default 24 h),
        :class:`~cyberagent.ExpiredError`, :class:`~cyberagent.NotYetValidError`,
        :class:`~cyberagent.MalformedError`, ...
        """
        d = data if type(data) is bytes else _bytes(data, "data")
        if (max_envelope_bytes, max_body_bytes, max_skew_ms, max_lifetime_ms) == (None, None, None, None):
            o = None  # the hot path: defaults, no options struct
        else:
            o = _byref(envelope_options(max_envelope_bytes, max_body_bytes, max_skew_ms, max_lifetime_ms))
        p = _EnvelopePtr()
        st = F.ca_envelope_open(_byref(p), d, len(d), now, o)
        if st:
            raise make_error(st)
        return cls(p, F.ca_envelope_free)

    def verify(
        self, now: int, *, max_skew_ms: Optional[int] = None, max_lifetime_ms: Optional[int] = None
    ) -> None:
        """Checks the signature, the lifetime (``max_lifetime_ms``, default 24 h),
        then the time window; raises on failure."""
        o = envelope_options(max_skew_ms=max_skew_ms, max_lifetime_ms=max_lifetime_ms)
        check(F.ca_envelope_verify(self._p(), now, _oref(o)))

    def is_valid(
        self, now: int, *, max_skew_ms: Optional[int] = None, max_lifetime_ms: Optional[int] = None
    ) -> bool:
        """True when :meth:`verify` would succeed."""
        o = envelope_options(max_skew_ms=max_skew_ms, max_lifetime_ms=max_lifetime_ms)
        return F.ca_envelope_verify(self._p(), now, _oref(o)) == 0

    @property
    def kind(self) -> int:
        """The message kind (``CA_KIND_*`` or an application kind)."""
        return int(F.ca_envelope_kind(self._p()))

    @property
    def kind_name(self) -> Optional[str]:
        """Name of the kind, or None for unknown and application kinds."""
        return kind_name(self.kind)

    @property
    def sender(self) -> bytes:
        """Public key (agent id) of the signer."""
        a = _sigs.ca_agent_id()
        F.ca_envelope_sender(self._p(), _byref(a))
        return bytes(a)

    @property
    def sender_did(self) -> str:
        """did:key of the signer."""
        return did_encode(self.sender)

    @property
    def recipient(self) -> Optional[bytes]:
        """Public key of the recipient, or None."""
        a = _sigs.ca_agent_id()
        return bytes(a) if F.ca_envelope_recipient(self._p(), _byref(a)) else None

    @property
    def created_at(self) -> int:
        """Creation time, ms since the Unix epoch."""
        return int(F.ca_envelope_created_at(self._p()))

    @property
    def expires_at(self) -> int:
        """Expiry time, ms since the Unix epoch."""
        return int(F.ca_envelope_expires_at(self._p()))

    @property
    def parent(self) -> Optional[bytes]:
        """Id of the message this one follows, or None."""
        h = _sigs.ca_hash()
        return bytes(h) if F.ca_envelope_parent(self._p(), _byref(h)) else None

    @property
    def flags(self) -> int:
        """Wire flags: ``COMPRESS`` (body is compressed), ``SEAL`` (body is sealed)."""
        return int(F.ca_envelope_flags(self._p()))

    @property
    def compressed(self) -> bool:
        """True when the body travels zstd-compressed."""
        return bool(self.flags & COMPRESS)

    @property
    def sealed(self) -> bool:
        """True when the body is sealed to the recipient."""
        return bool(self.flags & SEAL)

    @property
    def id(self) -> bytes:
        """Message id: BLAKE2b-256 of the signed bytes."""
        h = _sigs.ca_hash()
        F.ca_envelope_id(self._p(), _byref(h))
        return bytes(h)

    @property
    def signature(self) -> bytes:
        """The 64-byte Ed25519 signature."""
        s = _sigs.ca_signature()
        F.ca_envelope_signature(self._p(), _byref(s))
        return bytes(s)

    @property
    def encoded(self) -> bytes:
        """The canonical encoded bytes."""
        p = self._p()
        return out_bytes(lambda out, cap, n: F.ca_envelope_encoded(p, out, cap, n), 512)

    def __bytes__(self) -> bytes:
        return self.encoded

    def body(self, reader: Optional[Identity] = None, *, max_body_bytes: Optional[int] = None) -> bytes:
        """The body as the sender wrote it: decompressed (never past
        ``max_body_bytes``, default 1 MiB: a zstd bomb raises
        :class:`~cyberagent.DecompressError`), opened when sealed (``reader``
        must be the recipient, else :class:`~cyberagent.SealedError`; a sealed
        body that does not open under this envelope's header — re-signed by
        another sender, moved or damaged — raises
        :class:`~cyberagent.SealMismatchError`, a :class:`~cyberagent.SealedError`)."""
        p = self._p()
        rp = reader._p() if reader is not None else None
        o = envelope_options(max_body_bytes=max_body_bytes)
        return out_bytes(lambda out, cap, n: F.ca_envelope_body(p, rp, _oref(o), out, cap, n), 1024)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Envelope closed>"
        name = self.kind_name
        return "<Envelope kind=%d%s from %s id=%s>" % (
            self.kind,
            " (%s)" % name if name else "",
            self.sender_did,
            self.id.hex()[:16],
        )


class ReplayGuard(Handle):
    """Remembers message ids until they expire, in memory fixed at creation
    (at most ``CA_REPLAY_GUARD_BYTES_PER_ID`` bytes per id of capacity).

    ``max_skew_ms`` and ``max_lifetime_ms`` must be the verifier's, so that a
    message the verifier still accepts is never forgotten; an envelope living
    longer than ``max_lifetime_ms`` is never recorded. One sender holds at most
    ``max_per_sender`` ids (default ``capacity // 16``, at least 1), so a
    flood from one sender cannot crowd out the others. The C guard is not
    thread-safe; this object serializes its calls with a lock, so it may be
    shared between threads.
    """

    __slots__ = ("_lock",)

    def __init__(
        self,
        capacity: int = _C["CA_REPLAY_GUARD_CAPACITY_DEFAULT"],
        max_skew_ms: int = _C["CA_REPLAY_GUARD_MAX_SKEW_MS_DEFAULT"],
        *,
        max_lifetime_ms: Optional[int] = None,
        max_per_sender: Optional[int] = None,
    ) -> None:
        o = _sigs.ca_replay_guard_options()
        check(F.ca_replay_guard_options_init(_byref(o), _C["CA_REPLAY_GUARD_OPTIONS_VERSION"]))
        o.capacity = capacity
        o.max_skew_ms = max_skew_ms
        if max_lifetime_ms is not None:
            o.max_lifetime_ms = max_lifetime_ms
        if max_per_sender is not None:
            o.max_per_sender = max_per_sender
        p = ctypes.POINTER(_sigs.ca_replay_guard)()
        check(F.ca_replay_guard_new(_byref(p), _byref(o)))
        super().__init__(p, F.ca_replay_guard_free)
        self._lock = threading.Lock()

    def check(self, envelope: Envelope, now: int) -> None:
        """Records the envelope's id; raises :class:`~cyberagent.ReplayError`
        for a repeat, :class:`~cyberagent.LifetimeError` past the maximum
        lifetime, :class:`~cyberagent.NotYetValidError`,
        :class:`~cyberagent.ExpiredError`, :class:`~cyberagent.ReplayQuotaError`
        when the sender holds its quota and :class:`~cyberagent.ReplayFullError`
        when every slot holds an unexpired id (it refuses rather than forgets)."""
        with self._lock:
            check(F.ca_replay_guard_check(self._p(), envelope._p(), now))

    def __len__(self) -> int:
        with self._lock:
            return int(F.ca_replay_guard_count(self._p()))

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<ReplayGuard closed>"
        return "<ReplayGuard remembering %d ids>" % len(self)
