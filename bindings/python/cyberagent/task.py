"""The task hiring protocol: typed, signed task messages (request, bid, award,
result, receipt, cancel, dispute), the task thread state machine, equivocation
evidence and thread serialization (docs/PROTOCOL.md).

A task is a hash-linked thread: the REQUEST's message id is the task id; each
later message names the task and answers a parent. Builders take the parent
the body implies, so ``parent`` is needed only for a dispute. Replies
(:func:`reply_bid`, :func:`reply_award`, :func:`reply_result`,
:func:`reply_receipt`) take the task, the parent and the recipient from the
message they answer, so the caller passes only what it decides.

THREAD SAFETY (include/cyberagent/task.h): :class:`TaskMessage` and
:class:`Evidence` are immutable (shareable). A C task thread is not
thread-safe; :class:`Task` serializes its calls with a lock, so the Python
object may be shared. Functions are thread-safe.
"""

import ctypes
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

from . import _sigs
from ._handle import Handle, LightHandle
from ._lib import F, out_bytes
from .delegation import Delegation, RevocationSet
from .envelope import Envelope, Recipient, _recipient_key
from .errors import check
from .identity import BytesLike, Identity, _bytes

_C = _sigs.CONSTANTS
_byref = ctypes.byref
_P = ctypes.POINTER

SUBMITTED: int = _C["CA_TASK_SUBMITTED"]
WORKING: int = _C["CA_TASK_WORKING"]
INPUT_REQUIRED: int = _C["CA_TASK_INPUT_REQUIRED"]
COMPLETED: int = _C["CA_TASK_COMPLETED"]
FAILED: int = _C["CA_TASK_FAILED"]
CANCELED: int = _C["CA_TASK_CANCELED"]
REJECTED: int = _C["CA_TASK_REJECTED"]
PARTY_REQUESTER: int = _C["CA_TASK_PARTY_REQUESTER"]
PARTY_WORKER: int = _C["CA_TASK_PARTY_WORKER"]

T = TypeVar("T")
EnvelopeLike = Union[bytes, Envelope]


def limits() -> Dict[str, int]:
    """Task limits as the library reports them (bytes / counts)."""
    return {
        "inline": int(F.ca_task_inline_max()),
        "uri": int(F.ca_task_uri_max()),
        "text": int(F.ca_task_text_max()),
        "refs": int(F.ca_task_refs_max()),
    }


def state_name(state: int) -> str:
    """A2A name of a task state ("submitted", "working", ...)."""
    return F.ca_task_state_name(state).decode("ascii")


# ---- typed bodies ----


@dataclass(frozen=True)
class Content:
    """Inline bytes (``uri`` None) or a content hash plus a URI to fetch it from."""

    data: bytes = b""
    uri: Optional[str] = None
    hash: bytes = bytes(32)


@dataclass(frozen=True)
class Request:
    capability: str
    input: Content
    max_price: int
    deadline: int
    collateral: int
    recipient: Optional[bytes]
    # The delegation chain the sender posts under (encoded links, root first); () for none.
    delegation: Tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Bid:
    task: bytes
    price: int
    completion: int
    collateral: int
    # The delegation chain the sender bids under (encoded links, root first); () for none.
    delegation: Tuple[bytes, ...] = ()


class SideInfo(NamedTuple):
    """Who a side of a thread is and whom it acts for (``ca_task_side``)."""

    agent: bytes
    principal: bytes
    delegated: bool
    revoked: bool
    depth: int
    root: bytes
    leaf: bytes
    task_cap: int
    expires_at: int


@dataclass(frozen=True)
class Award:
    task: bytes
    bid: bytes
    worker: bytes
    price: int
    collateral: int
    deadline: int


@dataclass(frozen=True)
class Result:
    task: bytes
    award: bytes
    failed: bool
    output: Content
    failure_code: int
    failure_message: str


@dataclass(frozen=True)
class Receipt:
    task: bytes
    award: bytes
    result: bytes
    worker: bytes
    accept: bool
    rating: int
    paid: int


@dataclass(frozen=True)
class Cancel:
    task: bytes
    reason: str


@dataclass(frozen=True)
class Dispute:
    task: bytes
    reason: str
    refs: Tuple[bytes, ...]


Body = Union[Request, Bid, Award, Result, Receipt, Cancel, Dispute]


