"""Routing: a registry of verified agent cards ranked by an explainable utility
(price, reputation, stake, latency), optional Thompson-sampling exploration,
and a Kademlia-style XOR-distance table for discovery (docs/ROUTING.md).

THREAD SAFETY: C handles are not locked (include/cyberagent/routing.h);
:class:`Routing` and :class:`Kad` serialize every call with a lock, so the
Python objects may be shared between threads. Functions are thread-safe.
"""

import ctypes
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from . import _sigs
from ._handle import Handle
from ._lib import F, out_bytes, out_text
from .card import Card
from .delegation import Delegation, RevocationSet
from .errors import check
from .identity import BytesLike, _bytes

_C = _sigs.CONSTANTS
_byref = ctypes.byref
KAD_ADDED: int = _C["CA_KAD_ADDED"]
KAD_REFRESHED: int = _C["CA_KAD_REFRESHED"]
KAD_REPLACED: int = _C["CA_KAD_REPLACED"]
KAD_CACHED: int = _C["CA_KAD_CACHED"]
KAD_IGNORED: int = _C["CA_KAD_IGNORED"]

T = TypeVar("T")


def _aid(b: BytesLike, name: str = "agent") -> _sigs.ca_agent_id:
    return _sigs.ca_agent_id.from_buffer_copy(_bytes(b, name, 32))


def routing_weights(**fields: int) -> _sigs.ca_routing_weights:
    """Utility weights: the defaults (price 3, reputation 4, stake 2, latency 1,
    price_ref 1000, stake_ref 1000000, latency_ref_ms 1000) with fields overridden."""
    w = _sigs.ca_routing_weights()
    check(F.ca_routing_weights_init(_byref(w), _C["CA_ROUTING_WEIGHTS_VERSION"]))
    names = {f[0] for f in _sigs.ca_routing_weights._fields_}
    for k, v in fields.items():
        if k not in names or k == "version":
            raise TypeError("unknown weight %r" % k)
        setattr(w, k, v)
    return w


def routing_options(weights: Optional[_sigs.ca_routing_weights] = None, **fields: int) -> _sigs.ca_routing_options:
    """Registry options with the C defaults, any field overridden by name."""
    o = _sigs.ca_routing_options()
    check(F.ca_routing_options_init(_byref(o), _C["CA_ROUTING_OPTIONS_VERSION"]))
    names = {f[0] for f in _sigs.ca_routing_options._fields_}
    for k, v in fields.items():
        if k not in names or k in ("version", "weights"):
            raise TypeError("unknown routing option %r" % k)
        setattr(o, k, v)
    if weights is not None:
        o.weights = ctypes.pointer(weights)  # the struct keeps the weights alive
    return o


@dataclass(frozen=True)
class AgentInfo:
    """What the registry holds about one agent."""

    sequence: int
    valid_from: int
    valid_until: int
    stake: int
    claimed_stake: int
    positive_milli: int
    negative_milli: int
    reputation_ppm: int
    capability_count: int
    stake_from_ledger: bool
    delegated: bool = False
    principal: bytes = bytes(32)  # whom it acts for: its chain's delegator, else itself
    leaf: bytes = bytes(32)  # its chain's leaf id; zero when not delegated


@dataclass(frozen=True)
class Candidate:
    """One ranked candidate; ``score`` is the sum of the four named terms."""

    agent: bytes
    capability: str
    score: int
    price_term: int
    reputation_term: int
    stake_term: int
    latency_term: int
    price_ppm: int
    reputation_ppm: int
    stake_ppm: int
    latency_ppm: int
    price: int
    stake: int
    latency_ms: int
    explanation: str

    @classmethod
    def from_c(cls, r: _sigs.ca_routing_result) -> "Candidate":
        size = ctypes.sizeof(r)
        explanation = out_text(lambda out, cap, n: F.ca_routing_result_explain(_byref(r), size, out, cap, n), 160)
        return cls(
            bytes(r.agent), r.capability[: r.capability_len].decode("utf-8"), int(r.score), int(r.price_term),
            int(r.reputation_term), int(r.stake_term), int(r.latency_term), int(r.price_ppm),
            int(r.reputation_ppm), int(r.stake_ppm), int(r.latency_ppm), int(r.price), int(r.stake),
            int(r.latency_ms), explanation,
        )


