"""Staking, escrow and slashing ledger: a deterministic state machine over
integer base units, driven by signed operations (docs/LEDGER.md).

The ledger never reads a clock: ``now`` is the caller's time in ms since the
Unix epoch (include/cyberagent/ledger.h, TIME); delays and deadlines use the
same unit. A ledger fed by an external log derives ``now`` from the log's
timestamps (:meth:`Ledger.apply_log`).

THREAD SAFETY: a C ledger is not thread-safe (include/cyberagent/ledger.h);
:class:`Ledger` serializes every call with a lock, so the Python object may be
shared between threads. The op functions are thread-safe.
"""

import ctypes
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

from . import _sigs
from ._handle import Handle
from ._lib import F, out_bytes
from .errors import check, make_error
from .identity import BytesLike, Identity, PathLike, _bytes

_C = _sigs.CONSTANTS
_byref = ctypes.byref
_ZERO32 = bytes(32)

PPM: int = _C["CA_LEDGER_PPM"]
OP_MINT: int = _C["CA_LEDGER_OP_MINT"]
OP_TRANSFER: int = _C["CA_LEDGER_OP_TRANSFER"]
OP_BOND: int = _C["CA_LEDGER_OP_BOND"]
OP_UNBOND: int = _C["CA_LEDGER_OP_UNBOND"]
OP_WITHDRAW: int = _C["CA_LEDGER_OP_WITHDRAW"]
OP_ESCROW_OPEN: int = _C["CA_LEDGER_OP_ESCROW_OPEN"]
OP_ESCROW_DELIVER: int = _C["CA_LEDGER_OP_ESCROW_DELIVER"]
OP_ESCROW_RELEASE: int = _C["CA_LEDGER_OP_ESCROW_RELEASE"]
OP_ESCROW_REFUND: int = _C["CA_LEDGER_OP_ESCROW_REFUND"]
OP_ESCROW_SPLIT: int = _C["CA_LEDGER_OP_ESCROW_SPLIT"]
OP_SLASH: int = _C["CA_LEDGER_OP_SLASH"]
OP_KEY_EVENT: int = _C["CA_LEDGER_OP_KEY_EVENT"]
OP_REVOKE: int = _C["CA_LEDGER_OP_REVOKE"]
CAPABILITY_TRANSFER: str = "ledger.transfer"  # CA_LEDGER_CAPABILITY_TRANSFER
CAPABILITY_ESCROW: str = "ledger.escrow"  # CA_LEDGER_CAPABILITY_ESCROW
EVIDENCE_EQUIVOCATION: int = _C["CA_LEDGER_EVIDENCE_EQUIVOCATION"]
EVIDENCE_MISSED_DEADLINE: int = _C["CA_LEDGER_EVIDENCE_MISSED_DEADLINE"]
EVIDENCE_DISPUTE: int = _C["CA_LEDGER_EVIDENCE_DISPUTE"]
ESCROW_OPEN: int = _C["CA_LEDGER_ESCROW_OPEN"]
ESCROW_RELEASED: int = _C["CA_LEDGER_ESCROW_RELEASED"]
ESCROW_REFUNDED: int = _C["CA_LEDGER_ESCROW_REFUNDED"]
ESCROW_SPLIT: int = _C["CA_LEDGER_ESCROW_SPLIT"]
ESCROW_INFO_VERSION: int = _C["CA_LEDGER_ESCROW_INFO_VERSION"]
OPEN_INFO_VERSION: int = _C["CA_LEDGER_OPEN_INFO_VERSION"]
LOG_INFO_VERSION: int = _C["CA_LEDGER_LOG_INFO_VERSION"]
KEY_INFO_VERSION: int = _C["CA_LEDGER_KEY_INFO_VERSION"]


