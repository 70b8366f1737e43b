"""A small immutable, hashable mapping so that model objects stay frozen and usable as cache keys."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def _immutable(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError("FrozenDict is immutable")


class FrozenDict(dict[K, V]):
    """Immutable dict with a stable hash (insertion order is kept, equality ignores it).

    A dict subclass, so that look-ups, `in`, iteration and `get` run at C speed (model objects are
    read hundreds of thousands of times per scenario); every mutating method raises TypeError.
    """

    __slots__ = ("_h",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        dict.__init__(self, *args, **kwargs)
        self._h: int | None = None

    def __hash__(self) -> int:  # type: ignore[override]
        h = self._h
        if h is None:
            h = self._h = hash(frozenset(dict.items(self)))
        return h

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> "FrozenDict[K, V]":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenDict[K, V]":
        from copy import deepcopy

        return FrozenDict(deepcopy(dict(self), memo))

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _immutable  # type: ignore[assignment]
    __ior__ = _immutable  # type: ignore[assignment]