def _query(
    capability: str,
    now: int,
    max_price: Optional[int],
    min_stake: Optional[int],
    min_reputation_ppm: Optional[int],
    max_latency_ms: Optional[int],
    weights: Optional[_sigs.ca_routing_weights],
    thompson: bool,
    seed: int,
) -> _sigs.ca_routing_query:
    cap = capability.encode("utf-8")
    q = _sigs.ca_routing_query()
    check(F.ca_routing_query_init(_byref(q), _C["CA_ROUTING_QUERY_VERSION"]))
    q.capability = cap  # the struct keeps a reference to the bytes
    q.capability_len = len(cap)
    q.now = now
    if max_price is not None:
        q.max_price = max_price
    if min_stake is not None:
        q.min_stake = min_stake
    if min_reputation_ppm is not None:
        q.min_reputation_ppm = min_reputation_ppm
    if max_latency_ms is not None:
        q.max_latency_ms = max_latency_ms
    if weights is not None:
        q.weights = ctypes.pointer(weights)
    q.thompson = 1 if thompson else 0
    q.seed = seed
    return q


Bid = Tuple[bytes, int, int]  # (agent public key, price, latency_ms or 0)


def _bid(b: Any) -> _sigs.ca_routing_bid:
    agent, price = b[0], b[1]
    latency = b[2] if len(b) > 2 else 0
    c = _sigs.ca_routing_bid()
    c.agent = _aid(agent)
    c.price = price
    c.latency_ms = latency
    return c