@dataclass
class LedgerOp:
    """One ledger operation (``ca_ledger_op``); fields unused by a type stay zero.

    See include/cyberagent/ledger.h for which fields each type uses, e.g.
    ``LedgerOp(OP_TRANSFER, signer=alice.public_key, nonce=1,
    counterparty=bob.public_key, amount=10)``. ``result`` is the RESULT's
    message id, for ESCROW_DELIVER only. ``delegation`` is the leaf id of
    the chain a delegated op carries (what :func:`op_decode` reports; 32
    zero bytes for a direct op); :meth:`Ledger.apply` refuses it non-zero.
    """

    type: int
    signer: bytes = _ZERO32
    nonce: int = 0
    counterparty: bytes = _ZERO32
    ref: bytes = _ZERO32
    amount: int = 0
    amount2: int = 0
    deadline: int = 0
    evidence: int = 0
    result: bytes = _ZERO32
    delegation: bytes = _ZERO32

    def to_c(self) -> _sigs.ca_ledger_op:
        o = _sigs.ca_ledger_op(version=_C["CA_LEDGER_OP_VERSION"])
        o.type = self.type
        o.evidence = self.evidence
        o.signer = _sigs.ca_agent_id.from_buffer_copy(_bytes(self.signer, "signer", 32))
        o.nonce = self.nonce
        o.counterparty = _sigs.ca_agent_id.from_buffer_copy(_bytes(self.counterparty, "counterparty", 32))
        o.ref = _sigs.ca_hash.from_buffer_copy(_bytes(self.ref, "ref", 32))
        o.amount = self.amount
        o.amount2 = self.amount2
        o.deadline = self.deadline
        o.result = _sigs.ca_hash.from_buffer_copy(_bytes(self.result, "result", 32))
        o.delegation = _sigs.ca_hash.from_buffer_copy(_bytes(self.delegation, "delegation", 32))
        return o

    @classmethod
    def from_c(cls, o: _sigs.ca_ledger_op) -> "LedgerOp":
        return cls(
            type=int(o.type),
            signer=bytes(o.signer),
            nonce=int(o.nonce),
            counterparty=bytes(o.counterparty),
            ref=bytes(o.ref),
            amount=int(o.amount),
            amount2=int(o.amount2),
            deadline=int(o.deadline),
            evidence=int(o.evidence),
            result=bytes(o.result),
            delegation=bytes(o.delegation),
        )


@dataclass(frozen=True)
class AccountInfo:
    balance: int
    bonded: int
    unbonding: int
    nonce: int
    jailed_until: int
    unbonding_entries: int


@dataclass(frozen=True)
class EscrowInfo:
    hirer: bytes
    worker: bytes
    payment: int
    collateral: int
    deadline: int
    state: int
    delivered: bool
    missed: bool  # settled after its deadline with nothing delivered (still slashable once)
    paid: int  # what the worker received of the payment
    result: bytes  # message id of the RESULT recorded by DELIVER (32 zero bytes: none)


@dataclass(frozen=True)
class KeyInfo:
    """An account's key record (``ca_ledger_key_info``, docs/LEDGER.md "Key rotation")."""

    identifier: bytes  # the identity's stable id (its inception's digest)
    key: bytes  # the current key: the only one that signs for the account
    sequence: int  # last event's sequence (0: bound, never rotated)
    digest: bytes  # last event's digest
    next: bytes  # commitment to the next key
    time: int  # last event's time (ms)
    seq: int  # ledger seq the last KEY_EVENT took
    position: int  # its log position (0: applied without one)
    now: int  # the ledger's now when it applied


@dataclass(frozen=True)
class DelegationRecord:
    """The ledger's record of a delegation id (:meth:`Ledger.delegation`)."""

    spent: int  # units spent through it, as any link of a chain (never given back)
    total_cap: int
    nonce: int  # last nonce of an op applied with it as the leaf (0: none yet)
    expires_at: int  # dropped once the ledger's horizon passes it


@dataclass(frozen=True)
class Totals:
    minted: int
    burned: int
    escrowed: int
    seq: int
    accounts: int
    escrows: int


@dataclass(frozen=True)
class OpenInfo:
    """What recovery found when opening a durable ledger (``ca_ledger_open_info``)."""

    snapshot_seq: int  # seq covered by the snapshot loaded (0: none)
    replayed: int  # journal records of applied ops replayed after it
    torn_bytes: int  # bytes of a torn write cut off the journal's end
    position: int = 0  # log position of the last entry applied or refused: read on from + 1
    failed: int = 0  # log entries refused so far


@dataclass(frozen=True)
class LogInfo:
    """Where a ledger stands in its external log (``ca_ledger_log_position``)."""

    position: int  # last entry applied or refused (0: none): read the log on from position + 1
    clock: int  # the next entry is applied at max(its time, clock)
    failed: int  # entries refused so far
    durable_position: int  # durable mode: what a crash keeps (the last commit); in memory: position


