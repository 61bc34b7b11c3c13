"""Agent identity: Ed25519 keys, did:key text, encrypted key files, X25519.

THREAD SAFETY (as include/cyberagent/identity.h): an :class:`Identity` is
immutable after creation; any number of threads may sign with one identity at
once (ctypes releases the GIL during each call, so they really run in
parallel). Close it from one thread only, after every other use has ended.
The module-level functions are thread-safe.
"""

import ctypes
import os
from typing import Optional, Union

from . import _sigs
from ._handle import Handle
from ._lib import F, out_bytes, out_text
from .errors import check, make_error

_C = _sigs.CONSTANTS
SEED_BYTES: int = _C["CA_SEED_BYTES"]
PUBLIC_KEY_BYTES: int = _C["CA_AGENT_ID_BYTES"]
SIGNATURE_BYTES: int = _C["CA_SIGNATURE_BYTES"]
X25519_PUBLIC_BYTES: int = _C["CA_X25519_PUBLIC_BYTES"]
DID_MAX_CHARS: int = _C["CA_DID_MAX_CHARS"]
KEYFILE_BYTES: int = _C["CA_KEYFILE_BYTES"]
SIGN_TAG_MAX_BYTES: int = _C["CA_SIGN_TAG_MAX_BYTES"]
#: What an application signature covers: SIGN_APP_PREFIX, one byte holding the
#: tag's length, the tag, the message (identity.h, docs/IDENTITY.md).
SIGN_APP_PREFIX: bytes = b"cyberagent/app/"

BytesLike = Union[bytes, bytearray, memoryview]
Tag = Union[str, bytes, bytearray, memoryview]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Passphrase = Union[str, bytes]


def _bytes(value: BytesLike, name: str, size: Optional[int] = None) -> bytes:
    if isinstance(value, bytes):
        b = value
    elif isinstance(value, (bytearray, memoryview)):
        b = bytes(value)
    else:
        raise TypeError("%s must be bytes, not %s" % (name, type(value).__name__))
    if size is not None and len(b) != size:
        raise ValueError("%s must be %d bytes, got %d" % (name, size, len(b)))
    return b


def _tag(tag: Tag) -> bytes:
    if isinstance(tag, str):
        return tag.encode("utf-8")
    return _bytes(tag, "tag")


def app_signed_bytes(tag: Tag, message: BytesLike) -> bytes:
    """The bytes an application signature covers (for checking it with another Ed25519
    implementation): ``SIGN_APP_PREFIX || len(tag) || tag || message``. The tag is not
    checked here; :meth:`Identity.sign` and :func:`verify_detached` check it."""
    t = _tag(tag)
    if len(t) > 255:
        raise ValueError("tag longer than 255 bytes cannot be encoded")
    return SIGN_APP_PREFIX + bytes([len(t)]) + t + _bytes(message, "message")


def _agent_id(public_key: BytesLike, name: str = "public_key") -> _sigs.ca_agent_id:
    return _sigs.ca_agent_id.from_buffer_copy(_bytes(public_key, name, PUBLIC_KEY_BYTES))


def _passphrase(p: Passphrase) -> bytes:
    if isinstance(p, str):
        return p.encode("utf-8")
    if isinstance(p, (bytes, bytearray, memoryview)):
        return bytes(p)
    raise TypeError("passphrase must be str or bytes")


def keyfile_options(
    opslimit: Optional[int] = None,
    memlimit: Optional[int] = None,
    max_opslimit: Optional[int] = None,
    max_memlimit: Optional[int] = None,
) -> Optional[_sigs.ca_keyfile_options]:
    """A ``ca_keyfile_options`` with the C defaults, overridden where given (None if all default)."""
    if opslimit is None and memlimit is None and max_opslimit is None and max_memlimit is None:
        return None
    opts = _sigs.ca_keyfile_options()
    check(F.ca_keyfile_options_init(ctypes.byref(opts), _C["CA_KEYFILE_OPTIONS_VERSION"]))
    if opslimit is not None:
        opts.opslimit = opslimit
    if memlimit is not None:
        opts.memlimit = memlimit
    if max_opslimit is not None:
        opts.max_opslimit = max_opslimit
    if max_memlimit is not None:
        opts.max_memlimit = max_memlimit
    return opts


def _opts_ref(opts: Optional[_sigs.ca_keyfile_options]):  # type: ignore[no-untyped-def]
    return ctypes.byref(opts) if opts is not None else None


