"""Agent cards: an agent's signed self-description (capabilities, prices,
endpoint, claimed stake), carried in a CA_KIND_CARD envelope. Body format and
the A2A mapping: docs/PROTOCOL.md.

THREAD SAFETY (as include/cyberagent/card.h): a :class:`Card` is immutable;
any number of threads may read one at once. Functions are thread-safe.
"""

import ctypes
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import _sigs
from ._handle import LightHandle
from ._lib import F, out_bytes, out_text
from .envelope import Envelope, _oref, envelope_options
from .errors import check, make_error
from .identity import BytesLike, Identity, _bytes, did_encode

_C = _sigs.CONSTANTS
_byref = ctypes.byref


class Capability(NamedTuple):
    """One advertised capability: a dotted name (``"llm.translate.en-fr"``),
    a price per task in integer base units, a latency bound in ms (0 = none)."""

    name: str
    price: int
    latency_ms: int = 0


CapabilityLike = Union[Capability, Tuple[str, int], Tuple[str, int, int]]


def limits() -> Dict[str, int]:
    """The card limits as the library reports them (bytes of UTF-8 / counts)."""
    return {
        "name": int(F.ca_card_name_max()),
        "description": int(F.ca_card_description_max()),
        "endpoint": int(F.ca_card_endpoint_max()),
        "capabilities": int(F.ca_card_capabilities_max()),
        "capability": int(F.ca_capability_max()),
        "capability_segments": int(F.ca_capability_segments_max()),
    }


def capability_check(name: str) -> None:
    """Raises :class:`~cyberagent.BadCapabilityError` unless ``name`` follows
    the capability grammar (1..8 dot-separated segments of ``[a-z0-9-]``)."""
    b = name.encode("utf-8")
    check(F.ca_capability_check(b, len(b)))


def is_capability(name: str) -> bool:
    """True when ``name`` follows the capability grammar."""
    b = name.encode("utf-8")
    return F.ca_capability_check(b, len(b)) == 0


def _text(value: Optional[str], field: str) -> Optional[bytes]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be str" % field)
    b = value.encode("utf-8")
    if b"\0" in b:
        raise ValueError("%s contains a NUL character" % field)
    return b


def sign_card_with_id(
    signer: Identity,
    *,
    name: str,
    endpoint: str,
    capabilities: Iterable[CapabilityLike],
    not_before: int,
    not_after: int,
    created_at: int,
    stake: int = 0,
    sequence: int = 0,
    description: Optional[str] = None,
) -> Tuple[bytes, bytes]:
    """Like :func:`sign_card`, returning ``(envelope_bytes, message_id)``."""
    caps = [Capability(*c) for c in capabilities]
    arr = (_sigs.ca_card_capability * max(len(caps), 1))()
    keep: List[bytes] = []
    for i, c in enumerate(caps):
        nb = _text(c.name, "capability name")
        assert nb is not None
        keep.append(nb)
        arr[i].name = nb
        arr[i].price = c.price
        arr[i].latency_ms = c.latency_ms
    p = _sigs.ca_card_params()
    check(F.ca_card_params_init(_byref(p), _C["CA_CARD_PARAMS_VERSION"]))
    p.name = _text(name, "name")
    p.description = _text(description, "description")
    p.endpoint = _text(endpoint, "endpoint")
    p.stake = stake
    p.not_before = not_before
    p.not_after = not_after
    p.sequence = sequence
    p.capabilities = ctypes.cast(arr, ctypes.POINTER(_sigs.ca_card_capability)) if caps else None
    p.capability_size = ctypes.sizeof(_sigs.ca_card_capability)
    p.capability_count = len(caps)
    p.created_at = created_at
    mid = _sigs.ca_hash()
    sp = signer._p()
    data = out_bytes(lambda out, cap, n: F.ca_card_sign(sp, _byref(p), out, cap, n, _byref(mid)), 1024)
    del keep, arr
    return data, bytes(mid)


def sign_card(
    signer: Identity,
    *,
    name: str,
    endpoint: str,
    capabilities: Iterable[CapabilityLike],
    not_before: int,
    not_after: int,
    created_at: int,
    stake: int = 0,
    sequence: int = 0,
    description: Optional[str] = None,
) -> bytes:
    """Signs an agent card as a CA_KIND_CARD envelope and returns its bytes.

    ``capabilities`` are :class:`Capability` values or ``(name, price[, latency_ms])``
    tuples, in any order, names distinct. Times are ms since the Unix epoch;
    the envelope expires at ``not_after``. A higher ``sequence`` replaces an
    older card of the same agent.
    """
    return sign_card_with_id(
        signer,
        name=name,
        endpoint=endpoint,
        capabilities=capabilities,
        not_before=not_before,
        not_after=not_after,
        created_at=created_at,
        stake=stake,
        sequence=sequence,
        description=description,
    )[0]


def _cap(c: _sigs.ca_card_capability) -> Capability:
    return Capability(c.name.decode("utf-8"), int(c.price), int(c.latency_ms))