def _text(p: Optional[bytes]) -> str:
    return p.decode("utf-8") if p else ""


def _content_out(p: Any) -> Content:
    c = p.contents  # the message's own content (a pointer in the body)
    data = ctypes.string_at(c.data, c.data_len) if c.data_len else b""
    return Content(data, c.uri.decode("utf-8") if c.uri else None, bytes(c.hash))


def _content_in(value: Union[bytes, Content], keep: List[Any]) -> _sigs.ca_task_content:
    """A C content of this build's version for ``value``; ``keep`` holds what it points to."""
    c = _sigs.ca_task_content(version=_C["CA_TASK_CONTENT_VERSION"])
    keep.append(c)
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = Content(bytes(value))
    if value.uri is not None:
        u = value.uri.encode("utf-8")
        keep.append(u)
        c.uri = u
        c.hash = _sigs.ca_hash.from_buffer_copy(_bytes(value.hash, "hash", 32))
    else:
        d = bytes(value.data)
        buf = ctypes.create_string_buffer(d, len(d) or 1)
        keep.append(buf)
        c.data = ctypes.cast(buf, _P(ctypes.c_uint8))
        c.data_len = len(d)
    return c


def _h(b: BytesLike, name: str) -> _sigs.ca_hash:
    return _sigs.ca_hash.from_buffer_copy(_bytes(b, name, 32))


def _aid(b: BytesLike, name: str) -> _sigs.ca_agent_id:
    return _sigs.ca_agent_id.from_buffer_copy(_bytes(b, name, 32))


def _params(created_at: int, expires_at: int, compress: bool = False) -> _sigs.ca_envelope_params:
    ep = _sigs.ca_envelope_params()
    check(F.ca_envelope_params_init(_byref(ep), _C["CA_ENVELOPE_PARAMS_VERSION"]))
    ep.created_at = created_at
    ep.expires_at = expires_at
    if compress:
        ep.flags = _C["CA_ENVELOPE_COMPRESS"]
    return ep


def _sign(
    fn: Callable[..., int],
    signer: Identity,
    body: Any,
    created_at: int,
    expires_at: int,
    recipient: Optional[Recipient],
    parent: Optional[BytesLike],
) -> Tuple[bytes, bytes]:
    ep = _params(created_at, expires_at)
    if recipient is not None:
        rid = _aid(_recipient_key(recipient), "recipient")
        ep.recipient = ctypes.pointer(rid)
    if parent is not None:
        ep.parent = ctypes.pointer(_h(parent, "parent"))
    mid = _sigs.ca_hash()
    sp = signer._p()
    data = out_bytes(lambda out, cap, n: fn(sp, _byref(ep), _byref(body), out, cap, n, _byref(mid)), 1024)
    return data, bytes(mid)


def sign_request(
    signer: Identity,
    *,
    capability: str,
    max_price: int,
    deadline: int,
    created_at: int,
    expires_at: int,
    collateral: int = 0,
    input: Union[bytes, Content] = b"",
    recipient: Optional[Recipient] = None,
    delegation: Sequence[Delegation] = (),
) -> Tuple[bytes, bytes]:
    """A signed REQUEST; returns ``(envelope_bytes, task_id)``. ``recipient``
    makes it a direct hire (only that agent may bid). ``delegation`` (links,
    root first, the leaf's audience the signer) posts the task for the
    chain's delegator (task.h, DELEGATED SIDES)."""
    keep: List[Any] = []
    b = _sigs.ca_task_request(version=_C["CA_TASK_REQUEST_VERSION"])
    cap = capability.encode("utf-8")
    b.capability = cap
    b.input = ctypes.pointer(_content_in(input, keep))
    b.max_price, b.deadline, b.collateral = max_price, deadline, collateral
    b.delegation, b.delegation_count = _chain_in(delegation, keep)
    return _sign(F.ca_task_request_sign, signer, b, created_at, expires_at, recipient, None)


def _chain_in(chain: Sequence[Delegation], keep: List[Any]) -> Tuple[Any, int]:
    if not chain:
        return None, 0
    arr = (_P(_sigs.ca_delegation) * len(chain))(*[d._p() for d in chain])
    keep.append((arr, list(chain)))
    return ctypes.cast(arr, _P(_P(_sigs.ca_delegation))), len(chain)