class Identity(Handle):
    """An agent's Ed25519 key pair; its id is the 32-byte public key.

    The secret key stays in the library's guarded memory and is wiped when the
    identity is closed or collected; it leaves only through
    :meth:`export_seed` or an encrypted key file. ``repr()`` shows the did only.

    >>> with Identity.from_seed(bytes(32)) as me:
    ...     sig = me.sign("example.com/greeting/v1", b"hello")
    ...     verify_detached(me.public_key, "example.com/greeting/v1", b"hello", sig)
    True
    """

    __slots__ = ("_public_key", "_did")

    def __init__(self, _ptr: "ctypes._Pointer[_sigs.ca_identity]") -> None:
        """Internal: use :meth:`generate`, :meth:`from_seed` or :meth:`load`."""
        super().__init__(_ptr, F.ca_identity_free)
        aid = _sigs.ca_agent_id()
        F.ca_identity_id(_ptr, ctypes.byref(aid))
        self._public_key = bytes(aid)
        self._did: Optional[str] = None

    @classmethod
    def generate(cls) -> "Identity":
        """A new identity from the operating system's CSPRNG."""
        p = ctypes.POINTER(_sigs.ca_identity)()
        check(F.ca_identity_generate(ctypes.byref(p)))
        return cls(p)

    @classmethod
    def from_seed(cls, seed: BytesLike) -> "Identity":
        """The deterministic identity of a 32-byte seed (RFC 8032 secret key)."""
        s = _bytes(seed, "seed", SEED_BYTES)
        p = ctypes.POINTER(_sigs.ca_identity)()
        check(F.ca_identity_from_seed(ctypes.byref(p), s))
        return cls(p)

    @classmethod
    def from_encrypted(
        cls,
        data: BytesLike,
        passphrase: Passphrase,
        *,
        max_opslimit: Optional[int] = None,
        max_memlimit: Optional[int] = None,
    ) -> "Identity":
        """Opens key-file bytes made by :meth:`to_encrypted`.

        Raises :class:`~cyberagent.WrongPassphrase`, :class:`~cyberagent.KeyFileCorrupt`
        or :class:`~cyberagent.KeyFileTooCostly` (more work than ``max_*`` allow; by
        default ``CA_KEYFILE_MAX_OPSLIMIT_DEFAULT`` passes over
        ``CA_KEYFILE_MAX_MEMLIMIT_DEFAULT`` bytes), the last two before any key derivation.
        """
        d = _bytes(data, "data")
        pw = _passphrase(passphrase)
        opts = keyfile_options(max_opslimit=max_opslimit, max_memlimit=max_memlimit)
        p = ctypes.POINTER(_sigs.ca_identity)()
        check(F.ca_identity_import_encrypted(ctypes.byref(p), d, len(d), pw, len(pw), _opts_ref(opts)))
        return cls(p)

    @classmethod
    def load(
        cls,
        path: PathLike,
        passphrase: Passphrase,
        *,
        max_opslimit: Optional[int] = None,
        max_memlimit: Optional[int] = None,
    ) -> "Identity":
        """Loads an encrypted key file written by :meth:`save`."""
        pw = _passphrase(passphrase)
        opts = keyfile_options(max_opslimit=max_opslimit, max_memlimit=max_memlimit)
        p = ctypes.POINTER(_sigs.ca_identity)()
        check(F.ca_identity_load(ctypes.byref(p), os.fsencode(path), pw, len(pw), _opts_ref(opts)))
        return cls(p)

    def save(
        self,
        path: PathLike,
        passphrase: Passphrase,
        *,
        opslimit: Optional[int] = None,
        memlimit: Optional[int] = None,
        max_opslimit: Optional[int] = None,
        max_memlimit: Optional[int] = None,
    ) -> None:
        """Writes an encrypted key file (mode 0600, atomic replace).

        ``opslimit``/``memlimit`` are Argon2id costs; the defaults are libsodium's
        "moderate" level (``CA_KEYFILE_OPSLIMIT_DEFAULT`` / ``CA_KEYFILE_MEMLIMIT_DEFAULT``),
        which is also the most a default loader accepts: a costlier file raises
        :class:`~cyberagent.KeyFileTooCostly` unless ``max_opslimit``/``max_memlimit``
        are raised, both here (the writer refuses what it could not read back) and
        when loading. The file is written to a fresh temporary file and renamed;
        symlinks are never followed.
        """
        pw = _passphrase(passphrase)
        opts = keyfile_options(opslimit, memlimit, max_opslimit, max_memlimit)
        check(F.ca_identity_save(self._p(), os.fsencode(path), pw, len(pw), _opts_ref(opts)))

    def to_encrypted(
        self,
        passphrase: Passphrase,
        *,
        opslimit: Optional[int] = None,
        memlimit: Optional[int] = None,
        max_opslimit: Optional[int] = None,
        max_memlimit: Optional[int] = None,
    ) -> bytes:
        """The encrypted key-file bytes (:data:`KEYFILE_BYTES` long); costs as for :meth:`save`."""
        pw = _passphrase(passphrase)
        opts = keyfile_options(opslimit, memlimit, max_opslimit, max_memlimit)
        p = self._p()
        return out_bytes(
            lambda out, cap, n: F.ca_identity_export_encrypted(p, pw, len(pw), _opts_ref(opts), out, cap, n),
            KEYFILE_BYTES,
        )

    def export_seed(self) -> bytes:
        """The secret 32-byte seed. Handle with care: Python cannot wipe a ``bytes``."""
        buf = ctypes.create_string_buffer(SEED_BYTES)
        try:
            check(F.ca_identity_export_seed(self._p(), buf))
            return buf.raw
        finally:
            F.ca_wipe(buf, SEED_BYTES)

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key, which is the agent id."""
        return self._public_key

    agent_id = public_key

    @property
    def did(self) -> str:
        """The ``did:key:z6Mk...`` text form of the agent id."""
        if self._did is None:
            self._did = did_encode(self._public_key)
        return self._did

    @property
    def x25519_public_key(self) -> bytes:
        """The X25519 public key others seal bodies to."""
        return x25519_public_key(self._public_key)

    def sign(self, tag: Tag, message: BytesLike) -> bytes:
        """Detached Ed25519 signature (64 bytes) of ``message`` under the application ``tag``.

        ``tag`` (str as UTF-8, or bytes) names what the signature means, e.g.
        ``"example.com/chat/v1"``: 1..:data:`SIGN_TAG_MAX_BYTES` bytes, not beginning
        ``"cyberagent/"`` (reserved), else :class:`~cyberagent.BadSignTagError`. What is
        signed is :func:`app_signed_bytes`, never ``message`` alone, so no message,
        whoever chose it, yields a signature that verifies as an envelope, card or
        ledger op of this identity.
        """
        t = _tag(tag)
        m = _bytes(message, "message")
        sig = _sigs.ca_signature()
        check(F.ca_identity_sign_tagged(self._p(), t, len(t), m, len(m), ctypes.byref(sig)))
        return bytes(sig)

    def verify(self, tag: Tag, message: BytesLike, signature: BytesLike) -> bool:
        """Same as ``verify_detached(self.public_key, tag, message, signature)``."""
        return verify_detached(self._public_key, tag, message, signature)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Identity closed>"
        return "<Identity %s>" % self.did


def verify_detached(public_key: BytesLike, tag: Tag, message: BytesLike, signature: BytesLike) -> bool:
    """True when ``signature`` is ``public_key``'s application signature of ``message``
    under ``tag`` (made by :meth:`Identity.sign` with the same tag).

    Strict rules (libsodium's): non-canonical S, small-order or non-canonical
    keys and R are rejected. Returns False for any signature that does not
    verify, including every envelope, card or ledger-op signature; raises
    ``ValueError`` for wrong lengths and :class:`~cyberagent.BadSignTagError`
    for a tag :meth:`Identity.sign` would refuse.
    """
    aid = _agent_id(public_key)
    sig = _sigs.ca_signature.from_buffer_copy(_bytes(signature, "signature", SIGNATURE_BYTES))
    t = _tag(tag)
    m = _bytes(message, "message")
    st = F.ca_identity_verify_tagged(ctypes.byref(aid), t, len(t), m, len(m), ctypes.byref(sig))
    if st == 0:
        return True
    if st == _C["CA_ERR_BAD_SIGNATURE"]:
        return False
    raise make_error(st)


def did_encode(public_key: BytesLike) -> str:
    """``did:key:z...`` text of a 32-byte Ed25519 public key."""
    aid = _agent_id(public_key)
    return out_text(lambda out, cap, n: F.ca_did_encode(ctypes.byref(aid), out, cap, n), DID_MAX_CHARS)


def did_parse(did: Union[str, bytes]) -> bytes:
    """The 32-byte public key of a did:key; raises :class:`~cyberagent.DidError`
    for anything but the canonical Ed25519 form."""
    t = did.encode("utf-8") if isinstance(did, str) else bytes(did)
    aid = _sigs.ca_agent_id()
    check(F.ca_did_parse(t, len(t), ctypes.byref(aid)))
    return bytes(aid)


def x25519_public_key(public_key: BytesLike) -> bytes:
    """The X25519 public key of an agent (for sealing); :class:`~cyberagent.BadKeyError`
    when the Ed25519 key is not a valid point."""
    aid = _agent_id(public_key)
    out = ctypes.create_string_buffer(X25519_PUBLIC_BYTES)
    check(F.ca_agent_x25519_public(ctypes.byref(aid), out))
    return out.raw