class Card(LightHandle):
    """A parsed, verified agent card (immutable; share across threads freely)."""

    __slots__ = ()

    @classmethod
    def open(
        cls,
        data: BytesLike,
        now: int,
        *,
        max_envelope_bytes: Optional[int] = None,
        max_body_bytes: Optional[int] = None,
        max_skew_ms: Optional[int] = None,
    ) -> "Card":
        """Decode + verify the envelope at ``now`` + parse, and require the card's
        validity window to hold (:class:`~cyberagent.NotYetValidError` /
        :class:`~cyberagent.ExpiredError`)."""
        d = _bytes(data, "data")
        o = envelope_options(max_envelope_bytes, max_body_bytes, max_skew_ms)
        p = ctypes.POINTER(_sigs.ca_card)()
        check(F.ca_card_open(_byref(p), d, len(d), now, _oref(o)))
        return cls(p, F.ca_card_free)

    @classmethod
    def parse(cls, envelope: Envelope) -> "Card":
        """Parses a card from an envelope the caller has verified. The envelope
        must be the one :func:`sign_card` writes (no flags, expiring at the card's
        ``not_after``), else :class:`MalformedError`. Does not check the validity
        window (see :meth:`valid_at`)."""
        p = ctypes.POINTER(_sigs.ca_card)()
        check(F.ca_card_parse(_byref(p), envelope._p()))
        return cls(p, F.ca_card_free)

    @property
    def agent(self) -> bytes:
        """Public key of the agent (the envelope's sender)."""
        a = _sigs.ca_agent_id()
        F.ca_card_agent(self._p(), _byref(a))
        return bytes(a)

    @property
    def agent_did(self) -> str:
        return did_encode(self.agent)

    @property
    def message_id(self) -> bytes:
        h = _sigs.ca_hash()
        F.ca_card_message_id(self._p(), _byref(h))
        return bytes(h)

    @property
    def created_at(self) -> int:
        return int(F.ca_card_created_at(self._p()))

    @property
    def name(self) -> str:
        return F.ca_card_name(self._p()).decode("utf-8")

    @property
    def description(self) -> str:
        return F.ca_card_description(self._p()).decode("utf-8")

    @property
    def endpoint(self) -> str:
        return F.ca_card_endpoint(self._p()).decode("utf-8")

    @property
    def stake(self) -> int:
        return int(F.ca_card_stake(self._p()))

    @property
    def not_before(self) -> int:
        return int(F.ca_card_not_before(self._p()))

    @property
    def not_after(self) -> int:
        return int(F.ca_card_not_after(self._p()))

    @property
    def sequence(self) -> int:
        return int(F.ca_card_sequence(self._p()))

    def valid_at(self, now: int) -> bool:
        """True when not_before <= now <= not_after."""
        return bool(F.ca_card_valid_at(self._p(), now))

    @property
    def capabilities(self) -> List[Capability]:
        """Capabilities in ascending byte order of their names."""
        p = self._p()
        out = []
        c = _sigs.ca_card_capability()
        for i in range(int(F.ca_card_capability_count(p))):
            check(F.ca_card_capability_at(p, i, _byref(c), ctypes.sizeof(c)))
            out.append(_cap(c))
        return out

    def capability_at(self, index: int) -> Capability:
        """Capability number ``index``; :class:`~cyberagent.NotFoundError` when out of range."""
        c = _sigs.ca_card_capability()
        check(F.ca_card_capability_at(self._p(), index, _byref(c), ctypes.sizeof(c)))
        return _cap(c)

    def find_capability(self, name: str) -> Optional[Capability]:
        """The capability with this exact name, or None."""
        b = name.encode("utf-8")
        c = _sigs.ca_card_capability()
        st = F.ca_card_find_capability(self._p(), b, len(b), _byref(c), ctypes.sizeof(c))
        if st == _C["CA_ERR_NOT_FOUND"]:
            return None
        if st != 0:
            raise make_error(st)
        return _cap(c)

    def __len__(self) -> int:
        return int(F.ca_card_capability_count(self._p()))

    def to_a2a_json(self) -> str:
        """The card as an A2A Agent Card JSON document (docs/PROTOCOL.md)."""
        p = self._p()
        return out_text(lambda out, cap, n: F.ca_card_to_a2a_json(p, out, cap, n), 2048)

    def to_a2a_signed_json(self, signer: Identity) -> str:
        """The card as a signed A2A v1.0 Agent Card: RFC 8785 canonical JSON with
        one JWS signature (alg EdDSA, kid the signer's did:key URL) by
        ``signer``, which must be the card's agent
        (:class:`~cyberagent.KeyMismatchError` otherwise). Deterministic.
        Format and mapping: docs/PROTOCOL.md, "Signed A2A agent cards"."""
        p, sp = self._p(), signer._p()
        return out_text(lambda out, cap, n: F.ca_card_to_a2a_signed_json(p, sp, out, cap, n), 4096)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Card closed>"
        return "<Card %r by %s, %d capabilities>" % (self.name, self.agent_did, len(self))


