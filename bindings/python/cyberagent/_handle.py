"""Base classes for objects that own a C handle."""

import weakref
from typing import Any, Callable, Optional


class Handle:
    """Owns one C handle and frees it exactly once.

    The handle is released by :meth:`close`, by leaving a ``with`` block, or by
    a ``weakref.finalize`` finalizer when the object is collected (or, for
    objects still alive then, at interpreter exit: secret keys get wiped),
    whichever comes first; the finalizer runs at most once, so the handle is
    never freed twice. Using the object after :meth:`close` raises
    ``ValueError``. Closing is not thread-safe: close only after every other
    use has ended, as the C headers require for ``ca_<type>_free``.
    """

    __slots__ = ("_ptr", "_finalizer", "__weakref__")

    def __init__(self, ptr: Any, free: Callable[[Any], None]) -> None:
        if not ptr:
            raise ValueError("null handle")
        self._ptr = ptr
        self._finalizer: Optional[weakref.finalize] = weakref.finalize(self, free, ptr)

    def _p(self) -> Any:
        p = self._ptr
        if p is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return p

    @property
    def closed(self) -> bool:
        """True once the handle has been released."""
        return self._ptr is None

    def close(self) -> None:
        """Releases the C handle now (idempotent)."""
        fin = self._finalizer
        self._ptr = None
        if fin is not None:
            self._finalizer = None
            fin()

    def __enter__(self) -> Any:
        self._p()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LightHandle:
    """Like :class:`Handle`, for short-lived objects made on hot paths
    (decoded envelopes, cards): the finalizer is ``__del__``, which costs a
    tenth of a ``weakref.finalize`` (about 0.3 us against 3 us per object).
    Still freed exactly once: :meth:`close` clears the pointer before
    freeing, and ``__del__`` frees only a pointer that is still set. Objects
    alive at interpreter exit are not freed (they hold no secrets).
    """

    __slots__ = ("_ptr", "_free")

    def __init__(self, ptr: Any, free: Callable[[Any], None]) -> None:
        if not ptr:
            raise ValueError("null handle")
        self._ptr = ptr
        self._free = free

    def _p(self) -> Any:
        p = self._ptr
        if p is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return p

    @property
    def closed(self) -> bool:
        """True once the handle has been released."""
        return self._ptr is None

    def close(self) -> None:
        """Releases the C handle now (idempotent)."""
        p = self._ptr
        if p is not None:
            self._ptr = None
            self._free(p)

    def __del__(self) -> None:
        p = getattr(self, "_ptr", None)
        if p is not None:
            self._ptr = None
            try:
                self._free(p)
            except Exception:  # interpreter shutdown: the library may be gone already
                pass

    def __enter__(self) -> Any:
        self._p()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