def _chain_out(v: Any) -> Tuple[bytes, ...]:
    return tuple(
        out_bytes(lambda out, cap, n, d=v.delegation[i]: F.ca_delegation_encoded(d, out, cap, n), 1024)
        for i in range(v.delegation_count)
    )


def sign_bid(
    signer: Identity, *, task: BytesLike, price: int, completion: int, collateral: int, created_at: int,
    expires_at: int, delegation: Sequence[Delegation] = (),
) -> Tuple[bytes, bytes]:
    """A signed BID (parent: the task); returns ``(envelope_bytes, bid_id)``.
    ``delegation`` bids for the chain's delegator (task.h, DELEGATED SIDES)."""
    keep: List[Any] = []
    b = _sigs.ca_task_bid(version=_C["CA_TASK_BID_VERSION"])
    b.task = _h(task, "task")
    b.price, b.completion, b.collateral = price, completion, collateral
    b.delegation, b.delegation_count = _chain_in(delegation, keep)
    return _sign(F.ca_task_bid_sign, signer, b, created_at, expires_at, None, None)


def sign_award(
    signer: Identity, *, task: BytesLike, bid: BytesLike, worker: BytesLike, price: int, collateral: int,
    deadline: int, created_at: int, expires_at: int,
) -> Tuple[bytes, bytes]:
    """A signed AWARD (parent: the chosen bid); its id keys the escrow."""
    b = _sigs.ca_task_award(version=_C["CA_TASK_AWARD_VERSION"])
    b.task, b.bid, b.worker = _h(task, "task"), _h(bid, "bid"), _aid(worker, "worker")
    b.price, b.collateral, b.deadline = price, collateral, deadline
    return _sign(F.ca_task_award_sign, signer, b, created_at, expires_at, None, None)


def sign_result(
    signer: Identity, *, task: BytesLike, award: BytesLike, created_at: int, expires_at: int,
    output: Union[bytes, Content] = b"", failed: bool = False, failure_code: int = 0,
    failure_message: Optional[str] = None,
) -> Tuple[bytes, bytes]:
    """A signed RESULT (parent: the award): an output, or a failure report."""
    keep: List[Any] = []
    b = _sigs.ca_task_result(version=_C["CA_TASK_RESULT_VERSION"])
    b.task, b.award = _h(task, "task"), _h(award, "award")
    b.failed = 1 if failed else 0
    if not failed:
        b.output = ctypes.pointer(_content_in(output, keep))
    b.failure_code = failure_code
    if failure_message is not None:
        m = failure_message.encode("utf-8")
        keep.append(m)
        b.failure_message = m
    return _sign(F.ca_task_result_sign, signer, b, created_at, expires_at, None, None)


def sign_receipt(
    signer: Identity, *, task: BytesLike, award: BytesLike, result: BytesLike, worker: BytesLike, accept: bool,
    rating: int, paid: int, created_at: int, expires_at: int,
) -> Tuple[bytes, bytes]:
    """A signed RECEIPT (parent: the result): settles and rates."""
    b = _sigs.ca_task_receipt(version=_C["CA_TASK_RECEIPT_VERSION"])
    b.task, b.award, b.result = _h(task, "task"), _h(award, "award"), _h(result, "result")
    b.worker = _aid(worker, "worker")
    b.accept, b.rating, b.paid = 1 if accept else 0, rating, paid
    return _sign(F.ca_task_receipt_sign, signer, b, created_at, expires_at, None, None)


def sign_cancel(
    signer: Identity, *, task: BytesLike, created_at: int, expires_at: int, reason: str = "",
    parent: Optional[BytesLike] = None,
) -> Tuple[bytes, bytes]:
    """A signed CANCEL (parent: the task before an award, the award after a missed deadline)."""
    b = _sigs.ca_task_cancel(version=_C["CA_TASK_CANCEL_VERSION"])
    b.task = _h(task, "task")
    r = reason.encode("utf-8")
    b.reason = r
    return _sign(F.ca_task_cancel_sign, signer, b, created_at, expires_at, None, parent)


