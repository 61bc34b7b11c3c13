"""Exceptions: every failing C call raises a subclass of :class:`Error`.

The class is chosen from the status code: first an exact match (e.g.
``CA_ERR_WRONG_PASSPHRASE`` -> :class:`WrongPassphrase`), then the module's
block of codes (-100.. identity, -200.. envelope, -300.. task, -400.. ledger,
-500.. reputation, -600.. routing), else :class:`Error` itself. Catch
``cyberagent.Error`` to catch them all.
"""

from typing import Dict, Optional, Type

from . import _sigs

_C = _sigs.CONSTANTS


class Error(Exception):
    """A libcyberagent call failed.

    Attributes:
        status: the negative ``ca_status`` code.
        status_name: its stable name, e.g. ``"CA_ERR_BAD_SIGNATURE"``.
        message: the library's sentence from ``ca_last_error()``.
    """

    def __init__(self, status: int, message: str = "", status_name: Optional[str] = None) -> None:
        self.status = status
        self.status_name = status_name if status_name is not None else _name(status)
        self.message = message or self.status_name
        super().__init__("%s (%s)" % (self.message, self.status_name))


# general
class ArgumentError(Error, ValueError):
    """CA_ERR_INVALID_ARGUMENT: a NULL, out-of-range or inconsistent argument."""


class LimitError(Error, ValueError):
    """CA_ERR_LIMIT: input exceeds a limit the caller can see or set."""


class ArithmeticOverflow(Error, ArithmeticError):
    """CA_ERR_OVERFLOW: integer arithmetic would overflow."""


class NoMemoryError(Error, MemoryError):
    """CA_ERR_NO_MEMORY."""


class InitError(Error):
    """CA_ERR_INIT: the crypto backend could not be initialized."""


class FileError(Error):
    """CA_ERR_IO: a file system call failed (the message carries errno's text)."""


class NotFoundError(Error, LookupError):
    """CA_ERR_NOT_FOUND: the named object does not exist."""


class UnsupportedError(Error):
    """CA_ERR_UNSUPPORTED: a version or feature this build lacks."""


class StateError(Error):
    """CA_ERR_STATE: not allowed in the object's current state."""


# identity
class IdentityError(Error):
    """Identity block (-100 .. -199)."""


class SignatureError(IdentityError):
    """CA_ERR_BAD_SIGNATURE: the signature does not verify."""


class DidError(IdentityError, ValueError):
    """CA_ERR_BAD_DID: not a canonical did:key Ed25519 identifier."""


class BadKeyError(IdentityError, ValueError):
    """CA_ERR_BAD_KEY: a public key is not a usable curve point."""


class KeyFileError(IdentityError):
    """A key file could not be opened."""


class KeyFileCorrupt(KeyFileError):
    """CA_ERR_KEYFILE_CORRUPT: damaged, truncated or not a key file."""


class WrongPassphrase(KeyFileError):
    """CA_ERR_WRONG_PASSPHRASE: the file is intact but the passphrase does not open it."""


class KeyFileTooCostly(KeyFileError):
    """CA_ERR_KEYFILE_TOO_COSTLY: the file asks for more KDF work than allowed."""


class BadSignTagError(IdentityError, ValueError):
    """CA_ERR_BAD_SIGN_TAG: an application signing tag is empty, too long or reserved."""


# envelope
class EnvelopeError(Error):
    """Envelope block (-200 .. -299)."""


class MalformedError(EnvelopeError, ValueError):
    """CA_ERR_MALFORMED: not canonical MessagePack of the expected shape."""


class VersionError(EnvelopeError):
    """CA_ERR_BAD_VERSION: an envelope version this build does not speak."""


class ExpiredError(EnvelopeError):
    """CA_ERR_EXPIRED: now is past expires_at plus the allowed skew."""


class NotYetValidError(EnvelopeError):
    """CA_ERR_NOT_YET_VALID: created_at is in the future beyond the allowed skew."""


class ReplayError(EnvelopeError):
    """CA_ERR_REPLAY: the message id was already seen and has not expired."""


class ReplayFullError(EnvelopeError):
    """CA_ERR_REPLAY_FULL: the replay guard is full (it refuses rather than forgets)."""


class DecompressError(EnvelopeError):
    """CA_ERR_DECOMPRESS: the body does not decompress, or exceeds the cap."""


class SealedError(EnvelopeError):
    """CA_ERR_SEALED: the sealed body cannot be opened with this identity."""


class WrongKindError(EnvelopeError):
    """CA_ERR_WRONG_KIND: the envelope kind is not the one expected."""


class LifetimeError(EnvelopeError):
    """CA_ERR_LIFETIME: expires_at - created_at exceeds the maximum lifetime (default 24 h)."""


class ReplayQuotaError(EnvelopeError):
    """CA_ERR_REPLAY_QUOTA: the replay guard holds its per-sender quota of this sender's ids."""


class SealMismatchError(SealedError):
    """CA_ERR_SEAL_MISMATCH: the sealed body does not open under this envelope's
    header (sealed for another sender or header and re-signed, or damaged)."""


