"""Spatial mapping: the user's array-dim unrolling, limited and attached to memory levels per operand.

Each unrolling is limited to the array size and the layer size; an unrolling that does not
divide the layer dim becomes fractional (``L / ceil(L/u)``), used for energy, while its ceiling
is used for latency (ACCO/ZigZag "greedy mapping").
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Iterable, Mapping

from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator
from acco.workload.layer import Layer

Loop = tuple[str, float]


@dataclass(frozen=True)
class SpatialMapping:
    """`levels[op][a]` = spatial loops between arch level a and a+1 of layer operand `op`.

    Arch level 0 is the MAC array; arch level i+1 is memory i of the operand's chain. Entry i
    holds the unrollings over the array dims served by memory i; the last entry holds the
    unrollings served by none of them.
    """

    levels: FrozenDict[str, tuple[tuple[Loop, ...], ...]]
    unrolling: tuple[tuple[str, str, float], ...]

    def integer(self, down: bool = False) -> "SpatialMapping":
        """The same mapping with every fractional unrolling rounded up (for latency); `down`: truncated
        instead (ZigZag 3.9.1's integer mapping, cost model zigzag-3.9.1)."""
        r = (lambda s: float(int(s))) if down else (lambda s: float(ceil(s)))  # noqa: E731
        lv = FrozenDict(
            (op, tuple(tuple((d, r(s)) for d, s in loops) for loops in per))
            for op, per in self.levels.items()
        )
        return SpatialMapping(lv, tuple((a, d, r(s)) for a, d, s in self.unrolling))

    def is_integer(self) -> bool:
        """True when `integer()` would return this very mapping (every unrolling an integral float)."""
        ok = lambda s: type(s) is float and s.is_integer()  # noqa: E731
        return all(ok(s) for _, _, s in self.unrolling) and all(
            ok(s) for per in self.levels.values() for loops in per for _, s in loops
        )

    def unrolled(self, dim: str) -> float:
        """Total spatial unrolling of a layer dim (product over array dims)."""
        p = 1.0
        for _, d, s in self.unrolling:
            if d == dim:
                p *= s
        return p

    def temporal_size(self, layer: Layer, dim: str) -> int:
        """Temporal loop size left for `dim` after spatial unrolling."""
        return int(round(layer.size(dim) / self.unrolled(dim)))


def limit_unrolling(layer: Layer, accelerator: Accelerator) -> tuple[tuple[str, str, float], ...]:
    """Limit each user unrolling to the array and layer sizes; make non-dividing ones fractional."""
    return limit(layer.loop_sizes, accelerator.array.dimensions, layer.spatial_mapping)


def limit(
    loop_sizes: Mapping[str, int], array_dims: Mapping[str, int], unrolling: Iterable[tuple[str, str, int]]
) -> tuple[tuple[str, str, float], ...]:
    """`limit_unrolling` of an unrolling given apart from its layer (loop sizes) and accelerator (array dims)."""
    remaining = dict(loop_sizes)
    out: list[tuple[str, str, float]] = []
    for oa_dim, dim, size in unrolling:
        if dim not in remaining:  # not a loop of this layer, or fully unrolled by an earlier array dim
            continue
        u = min(array_dims[oa_dim], size, remaining[dim])
        rest = ceil(remaining[dim] / u)
        out.append((oa_dim, dim, remaining[dim] / rest))
        if rest == 1:
            del remaining[dim]
        else:
            remaining[dim] = rest
    return tuple(out)


def spatial_mapping_for(layer: Layer, accelerator: Accelerator) -> SpatialMapping:
    """Attach the layer's (limited) unrolling to the lowest memory level of each operand serving its array dim."""
    unrolling = limit_unrolling(layer, accelerator)
    levels: dict[str, tuple[tuple[Loop, ...], ...]] = {}
    for op in layer.operands:
        chain = accelerator.chain(layer.memory_operand_links[op])
        left = list(unrolling)
        per: list[tuple[Loop, ...]] = []
        for lv in chain:
            here = [u for u in left if u[0] in lv.served_dimensions]
            per.append(tuple((d, s) for _, d, s in here))
            left = [u for u in left if u not in here]
        per.append(tuple((d, s) for _, d, s in left))
        levels[op] = tuple(per)
    return SpatialMapping(FrozenDict(levels), unrolling)