@dataclass
class LogEntry:
    """One entry of an external ordered log (``ca_ledger_log_entry``), for
    :meth:`Ledger.apply_log`: its ``position`` (>= 1, strictly increasing in one
    log), the log's ``time`` for it (ms since the epoch; JetStream: the stream
    timestamp), and either signed op bytes ``msg`` (with an ``attachment``: an
    equivocation slash's evidence or a DELIVER's RESULT) or a trusted ``op``."""

    position: int
    time: int
    msg: Optional[bytes] = None
    attachment: Optional[bytes] = None
    op: Optional[LedgerOp] = None


def _open_info(info: _sigs.ca_ledger_open_info) -> OpenInfo:
    return OpenInfo(int(info.snapshot_seq), int(info.replayed), int(info.torn_bytes), int(info.position),
                    int(info.failed))


def _c_bytes(b: Optional[bytes], keep: list) -> "tuple[Any, int]":
    """A const uint8_t * for ``b`` (kept alive in ``keep``) and its length; NULL for None."""
    if b is None:
        return None, 0
    arr = (ctypes.c_uint8 * max(len(b), 1)).from_buffer_copy(b if b else b"\0")
    keep.append(arr)
    return ctypes.cast(arr, ctypes.POINTER(ctypes.c_uint8)), len(b)


def ledger_options(  # type: ignore[no-untyped-def]
    authority: Optional[BytesLike] = None,
    arbiter: Optional[BytesLike] = None,
    network: Optional[BytesLike] = None,
    **fields: int,
):
    """A ``ca_ledger_options`` with the C defaults, ``authority``/``arbiter`` public
    keys, ``network`` (32 bytes naming the ledger instance, default zero) and any
    other field given by name (``unbonding_delay=...``,
    ``slash_equivocation_ppm=...``, ``max_accounts=...``, ...)."""
    o = _sigs.ca_ledger_options()
    check(F.ca_ledger_options_init(_byref(o), _C["CA_LEDGER_OPTIONS_VERSION"]))
    if authority is not None:
        o.authority = _sigs.ca_agent_id.from_buffer_copy(_bytes(authority, "authority", 32))
    if arbiter is not None:
        o.arbiter = _sigs.ca_agent_id.from_buffer_copy(_bytes(arbiter, "arbiter", 32))
    if network is not None:
        o.network = _sigs.ca_hash.from_buffer_copy(_bytes(network, "network", 32))
    names = {f[0] for f in _sigs.ca_ledger_options._fields_}
    for k, v in fields.items():
        if k not in names or k in ("version", "authority", "arbiter", "network"):
            raise TypeError("unknown ledger option %r" % k)
        setattr(o, k, v)
    return o


def ledger_id(
    authority: Optional[BytesLike] = None,
    arbiter: Optional[BytesLike] = None,
    network: Optional[BytesLike] = None,
    **fields: int,
) -> bytes:
    """The id of a ledger with these options (arguments as :func:`ledger_options`):
    what every signed op and escrow consent for that ledger names. Equal to
    :attr:`Ledger.id` of a ledger made with the same options."""
    o = ledger_options(authority, arbiter, network, **fields)
    h = _sigs.ca_hash()
    check(F.ca_ledger_options_id(_byref(o), _byref(h)))
    return bytes(h)


def _lid(ledger_id: BytesLike) -> _sigs.ca_hash:
    return _sigs.ca_hash.from_buffer_copy(_bytes(ledger_id, "ledger_id", 32))


def op_max_bytes() -> int:
    """Largest signed op accepted, in bytes."""
    return int(F.ca_ledger_op_max_bytes())


def evidence_max_bytes() -> int:
    """Largest equivocation evidence object the ledger accepts, in bytes."""
    return int(F.ca_ledger_evidence_max_bytes())


def op_sign(ledger_id: BytesLike, op: LedgerOp, signer: Identity, cosigner: Optional[Identity] = None) -> bytes:
    """Signed op bytes for the ledger ``ledger_id`` (:attr:`Ledger.id`, or
    :func:`ledger_id`): no other ledger accepts them. ``signer`` must match
    ``op.signer``; ``cosigner`` is the worker for ESCROW_OPEN (its consent to
    lock the collateral), else None."""
    lid, c = _lid(ledger_id), op.to_c()
    sp = signer._p()
    cp = cosigner._p() if cosigner is not None else None
    return out_bytes(
        lambda out, cap, n: F.ca_ledger_op_sign(_byref(lid), _byref(c), sp, cp, out, cap, n),
        _C["CA_LEDGER_OP_MAX_BYTES"],
    )


