"""Reputation: ratings from settled, paid tasks; local Beta scores with time
decay; global EigenTrust scores (docs/REPUTATION.md). Scores are local derived
data (doubles), never signed or replicated state.

THREAD SAFETY: a C reputation handle is not thread-safe
(include/cyberagent/reputation.h); :class:`Reputation` serializes every call
with a lock, so the Python object may be shared between threads.
"""

import ctypes
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, TypeVar

from . import _sigs
from ._handle import Handle
from ._lib import F, out_bytes
from .errors import check
from .identity import BytesLike, _bytes

_C = _sigs.CONSTANTS
_byref = ctypes.byref

WEIGHT_MAX: int = _C["CA_REPUTATION_WEIGHT_MAX"]


@dataclass(frozen=True)
class Score:
    """One agent's scores and evidence as of the last update."""

    agent: bytes
    global_: float  # EigenTrust trust (sums to 1 over all agents); `global` is a keyword
    expected: float
    uncertainty: float
    positive: float
    negative: float
    ratings_received: int
    ratings_given: int
    stake: int
    pretrusted: bool

    @classmethod
    def from_c(cls, s: _sigs.ca_reputation_score) -> "Score":
        return cls(
            bytes(s.agent), float(getattr(s, "global")), float(s.expected), float(s.uncertainty),
            float(s.positive), float(s.negative), int(s.ratings_received), int(s.ratings_given),
            int(s.stake), bool(s.pretrusted),
        )


@dataclass(frozen=True)
class Stats:
    """What the last update did."""

    iterations: int
    converged: bool
    l1_change: float
    agents: int
    ratings: int
    edges: int


def reputation_options(**fields: Any) -> _sigs.ca_reputation_options:
    """A ``ca_reputation_options`` with the C defaults and any field overridden by
    name (``half_life_ms``, ``damping_ppm``, ``stake_share_ppm``, ``tolerance``,
    ``max_iterations``, ``warm_start``, ``unit_amount``, ``max_agents``, ``max_ratings``)."""
    o = _sigs.ca_reputation_options()
    check(F.ca_reputation_options_init(_byref(o), _C["CA_REPUTATION_OPTIONS_VERSION"]))
    names = {f[0] for f in _sigs.ca_reputation_options._fields_}
    for k, v in fields.items():
        if k not in names or k == "version":
            raise TypeError("unknown reputation option %r" % k)
        setattr(o, k, v)
    return o


def _aid(b: BytesLike, name: str) -> _sigs.ca_agent_id:
    return _sigs.ca_agent_id.from_buffer_copy(_bytes(b, name, 32))


T = TypeVar("T")