def sign_dispute(
    signer: Identity, *, task: BytesLike, reason: str, refs: Sequence[BytesLike], parent: BytesLike,
    created_at: int, expires_at: int,
) -> Tuple[bytes, bytes]:
    """A signed DISPUTE (explicit parent: any message of the thread)."""
    b = _sigs.ca_task_dispute(version=_C["CA_TASK_DISPUTE_VERSION"])
    b.task = _h(task, "task")
    r = reason.encode("utf-8")
    b.reason = r
    arr = (_sigs.ca_hash * max(len(refs), 1))(*[_h(x, "ref") for x in refs])
    b.refs = ctypes.cast(arr, _P(_sigs.ca_hash))
    b.ref_count = len(refs)
    return _sign(F.ca_task_dispute_sign, signer, b, created_at, expires_at, None, parent)


# ---- replies: the answered message gives the task, parent and recipient ----


def _reply(fn: Callable[..., int], to: "TaskMessage", ep: _sigs.ca_envelope_params, *args: Any) -> Tuple[bytes, bytes]:
    mid = _sigs.ca_hash()
    tp = to._p()
    return (
        out_bytes(lambda out, cap, n: fn(_byref(ep), tp, *args, out, cap, n, _byref(mid)), 1024),
        bytes(mid),
    )


def reply_bid(
    signer: Identity, request: "TaskMessage", *, price: int, completion: int, created_at: int, expires_at: int,
    compress: bool = False,
) -> Tuple[bytes, bytes]:
    """A BID answering ``request`` (a REQUEST :class:`TaskMessage`): task, parent and recipient
    come from it, the collateral offered is the one it asks for; returns ``(envelope_bytes, bid_id)``.
    :class:`~cyberagent.WrongKindError` when ``request`` is another kind."""
    sp = signer._p()
    return _reply(lambda ep, tp, *rest: F.ca_task_bid_reply(sp, ep, tp, *rest), request,
                  _params(created_at, expires_at, compress), price, completion)


def reply_award(
    signer: Identity, bid: "TaskMessage", *, created_at: int, expires_at: int, deadline: int = 0,
    compress: bool = False,
) -> Tuple[bytes, bytes]:
    """An AWARD of ``bid`` (a BID :class:`TaskMessage`): worker, price and collateral are the bid's;
    ``deadline`` 0 takes the bid's completion time. Its id keys the escrow."""
    sp = signer._p()
    return _reply(lambda ep, tp, *rest: F.ca_task_award_reply(sp, ep, tp, *rest), bid,
                  _params(created_at, expires_at, compress), deadline)


def reply_result(
    signer: Identity, award: "TaskMessage", *, output: Union[bytes, Content], created_at: int, expires_at: int,
    compress: bool = False,
) -> Tuple[bytes, bytes]:
    """A RESULT answering ``award`` (an AWARD :class:`TaskMessage`) with ``output``. A failure
    report is signed with :func:`sign_result`."""
    keep: List[Any] = []
    c = _content_in(output, keep)
    sp = signer._p()
    return _reply(lambda ep, tp, *rest: F.ca_task_result_reply(sp, ep, tp, *rest), award,
                  _params(created_at, expires_at, compress), _byref(c))


def reply_receipt(
    signer: Identity, result: "TaskMessage", *, accept: bool, rating: int, paid: int, created_at: int,
    expires_at: int, compress: bool = False,
) -> Tuple[bytes, bytes]:
    """A RECEIPT settling ``result`` (a RESULT :class:`TaskMessage`): award and worker come from
    it; ``accept``, ``rating`` (0 .. 100) and ``paid`` are the requester's."""
    sp = signer._p()
    return _reply(lambda ep, tp, *rest: F.ca_task_receipt_reply(sp, ep, tp, *rest), result,
                  _params(created_at, expires_at, compress), 1 if accept else 0, rating, paid)


# ---- parsed messages ----

_VIEWS = {
    _C["CA_KIND_TASK_REQUEST"]: ("ca_task_msg_request", _sigs.ca_task_request),
    _C["CA_KIND_TASK_BID"]: ("ca_task_msg_bid", _sigs.ca_task_bid),
    _C["CA_KIND_TASK_AWARD"]: ("ca_task_msg_award", _sigs.ca_task_award),
    _C["CA_KIND_TASK_RESULT"]: ("ca_task_msg_result", _sigs.ca_task_result),
    _C["CA_KIND_TASK_RECEIPT"]: ("ca_task_msg_receipt", _sigs.ca_task_receipt),
    _C["CA_KIND_TASK_CANCEL"]: ("ca_task_msg_cancel", _sigs.ca_task_cancel),
    _C["CA_KIND_TASK_DISPUTE"]: ("ca_task_msg_dispute", _sigs.ca_task_dispute),
}


