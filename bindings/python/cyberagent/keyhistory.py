"""Key rotation with pre-rotation: key events, key histories, and verifying
envelopes against a history (include/cyberagent/keyhistory.h,
docs/IDENTITY.md "Key rotation").

An identity commits at inception to the digest of its next key
(:func:`commitment`); a rotation reveals that key, is signed by it alone and
commits to the following one, so a thief holding only the current key cannot
rotate. The stable identifier (:attr:`KeyHistory.id`) is the inception's
digest and survives every rotation.

THREAD SAFETY (as the C header): module functions are thread-safe; a
:class:`KeyHistory` may be read by many threads while none appends. This
object does not lock: give appends one owner.
"""

import ctypes
from typing import NamedTuple, Optional

from . import _sigs
from ._handle import Handle
from ._lib import F, out_bytes
from .envelope import Envelope, envelope_options
from .errors import check
from .identity import BytesLike, Identity, _agent_id, _bytes

_C = _sigs.CONSTANTS
_byref = ctypes.byref

INCEPTION: int = _C["CA_KEY_EVENT_INCEPTION"]
ROTATION: int = _C["CA_KEY_EVENT_ROTATION"]
EVENT_MAX_BYTES: int = _C["CA_KEY_EVENT_MAX_BYTES"]
HISTORY_MAX_EVENTS: int = _C["CA_KEY_HISTORY_MAX_EVENTS"]
#: valid_until of the current key.
FOREVER: int = 2**64 - 1


class KeyEvent(NamedTuple):
    """A key event as :func:`open_event` checked it (``ca_key_event_info``)."""

    type: int
    sequence: int
    identifier: bytes
    prior: bytes
    key: bytes
    next: bytes
    time: int
    digest: bytes


class KeyWindow(NamedTuple):
    """When a key was the identity's (``ca_key_info``): [valid_from, valid_until)."""

    sequence: int
    valid_from: int
    valid_until: int
    current: bool


def _hash(value: BytesLike, name: str) -> _sigs.ca_hash:
    return _sigs.ca_hash.from_buffer_copy(_bytes(value, name, _C["CA_HASH_BYTES"]))


def commitment(public_key: BytesLike) -> bytes:
    """BLAKE2b-256("cyberagent/1/next-key" || public_key): what an event commits to."""
    out = _sigs.ca_hash()
    check(F.ca_key_commitment(_byref(_agent_id(public_key)), _byref(out)))
    return bytes(out.bytes)


def incept(first: Identity, next_commitment: BytesLike, time: int) -> bytes:
    """The inception event of a new identity whose first key is ``first``."""
    c = _hash(next_commitment, "next_commitment")
    return out_bytes(
        lambda o, cap, n: F.ca_key_event_incept(first._p(), _byref(c), time, o, cap, n), EVENT_MAX_BYTES
    )


def open_event(data: BytesLike) -> KeyEvent:
    """Strict decode and signature check of one event (``ca_key_event_open``)."""
    d = _bytes(data, "data")
    info = _sigs.ca_key_event_info()
    info.version = _C["CA_KEY_EVENT_INFO_VERSION"]
    check(F.ca_key_event_open(d, len(d), _byref(info)))
    return KeyEvent(
        int(info.type),
        int(info.sequence),
        bytes(info.identifier.bytes),
        bytes(info.prior.bytes),
        bytes(info.key.bytes),
        bytes(info.next.bytes),
        int(info.time),
        bytes(info.digest.bytes),
    )


class KeyHistory(Handle):
    """An identity's key history, built from its inception and rotations in order."""

    __slots__ = ()

    def __init__(self, inception: BytesLike) -> None:
        d = _bytes(inception, "inception")
        p = ctypes.POINTER(_sigs.ca_key_history)()
        check(F.ca_key_history_new(_byref(p), d, len(d)))
        super().__init__(p, F.ca_key_history_free)

    def append(self, event: BytesLike) -> None:
        """Appends the next rotation; raises KeyEventOrderError, KeyNotCommittedError, ..."""
        d = _bytes(event, "event")
        check(F.ca_key_history_append(self._p(), d, len(d)))

    def rotate(self, revealed: Identity, next_commitment: BytesLike, time: int) -> bytes:
        """The next rotation event, signed by ``revealed`` (the committed key). Not appended."""
        c = _hash(next_commitment, "next_commitment")
        h = self._p()
        return out_bytes(
            lambda o, cap, n: F.ca_key_event_rotate(h, revealed._p(), _byref(c), time, o, cap, n),
            EVENT_MAX_BYTES,
        )

    @property
    def id(self) -> bytes:
        """The stable identifier: the inception's digest."""
        out = _sigs.ca_hash()
        F.ca_key_history_id(self._p(), _byref(out))
        return bytes(out.bytes)

    @property
    def sequence(self) -> int:
        return int(F.ca_key_history_sequence(self._p()))

    @property
    def current(self) -> bytes:
        """The current public key."""
        out = _sigs.ca_agent_id()
        F.ca_key_history_current(self._p(), _byref(out))
        return bytes(out.bytes)

    @property
    def last_digest(self) -> bytes:
        out = _sigs.ca_hash()
        F.ca_key_history_last_digest(self._p(), _byref(out))
        return bytes(out.bytes)

    def key(self, public_key: BytesLike) -> KeyWindow:
        """Whether and when ``public_key`` was the identity's; NotFoundError if never."""
        info = _sigs.ca_key_info()
        info.version = _C["CA_KEY_INFO_VERSION"]
        check(F.ca_key_history_key(self._p(), _byref(_agent_id(public_key)), _byref(info)))
        return KeyWindow(int(info.sequence), int(info.valid_from), int(info.valid_until), bool(info.current))

    def verify_envelope(
        self, envelope: Envelope, now: int, *, max_skew_ms: Optional[int] = None, max_lifetime_ms: Optional[int] = None
    ) -> None:
        """Checks a decoded envelope against the history: ca_envelope_verify's checks and the
        window rule (created_at + skew >= valid_from, expires_at <= valid_until). Raises
        KeyUnknownError, KeyRotatedError, SignatureError, ExpiredError, ..."""
        o = None
        if max_skew_ms is not None or max_lifetime_ms is not None:
            o = _byref(envelope_options(max_skew_ms=max_skew_ms, max_lifetime_ms=max_lifetime_ms))
        check(F.ca_key_history_verify_envelope(self._p(), envelope._p(), now, o))
