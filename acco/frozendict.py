"""A small immutable, hashable mapping so that model objects stay frozen and usable as cache keys."""

from __future__ import annotations

from typing import Any, Iterator, Mapping, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(Mapping[K, V]):
    """Immutable dict with a stable hash (insertion order is kept, equality ignores it)."""

    __slots__ = ("_d", "_h")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._d: dict[K, V] = dict(*args, **kwargs)
        self._h: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._d[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __repr__(self) -> str:
        return f"FrozenDict({self._d!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (self._d,))
