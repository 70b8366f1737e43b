"""SALSA: a dual-engine temporal mapper over the full prime factorisation of the loops.

When the number of distinct orderings of the loop prime factors is at most
`exhaustive_threshold`, every ordering is costed (LOMA without merging). Above it, simulated
annealing searches the orderings: several independent chains, each starting from a random
ordering, propose swap moves (two positions exchanged) and accept a move with probability
min(1, exp((C_cur / C_new - 1) / T)), T falling geometrically from `start_temperature` to
`end_temperature`. All chains advance together and each proposes `candidates` swaps per step,
so one numpy batch costs every proposal of every chain; a chain moves to its best proposal
(with candidates = 1 this is the classic one-swap chain). An ordering that does not fit the
memories is a rejected move, never an error, and the number of steps is fixed, so the search
cannot hang. Every chain draws from its own generator spawned from `seed`: the same seed gives
the same result whatever the number of chains evaluated together.

SALSA is never worse than LOMA: with `loma_lpf_limit` set (6 by default) it also runs LOMA at that
LPF limit under the same objective and returns LOMA's mapping when it is strictly better than the
one found over the full factorisation (annealing can end in a local minimum, and even the
exhaustive search over the full factorisation can miss a merged tiling, since the allocator places
split factors one at a time). `loma_lpf_limit=None` gives the full-factorisation search alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from acco.cost.batch import BatchEvaluator
from acco.cost.model import evaluate
from acco.model_versions import DEFAULT_MODEL, check_model
from acco.hardware.models import Accelerator
from acco.mapping.spatial import SpatialMapping, spatial_mapping_for
from acco.search.allocator import DoesNotFit
from acco.search.loma import (
    OBJECTIVES,
    LomaConfig,
    SearchResult,
    loma,
    lpf_list,
    objective_array,
    objective_value,
    ordering_count,
    temporal_loop_sizes,
)
from acco.workload.layer import Layer


@dataclass(frozen=True)
class SalsaConfig:
    """SALSA settings. The defaults reach ZigZag-SALSA's energies (like for like, ACCO's model on both
    chosen mappings) on all 160 layers of benchmarks/mappers_vs_zigzag.py; with 2 chains, 6 ascend_like
    layers stayed in a local minimum up to 2.8 % above (one chain in ~3 does)."""

    iterations: int = 100
    chains: int = 8
    candidates: int = 16
    start_temperature: float = 0.05
    end_temperature: float = 0.05 * 0.995**1000  # the temperature ZigZag's SALSA ends at
    seed: int = 0
    objective: str = "energy"
    exhaustive_threshold: int = 5040
    #: LPF limit of the LOMA search whose mapping SALSA returns when strictly better (None: no LOMA)
    loma_lpf_limit: int | None = 6
    model: str = DEFAULT_MODEL

    def __post_init__(self) -> None:
        check_model(self.model)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        for name in ("iterations", "chains", "candidates"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.end_temperature <= self.start_temperature:
            raise ValueError("temperatures must satisfy 0 < end_temperature <= start_temperature")
        if self.exhaustive_threshold < 0:
            raise ValueError("exhaustive_threshold must be >= 0")
        if self.loma_lpf_limit is not None and self.loma_lpf_limit < 1:
            raise ValueError(f"loma_lpf_limit must be positive or None, got {self.loma_lpf_limit}")

    def search(self, layer: Layer, acc: Accelerator) -> SearchResult:
        """Run SALSA with these settings (the mapper protocol used by `best_mapping`)."""
        return salsa(layer, acc, self)


def salsa(layer: Layer, acc: Accelerator, config: SalsaConfig = SalsaConfig(), spatial: SpatialMapping | None = None) -> SearchResult:
    """Best temporal mapping by exhaustive search (small spaces) or seeded simulated annealing,
    replaced by LOMA's at `config.loma_lpf_limit` when that is strictly better."""
    t0 = time.perf_counter()
    spatial = spatial or spatial_mapping_for(layer, acc)
    try:
        r = _full_factorisation(layer, acc, config, spatial)
    except DoesNotFit:
        if config.loma_lpf_limit is None:
            raise
        r = None
    if config.loma_lpf_limit is not None:
        try:
            floor = loma(layer, acc, LomaConfig(lpf_limit=config.loma_lpf_limit, objective=config.objective, model=config.model), spatial)
        except DoesNotFit:
            if r is None:
                raise DoesNotFit(
                    f"layer {layer.id}: no loop ordering found by SALSA or by LOMA (lpf {config.loma_lpf_limit}) "
                    f"fits the memory hierarchy of {acc.name}"
                ) from None
        else:
            if r is None or objective_value(floor.cost, config.objective) < objective_value(r.cost, config.objective):
                engine = "salsa-exhaustive" if r is not None and r.engine == "salsa-exhaustive" else "salsa"
                r = SearchResult(floor.cost, 0, 0, 0.0, f"{engine}+loma")
            r = replace(r, orderings=r.orderings + floor.orderings, valid=r.valid + floor.valid)
    assert r is not None
    return replace(r, seconds=time.perf_counter() - t0, seed=config.seed)