def _body(kind: int, v: Any) -> Body:
    if kind == _C["CA_KIND_TASK_REQUEST"]:
        return Request(
            _text(v.capability), _content_out(v.input), int(v.max_price), int(v.deadline), int(v.collateral),
            bytes(v.recipient) if v.has_recipient else None, _chain_out(v),
        )
    if kind == _C["CA_KIND_TASK_BID"]:
        return Bid(bytes(v.task), int(v.price), int(v.completion), int(v.collateral), _chain_out(v))
    if kind == _C["CA_KIND_TASK_AWARD"]:
        return Award(bytes(v.task), bytes(v.bid), bytes(v.worker), int(v.price), int(v.collateral), int(v.deadline))
    if kind == _C["CA_KIND_TASK_RESULT"]:
        return Result(
            bytes(v.task), bytes(v.award), bool(v.failed),
            _content_out(v.output) if not v.failed else Content(b""), int(v.failure_code),
            _text(v.failure_message),
        )
    if kind == _C["CA_KIND_TASK_RECEIPT"]:
        return Receipt(
            bytes(v.task), bytes(v.award), bytes(v.result), bytes(v.worker), bool(v.accept), int(v.rating),
            int(v.paid),
        )
    if kind == _C["CA_KIND_TASK_CANCEL"]:
        return Cancel(bytes(v.task), _text(v.reason))
    return Dispute(bytes(v.task), _text(v.reason), tuple(bytes(v.refs[i]) for i in range(v.ref_count)))


def _noop_free(_p: Any) -> None:
    pass


class TaskMessage(LightHandle):
    """A parsed task message. Immutable: any number of threads may read it.

    From :meth:`parse` it owns its handle; from a :class:`Task` it borrows
    the task's (and keeps the task alive)."""

    __slots__ = ("_owner",)

    def __init__(self, ptr: Any, free: Callable[[Any], None], owner: Any = None) -> None:
        super().__init__(ptr, free)
        self._owner = owner

    @classmethod
    def parse(cls, envelope: EnvelopeLike, now: Optional[int] = None, reader: Optional[Identity] = None) -> "TaskMessage":
        """Parses a task message. ``envelope`` is a verified :class:`Envelope`, or
        bytes that are opened (decode + verify at ``now``) first."""
        env = envelope if isinstance(envelope, Envelope) else None
        if env is None:
            if now is None:
                raise ValueError("bytes need `now` to be verified")
            env = Envelope.open(_bytes(envelope, "envelope"), now)
        p = _P(_sigs.ca_task_msg)()
        check(F.ca_task_msg_parse(_byref(p), env._p(), reader._p() if reader is not None else None))
        return cls(p, F.ca_task_msg_free)

    @classmethod
    def open(cls, data: BytesLike, now: int) -> "TaskMessage":
        """What a reader does with a task message's bytes, in one call: strict decode,
        verification at ``now`` and parse (``ca_task_msg_open``; a sealed body needs
        :meth:`parse` with its reader)."""
        d = _bytes(data, "data")
        p = _P(_sigs.ca_task_msg)()
        check(F.ca_task_msg_open(_byref(p), d, len(d), now, None))
        return cls(p, F.ca_task_msg_free)

    @property
    def kind(self) -> int:
        return int(F.ca_task_msg_kind(self._p()))

    @property
    def id(self) -> bytes:
        h = _sigs.ca_hash()
        F.ca_task_msg_id(self._p(), _byref(h))
        return bytes(h)

    @property
    def sender(self) -> bytes:
        a = _sigs.ca_agent_id()
        F.ca_task_msg_sender(self._p(), _byref(a))
        return bytes(a)

    @property
    def created_at(self) -> int:
        return int(F.ca_task_msg_created_at(self._p()))

    @property
    def task_id(self) -> bytes:
        h = _sigs.ca_hash()
        F.ca_task_msg_task_id(self._p(), _byref(h))
        return bytes(h)

    @property
    def parent(self) -> Optional[bytes]:
        h = _sigs.ca_hash()
        return bytes(h) if F.ca_task_msg_parent(self._p(), _byref(h)) else None

    @property
    def encoded(self) -> bytes:
        p = self._p()
        return out_bytes(lambda out, cap, n: F.ca_task_msg_encoded(p, out, cap, n), 1024)

    @property
    def delegator(self) -> Optional[bytes]:
        """The delegator of the delegation chain a REQUEST or BID carries (whom it
        acts for), or None when the sender acts for itself."""
        a = _sigs.ca_agent_id()
        return bytes(a) if F.ca_task_msg_delegator(self._p(), _byref(a)) else None

    @property
    def body(self) -> Body:
        """The typed body: :class:`Request`, :class:`Bid`, :class:`Award`, ..."""
        kind = self.kind
        fname, ctype = _VIEWS[kind]
        v = ctype(version=_C[ctype.__name__.upper() + "_VERSION"])
        check(getattr(F, fname)(self._p(), _byref(v)))
        return _body(kind, v)

    def view(self, cls: type) -> Body:
        """The body if it is of class ``cls`` (e.g. ``Bid``), else
        :class:`~cyberagent.WrongKindError` (as the C views do)."""
        for kind, (fname, ctype) in _VIEWS.items():
            if _KIND_OF.get(cls) == kind:
                v = ctype(version=_C[ctype.__name__.upper() + "_VERSION"])
                check(getattr(F, fname)(self._p(), _byref(v)))
                return _body(kind, v)
        raise TypeError("not a task body class: %r" % cls)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<TaskMessage closed>"
        return "<TaskMessage %s id=%s>" % (type(self.body).__name__, self.id.hex()[:16])