def op_escrow_open(award: Any) -> LedgerOp:
    """The ESCROW_OPEN an AWARD (a :class:`~cyberagent.TaskMessage`) calls for, with
    nonce 0: hirer and worker derive the same terms from it; the worker consents
    with :func:`op_cosign`, the hirer sets its next nonce and signs with
    :func:`op_sign_cosigned`."""
    c = _sigs.ca_ledger_op(version=_C["CA_LEDGER_OP_VERSION"])
    check(F.ca_ledger_op_escrow_open(_byref(c), award._p()))
    return LedgerOp.from_c(c)


def op_escrow_deliver(result: Any) -> LedgerOp:
    """The ESCROW_DELIVER a RESULT (a :class:`~cyberagent.TaskMessage` with an
    output) calls for, with nonce 0: signer = the worker, ref = its award,
    result = its message id. Submit the signed op with the RESULT's bytes
    (:meth:`Ledger.submit_evidence`)."""
    c = _sigs.ca_ledger_op(version=_C["CA_LEDGER_OP_VERSION"])
    check(F.ca_ledger_op_escrow_deliver(_byref(c), result._p()))
    return LedgerOp.from_c(c)


def op_cosign(ledger_id: BytesLike, op: LedgerOp, worker: Identity) -> bytes:
    """The worker's 64-byte consent to an ESCROW_OPEN on the ledger ``ledger_id``,
    to send to the hirer (who attaches it with :func:`op_sign_cosigned`). It
    covers the ledger and the escrow's terms, not the hirer's nonce."""
    lid, c = _lid(ledger_id), op.to_c()
    sig = _sigs.ca_signature()
    check(F.ca_ledger_op_cosign(_byref(lid), _byref(c), worker._p(), _byref(sig)))
    return bytes(sig.bytes)


def op_sign_cosigned(
    ledger_id: BytesLike, op: LedgerOp, signer: Identity, cosignature: Optional[BytesLike] = None
) -> bytes:
    """Signed op bytes for ``ledger_id`` with the worker's detached consent from
    :func:`op_cosign` (ESCROW_OPEN only; None otherwise). A consent that does
    not verify (other terms, another ledger) raises."""
    lid, c = _lid(ledger_id), op.to_c()
    cs = None
    if cosignature is not None:
        cs = _sigs.ca_signature.from_buffer_copy(_bytes(cosignature, "cosignature", 64))
    return out_bytes(
        lambda out, cap, n: F.ca_ledger_op_sign_cosigned(
            _byref(lid), _byref(c), signer._p(), _byref(cs) if cs is not None else None, out, cap, n),
        _C["CA_LEDGER_OP_MAX_BYTES"],
    )


def op_sign_with_key(
    ledger_id: BytesLike,
    op: LedgerOp,
    key: Identity,
    cosignature: Optional[BytesLike] = None,
    worker_key: Optional[BytesLike] = None,
) -> bytes:
    """Signed op bytes made with ``key``, which need not be ``op.signer``: the
    account's current key after a rotation, or the key a KEY_EVENT establishes
    (ledger.h, KEY ROTATION). For ESCROW_OPEN, ``cosignature`` is the worker's
    consent and ``worker_key`` the key that made it (None: ``op.counterparty``)."""
    lid, c = _lid(ledger_id), op.to_c()
    cs = None
    if cosignature is not None:
        cs = _sigs.ca_signature.from_buffer_copy(_bytes(cosignature, "cosignature", 64))
    wk = None
    if worker_key is not None:
        wk = _sigs.ca_agent_id.from_buffer_copy(_bytes(worker_key, "worker_key", 32))
    return out_bytes(
        lambda out, cap, n: F.ca_ledger_op_sign_with_key(
            _byref(lid), _byref(c), key._p(), _byref(cs) if cs is not None else None,
            _byref(wk) if wk is not None else None, out, cap, n),
        _C["CA_LEDGER_OP_MAX_BYTES"],
    )


def op_cosign_with_key(ledger_id: BytesLike, op: LedgerOp, key: Identity) -> bytes:
    """The worker's consent to an ESCROW_OPEN made with ``key``, which need not
    be ``op.counterparty``: the worker account's current key after a rotation."""
    lid, c = _lid(ledger_id), op.to_c()
    sig = _sigs.ca_signature()
    check(F.ca_ledger_op_cosign_with_key(_byref(lid), _byref(c), key._p(), _byref(sig)))
    return bytes(sig.bytes)


