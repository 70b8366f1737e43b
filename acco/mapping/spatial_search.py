"""Spatial mapping search (opt-in): candidate unrollings of a layer's dims on the array's dims.

Per array dim, a candidate puts nothing or one layer dim with one integer factor on it: every
divisor (> 1) of the layer dim that fits the array dim, and the greedy ``min(array, layer)``
when that does not divide (fractional, as `acco.mapping.spatial.limit_unrolling` makes it).
A layer dim is unrolled on at most one array dim; candidates that limit to the same effective
unrolling are listed once (the first). A hint (as ZigZag's `spatial_mapping_hint`)
restricts which layer dims each array dim may take. Candidates are ranked by spatial
utilisation (highest first; ties keep the enumeration order), the best `top` ones, plus the
layer's own (fixed) unrolling, are costed with the temporal mapper, and the first strictly best
by the mapper's objective wins. With no spatial search configured nothing here is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from itertools import product
from math import prod
from typing import TYPE_CHECKING, Union

from acco.hardware.models import Accelerator
from acco.mapping.spatial import limit
from acco.workload.layer import Layer

if TYPE_CHECKING:
    from acco.search.loma import LomaConfig, SearchResult
    from acco.search.salsa import SalsaConfig

#: a user-style unrolling: (array dim, layer dim, integer factor) per array dim used
Unrolling = tuple[tuple[str, str, int], ...]
#: a hint: (array dim, layer dims it may take) pairs; array dims not named may take any layer dim
Hint = tuple[tuple[str, tuple[str, ...]], ...]


def _default_mapper() -> "LomaConfig":
    from acco.search.loma import LomaConfig

    return LomaConfig()


@dataclass(frozen=True)
class SpatialSearchConfig:
    """Spatial search settings: the temporal mapper costing each candidate, how many candidates
    are costed (`top`, by utilisation), and an optional hint; the objective is the mapper's."""

    mapper: Union["LomaConfig", "SalsaConfig"] = field(default_factory=_default_mapper)
    top: int = 4
    hint: Hint = ()

    def __post_init__(self) -> None:
        if self.top < 1:
            raise ValueError(f"spatial search top must be at least 1, got {self.top}")
        if not hasattr(self.mapper, "search") or not hasattr(self.mapper, "objective"):
            raise ValueError(f"spatial search needs a temporal mapper config, got {self.mapper!r}")

    @property
    def objective(self) -> str:
        return self.mapper.objective

    def search(self, layer: Layer, acc: Accelerator) -> "SearchResult":
        """Run the spatial search (the mapper protocol used by `best_mapping`)."""
        return spatial_search(layer, acc, self)