_KIND_OF = {
    Request: _C["CA_KIND_TASK_REQUEST"],
    Bid: _C["CA_KIND_TASK_BID"],
    Award: _C["CA_KIND_TASK_AWARD"],
    Result: _C["CA_KIND_TASK_RESULT"],
    Receipt: _C["CA_KIND_TASK_RECEIPT"],
    Cancel: _C["CA_KIND_TASK_CANCEL"],
    Dispute: _C["CA_KIND_TASK_DISPUTE"],
}


def task_options(**fields: int) -> _sigs.ca_task_options:
    """Thread options (max_messages, max_envelope_bytes, max_body_bytes, max_skew_ms, max_bids).

    ``max_bids`` bounds the bids only (default ``CA_TASK_MAX_BIDS_DEFAULT``); the
    non-bid messages always fit (``max_messages`` keeps ``CA_TASK_NONBID_MAX``
    places for them and must exceed it)."""
    o = _sigs.ca_task_options()
    check(F.ca_task_options_init(_byref(o), _C["CA_TASK_OPTIONS_VERSION"]))
    names = {f[0] for f in _sigs.ca_task_options._fields_}
    for k, v in fields.items():
        if k not in names or k == "version":
            raise TypeError("unknown task option %r" % k)
        setattr(o, k, v)
    return o


def _env(e: EnvelopeLike) -> Envelope:
    return e if isinstance(e, Envelope) else Envelope.decode(_bytes(e, "envelope"))


