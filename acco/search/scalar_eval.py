"""Batches of orderings costed one at a time by the scalar allocator and model, for any model version.

The compiled kernel and the numpy batch evaluator implement the default ``acco-2022`` model; a
search under another version (``zigzag-3.9.1``) costs its orderings here, with the same interface
(`evaluate(codes, only)` -> `BatchCosts`, `temporal_mapping(codes, cuts)`), so LOMA and SALSA run
unchanged on top. About 2-4 ms per ordering.
"""

from __future__ import annotations

import numpy as np

from acco.cost.batch import BatchCosts, BatchEvaluator
from acco.cost.model import MappingDoesNotFit, evaluate
from acco.mapping.temporal import TemporalMapping
from acco.model_versions import check_model
from acco.search.allocator import DoesNotFit, allocate


class ScalarEvaluator:
    """`BatchEvaluator`'s interface over `allocate` + `evaluate` of one model version."""

    def __init__(self, ev: BatchEvaluator, model: str) -> None:
        self.ev, self.model = ev, check_model(model)
        self.code_of, self.codes, self.n, self.ops = ev.code_of, ev.codes, ev.n, ev.ops

    def temporal_mapping(self, codes: np.ndarray, cuts: dict[str, np.ndarray]) -> TemporalMapping:
        return self.ev.temporal_mapping(codes, cuts)

    def evaluate(self, codes: np.ndarray, only: str | None = None) -> BatchCosts:
        """Allocate and cost every row (``only`` is accepted for the interface; both metrics are computed)."""
        codes = np.asarray(codes, dtype=np.int64).reshape(-1, self.n)
        N = len(codes)
        ev = self.ev
        valid = np.zeros(N, dtype=bool)
        energy = np.full(N, np.inf)
        latency = np.full(N, np.inf)
        latency0 = np.full(N, np.inf)
        cuts = {op: np.zeros((N, ev.n_mem[op]), dtype=np.int64) for op in self.ops}
        for i, row in enumerate(codes):
            ordering = [self.codes[c] for c in row]
            try:
                tm = allocate(ev.layer, ev.acc, ev.spatial, ordering, self.model)
                cost = evaluate(ev.layer, ev.acc, tm, ev.spatial, self.model)
            except (DoesNotFit, MappingDoesNotFit):
                continue
            valid[i] = True
            energy[i], latency[i], latency0[i] = cost.energy_total, cost.latency_total2, cost.latency_total0
            for op in self.ops:
                levels = tm.levels[op]
                cuts[op][i, : len(levels)] = np.cumsum([len(lv) for lv in levels])
        return BatchCosts(valid, energy, latency, latency0, cuts)