def a2a_limits() -> Dict[str, int]:
    """Bytes of JSON the library reads, and the nesting it allows."""
    return {"json": int(F.ca_a2a_json_max()), "depth": int(F.ca_a2a_json_depth_max())}


def _json_bytes(text: Union[str, BytesLike]) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else _bytes(text, "json")


def jcs_canonicalize(text: Union[str, BytesLike]) -> str:
    """RFC 8785 canonical form of a JSON text, under the library's strict JSON
    rules (no duplicate names, valid UTF-8, no lone surrogates; numbers only
    integers of magnitude <= 2**53, others :class:`~cyberagent.UnsupportedError`)."""
    b = _json_bytes(text)
    return out_text(lambda out, cap, n: F.ca_jcs_canonicalize(b, len(b), out, cap, n), len(b) + 16)


class A2ACard(LightHandle):
    """A verified, signed A2A v1.0 Agent Card from anyone (read-only view).

    Immutable; share across threads freely."""

    __slots__ = ()

    @classmethod
    def verify(cls, text: Union[str, BytesLike], key: Optional[BytesLike] = None) -> "A2ACard":
        """Verifies ``text`` (rules and statuses: include/cyberagent/card.h,
        ca_a2a_card_verify). ``key`` None: each signature's kid must be an
        Ed25519 did:key URL; else the 32-byte key to check with (a did:key kid
        must name it, :class:`~cyberagent.KeyMismatchError` otherwise)."""
        b = _json_bytes(text)
        o = _sigs.ca_a2a_verify_options()
        check(F.ca_a2a_verify_options_init(_byref(o), _C["CA_A2A_VERIFY_OPTIONS_VERSION"]))
        k = None
        if key is not None:
            kb = _bytes(key, "key")
            if len(kb) != _C["CA_AGENT_ID_BYTES"]:
                raise ValueError("key must be %d bytes" % _C["CA_AGENT_ID_BYTES"])
            k = _sigs.ca_agent_id.from_buffer_copy(kb)
            o.key = ctypes.pointer(k)
        p = ctypes.POINTER(_sigs.ca_a2a_card)()
        check(F.ca_a2a_card_verify(_byref(p), b, len(b), _byref(o)))
        del k
        return cls(p, F.ca_a2a_card_free)

    @property
    def signer(self) -> bytes:
        """The key whose signature verified."""
        a = _sigs.ca_agent_id()
        F.ca_a2a_card_signer(self._p(), _byref(a))
        return bytes(a)

    @property
    def signer_did(self) -> str:
        return did_encode(self.signer)

    @property
    def kid(self) -> str:
        return F.ca_a2a_card_kid(self._p()).decode("utf-8")

    @property
    def payload(self) -> str:
        """The canonical JSON the signature covers (the card without ``signatures``)."""
        n = ctypes.c_size_t(0)
        ptr = F.ca_a2a_card_payload(self._p(), _byref(n))
        return ctypes.string_at(ptr, n.value).decode("utf-8")

    @property
    def name(self) -> str:
        return F.ca_a2a_card_name(self._p()).decode("utf-8")

    @property
    def description(self) -> str:
        return F.ca_a2a_card_description(self._p()).decode("utf-8")

    @property
    def version(self) -> str:
        return F.ca_a2a_card_version(self._p()).decode("utf-8")

    @property
    def interfaces(self) -> List[Tuple[str, str, str]]:
        """``(url, protocolBinding, protocolVersion)`` per supportedInterfaces entry, in order."""
        p = self._p()
        return [
            (
                F.ca_a2a_card_interface_url(p, i).decode("utf-8"),
                F.ca_a2a_card_interface_binding(p, i).decode("utf-8"),
                F.ca_a2a_card_interface_protocol_version(p, i).decode("utf-8"),
            )
            for i in range(int(F.ca_a2a_card_interface_count(p)))
        ]

    @property
    def skills(self) -> List[Tuple[str, str]]:
        """``(id, name)`` per skill, in order."""
        p = self._p()
        return [
            (F.ca_a2a_card_skill_id(p, i).decode("utf-8"), F.ca_a2a_card_skill_name(p, i).decode("utf-8"))
            for i in range(int(F.ca_a2a_card_skill_count(p)))
        ]

    def native(self) -> bytes:
        """The signed libcyberagent card (envelope bytes) inside a card written by
        :meth:`Card.to_a2a_signed_json`; open it with :meth:`Card.open`.
        :class:`~cyberagent.NotFoundError` for a card from elsewhere."""
        p = self._p()
        return out_bytes(lambda out, cap, n: F.ca_a2a_card_native(p, out, cap, n), 512)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<A2ACard closed>"
        return "<A2ACard %r signed by %s>" % (self.name, self.signer_did)


__all__: Sequence[str] = [
    "A2ACard",
    "a2a_limits",
    "jcs_canonicalize",
    "Capability",
    "Card",
    "capability_check",
    "is_capability",
    "limits",
    "sign_card",
    "sign_card_with_id",
]