class Task(Handle):
    """A task thread, built from its REQUEST and grown with :meth:`apply`.

    Every message is verified (signature and time at ``now``) and checked
    against the protocol; a refused message leaves the thread unchanged and
    raises the precise status (:class:`~cyberagent.TaskOrderError`,
    :class:`~cyberagent.TaskEquivocationError`, ...)."""

    __slots__ = ("_lock", "_revocations")

    def __init__(
        self, request: EnvelopeLike, now: int, revocations: Optional[RevocationSet] = None, **options: int
    ) -> None:
        """``revocations`` (kept by the thread) are honoured from each apply on
        (task.h, ``ca_task_options.revocations``)."""
        o = task_options(**options) if options or revocations is not None else None
        if revocations is not None:
            o.revocations = revocations._p()
        self._revocations = revocations
        op = _byref(o) if o is not None else None
        p = _P(_sigs.ca_task)()
        if isinstance(request, Envelope):
            check(F.ca_task_new(_byref(p), request._p(), now, op))
        else:
            d = _bytes(request, "request")
            check(F.ca_task_new_bytes(_byref(p), d, len(d), now, op))
        super().__init__(p, F.ca_task_free)
        self._lock = threading.Lock()

    @classmethod
    def deserialize(cls, data: BytesLike, revocations: Optional[RevocationSet] = None, **options: int) -> "Task":
        """Rebuilds and audits a thread from :meth:`serialize` bytes (each
        message re-verified at its own created_at, without revocations; the
        thread honours ``revocations`` from then on)."""
        d = _bytes(data, "data")
        o = task_options(**options) if options or revocations is not None else None
        if revocations is not None:
            o.revocations = revocations._p()
        p = _P(_sigs.ca_task)()
        check(F.ca_task_deserialize(_byref(p), d, len(d), _byref(o) if o is not None else None))
        self = cls.__new__(cls)
        Handle.__init__(self, p, F.ca_task_free)
        self._lock = threading.Lock()
        self._revocations = revocations
        return self

    def _locked(self, fn: Callable[[Any], T]) -> T:
        if self._revocations is None:
            with self._lock:
                return fn(self._p())
        with self._lock, self._revocations._lock:  # the thread reads the set
            return fn(self._p())

    def side(self, party: int = PARTY_REQUESTER) -> Optional[SideInfo]:
        """Who ``party``'s side is and whom it acts for (its chain's delegator, or
        itself); None for the worker before an award."""
        i = _sigs.ca_task_side_info(version=_C["CA_TASK_SIDE_INFO_VERSION"])
        st = self._locked(lambda p: F.ca_task_side(p, party, _byref(i)))
        if st == _C["CA_ERR_NOT_FOUND"]:
            return None
        check(st)
        return SideInfo(
            bytes(i.agent), bytes(i.principal), bool(i.delegated), bool(i.revoked), int(i.depth), bytes(i.root),
            bytes(i.leaf), int(i.task_cap), int(i.expires_at),
        )

    def apply(self, envelope: EnvelopeLike, now: int) -> None:
        """Verifies and applies one message (envelope bytes or a decoded :class:`Envelope`)."""
        if isinstance(envelope, Envelope):
            e = envelope._p()
            self._locked(lambda p: check(F.ca_task_apply(p, e, now)))
        else:
            d = _bytes(envelope, "envelope")
            self._locked(lambda p: check(F.ca_task_apply_bytes(p, d, len(d), now)))

    @property
    def state(self) -> int:
        return int(self._locked(lambda p: F.ca_task_get_state(p)))

    @property
    def state_name(self) -> str:
        return state_name(self.state)

    @property
    def id(self) -> bytes:
        h = _sigs.ca_hash()
        self._locked(lambda p: F.ca_task_id(p, _byref(h)))
        return bytes(h)

    @property
    def requester(self) -> bytes:
        a = _sigs.ca_agent_id()
        self._locked(lambda p: F.ca_task_requester(p, _byref(a)))
        return bytes(a)

    def _borrowed(self, m: Any) -> Optional[TaskMessage]:
        return TaskMessage(m, _noop_free, self) if m else None

    def last(self, kind: int) -> Optional[TaskMessage]:
        """The latest accepted message of ``kind`` (``CA_KIND_TASK_*``): the request, the award,
        the result, the receipt, the cancel, or the bid / dispute accepted last; None when the
        thread holds none."""
        return self._borrowed(self._locked(lambda p: F.ca_task_last(p, kind)))

    @property
    def bid_count(self) -> int:
        return int(self._locked(lambda p: F.ca_task_bid_count(p)))

    def disputed(self, party: int = PARTY_REQUESTER) -> bool:
        """Whether ``party`` (:data:`PARTY_REQUESTER`, the default, or :data:`PARTY_WORKER`) has disputed."""
        return bool(self._locked(lambda p: F.ca_task_disputed(p, party)))

    @property
    def messages(self) -> List[TaskMessage]:
        """Accepted messages in acceptance order (0 is the request)."""

        def run(p: Any) -> List[TaskMessage]:
            out = []
            for i in range(int(F.ca_task_message_count(p))):
                m = self._borrowed(F.ca_task_message(p, i))
                if m is not None:
                    out.append(m)
            return out

        return self._locked(run)

    def __len__(self) -> int:
        return int(self._locked(lambda p: F.ca_task_message_count(p)))

    def find(self, message_id: BytesLike) -> Optional[TaskMessage]:
        h = _h(message_id, "message_id")
        return self._borrowed(self._locked(lambda p: F.ca_task_find(p, _byref(h))))

    def digest(self) -> bytes:
        """Order-independent digest of the thread."""
        h = _sigs.ca_hash()
        self._locked(lambda p: check(F.ca_task_digest(p, _byref(h))))
        return bytes(h)

    def evidence(self, envelope: EnvelopeLike) -> bytes:
        """After :meth:`apply` raised TaskEquivocationError for ``envelope``: the evidence bytes."""
        e = _env(envelope)
        ep = e._p()
        return self._locked(lambda p: out_bytes(lambda out, cap, n: F.ca_task_evidence(p, ep, out, cap, n), 2048))

    def serialize(self) -> bytes:
        """The whole thread as canonical bytes (see :meth:`deserialize`)."""
        return self._locked(lambda p: out_bytes(lambda out, cap, n: F.ca_task_serialize(p, out, cap, n), 4096))

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Task closed>"
        return "<Task %s %s, %d messages>" % (self.id.hex()[:16], self.state_name, len(self))