class Reputation(Handle):
    """A store of paid ratings, stakes and pre-trust flags, and the scores computed from them."""

    __slots__ = ("_lock",)

    def __init__(self, **options: Any) -> None:
        o = reputation_options(**options)
        p = ctypes.POINTER(_sigs.ca_reputation)()
        check(F.ca_reputation_new(_byref(p), _byref(o)))
        super().__init__(p, F.ca_reputation_free)
        self._lock = threading.Lock()

    def _locked(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            return fn(self._p())

    def reserve(self, agents: int, ratings: int) -> None:
        """Pre-sizes storage for bulk loading."""
        self._locked(lambda p: check(F.ca_reputation_reserve(p, agents, ratings)))

    def add_rating(
        self, task: BytesLike, rater: BytesLike, ratee: BytesLike, rating: int, amount: int, time_ms: int
    ) -> None:
        """Ingests one settled, paid rating (0..100). Raises
        :class:`~cyberagent.SelfRatingError`, :class:`~cyberagent.DuplicateRatingError`,
        :class:`~cyberagent.UnpaidRatingError`, ..."""
        t = _sigs.ca_hash.from_buffer_copy(_bytes(task, "task", 32))
        a, b = _aid(rater, "rater"), _aid(ratee, "ratee")
        self._locked(
            lambda p: check(F.ca_reputation_add_rating(p, _byref(t), _byref(a), _byref(b), rating, amount, time_ms))
        )

    def add_receipt(self, task: Any) -> None:
        """Ingests the rating of a settled :class:`~cyberagent.Task` thread (rater =
        requester, ratee = worker, weight from the receipt's paid amount, one per task id).
        Where a ledger is kept, use :meth:`add_settled`, which checks the money."""
        self._locked(lambda p: task._locked(lambda tp: check(F.ca_reputation_add_receipt(p, tp))))

    def add_settled(self, task: Any, ledger: Any) -> None:
        """Ingests the rating of a settled :class:`~cyberagent.Task` thread whose escrow
        went through ``ledger`` (a :class:`~cyberagent.Ledger`). The escrow for the
        award must exist (:class:`~cyberagent.LedgerUnknownEscrowError`), be between the
        requester and the rated worker (:class:`~cyberagent.EscrowMismatchError`) and be
        released or split (:class:`~cyberagent.UnpaidRatingError`); the weight comes
        from what the ledger paid the worker, not from the receipt's ``paid``."""
        self._locked(
            lambda p: task._locked(
                lambda tp: ledger._locked(lambda lp: check(F.ca_reputation_add_settled(p, tp, lp)))
            )
        )

    def add_offense(self, kind: int, ref: BytesLike, offender: BytesLike, time_ms: int) -> None:
        """Records verified slashing evidence (a slash the ledger applied: its evidence
        ``kind`` 1..3, ``ref`` and offender). At the next update the offender's
        credibility is divided by 16 per fresh offense, fading with the half-life:
        trust given to it, and trust it gives, goes back to the teleport vector.
        Raises :class:`~cyberagent.ReputationError` (``CA_ERR_DUPLICATE_OFFENSE``) for
        a repeat."""
        r = _sigs.ca_hash.from_buffer_copy(_bytes(ref, "ref", 32))
        a = _aid(offender, "offender")
        self._locked(lambda p: check(F.ca_reputation_add_offense(p, kind, _byref(r), _byref(a), time_ms)))

    def set_stake(self, agent: BytesLike, amount: int) -> None:
        a = _aid(agent, "agent")
        self._locked(lambda p: check(F.ca_reputation_set_stake(p, _byref(a), amount)))

    def sync_stakes(self, ledger: Any, now_ms: int) -> None:
        """Sets every known agent's stake from ``ledger`` (a :class:`~cyberagent.Ledger`)
        as of ``now_ms``: bonded + unbonding, 0 without an account or while jailed."""
        self._locked(
            lambda p: ledger._locked(lambda lp: check(F.ca_reputation_sync_stakes(p, lp, now_ms)))
        )

    def set_pretrusted(self, agent: BytesLike, pretrusted: bool = True) -> None:
        a = _aid(agent, "agent")
        self._locked(lambda p: check(F.ca_reputation_set_pretrusted(p, _byref(a), 1 if pretrusted else 0)))

    def update(self, now_ms: int) -> Stats:
        """Recomputes every score as of ``now_ms``."""
        s = _sigs.ca_reputation_stats(version=_C["CA_REPUTATION_STATS_VERSION"])
        self._locked(lambda p: check(F.ca_reputation_update(p, now_ms, _byref(s))))
        return Stats(int(s.iterations), bool(s.converged), float(s.l1_change), int(s.agents), int(s.ratings), int(s.edges))

    def prune(self, now_ms: int) -> int:
        """Drops every rating whose evidence at ``now_ms`` is exactly 0 (score-neutral
        for updates at ``now_ms`` or later) and returns how many went. Their task ids
        stay known: rating one of them again still raises
        :class:`~cyberagent.DuplicateRatingError`."""
        n = ctypes.c_size_t()
        self._locked(lambda p: check(F.ca_reputation_prune(p, now_ms, _byref(n))))
        return int(n.value)

    def get(self, agent: BytesLike) -> Optional[Score]:
        """Scores of one agent, or None when the agent is unknown."""
        a = _aid(agent, "agent")
        s = _sigs.ca_reputation_score()
        st = self._locked(lambda p: F.ca_reputation_get(p, _byref(a), _byref(s), ctypes.sizeof(s)))
        if st == _C["CA_ERR_NOT_FOUND"]:
            return None
        check(st)
        return Score.from_c(s)

    def top(self, n: int) -> List[Score]:
        """The ``n`` agents with the highest global score, best first."""

        def run(p: Any) -> List[Score]:
            k = min(n, int(F.ca_reputation_agent_count(p)))
            arr = (_sigs.ca_reputation_score * max(k, 1))()
            got = ctypes.c_size_t()
            size = ctypes.sizeof(_sigs.ca_reputation_score)
            check(F.ca_reputation_top(p, n, arr, size, k, _byref(got)))
            return [Score.from_c(arr[i]) for i in range(got.value)]

        return self._locked(run)

    @property
    def agent_count(self) -> int:
        return int(self._locked(lambda p: F.ca_reputation_agent_count(p)))

    @property
    def rating_count(self) -> int:
        return int(self._locked(lambda p: F.ca_reputation_rating_count(p)))

    def snapshot_export(self) -> bytes:
        """Canonical snapshot bytes of the whole state."""
        return self._locked(lambda p: out_bytes(lambda out, cap, n: F.ca_reputation_snapshot_export(p, out, cap, n), 4096))

    def snapshot_import(self, data: BytesLike) -> None:
        """Loads a snapshot into this empty handle (same scoring options)."""
        d = _bytes(data, "data")
        self._locked(lambda p: check(F.ca_reputation_snapshot_import(p, d, len(d))))

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Reputation closed>"
        return "<Reputation agents=%d ratings=%d>" % (self.agent_count, self.rating_count)
