"""LOMA: exhaustive search over the distinct orderings of the loop prime factors (LPFs).

Temporal loop sizes are factorised into primes; `lpf_limit` merges the smallest factors of the
dimension with most factors until the limit holds. Every distinct ordering is allocated to the
memories and costed; the first ordering with the strictly best objective wins, as in ACCO's LOMA
(orderings are visited in the order of Williams' multiset prefix-shift algorithm). Orderings are
costed in numpy batches by `acco.cost.batch`; `loma_scalar` is the one-at-a-time reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import islice
from math import ceil, factorial, prod
from typing import Iterator

import numpy as np
from tqdm import tqdm

from acco.cost.batch import BatchEvaluator
from acco.cost.model import LayerCost, MappingDoesNotFit, evaluate
from acco.hardware.models import Accelerator
from acco.mapping.spatial import SpatialMapping, spatial_mapping_for
from acco.model_versions import DEFAULT_MODEL, check_model
from acco.search.allocator import DoesNotFit, allocate
from acco.workload.layer import Layer

OBJECTIVES = ("energy", "latency", "edp")


@dataclass(frozen=True)
class LomaConfig:
    """LOMA settings: the LPF limit (None = no merging), the objective and the cost-model version."""

    lpf_limit: int | None = 6
    objective: str = "energy"
    model: str = DEFAULT_MODEL

    def __post_init__(self) -> None:
        check_model(self.model)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.lpf_limit is not None and self.lpf_limit < 1:
            raise ValueError(f"lpf_limit must be positive, got {self.lpf_limit}")

    def search(self, layer: Layer, acc: Accelerator) -> "SearchResult":
        """Run LOMA with these settings (the mapper protocol used by `best_mapping`)."""
        return loma(layer, acc, self)


def temporal_loop_sizes(layer: Layer, spatial: SpatialMapping) -> dict[str, int]:
    """Temporal size per dim after spatial unrolling (dims in layer order; fully unrolled dims dropped)."""
    sizes = dict(layer.loop_sizes)
    for _, d, s in spatial.unrolling:
        q = ceil(round(sizes[d] / s, 9))
        if q == 1:
            del sizes[d]
        else:
            sizes[d] = q
    return sizes


def _factorise(n: int) -> list[int]:
    f, p = [], 2
    while p * p <= n:
        while n % p == 0:
            f.append(p)
            n //= p
        p += 1
    if n > 1:
        f.append(n)
    return f


def lpf_list(sizes: dict[str, int], lpf_limit: int | None) -> list[tuple[str, int]]:
    """Loop prime factors per dim, merged (smallest two of the dim with most factors) down to the limit."""
    pfs = {d: _factorise(s) for d, s in sizes.items()}
    n = sum(len(v) for v in pfs.values())
    # a limit below the number of dims cannot be met: stop once every dim is a single loop
    while lpf_limit is not None and n > lpf_limit and any(len(v) > 1 for v in pfs.values()):
        dim = max(pfs, key=lambda d: len(pfs[d]))  # first such dim on ties
        f = sorted(pfs[dim])
        merged = f[0] * f[1]  # p0*p1, or p0*p0 when the smallest factor repeats
        pfs[dim] = sorted(f[2:] + [merged])
        n -= 1
    return [(d, p) for d in pfs for p in pfs[d]]


def multiset_permutations(items: list) -> Iterator[tuple]:
    """All distinct orderings of a multiset, in the order of Williams' prefix-shift algorithm (2009).

    Starting from the non-increasing order, each step moves one element to the front; the element is
    chosen by the two cursors i (and j = i + 1) of the published algorithm.
    """
    seq = sorted(items, reverse=True)
    n = len(seq)
    if n == 0:
        yield ()
        return
    yield tuple(seq)
    if n == 1:
        return
    i = n - 2
    while i + 2 < n or seq[i + 1] < seq[0]:
        j = i + 1
        s = j if (j + 1 < n and seq[i] >= seq[j + 1]) else i
        t = s + 1
        v = seq.pop(t)
        smaller = v < seq[0]
        seq.insert(0, v)
        i = 0 if smaller else i + 1
        yield tuple(seq)


def ordering_count(lpfs: list[tuple[str, int]]) -> int:
    """Number of distinct orderings: n! / prod(multiplicity!)."""
    counts: dict[tuple[str, int], int] = {}
    for x in lpfs:
        counts[x] = counts.get(x, 0) + 1
    return factorial(len(lpfs)) // prod(factorial(c) for c in counts.values())


def objective_value(cost: LayerCost, objective: str) -> float:
    """The scalar the search minimises."""
    if objective == "energy":
        return cost.energy_total
    if objective == "latency":
        return cost.latency_total2
    return cost.energy_total * cost.latency_total2


@dataclass(frozen=True)
class SearchResult:
    """Best mapping found, with search statistics (orderings visited, how many fitted, wall seconds)."""

    cost: LayerCost
    orderings: int
    valid: int
    seconds: float
    engine: str = "loma"
    seed: int | None = None
    #: the unrolling chosen by a spatial search (`acco.search.spatial_search`); None: the layer's own
    spatial: tuple[tuple[str, str, int], ...] | None = None


#: orderings costed per numpy batch (bounded memory, large enough to amortise numpy's overhead)
BATCH = 4096


def objective_array(energy, latency, objective: str):
    """The objective of a batch (numpy arrays), the same expression as `objective_value`."""
    if objective == "energy":
        return energy
    if objective == "latency":
        return latency
    return energy * latency


def best_of_orderings(
    evaluator: BatchEvaluator,
    batches: Iterator[np.ndarray],
    objective: str,
    progress: tqdm | None = None,
    tie_break: bool = False,
) -> tuple[np.ndarray | None, dict[str, np.ndarray] | None, int, int]:
    """Scan batches of orderings; return (codes, cuts) of the first strictly best, and (visited, valid) counts.

    `tie_break` (ZigZag 3.9.1's rule): among equal energies the lower latency wins, among equal
    latencies the lower energy (EDP: no tie-break); the original keeps the first strictly best."""
    best_v = best_2 = float("inf")
    best_codes = best_cuts = None
    n = valid = 0
    for codes in batches:
        r = evaluator.evaluate(codes)
        n += len(codes)
        valid += int(r.valid.sum())
        if progress is not None:
            progress.update(len(codes))
        v = np.where(r.valid, objective_array(r.energy, r.latency, objective), np.inf)
        i = int(np.argmin(v))
        if tie_break and objective in ("energy", "latency") and np.isfinite(v[i]):
            second = r.latency if objective == "energy" else r.energy
            ties = np.flatnonzero(v == v[i])
            i = int(ties[np.argmin(second[ties])])
            better = v[i] < best_v or (v[i] == best_v and second[i] < best_2)
            if better:
                best_2 = float(second[i])
        else:
            better = v[i] < best_v
        if better:
            best_v = float(v[i])
            best_codes = codes[i].copy()
            best_cuts = {op: c[i].copy() for op, c in r.cuts.items()}
    return best_codes, best_cuts, n, valid


def _code_batches(evaluator: BatchEvaluator, lpfs: list[tuple[str, int]]) -> Iterator[np.ndarray]:
    """All distinct orderings in the reference enumeration order, as code arrays of at most BATCH rows."""
    it = multiset_permutations([evaluator.code_of[x] for x in lpfs])
    while True:
        chunk = list(islice(it, BATCH))
        if not chunk:
            return
        yield np.array(chunk, dtype=np.int64).reshape(len(chunk), evaluator.n)


def loma(
    layer: Layer,
    acc: Accelerator,
    config: LomaConfig = LomaConfig(),
    spatial: SpatialMapping | None = None,
    progress: bool = False,
) -> SearchResult:
    """Exhaustive LOMA: allocate and cost every distinct LPF ordering, keep the first strictly best.

    Orderings are enumerated and costed by the compiled kernel (`acco.cost.kernel`) when numba is
    available, else in numpy batches; both give the same numbers and the same choice.

    The chosen ordering is re-evaluated by the scalar model, which produces the reported cost.
    """
    t0 = time.perf_counter()
    spatial = spatial or spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, spatial), config.lpf_limit)
    ev = BatchEvaluator(layer, acc, spatial, lpfs)
    total = ordering_count(lpfs)
    bar = tqdm(total=total, desc=f"LOMA layer {layer.id}", unit="ord", leave=False) if progress else None
    from acco.cost import kernel  # imported on first search: numba's import is not free

    try:
        if config.model != DEFAULT_MODEL:  # the fast paths implement the default model only
            from acco.search.scalar_eval import ScalarEvaluator

            se = ScalarEvaluator(ev, config.model)
            codes, cuts, n, valid = best_of_orderings(
                se, _code_batches(ev, lpfs), config.objective, bar, tie_break=True  # type: ignore[arg-type]
            )
        elif kernel.available():
            ce = kernel.CompiledEvaluator(ev)
            codes, cuts, n, valid = ce.scan([ev.code_of[x] for x in lpfs], config.objective, bar)
        else:
            codes, cuts, n, valid = best_of_orderings(ev, _code_batches(ev, lpfs), config.objective, bar)
    finally:
        if bar is not None:
            bar.close()
    if codes is None:
        raise DoesNotFit(f"layer {layer.id}: no loop ordering of {n} fits the memory hierarchy of {acc.name}")
    cost = evaluate(layer, acc, ev.temporal_mapping(codes, cuts), spatial, config.model)
    return SearchResult(cost, n, valid, time.perf_counter() - t0)


def _wins_tie(cost: LayerCost, best: LayerCost, config: LomaConfig) -> bool:
    """zigzag-3.9.1 only (ZigZag 3.9.1's rule): an equal energy wins with a lower latency, and vice versa."""
    if config.model == DEFAULT_MODEL:
        return False
    if config.objective == "energy":
        return cost.latency_total2 < best.latency_total2
    if config.objective == "latency":
        return cost.energy_total < best.energy_total
    return False


def loma_scalar(layer: Layer, acc: Accelerator, config: LomaConfig = LomaConfig(), spatial: SpatialMapping | None = None) -> SearchResult:
    """LOMA through the scalar allocator and cost model, one ordering at a time (reference for tests and benchmarks)."""
    t0 = time.perf_counter()
    spatial = spatial or spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, spatial), config.lpf_limit)
    best: LayerCost | None = None
    best_v = float("inf")
    n = valid = 0
    for ordering in multiset_permutations(lpfs):
        n += 1
        try:
            tm = allocate(layer, acc, spatial, list(ordering), config.model)
            cost = evaluate(layer, acc, tm, spatial, config.model)
        except (DoesNotFit, MappingDoesNotFit):
            continue
        valid += 1
        v = objective_value(cost, config.objective)
        if v < best_v or (v == best_v and best is not None and _wins_tie(cost, best, config)):
            best, best_v = cost, v
    if best is None:
        raise DoesNotFit(
            f"layer {layer.id}: no loop ordering of {n} fits the memory hierarchy of {acc.name}"
        )
    return SearchResult(best, n, valid, time.perf_counter() - t0)