def delegated_op_max_bytes() -> int:
    """Largest signed delegated op (with its chain) the ledger accepts, in bytes."""
    return int(F.ca_ledger_delegated_op_max_bytes())


def op_sign_delegated(
    ledger_id: BytesLike,
    op: LedgerOp,
    delegate: Identity,
    chain: "list[BytesLike]",
    cosignature: Optional[BytesLike] = None,
) -> bytes:
    """Signed op bytes for ``ledger_id`` signed by ``delegate`` for the delegator
    ``op.signer``, carrying ``chain``: the encoded delegations, root (issued by
    the key that signs for ``op.signer``: its id, or its current key after a
    rotation) first, leaf (whose audience is ``delegate``) last. TRANSFER,
    ESCROW_OPEN (with the worker's ``cosignature``), ESCROW_RELEASE and
    ESCROW_REFUND only. The ledger checks the chain when it applies the op
    (docs/LEDGER.md, "Delegation")."""
    lid, c = _lid(ledger_id), op.to_c()
    links = [_bytes(x, "chain") for x in chain]
    n = len(links)
    arr = (ctypes.c_char_p * max(n, 1))(*links)
    lens = (ctypes.c_size_t * max(n, 1))(*[len(x) for x in links])
    cs = None
    if cosignature is not None:
        cs = _sigs.ca_signature.from_buffer_copy(_bytes(cosignature, "cosignature", 64))
    dp = delegate._p()
    out = out_bytes(
        lambda o, cap, m: F.ca_ledger_op_sign_delegated(
            _byref(lid), _byref(c), dp, _byref(cs) if cs is not None else None,
            ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p)), lens, n, o, cap, m),
        _C["CA_LEDGER_DELEGATED_OP_MAX_BYTES"],
    )
    del arr, links
    return out


def op_decode(msg: BytesLike) -> LedgerOp:
    """Strict decoder of signed op bytes (signatures are not checked here)."""
    m = _bytes(msg, "msg")
    c = _sigs.ca_ledger_op(version=_C["CA_LEDGER_OP_VERSION"])
    check(F.ca_ledger_op_decode(m, len(m), _byref(c)))
    return LedgerOp.from_c(c)


def op_verify(ledger_id: BytesLike, msg: BytesLike) -> bool:
    """True when the signatures of signed op bytes hold for the ledger
    ``ledger_id``; False for a bad signature (or one made for another ledger);
    raises :class:`~cyberagent.MalformedError` for bad bytes."""
    lid, m = _lid(ledger_id), _bytes(msg, "msg")
    st = F.ca_ledger_op_verify(_byref(lid), m, len(m))
    if st == 0:
        return True
    if st == _C["CA_ERR_BAD_SIGNATURE"]:
        return False
    raise make_error(st)


T = TypeVar("T")


