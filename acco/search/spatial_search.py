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
from functools import lru_cache
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
    return [u for u, _ in _scored(layer, acc, hint)]


def _scored(layer: Layer, acc: Accelerator, hint: Hint) -> list[tuple[Unrolling, float]]:
    """(candidate, utilisation) in enumeration order; candidates depend on loop sizes, array and hint only."""
    check_hint(hint, acc)
    return _scored_cached(tuple(layer.loop_sizes.items()), tuple(acc.array.dimensions.items()), hint)


@lru_cache(maxsize=4096)
def _scored_cached(
    loop_sizes: tuple[tuple[str, int], ...], array: tuple[tuple[str, int], ...], hint: Hint
) -> list[tuple[Unrolling, float]]:
    sizes, dims_of_array, allowed = dict(loop_sizes), dict(array), dict(hint)
    # each layer dim is on one array dim at most, so an entry's effective factor is that of it alone
    per_oa: list[list[tuple[tuple[str, str, int], float] | None]] = []
    for oa, a in array:
        opts: list[tuple[tuple[str, str, int], float] | None] = [None]
        for d in allowed.get(oa, tuple(sizes)):
            if sizes.get(d, 1) > 1:
                for u in _factors(sizes[d], a):
                    opts.append(((oa, d, u), limit(sizes, dims_of_array, ((oa, d, u),))[0][2]))
        per_oa.append(opts)
    total = prod(dims_of_array.values())
    out: list[tuple[Unrolling, float]] = []
    seen: set[tuple] = set()
    for combo in product(*per_oa):
        used = [c for c in combo if c is not None]
        if len({e[1] for e, _ in used}) != len(used):
            continue
        eff = tuple((e[0], e[1], f) for e, f in used)
        if eff not in seen:  # e.g. a greedy factor that limits to a divisor already listed
            seen.add(eff)
            out.append((tuple(e for e, _ in used), prod(f for _, f in used) / total))
    return out


def ranked_candidates(layer: Layer, acc: Accelerator, top: int, hint: Hint = ()) -> list[Unrolling]:
    """The `top` candidates of highest utilisation, then the layer's own unrolling if not among them
    (and it respects the hint and names only dims of the array)."""
    scored = _scored(layer, acc, hint)
    order = sorted(range(len(scored)), key=lambda i: -scored[i][1])
    chosen = [scored[i][0] for i in order[:top]]
    own = tuple(layer.spatial_mapping)
    allowed = dict(hint)
    fits = all(oa in acc.array.dimensions for oa, _, _ in own)  # an array of other dims: only the candidates
    if fits and own not in chosen and all(d in allowed.get(oa, (d,)) for oa, d, _ in own):
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