def _full_factorisation(layer: Layer, acc: Accelerator, config: SalsaConfig, spatial: SpatialMapping) -> SearchResult:
    """Best mapping over the full prime factorisation: every ordering (small spaces) or annealing."""
    t0 = time.perf_counter()
    lpfs = lpf_list(temporal_loop_sizes(layer, spatial), None)
    if ordering_count(lpfs) <= config.exhaustive_threshold:
        r = loma(layer, acc, LomaConfig(lpf_limit=None, objective=config.objective, model=config.model), spatial)
        return SearchResult(r.cost, r.orderings, r.valid, time.perf_counter() - t0, "salsa-exhaustive", config.seed)

    from acco.cost import kernel  # imported on first search: numba's import is not free

    if config.model == DEFAULT_MODEL:
        ev = kernel.compiled_or_numpy(BatchEvaluator(layer, acc, spatial, lpfs))
    else:  # the fast paths implement the default model only
        from acco.search.scalar_eval import ScalarEvaluator

        ev = ScalarEvaluator(BatchEvaluator(layer, acc, spatial, lpfs), config.model)
    n, C, B = ev.n, config.chains, config.candidates
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(C)]
    base = np.array(sorted(ev.code_of[x] for x in lpfs), dtype=np.int64)

    only = config.objective if config.objective in ("energy", "latency") else None  # EDP needs both

    def cost_of(codes: np.ndarray) -> tuple[np.ndarray, object]:
        r = ev.evaluate(codes, only)
        return np.where(r.valid, objective_array(r.energy, r.latency, config.objective), np.inf), r

    # start: one random ordering per chain; chains that do not fit redraw a few times
    cur = np.stack([g.permutation(base) for g in rngs])
    cur_v, r = cost_of(cur)
    cur_cuts = {op: c.copy() for op, c in r.cuts.items()}
    evaluations, valid = C, int(np.isfinite(cur_v).sum())
    for _ in range(20):
        bad = np.flatnonzero(~np.isfinite(cur_v))
        if not len(bad):
            break
        cur[bad] = np.stack([rngs[c].permutation(base) for c in bad])
        v, r = cost_of(cur[bad])
        cur_v[bad] = v
        for op in cur_cuts:
            cur_cuts[op][bad] = r.cuts[op]
        evaluations += len(bad)
        valid += int(np.isfinite(v).sum())
    best, best_v = cur.copy(), cur_v.copy()
    best_cuts = {op: c.copy() for op, c in cur_cuts.items()}

    steps = config.iterations
    ratio = config.end_temperature / config.start_temperature
    rows = np.arange(C)
    for it in range(steps):
        temp = config.start_temperature * ratio ** (it / max(1, steps - 1))
        pairs = np.stack([g.integers(0, n, size=(B, 2)) for g in rngs])  # (C, B, 2)
        u = np.array([g.random() for g in rngs])
        cand = np.repeat(cur[:, None, :], B, axis=1)  # (C, B, n)
        ci = np.arange(C)[:, None]
        bi = np.arange(B)[None, :]
        a, b = pairs[..., 0], pairs[..., 1]
        va, vb = cand[ci, bi, a], cand[ci, bi, b]
        cand[ci, bi, a], cand[ci, bi, b] = vb, va
        v, r = cost_of(cand.reshape(C * B, n))
        evaluations += C * B
        valid += int(np.isfinite(v).sum())
        v = v.reshape(C, B)
        k = np.argmin(v, axis=1)
        new_v = v[rows, k]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gain = np.where(np.isfinite(cur_v), cur_v / new_v - 1.0, np.inf)
            accept = np.isfinite(new_v) & ((new_v <= cur_v) | (u < np.exp(gain / temp)))
        idx = np.flatnonzero(accept)
        if len(idx):
            flat = idx * B + k[idx]
            cur[idx] = cand[idx, k[idx]]
            cur_v[idx] = new_v[idx]
            for op in cur_cuts:
                cur_cuts[op][idx] = r.cuts[op][flat]
            better = idx[cur_v[idx] < best_v[idx]]
            best[better] = cur[better]
            best_v[better] = cur_v[better]
            for op in best_cuts:
                best_cuts[op][better] = cur_cuts[op][better]

    c = int(np.argmin(best_v))
    if not np.isfinite(best_v[c]):
        raise DoesNotFit(
            f"layer {layer.id}: no loop ordering found by SALSA ({evaluations} tried) fits the memory hierarchy of {acc.name}"
        )
    tm = ev.temporal_mapping(best[c], {op: x[c] for op, x in best_cuts.items()})
    cost = evaluate(layer, acc, tm, spatial, config.model)
    return SearchResult(cost, evaluations, valid, time.perf_counter() - t0, "salsa", config.seed)
