"""Temporal mapping: per layer operand, the loops held at each of its memory levels (innermost first)."""

from __future__ import annotations

from dataclasses import dataclass

from acco.frozendict import FrozenDict

Loop = tuple[str, int]


@dataclass(frozen=True)
class TemporalMapping:
    """`levels[op][i]` = temporal loops (dim, size) of memory level i of layer operand `op`."""

    levels: FrozenDict[str, tuple[tuple[Loop, ...], ...]]

    @classmethod
    def from_dict(cls, d: dict[str, list[list[tuple[str, int]]]]) -> "TemporalMapping":
        """Build from a plain {op: [[(dim, size), ...], ...]} dict."""
        return cls(FrozenDict((op, tuple(tuple((str(a), int(b)) for a, b in lv) for lv in per)) for op, per in d.items()))

    def __getitem__(self, op: str) -> tuple[tuple[Loop, ...], ...]:
        return self.levels[op]

    def as_dict(self) -> dict[str, list[list[list]]]:
        return {op: [[[d, s] for d, s in lv] for lv in per] for op, per in self.levels.items()}