# later modules: one family each; exact classes are added as their codes appear
class TaskError(Error):
    """Task block (-300 .. -399)."""


class LedgerError(Error):
    """Ledger block (-400 .. -499)."""


class ReputationError(Error):
    """Reputation block (-500 .. -599)."""


class RoutingError(Error):
    """Routing block (-600 .. -699)."""


class A2AError(Error):
    """JSON, JWS and signed A2A agent cards block (-700 .. -799)."""


class DelegationError(Error):
    """Delegation block (-800 .. -899)."""


_EXACT: Dict[str, Type[Error]] = {
    "CA_ERR_INVALID_ARGUMENT": ArgumentError,
    "CA_ERR_NO_MEMORY": NoMemoryError,
    "CA_ERR_LIMIT": LimitError,
    "CA_ERR_INIT": InitError,
    "CA_ERR_IO": FileError,
    "CA_ERR_OVERFLOW": ArithmeticOverflow,
    "CA_ERR_NOT_FOUND": NotFoundError,
    "CA_ERR_UNSUPPORTED": UnsupportedError,
    "CA_ERR_STATE": StateError,
    "CA_ERR_BAD_SIGNATURE": SignatureError,
    "CA_ERR_BAD_DID": DidError,
    "CA_ERR_BAD_KEY": BadKeyError,
    "CA_ERR_KEYFILE_CORRUPT": KeyFileCorrupt,
    "CA_ERR_WRONG_PASSPHRASE": WrongPassphrase,
    "CA_ERR_KEYFILE_TOO_COSTLY": KeyFileTooCostly,
    "CA_ERR_BAD_SIGN_TAG": BadSignTagError,
    "CA_ERR_MALFORMED": MalformedError,
    "CA_ERR_BAD_VERSION": VersionError,
    "CA_ERR_EXPIRED": ExpiredError,
    "CA_ERR_NOT_YET_VALID": NotYetValidError,
    "CA_ERR_REPLAY": ReplayError,
    "CA_ERR_REPLAY_FULL": ReplayFullError,
    "CA_ERR_DECOMPRESS": DecompressError,
    "CA_ERR_SEALED": SealedError,
    "CA_ERR_WRONG_KIND": WrongKindError,
    "CA_ERR_LIFETIME": LifetimeError,
    "CA_ERR_REPLAY_QUOTA": ReplayQuotaError,
    "CA_ERR_SEAL_MISMATCH": SealMismatchError,
}

_BY_CODE: Dict[int, Type[Error]] = {_C[k]: v for k, v in _EXACT.items() if k in _C}

_BLOCKS = [
    (-199, -100, IdentityError),
    (-299, -200, EnvelopeError),
    (-399, -300, TaskError),
    (-499, -400, LedgerError),
    (-599, -500, ReputationError),
    (-699, -600, RoutingError),
    (-799, -700, A2AError),
    (-899, -800, DelegationError),
]


def _camel(status_name: str) -> str:
    words = status_name[len("CA_ERR_"):].split("_")
    return "".join(w.capitalize() for w in words) + "Error"


# Every other status code gets its own class, named after it and placed in its
# module's family: CA_ERR_LEDGER_INSUFFICIENT_FUNDS -> LedgerInsufficientFundsError
# (a LedgerError), CA_ERR_TASK_ORDER -> TaskOrderError (a TaskError), ...
GENERATED: Dict[str, Type[Error]] = {}
for _k, _v in sorted(_C.items(), key=lambda kv: -kv[1]):
    if not _k.startswith("CA_ERR_") or _v in _BY_CODE:
        continue
    _fam: Type[Error] = Error
    for _lo, _hi, _f in _BLOCKS:
        if _lo <= _v <= _hi:
            _fam = _f
    _cls = type(_camel(_k), (_fam,), {"__doc__": "%s (%d)." % (_k, _v), "__module__": __name__})
    globals()[_cls.__name__] = _cls
    GENERATED[_cls.__name__] = _cls
    _BY_CODE[_v] = _cls


def _name(status: int) -> str:
    for k, v in _C.items():
        if v == status and (k.startswith("CA_ERR_") or k == "CA_OK"):
            return k
    return "CA_ERR_UNKNOWN"


def error_class(status: int) -> Type[Error]:
    """The exception class raised for a status code."""
    cls = _BY_CODE.get(status)
    if cls is not None:
        return cls
    for lo, hi, fam in _BLOCKS:
        if lo <= status <= hi:
            return fam
    return Error


def make_error(status: int) -> Error:
    """Builds the exception for `status` with this thread's ca_last_error() sentence.

    Call it right after the C call that returned `status`, on the same thread,
    with no library call in between (LAST ERROR RULE, common.h: the sentence
    belongs to the last call that failed). Finalizers may run in between: they
    only call ``ca_*_free``, which never changes the sentence."""
    from ._lib import F

    message = (F.ca_last_error() or b"").decode("utf-8", "replace")
    name = (F.ca_status_str(status) or b"").decode("ascii", "replace")
    return error_class(status)(status, message, name)


def check(status: int) -> None:
    """Raises the matching :class:`Error` when ``status`` is not CA_OK."""
    if status != 0:
        raise make_error(status)
