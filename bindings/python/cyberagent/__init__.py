"""libcyberagent for Python: agents hiring agents, over ctypes.

Pure Python, standard library only. The shared library is found through
``CYBERAGENT_LIBRARY`` (a path), else the build tree of a checkout, else the
system (see ``cyberagent._lib``); it is loaded on first use.

First lines::

    import cyberagent
    me = cyberagent.Identity.generate()
    sig = me.sign("example.com/greeting/v1", b"hello")
    assert cyberagent.verify_detached(me.public_key, "example.com/greeting/v1", b"hello", sig)
    print(me.did)

Threads: ctypes releases the GIL during every C call, so threads that verify
or sign run in parallel. Which objects may be shared between threads is the C
headers' rule, repeated in each class's docstring: immutable objects
(:class:`Identity`, decoded envelopes) may be used by many threads at once;
mutable ones (replay guards, ledgers, registries) need one owner or a lock.
Every failure raises a subclass of :class:`Error`.
"""

from . import _sigs
from .core import equal, init, last_error, library_path, sizes, status_str, version_string, version_number, wipe
from .errors import (
    A2AError,
    ArgumentError,
    ArithmeticOverflow,
    BadKeyError,
    BadSignTagError,
    DecompressError,
    DelegationError,
    DidError,
    EnvelopeError,
    Error,
    ExpiredError,
    FileError,
    IdentityError,
    InitError,
    KeyFileCorrupt,
    KeyFileError,
    KeyFileTooCostly,
    LedgerError,
    LifetimeError,
    LimitError,
    MalformedError,
    NoMemoryError,
    NotFoundError,
    NotYetValidError,
    ReplayError,
    ReplayFullError,
    ReplayQuotaError,
    ReputationError,
    RoutingError,
    SealMismatchError,
    SealedError,
    SignatureError,
    StateError,
    TaskError,
    UnsupportedError,
    VersionError,
    WrongKindError,
    WrongPassphrase,
)
from .errors import GENERATED as _GENERATED_ERRORS

globals().update(_GENERATED_ERRORS)
from .identity import (
    Identity,
    app_signed_bytes,
    did_encode,
    did_parse,
    keyfile_options,
    verify_detached,
    x25519_public_key,
)
from .envelope import (
    Envelope,
    ReplayGuard,
    envelope_bound,
    envelope_options,
    kind_name,
    sign_envelope,
    sign_envelope_with_id,
)

from . import card, delegation, keyhistory, ledger, reputation, routing, task
from .keyhistory import KeyHistory
from .task import Evidence, Task, TaskMessage
from .routing import Candidate, Kad, Routing
from .card import (
    A2ACard,
    Capability,
    Card,
    a2a_limits,
    capability_check,
    is_capability,
    jcs_canonicalize,
    sign_card,
    sign_card_with_id,
)
from .ledger import Ledger, LedgerOp, LogEntry, op_decode, op_sign, op_verify
from .reputation import Reputation
from .delegation import Delegation, RevocationSet, sign_delegation, sign_revocation, verify_chain

#: Numeric constants of the public headers (sizes, status codes, kinds, ...).
CONSTANTS = dict(_sigs.CONSTANTS)
globals().update({k: v for k, v in _sigs.CONSTANTS.items() if not k.endswith("_")})

__version__ = "1.0.0"
