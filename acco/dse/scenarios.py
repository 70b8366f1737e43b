"""Expanding a sweep into scenarios, and running one scenario (all its sub-stack ranges for one tile).

Scenarios come out grouped by hardware and workload (then target, caching, dilation, cuts, tiles),
so that consecutive scenarios share per-layer mapper searches in a worker's memo.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from acco import __version__
from acco.dse.result import SCHEMA_VERSION, _settings_digest, EntryTable, KindResult, RangeResult, Scenario, ScenarioResult
from acco.dse.sweep import Sweep, hardware_name, workload_name

if TYPE_CHECKING:  # the model is imported by the functions that run it: `expand` (validate) stays light
    from acco.causal.frames import CausalSettings, SubStack


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (inputs are recorded next to the results they gave)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inputs_sha(hw_sha: str, wl_path: str) -> str:
    return hashlib.sha256((hw_sha + file_sha256(wl_path)).encode()).hexdigest()


def iter_scenarios(sweep: Sweep) -> Iterator[Scenario]:
    """Every scenario of a sweep, one at a time (memory flat in the sweep's size), grouped so that
    scenarios sharing layers are neighbours: hardware, workload, target, caching, dilation, cuts,
    tile height, tile width (the last varies fastest)."""
    for hw in sweep.hardware:
        hw_sha = file_sha256(hw)
        for wl in sweep.workloads:
            wl_path = sweep.workload_path(hw, wl)
            sha = _inputs_sha(hw_sha, wl_path)
            for target in sweep.targets:
                for h, v in sweep.caching:
                    for dil in sweep.initial_dilation:
                        for cuts in sweep.cuts:
                            for ty in sweep.tile_y:
                                for tx in sweep.tile_x:
                                    yield Scenario(
                                        hardware_name(hw), hw, workload_name(wl), wl_path, target, tx, ty, h, v,
                                        cuts, dil, sweep.batch, sweep.cut_max, sweep.mapper, sweep.seed, sha,
                                    )


def expand(sweep: Sweep) -> list[Scenario]:
    """Every scenario of a sweep, as a list (`iter_scenarios`)."""
    return list(iter_scenarios(sweep))


def count_scenarios(sweep: Sweep) -> int:
    """How many scenarios `iter_scenarios` gives: the product of the sweep's axis lengths (nothing expanded)."""
    axes = (sweep.hardware, sweep.workloads, sweep.targets, sweep.caching, sweep.initial_dilation, sweep.cuts,
            sweep.tile_y, sweep.tile_x)
    return math.prod(len(a) for a in axes)


def iter_stems(sweep: Sweep) -> Iterator[str]:
    """`sc.file_stem` of every scenario of `iter_scenarios`, in order, built without the scenarios
    (a few times faster: the manifest's digest of a big sweep)."""
    for hw in sweep.hardware:
        hw_sha = file_sha256(hw)
        for wl in sweep.workloads:
            sha = _inputs_sha(hw_sha, sweep.workload_path(hw, wl))
            digest = _settings_digest(sweep.cut_max, sweep.mapper, sweep.seed, sha)
            for target in sweep.targets:
                head = f"{hardware_name(hw)}/{workload_name(wl)}/{target}/"
                for h, v in sweep.caching:
                    for dil in sweep.initial_dilation:
                        for cuts in sweep.cuts:
                            tail = f"_{h}_{v}_cuts-{'.'.join(str(c) for c in cuts)}_dil{dil}_b{sweep.batch}_{digest}"
                            for ty in sweep.tile_y:
                                for tx in sweep.tile_x:
                                    yield f"{head}{tx}_{ty}{tail}"


@lru_cache(maxsize=16)
def _inputs(hw_path: str, wl_path: str) -> tuple[Any, Any]:
    """Parsed hardware and workload (cached per worker process)."""
    from acco.api import load_any_hardware
    from acco.io.workload import load_workload

    return load_any_hardware(hw_path), load_workload(wl_path)


class _GroupCache:
    """The sub-stacks of the last few scenario groups of a worker process (see `_substacks`).

    An evicted group's graphs have their memos emptied: the memoised geometry refers back to its
    graph (reference cycles), so emptying it lets the group be freed at once instead of waiting
    for (and lengthening) a full garbage collection.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.groups: dict[tuple, tuple[SubStack, ...]] = {}

    def __call__(self, hw_path: str, wl_path: str, settings: CausalSettings, group: Any) -> tuple[SubStack, ...]:
        key = (hw_path, wl_path, settings, group)
        subs = self.groups.pop(key, None)
        if subs is None:
            from acco.causal.frames import substacks

            acc, wl = _inputs(hw_path, wl_path)
            subs = tuple(substacks(wl, settings, acc))
            while len(self.groups) >= self.size:
                _release(self.groups.pop(next(iter(self.groups))))
        self.groups[key] = subs  # most recent last
        return subs

    def cache_clear(self) -> None:
        """Forget every group (their memos emptied)."""
        for subs in self.groups.values():
            _release(subs)
        self.groups.clear()


def _release(subs: tuple[SubStack, ...]) -> None:
    for s in subs:
        s.graph.memo.clear()


#: The sub-stacks of a scenario, shared by the scenarios of one group in a worker process.
#: Their graphs carry the memoised geometry (back-propagations, tile plans, footprints, tile-type
#: costs), so consecutive scenarios of a group (same inputs and tile height, see `group_key`)
#: reuse each other's work; keeping at most two groups bounds the memory this holds.
_substacks = _GroupCache(2)


def group_key(sc: Scenario) -> tuple:
    """Scenarios with the same key share geometry and mapper searches: run them in one worker, in a row."""
    return (sc.hardware_path, sc.workload_path, sc.cuts, sc.initial_dilation, sc.batch, sc.cut_max, sc.tile_y)


@lru_cache(maxsize=64)
def output_limits(hw_path: str, wl_path: str, cut_max: int, cuts: Any, dilation: int, batch: int) -> tuple[int, int, int] | None:
    """(largest output width, largest output height over a scenario group's sub-stack ranges, time steps of the
    transformed input), or None when the inputs do not load (their scenarios then fail on their own).

    A range costs a tile as wide (high) as its output or more as its whole output (`cost_substack`),
    so tiles at least as wide as every range's output give the same result; a tile higher than the
    transformed input's time axis is refused (`check_tile`), so it is never equivalent to another.
    """
    try:
        from acco.causal.frames import CausalSettings, _time_steps_in, substacks

        acc, wl = _inputs(hw_path, wl_path)
        settings = CausalSettings(cut_max=cut_max, cuts=cuts, global_initial_dilation=dilation, batch=batch)
        subs = substacks(wl, settings, acc)
        t_in = _time_steps_in(wl)
    except Exception:  # noqa: BLE001 - the scenarios report it themselves
        return None
    if not subs:
        return None
    lim = max(s.output_size[0] for s in subs), max(s.output_size[1] for s in subs), t_in
    _release(tuple(subs))
    return lim


def clip_key(sc: Scenario) -> Scenario:
    """The scenario with its tile clipped to the largest output of its ranges: scenarios with the same
    key have the same results (every range clips each of their tiles to the same tile)."""
    lim = output_limits(sc.hardware_path, sc.workload_path, sc.cut_max, sc.cuts, sc.initial_dilation, sc.batch)
    if lim is None:
        return sc
    ox, oy, t_in = lim
    ty = sc.tile_y if sc.tile_y > t_in else min(sc.tile_y, oy)
    return replace(sc, tile_x=min(sc.tile_x, ox), tile_y=ty)


def clipped_duplicates(todo: Sequence[Scenario]) -> tuple[list[Scenario], dict[Scenario, list[Scenario]]]:
    """Split scenarios into those to compute and, per computed one, the scenarios that clip to the same
    tile (its duplicates: same result, stored under their own scenario). The computed one of a set
    is its smallest tile; order is kept. Groups with a single tile are not examined (no inputs loaded)."""
    by_rest: dict[Scenario, list[Scenario]] = {}
    for sc in todo:
        by_rest.setdefault(replace(sc, tile_x=0, tile_y=0), []).append(sc)
    reps: set[Scenario] = set()
    dups: dict[Scenario, list[Scenario]] = {}
    for members in by_rest.values():
        if len(members) < 2:
            reps.update(members)
            continue
        classes: dict[Scenario, list[Scenario]] = {}
        for sc in members:
            classes.setdefault(clip_key(sc), []).append(sc)
        for same in classes.values():
            rep = min(same, key=lambda s: (s.tile_y, s.tile_x))
            reps.add(rep)
            others = [s for s in same if s is not rep]
            if others:
                dups[rep] = others
    return [sc for sc in todo if sc in reps], dups


def _kind(f: Any, kind: str, g: Any) -> KindResult:
    """The stored form of one kind of a range; memoised on the sub-stack's graph `g` by the readings object
    (a tile clipped to the range's output returns the same readings for every larger tile)."""
    entries = f.readings[kind]
    fp = f.footprint[kind]
    from acco.causal.readings import total
    from acco.depthfirst.geometry import memoised

    key = ("kind", id(entries), fp.peak_bits, fp.weight_bits)
    hit = g.memo.get(key)
    if hit is not None and hit[0] is entries:
        return hit[1]
    r = KindResult(total(entries), fp.peak_bits, fp.weight_bits, EntryTable.of(entries))
    memoised(g, key, lambda: (entries, r))
    return r


def run_scenario(sc: Scenario, cache: Any = None) -> ScenarioResult:
    """Cost every sub-stack range of a scenario (causal, depth-first) and keep the Step-2 readings."""
    from acco.causal.frames import CausalSettings, explore
    from acco.depthfirst.config import DfConfig

    t0 = time.perf_counter()
    acc, wl = _inputs(sc.hardware_path, sc.workload_path)
    settings = CausalSettings(cut_max=sc.cut_max, cuts=sc.cuts, global_initial_dilation=sc.initial_dilation, batch=sc.batch)
    cfg = DfConfig(sc.tile_x, sc.tile_y, sc.h_cache, sc.v_cache, cuts=(), mapper=sc.mapper.config(sc.target, sc.seed))
    kw = {} if cache is None else {"cache": cache}
    subs = _substacks(sc.hardware_path, sc.workload_path, settings, group_key(sc))
    frames = explore(wl, sc.tile_x, sc.tile_y, settings, acc, cfg, subs=subs, **kw)
    ranges = tuple(
        RangeResult(
            f.cut_before, f.cut_after, f.layer_ids, f.output_size, f.rows,
            _kind(f, "warmup", s.graph), _kind(f, "stable", s.graph), _kind(f, "total", s.graph),
        )
        for s, f in zip(subs, frames, strict=True)
    )
    return ScenarioResult(SCHEMA_VERSION, __version__, replace(sc), ranges, time.perf_counter() - t0)


__all__ = ["clip_key", "clipped_duplicates", "count_scenarios", "expand", "iter_scenarios", "iter_stems", "output_limits", "file_sha256", "run_scenario"]