def parse_hint(text: str) -> Hint:
    """`D1=K,C;D2=OX` -> (('D1', ('K', 'C')), ('D2', ('OX',))); ValueError names what is wrong."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        oa, eq, dims = part.partition("=")
        names = tuple(d.strip().upper() for d in dims.split(",") if d.strip())
        if not eq or not oa.strip() or not names:
            raise ValueError(f"expected ARRAYDIM=DIM[,DIM...] separated by ';' (e.g. 'D1=K;D2=C,OX'), got {part!r}")
        out.append((oa.strip(), names))
    return tuple(out)


def check_hint(hint: Hint, acc: Accelerator) -> None:
    """A hint may name only array dims of `acc`, each once."""
    seen: set[str] = set()
    for oa, _ in hint:
        if oa not in acc.array.dimensions:
            raise ValueError(
                f"spatial hint names array dimension {oa!r}, but {acc.name}'s array has "
                f"{', '.join(acc.array.dimensions)}"
            )
        if oa in seen:
            raise ValueError(f"spatial hint names array dimension {oa!r} twice")
        seen.add(oa)


def _factors(layer_size: int, array_size: int) -> list[int]:
    """Unrolling factors of a layer dim on an array dim: divisors > 1 that fit, then the greedy size."""
    fs = [u for u in range(2, min(layer_size, array_size) + 1) if layer_size % u == 0]
    greedy = min(layer_size, array_size)
    if greedy > 1 and greedy not in fs:
        fs.append(greedy)
    return fs


def candidate_unrollings(layer: Layer, acc: Accelerator, hint: Hint = ()) -> list[Unrolling]:
    """Every candidate unrolling (see the module doc), in enumeration order, the empty one included."""
    check_hint(hint, acc)
    allowed = dict(hint)
    per_oa: list[list[tuple[str, str, int] | None]] = []
    for oa, size in acc.array.dimensions.items():
        dims = allowed.get(oa, tuple(layer.loop_sizes))
        opts: list[tuple[str, str, int] | None] = [None]
        for d in dims:
            if layer.size(d) > 1:
                opts += [(oa, d, u) for u in _factors(layer.size(d), size)]
        per_oa.append(opts)
    out: list[Unrolling] = []
    seen: set[tuple] = set()
    for combo in product(*per_oa):
        used = tuple(u for u in combo if u is not None)
        dims = [d for _, d, _ in used]
        if len(set(dims)) != len(dims):
            continue
        eff = limit(layer.loop_sizes, acc.array.dimensions, used)
        if eff not in seen:  # e.g. a greedy factor that limits to a divisor already listed
            seen.add(eff)
            out.append(used)
    return out


def utilisation(layer: Layer, acc: Accelerator, unrolling: Unrolling) -> float:
    """Spatial utilisation of an unrolling: product of its (limited, fractional) factors over the array size."""
    lim = limit(layer.loop_sizes, acc.array.dimensions, unrolling)
    return prod(s for _, _, s in lim) / acc.array.total_units


def ranked_candidates(layer: Layer, acc: Accelerator, top: int, hint: Hint = ()) -> list[Unrolling]:
    """The `top` candidates of highest utilisation, then the layer's own unrolling if not among them
    (and it respects the hint)."""
    cands = candidate_unrollings(layer, acc, hint)
    order = sorted(range(len(cands)), key=lambda i: -utilisation(layer, acc, cands[i]))
    chosen = [cands[i] for i in order[:top]]
    own = tuple(layer.spatial_mapping)
    allowed = dict(hint)
    if own not in chosen and all(d in allowed.get(oa, (d,)) for oa, d, _ in own):
        chosen.append(own)
    return chosen


def spatial_search(layer: Layer, acc: Accelerator, config: SpatialSearchConfig) -> "SearchResult":
    """Cost the ranked candidates with the temporal mapper; return the first strictly best, with
    its unrolling in `SearchResult.spatial`. DoesNotFit when no candidate's temporal mapping fits."""
    from acco.search.allocator import DoesNotFit
    from acco.search.loma import objective_value

    t0 = time.perf_counter()
    cands = ranked_candidates(layer, acc, config.top, config.hint)
    best = None
    best_v = float("inf")
    n = valid = 0
    for u in cands:
        try:
            r = config.mapper.search(replace(layer, spatial_mapping=u), acc)
        except DoesNotFit:
            continue
        n += r.orderings
        valid += r.valid
        v = objective_value(r.cost, config.objective)
        if v < best_v:
            best, best_v = replace(r, spatial=u), v
    if best is None:
        raise DoesNotFit(
            f"layer {layer.id}: none of the {len(cands)} spatial unrollings tried (top {config.top} by "
            f"utilisation and the layer's own) has a temporal mapping that fits the memory hierarchy of {acc.name}"
        )
    return replace(best, orderings=n, valid=valid, seconds=time.perf_counter() - t0)


def format_unrolling(unrolling: Unrolling | None) -> str:
    """`D1:K16 D2:C8` (empty: '-')."""
    return " ".join(f"{oa}:{d}{u}" for oa, d, u in unrolling or ()) or "-"
