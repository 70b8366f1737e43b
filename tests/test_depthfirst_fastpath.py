"""Step 1's fast path of the depth-first model equals the readable reference, value for value.

* `run_tile_type` (the walk memoised without the mapper, then one look-up per layer) against
  `walk_tile_type` with the mapper (the reference walk, levels moved up when a layer does not fit);
* a plan's tile classes memoised per graph: the same plan as on a fresh graph.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from acco.causal.frames import CausalSettings, substacks
from acco.depthfirst.combine import _mapped, run_tile_type, walk_tile_type
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import StackGraph
from acco.depthfirst.tiles import plan_tiles
from acco.search import LomaConfig
from acco.search.memo import MappingCache

MODES = [(True, True), (True, False), (False, False)]
TILES = [(1, 1), (4, 2), (16, 8), (64, 4)]


@pytest.fixture(scope="module")
def subs(meta, stft):
    """Every range of stftCNN-1x with up to one extra cut (reload and off-load entries included)."""
    return substacks(stft, CausalSettings(cut_max=1), meta)


def _fresh(g: StackGraph) -> StackGraph:
    return StackGraph(g.nodes, g.order, g.edges)


def _cfg(ss, tx: int, ty: int, h: bool, v: bool, target: str) -> DfConfig:
    ox, oy = ss.output_size
    return DfConfig(min(tx, ox), min(ty, oy), h, v, mapper=LomaConfig(lpf_limit=2, objective=target))


@pytest.mark.parametrize("h,v", MODES)
def test_tile_types_equal_reference_walk(meta, subs, h, v):
    cache = MappingCache()
    for ss in subs[:6]:
        for tx, ty in TILES[:3]:
            for target in ("energy", "latency"):  # the second target reuses the first one's walk
                cfg = _cfg(ss, tx, ty, h, v, target)
                plan = plan_tiles(ss.graph, meta, cfg)
                for t in plan.types:
                    fast = run_tile_type(ss.graph, meta, cfg, plan, t, cfg.mapper, cache)
                    ref = walk_tile_type(_fresh(ss.graph), meta, cfg, plan, t,
                                         lambda la, ac: _mapped(la, ac, cfg.mapper, cache))  # noqa: B023
                    assert fast == tuple(s[0] for s in ref)


def test_plan_with_shared_tile_classes_equals_fresh_plan(meta, subs):
    for ss in subs[:4]:
        for tx, ty in TILES:
            cfg = _cfg(ss, tx, ty, True, True, "energy")
            plan_tiles(ss.graph, meta, replace(cfg, tile_x=max(1, cfg.tile_x // 2)))  # fills the graph's memo
            shared = plan_tiles(ss.graph, meta, cfg)
            fresh = plan_tiles(_fresh(ss.graph), meta, cfg)
            assert (shared.types, shared.counts, shared.row_counts, shared.w_ml, shared.v_read_level) == (
                fresh.types, fresh.counts, fresh.row_counts, fresh.w_ml, fresh.v_read_level)
            assert shared.cachings == fresh.cachings