class Ledger(Handle):
    """A ledger, in memory (``Ledger(...)``) or durable (``Ledger.open(dir, ...)``).

    Options: ``authority`` (the only MINT signer), ``arbiter`` (ESCROW_SPLIT and
    DISPUTE slashes), ``network`` (32 bytes naming the instance) and any
    ``ca_ledger_options`` field by name.
    """

    __slots__ = ("_lock", "open_info")

    def __init__(
        self,
        authority: Optional[BytesLike] = None,
        arbiter: Optional[BytesLike] = None,
        network: Optional[BytesLike] = None,
        **options: int,
    ) -> None:
        o = ledger_options(authority, arbiter, network, **options)
        p = ctypes.POINTER(_sigs.ca_ledger)()
        check(F.ca_ledger_new(_byref(p), _byref(o)))
        super().__init__(p, F.ca_ledger_free)
        self._lock = threading.Lock()
        self.open_info: Optional[OpenInfo] = None

    @classmethod
    def open(
        cls,
        directory: PathLike,
        authority: Optional[BytesLike] = None,
        arbiter: Optional[BytesLike] = None,
        network: Optional[BytesLike] = None,
        **options: int,
    ) -> "Ledger":
        """Durable ledger in ``directory`` (created if missing), recovered from its
        snapshot and journal; ``.open_info`` tells what recovery found."""
        o = ledger_options(authority, arbiter, network, **options)
        info = _sigs.ca_ledger_open_info()
        info.version = OPEN_INFO_VERSION
        p = ctypes.POINTER(_sigs.ca_ledger)()
        check(F.ca_ledger_open(_byref(p), os.fsencode(directory), _byref(o), _byref(info)))
        return cls._wrap(p, _open_info(info))

    @classmethod
    def from_snapshot(
        cls,
        snapshot: BytesLike,
        authority: Optional[BytesLike] = None,
        arbiter: Optional[BytesLike] = None,
        network: Optional[BytesLike] = None,
        **options: int,
    ) -> "Ledger":
        """In-memory ledger holding the state of snapshot bytes
        (:meth:`snapshot_export`, or a durable ledger's ``snapshot`` file) under
        these options: the exporter's state hash and log position. Strict decoder:
        :class:`~cyberagent.LedgerCorruptError`,
        :class:`~cyberagent.LedgerOptionsMismatchError`."""
        o = ledger_options(authority, arbiter, network, **options)
        b = _bytes(snapshot, "snapshot")
        p = ctypes.POINTER(_sigs.ca_ledger)()
        check(F.ca_ledger_new_from_snapshot(_byref(p), _byref(o), b, len(b)))
        return cls._wrap(p, None)

    @classmethod
    def open_from_snapshot(
        cls,
        directory: PathLike,
        snapshot: BytesLike,
        authority: Optional[BytesLike] = None,
        arbiter: Optional[BytesLike] = None,
        network: Optional[BytesLike] = None,
        **options: int,
    ) -> "Ledger":
        """Replaces the durable ledger in ``directory`` with the state of snapshot
        bytes and opens it (crash-safe: the directory holds the old state or the
        new one). The bytes are checked before anything on disk changes."""
        o = ledger_options(authority, arbiter, network, **options)
        b = _bytes(snapshot, "snapshot")
        info = _sigs.ca_ledger_open_info()
        info.version = OPEN_INFO_VERSION
        p = ctypes.POINTER(_sigs.ca_ledger)()
        check(F.ca_ledger_open_from_snapshot(_byref(p), os.fsencode(directory), _byref(o), b, len(b),
                                             _byref(info)))
        return cls._wrap(p, _open_info(info))

    @classmethod
    def _wrap(cls, p: Any, info: Optional[OpenInfo]) -> "Ledger":
        self = cls.__new__(cls)
        Handle.__init__(self, p, F.ca_ledger_free)
        self._lock = threading.Lock()
        self.open_info = info
        return self

    def _locked(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            return fn(self._p())

    @property
    def id(self) -> bytes:
        """The ledger id (digest of its options): what signed ops for it name."""
        h = _sigs.ca_hash()
        self._locked(lambda p: check(F.ca_ledger_id(p, _byref(h))))
        return bytes(h)

    def apply(self, op: LedgerOp, now: int) -> int:
        """Applies an op authenticated by other means; returns its sequence number."""
        c = op.to_c()
        seq = ctypes.c_uint64()
        self._locked(lambda p: check(F.ca_ledger_apply(p, _byref(c), now, _byref(seq))))
        return int(seq.value)

    def apply_batch(self, ops: "list[LedgerOp]", now: int) -> "list[int]":
        """Applies ops in order, each independently (like repeated :meth:`apply`,
        faster for large batches); returns one status per op (0 = applied)."""
        arr = (_sigs.ca_ledger_op * max(len(ops), 1))(*[op.to_c() for op in ops])
        res = (_sigs.ca_status * max(len(ops), 1))()
        applied = ctypes.c_size_t()
        self._locked(lambda p: check(F.ca_ledger_apply_batch(p, arr, len(ops), now, res, _byref(applied))))
        return [int(res[i]) for i in range(len(ops))]

    def submit(self, msg: BytesLike, now: int) -> int:
        """Decodes signed op bytes, checks the signatures (for this ledger's id) and
        applies; returns the seq. EQUIVOCATION slashes and ESCROW_DELIVER need
        :meth:`submit_evidence`."""
        m = _bytes(msg, "msg")
        seq = ctypes.c_uint64()
        self._locked(lambda p: check(F.ca_ledger_submit(p, m, len(m), now, _byref(seq))))
        return int(seq.value)

    def submit_evidence(self, msg: BytesLike, evidence: BytesLike, now: int) -> int:
        """Submits a signed op with what it claims. An EQUIVOCATION SLASH with its
        evidence object (:func:`cyberagent.task.evidence_encode`): the op's ``ref``
        must be the evidence's offense key and its counterparty the offender. An
        ESCROW_DELIVER with the RESULT envelope it names (the worker's, for this
        award, with output, created by the deadline). Returns the seq."""
        m, e = _bytes(msg, "msg"), _bytes(evidence, "evidence")
        seq = ctypes.c_uint64()
        self._locked(lambda p: check(F.ca_ledger_submit_evidence(p, m, len(m), e, len(e), now, _byref(seq))))
        return int(seq.value)

    def commit(self) -> int:
        """Group commit (durable mode: write + one fsync); returns the durable seq."""
        seq = ctypes.c_uint64()
        self._locked(lambda p: check(F.ca_ledger_commit(p, _byref(seq))))
        return int(seq.value)

    def snapshot(self) -> None:
        """Commits, writes a snapshot and truncates the journal (durable mode only)."""
        self._locked(lambda p: check(F.ca_ledger_snapshot(p)))

    def snapshot_export(self) -> bytes:
        """The whole state as snapshot bytes, in memory or durable (ops not yet
        committed included), with the log position, clock and refused count:
        replicas at one position of one log export identical bytes."""
        return self._locked(lambda p: out_bytes(lambda out, cap, n: F.ca_ledger_snapshot_export(p, out, cap, n), 4096))

    def apply_log(self, entries: "list[LogEntry]") -> "list[int]":
        """Processes log entries in order (ledger.h, LOG): each is applied at
        ``now = max(entry.time, clock)``; an entry at or before the recorded
        position is skipped (CA_ERR_LEDGER_STALE_POSITION) and an op refused
        once stays refused. Returns one status per entry (0 = applied, else the
        refusal or CA_ERR_LEDGER_STALE_POSITION). An entry that is not well
        formed, or a host failure (memory, I/O), stops the call: the error is
        raised with ``.done`` (entries processed) and ``.results`` set."""
        n = len(entries)
        keep: list = []
        arr = (_sigs.ca_ledger_log_entry * max(n, 1))()
        for i, e in enumerate(entries):
            c = arr[i]
            c.position = e.position
            c.time = e.time
            c.msg, c.msg_len = _c_bytes(None if e.msg is None else _bytes(e.msg, "msg"), keep)
            c.attachment, c.attachment_len = _c_bytes(
                None if e.attachment is None else _bytes(e.attachment, "attachment"), keep)
            if e.op is not None:
                op = e.op.to_c()
                keep.append(op)
                c.op = ctypes.pointer(op)
        res = (_sigs.ca_status * max(n, 1))()
        done = ctypes.c_size_t()
        st = self._locked(lambda p: F.ca_ledger_apply_log(
            p, arr, ctypes.sizeof(_sigs.ca_ledger_log_entry), n, res, _byref(done)))
        results = [int(res[i]) for i in range(n)]
        if st != 0:
            err = make_error(st)
            err.done = int(done.value)  # type: ignore[attr-defined]
            err.results = results  # type: ignore[attr-defined]
            raise err
        return results

    def log_position(self) -> LogInfo:
        """Where the ledger stands in its log: position, clock, refused count and
        the durable position."""
        li = _sigs.ca_ledger_log_info()
        li.version = LOG_INFO_VERSION
        self._locked(lambda p: check(F.ca_ledger_log_position(p, _byref(li))))
        return LogInfo(int(li.position), int(li.clock), int(li.failed), int(li.durable_position))

    def account(self, agent: BytesLike) -> AccountInfo:
        """The account of a public key; :class:`~cyberagent.LedgerUnknownAccountError` if none."""
        a = _sigs.ca_agent_id.from_buffer_copy(_bytes(agent, "agent", 32))
        i = _sigs.ca_ledger_account_info(version=_C["CA_LEDGER_ACCOUNT_INFO_VERSION"])
        self._locked(lambda p: check(F.ca_ledger_account(p, _byref(a), _byref(i))))
        return AccountInfo(
            int(i.balance), int(i.bonded), int(i.unbonding), int(i.nonce), int(i.jailed_until),
            int(i.unbonding_entries),
        )

    def escrow(self, award_id: BytesLike) -> EscrowInfo:
        """The escrow of an award id; :class:`~cyberagent.LedgerUnknownEscrowError` if none."""
        h = _sigs.ca_hash.from_buffer_copy(_bytes(award_id, "award_id", 32))
        e = _sigs.ca_ledger_escrow_info()
        e.version = ESCROW_INFO_VERSION
        self._locked(lambda p: check(F.ca_ledger_escrow(p, _byref(h), _byref(e))))
        return EscrowInfo(
            bytes(e.hirer), bytes(e.worker), int(e.payment), int(e.collateral), int(e.deadline),
            int(e.state), bool(e.delivered), bool(e.missed), int(e.paid), bytes(e.result),
        )

    def key_state(self, account: BytesLike) -> KeyInfo:
        """The key record of an account bound to a key history (KEY_EVENT);
        :class:`~cyberagent.NotFoundError` when it has none,
        :class:`~cyberagent.LedgerUnknownAccountError` without an account."""
        a = _sigs.ca_agent_id.from_buffer_copy(_bytes(account, "account", 32))
        k = _sigs.ca_ledger_key_info(version=KEY_INFO_VERSION)
        self._locked(lambda p: check(F.ca_ledger_key_state(p, _byref(a), _byref(k))))
        return KeyInfo(
            bytes(k.identifier), bytes(k.key), int(k.sequence), bytes(k.digest), bytes(k.next),
            int(k.time), int(k.seq), int(k.position), int(k.now),
        )

    def account_of_key(self, key: BytesLike) -> bytes:
        """The account ``key`` signs for now (ledger.h, ca_ledger_account_of_key): the
        account of a rotated identity whose current key it is, else the key itself when it
        is an account; :class:`~cyberagent.KeyRotatedError` for the id of an account whose
        key has rotated away, :class:`~cyberagent.LedgerUnknownAccountError` otherwise."""
        k = _sigs.ca_agent_id.from_buffer_copy(_bytes(key, "key", 32))
        out = _sigs.ca_agent_id()
        self._locked(lambda p: check(F.ca_ledger_account_of_key(p, _byref(k), _byref(out))))
        return bytes(out)

    def delegation(self, delegation_id: BytesLike) -> DelegationRecord:
        """The ledger's record of a delegation id (spent, nonce, expiry);
        :class:`~cyberagent.Error` with CA_ERR_LEDGER_UNKNOWN_DELEGATION when
        no applied op used it or its record was dropped."""
        h = _sigs.ca_hash.from_buffer_copy(_bytes(delegation_id, "delegation_id", 32))
        d = _sigs.ca_ledger_delegation_info(version=_C["CA_LEDGER_DELEGATION_INFO_VERSION"])
        self._locked(lambda p: check(F.ca_ledger_delegation(p, _byref(h), _byref(d))))
        return DelegationRecord(int(d.spent), int(d.total_cap), int(d.nonce), int(d.expires_at))

    def revocation(self, delegation_id: BytesLike, revoker: BytesLike) -> Optional[int]:
        """When the ledger drops its REVOKE of ``delegation_id`` by ``revoker``
        (ms), or None when it holds none."""
        h = _sigs.ca_hash.from_buffer_copy(_bytes(delegation_id, "delegation_id", 32))
        r = _sigs.ca_agent_id.from_buffer_copy(_bytes(revoker, "revoker", 32))
        until = ctypes.c_uint64()
        st = self._locked(lambda p: F.ca_ledger_revocation(p, _byref(h), _byref(r), _byref(until)))
        if st == _C["CA_ERR_LEDGER_UNKNOWN_DELEGATION"]:
            return None
        check(st)
        return int(until.value)

    def totals(self) -> Totals:
        t = _sigs.ca_ledger_totals(version=_C["CA_LEDGER_TOTALS_VERSION"])
        self._locked(lambda p: check(F.ca_ledger_totals_get(p, _byref(t))))
        return Totals(int(t.minted), int(t.burned), int(t.escrowed), int(t.seq), int(t.accounts), int(t.escrows))

    def state_hash(self) -> bytes:
        """Deterministic state hash: equal on replicas holding the same state."""
        h = _sigs.ca_hash()
        self._locked(lambda p: check(F.ca_ledger_state_hash(p, _byref(h))))
        return bytes(h)

    def check(self) -> None:
        """Verifies every invariant from scratch; raises :class:`~cyberagent.LedgerInvariantError`."""
        self._locked(lambda p: check(F.ca_ledger_check(p)))

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Ledger closed>"
        t = self.totals()
        return "<Ledger seq=%d accounts=%d minted=%d>" % (t.seq, t.accounts, t.minted)