class Routing(Handle):
    """A registry of agent cards. Options: any ``ca_routing_options`` field by
    name, plus ``weights`` (from :func:`routing_weights`)."""

    __slots__ = ("_lock",)

    def __init__(self, weights: Optional[_sigs.ca_routing_weights] = None, **options: int) -> None:
        o = routing_options(weights, **options)
        p = ctypes.POINTER(_sigs.ca_routing)()
        check(F.ca_routing_new(_byref(p), _byref(o)))
        super().__init__(p, F.ca_routing_free)
        self._lock = threading.Lock()

    def _locked(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            return fn(self._p())

    def __len__(self) -> int:
        return int(self._locked(lambda p: F.ca_routing_count(p)))

    def add_card(self, card: Card, now: int) -> None:
        """Adds or replaces the card's agent (rules in routing.h: a stale card raises
        :class:`~cyberagent.RoutingStaleError`, a conflicting one
        :class:`~cyberagent.RoutingConflictError`, an expired one
        :class:`~cyberagent.ExpiredError`)."""
        c = card._p()
        self._locked(lambda p: check(F.ca_routing_add_card(p, c, now)))

    def add_delegate(
        self, card: Card, chain: Sequence[Delegation], now: int, revocations: Optional[RevocationSet] = None
    ) -> None:
        """Adds or replaces a delegate: its own card and the chain (root first) under
        which it acts for the chain's delegator (routing.h, DELEGATES): listed for the
        card's capabilities the leaf grants, kept while the chain holds, weighing what
        its delegator weighs. ``revocations``: the caller's, checked with the registry's."""
        c = card._p()
        arr = (ctypes.POINTER(_sigs.ca_delegation) * max(len(chain), 1))(*[d._p() for d in chain])
        if revocations is None:
            self._locked(lambda p: check(F.ca_routing_add_delegate(p, c, arr, len(chain), None, now)))
            return
        o = _sigs.ca_delegation_verify_options()
        check(F.ca_delegation_verify_options_init(_byref(o), _C["CA_DELEGATION_VERIFY_OPTIONS_VERSION"]))
        o.revocations = revocations._p()
        with revocations._lock:
            self._locked(lambda p: check(F.ca_routing_add_delegate(p, c, arr, len(chain), _byref(o), now)))

    def add_revocation(self, data: BytesLike, now: int) -> int:
        """Applies a signed revocation: every delegate under a link revoked with force
        goes (and that link is refused from then on); returns how many. A revocation
        without force (a stranger's, or of a delegation no registered chain holds)
        changes nothing."""
        d = _bytes(data, "data")
        n = ctypes.c_size_t()
        self._locked(lambda p: check(F.ca_routing_add_revocation(p, d, len(d), now, _byref(n))))
        return int(n.value)

    @property
    def delegate_count(self) -> int:
        return int(self._locked(lambda p: F.ca_routing_delegate_count(p)))

    def remove(self, agent: BytesLike) -> None:
        a = _aid(agent)
        self._locked(lambda p: check(F.ca_routing_remove(p, _byref(a))))

    def expire(self, now: int) -> int:
        """Removes agents whose kept-until time ended (the card's not_after, or
        max_card_lifetime_ms after its last add if sooner); returns how many.
        Every add does the same first."""
        n = ctypes.c_size_t()
        self._locked(lambda p: check(F.ca_routing_expire(p, now, _byref(n))))
        return int(n.value)

    def set_reputation(self, agent: BytesLike, reputation_ppm: int) -> None:
        a = _aid(agent)
        self._locked(lambda p: check(F.ca_routing_set_reputation(p, _byref(a), reputation_ppm)))

    def set_evidence(self, agent: BytesLike, positive_milli: int, negative_milli: int) -> None:
        a = _aid(agent)
        self._locked(lambda p: check(F.ca_routing_set_evidence(p, _byref(a), positive_milli, negative_milli)))

    def set_stake(self, agent: BytesLike, stake: int) -> None:
        """Stake as the ledger sees it (replaces the card's claim from now on)."""
        a = _aid(agent)
        self._locked(lambda p: check(F.ca_routing_set_stake(p, _byref(a), stake)))

    def sync_stakes(self, ledger: Any, now_ms: int) -> None:
        """Every registered agent's stake from ``ledger`` (a :class:`~cyberagent.Ledger`) as
        of ``now_ms``: bonded + unbonding, 0 without an account or while jailed, so a query
        with ``min_stake >= 1`` leaves jailed agents out. Counts as :meth:`set_stake`."""
        self._locked(lambda p: ledger._locked(lambda lp: check(F.ca_routing_sync_stakes(p, lp, now_ms))))

    def sync_reputation(self, reputation: Any) -> None:
        """Reputation ppm (the Beta expected value, rounded) and Beta evidence (in
        thousandths) of every registered agent that ``reputation`` (a
        :class:`~cyberagent.Reputation`) knows, as of its last update; others keep theirs."""
        self._locked(lambda p: reputation._locked(lambda rp: check(F.ca_routing_sync_reputation(p, rp))))

    def get(self, agent: BytesLike) -> Optional[AgentInfo]:
        a = _aid(agent)
        i = _sigs.ca_routing_agent_info(version=_C["CA_ROUTING_AGENT_INFO_VERSION"])
        st = self._locked(lambda p: F.ca_routing_get(p, _byref(a), _byref(i)))
        if st == _C["CA_ERR_NOT_FOUND"]:
            return None
        check(st)
        return AgentInfo(
            int(i.sequence), int(i.valid_from), int(i.valid_until), int(i.stake), int(i.claimed_stake),
            int(i.positive_milli), int(i.negative_milli), int(i.reputation_ppm), int(i.capability_count),
            bool(i.stake_from_ledger), bool(i.delegated), bytes(i.principal), bytes(i.leaf),
        )

    def endpoint(self, agent: BytesLike) -> bytes:
        a = _aid(agent)
        return self._locked(
            lambda p: out_bytes(lambda out, cap, n: F.ca_routing_endpoint(p, _byref(a), out, cap, n), 256)
        )

    def name(self, agent: BytesLike) -> str:
        a = _aid(agent)
        return self._locked(lambda p: out_text(lambda out, cap, n: F.ca_routing_name(p, _byref(a), out, cap, n), 64))

    def select(
        self,
        capability: str,
        now: int,
        k: int = 5,
        *,
        max_price: Optional[int] = None,
        min_stake: Optional[int] = None,
        min_reputation_ppm: Optional[int] = None,
        max_latency_ms: Optional[int] = None,
        weights: Optional[_sigs.ca_routing_weights] = None,
        thompson: bool = False,
        seed: int = 0,
    ) -> List[Candidate]:
        """The best ``k`` candidates for a capability pattern (``"a.b"``, ``"a.*"``
        or ``"*"``), best first, each with its score broken into named terms."""
        q = _query(capability, now, max_price, min_stake, min_reputation_ppm, max_latency_ms, weights, thompson, seed)
        arr = (_sigs.ca_routing_result * max(k, 1))()
        n = ctypes.c_size_t()
        size = ctypes.sizeof(_sigs.ca_routing_result)
        self._locked(lambda p: check(F.ca_routing_select(p, _byref(q), arr, size, k, _byref(n))))
        return [Candidate.from_c(arr[i]) for i in range(n.value)]

    def score_bid(
        self,
        capability: str,
        now: int,
        bid: Bid,
        *,
        max_price: Optional[int] = None,
        min_stake: Optional[int] = None,
        min_reputation_ppm: Optional[int] = None,
        max_latency_ms: Optional[int] = None,
        weights: Optional[_sigs.ca_routing_weights] = None,
        thompson: bool = False,
        seed: int = 0,
    ) -> Tuple[Optional[Candidate], bool]:
        """Scores one bid ``(agent, price[, latency_ms])`` with the query's utility,
        the bid's price in place of the card's. Returns ``(candidate, eligible)``;
        ``(None, False)`` when the bidder is unknown or offers no matching capability.
        An ineligible bid (fails a filter) still comes with its candidate, so the
        caller can say why."""
        q = _query(capability, now, max_price, min_stake, min_reputation_ppm, max_latency_ms, weights, thompson, seed)
        b = _bid(bid)
        r = _sigs.ca_routing_result()
        st = self._locked(
            lambda p: F.ca_routing_score_bid(p, _byref(q), _byref(b), ctypes.sizeof(b), _byref(r), ctypes.sizeof(r))
        )
        if st == _C["CA_ERR_NOT_FOUND"]:
            return None, False
        if st not in (0, _C["CA_ERR_ROUTING_INELIGIBLE"]):
            check(st)
        return Candidate.from_c(r), st == 0

    def rank_bids(
        self,
        capability: str,
        now: int,
        bids: Sequence[Bid],
        k: int = 5,
        *,
        max_price: Optional[int] = None,
        min_stake: Optional[int] = None,
        min_reputation_ppm: Optional[int] = None,
        max_latency_ms: Optional[int] = None,
        weights: Optional[_sigs.ca_routing_weights] = None,
        thompson: bool = False,
        seed: int = 0,
    ) -> List[Candidate]:
        """The best ``k`` eligible bids ``(agent, price[, latency_ms])``, best first;
        unknown and ineligible bidders are dropped."""
        q = _query(capability, now, max_price, min_stake, min_reputation_ppm, max_latency_ms, weights, thompson, seed)
        arr_b = (_sigs.ca_routing_bid * max(len(bids), 1))(*[_bid(b) for b in bids])
        arr = (_sigs.ca_routing_result * max(k, 1))()
        n = ctypes.c_size_t()
        self._locked(
            lambda p: check(
                F.ca_routing_rank_bids(
                    p, _byref(q), arr_b, ctypes.sizeof(_sigs.ca_routing_bid), len(bids), arr,
                    ctypes.sizeof(_sigs.ca_routing_result), k, _byref(n),
                )
            )
        )
        return [Candidate.from_c(arr[i]) for i in range(n.value)]

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Routing closed>"
        return "<Routing %d agents>" % len(self)


class Kad(Handle):
    """Kademlia-style XOR-distance contact table around ``self_id``."""

    __slots__ = ("_lock",)

    def __init__(
        self,
        self_id: BytesLike,
        *,
        bucket_size: Optional[int] = None,
        cache_size: Optional[int] = None,
        max_contacts: Optional[int] = None,
    ) -> None:
        o = _sigs.ca_kad_options()
        check(F.ca_kad_options_init(_byref(o), _C["CA_KAD_OPTIONS_VERSION"]))
        if bucket_size is not None:
            o.bucket_size = bucket_size
        if cache_size is not None:
            o.cache_size = cache_size
        if max_contacts is not None:
            o.max_contacts = max_contacts
        a = _aid(self_id, "self_id")
        p = ctypes.POINTER(_sigs.ca_kad)()
        check(F.ca_kad_new(_byref(p), _byref(a), _byref(o)))
        super().__init__(p, F.ca_kad_free)
        self._lock = threading.Lock()

    def _locked(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            return fn(self._p())

    def seen(self, agent: BytesLike) -> int:
        """Records that ``agent`` was heard from; returns a ``KAD_*`` outcome."""
        a = _aid(agent)
        out = ctypes.c_int()
        self._locked(lambda p: check(F.ca_kad_seen(p, _byref(a), _byref(out))))
        return int(out.value)

    def mark_failed(self, agent: BytesLike) -> None:
        a = _aid(agent)
        self._locked(lambda p: check(F.ca_kad_mark_failed(p, _byref(a))))

    def remove(self, agent: BytesLike) -> None:
        a = _aid(agent)
        self._locked(lambda p: check(F.ca_kad_remove(p, _byref(a))))

    def __len__(self) -> int:
        return int(self._locked(lambda p: F.ca_kad_count(p)))

    def closest(self, target: BytesLike, k: int = 20) -> List[bytes]:
        """The ``k`` live contacts closest to ``target`` by XOR distance, closest first."""
        t = _aid(target, "target")
        arr = (_sigs.ca_agent_id * max(k, 1))()
        n = ctypes.c_size_t()
        self._locked(lambda p: check(F.ca_kad_closest(p, _byref(t), arr, k, _byref(n))))
        return [bytes(arr[i]) for i in range(n.value)]

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Kad closed>"
        return "<Kad %d contacts>" % len(self)