# ---- equivocation evidence ----


def evidence_encode(
    request: EnvelopeLike, a: EnvelopeLike, b: EnvelopeLike, context: Sequence[EnvelopeLike] = ()
) -> bytes:
    """Evidence that one agent made two conflicting statements in one task: two BIDs,
    AWARDs or RESULTs with different bodies, each of which a task thread accepts
    (``ca_evidence_encode``). ``request`` is the task's REQUEST; ``context`` holds the
    messages the two answer (an award's bid; a result's award and bid) and may hold
    more. :class:`~cyberagent.BadEvidenceError` when the pair proves nothing (one of
    them breaks a rule, or both say the same)."""
    er, ea, eb = _env(request), _env(a), _env(b)
    ctx = [_env(c) for c in context]  # kept alive across the call
    arr = (_P(_sigs.ca_envelope) * max(len(ctx), 1))(*[c._p() for c in ctx])
    return out_bytes(
        lambda out, cap, n: F.ca_evidence_encode(er._p(), arr, len(ctx), ea._p(), eb._p(), out, cap, n), 4096
    )


@dataclass(frozen=True)
class EvidenceSummary:
    offender: bytes
    task: bytes
    kind: int
    hash: bytes


def evidence_verify(data: BytesLike) -> EvidenceSummary:
    """Opens and fully verifies evidence bytes in one call."""
    d = _bytes(data, "data")
    off, task, kind, h = _sigs.ca_agent_id(), _sigs.ca_hash(), ctypes.c_uint32(), _sigs.ca_hash()
    check(F.ca_evidence_verify(d, len(d), _byref(off), _byref(task), _byref(kind), _byref(h)))
    return EvidenceSummary(bytes(off), bytes(task), int(kind.value), bytes(h))


class Evidence(LightHandle):
    """Opened, verified equivocation evidence (immutable)."""

    __slots__ = ()

    @classmethod
    def open(cls, data: BytesLike) -> "Evidence":
        d = _bytes(data, "data")
        p = _P(_sigs.ca_evidence)()
        check(F.ca_evidence_open(_byref(p), d, len(d)))
        return cls(p, F.ca_evidence_free)

    @property
    def offender(self) -> bytes:
        a = _sigs.ca_agent_id()
        F.ca_evidence_offender(self._p(), _byref(a))
        return bytes(a)

    @property
    def task(self) -> bytes:
        h = _sigs.ca_hash()
        F.ca_evidence_task(self._p(), _byref(h))
        return bytes(h)

    @property
    def kind(self) -> int:
        return int(F.ca_evidence_kind(self._p()))

    def message(self, index: int) -> bytes:
        """The two conflicting message ids, ascending (index 0 or 1)."""
        if index not in (0, 1):
            raise IndexError(index)
        h = _sigs.ca_hash()
        F.ca_evidence_message(self._p(), index, _byref(h))
        return bytes(h)

    @property
    def offense(self) -> bytes:
        """Offense key: the same for every conflicting pair of one agent, task and
        kind, so a ledger keyed on it punishes one offense once."""
        h = _sigs.ca_hash()
        F.ca_evidence_offense(self._p(), _byref(h))
        return bytes(h)

    @property
    def deadline(self) -> int:
        """The task's deadline (the request's): no message of the offense is dated after
        it. An EQUIVOCATION slash names it as its ``deadline`` (the ledger's offense time)."""
        return int(F.ca_evidence_deadline(self._p()))

    @property
    def hash(self) -> bytes:
        """Unique id of this evidence pair."""
        h = _sigs.ca_hash()
        F.ca_evidence_hash(self._p(), _byref(h))
        return bytes(h)


