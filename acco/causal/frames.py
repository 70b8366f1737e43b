"""Streaming view of a causal depth-first sub-stack: warm-up, stable and total costs and footprints.

Tiles are visited row by row along time (Y). The **warm-up** is the first tile row (no V-cache yet,
weights fetched from DRAM by the first tile), **stable** is a later row (steady state per new row of
time steps) and **total** is the whole sequence (docs/causal.md).

Footprints (peak on-chip activation bits: live feature maps + H- and V-caches, and weight bits)
follow the original's cache logs: warm-up = max over the tiles with y0 = 0, stable = max over the
tiles with y0 > 0 (zeros when there is a single row), total = max over all tiles. They need no
hardware and no mapper. Costs (energy pJ, latency cycles = ACCO's `latency_total2`) come from the
depth-first model and are added up as the original's Step 2 does: warm-up = the first row, stable =
the second row (the warm-up row when there is only one), total = all tiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

from acco.causal.ranges import Range, stack_ranges
from acco.causal.transform import CAUSAL_SOURCE, Dilations, causal_stack, declared_sizes, network_dilations
from acco.depthfirst.caching import cache_in_bits, largest_alive, stack_weight_bits
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import StackGraph, backpropagate, graph_of, memoised, tile_grid, with_full_sizes
from acco.depthfirst.stacks import check_cuts, substack, weight_overflow_cuts
from acco.errors import InputError
from acco.workload.layer import InputNode
from acco.workload.network import Workload

KINDS = ("warmup", "stable", "total")


@dataclass(frozen=True)
class CausalSettings:
    """What the causal exploration needs besides the tile: cuts, cut_max, dilation and batch overrides."""

    cut_max: int = 0
    cuts: tuple[int, ...] = ()
    weight_overflow_cuts: bool = True
    global_initial_dilation: int = -1  # -1 = inherit from the whole-network transform
    batch: int = 1  # -1 = ceil(D_out_global(last) / D_final)
    #: reference quirk: operand dims declared with size 1 stay out of the operand sizes (transform.freeze_unit_dims)
    reference_unit_dims: bool = True


@dataclass(frozen=True)
class SubStack:
    """One cut range after the causal transform: its graph at full size and its dilations."""

    cut_before: int | None
    cut_after: int | None
    graph: StackGraph
    dilations: Dilations

    @property
    def layer_ids(self) -> tuple[int, ...]:
        """Computed layers of the sub-stack."""
        return tuple(n for n in self.graph.order if not isinstance(self.graph.nodes[n], InputNode))

    @property
    def output_size(self) -> tuple[int, int]:
        """(OX, OY) of the last layer after the transform (OY = time steps)."""
        out = self.graph.nodes[self.graph.output_id]
        return out.loop_sizes.get("OX", 1), out.loop_sizes.get("OY", 1)


@dataclass(frozen=True)
class Footprint:
    """Peak on-chip activation bits and weight bits of one kind (warmup / stable / total)."""

    peak_bits: int
    weight_bits: int


def original_graph(workload: Workload) -> StackGraph:
    """The workload as given (strided), at full size."""
    return with_full_sizes(graph_of(workload))


def substacks(workload: Workload, settings: CausalSettings, acc: Any = None) -> list[SubStack]:
    """All cut ranges of a causal exploration, transformed and resized (the original's order).

    Weight-overflow cuts need the hardware (`acc`); without it only explicit cuts are forced.
    """
    g0 = original_graph(workload)
    check_cuts(g0, settings.cuts)
    d_total = network_dilations(workload)
    fwd: list[int] = list(settings.cuts)
    rev: list[int] | None = None
    if settings.weight_overflow_cuts and acc is not None:
        fwd = sorted(set(fwd) | set(weight_overflow_cuts(g0, acc, False)))
        rev = sorted(set(settings.cuts) | set(weight_overflow_cuts(g0, acc, True)))
    node_ids = [n.id for n in workload.nodes]
    out: list[SubStack] = []
    for before, after in stack_ranges(g0, node_ids, fwd, rev, settings.cut_max):
        sub = substack(g0, before, after)
        if not sub.layers:
            continue
        first = sub.layers[0].id
        inherited = d_total.d_in[first]
        init = inherited if settings.global_initial_dilation == -1 else settings.global_initial_dilation
        if settings.global_initial_dilation != -1 and settings.global_initial_dilation > inherited:
            continue  # the original skips sub-stacks whose inherited dilation is below the override
        end = sub.output_id
        tg, dil = causal_stack(
            sub, dict(g0.nodes[end].loop_sizes), init, settings.batch, d_total.d_out,
            declared_sizes(workload) if settings.reference_unit_dims else None,
        )
        out.append(SubStack(before, after, tg, dil))
    return out


def check_tile(workload: Workload, tile_x: int, tile_y: int) -> None:
    """InputError naming tile_x / tile_y when not positive, or tile_y longer than the transformed input's time axis."""
    for name, v in (("tile_x", tile_x), ("tile_y", tile_y)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise InputError(CAUSAL_SOURCE, name, "a positive integer", repr(v))
    t_in = _time_steps_in(workload)
    if tile_y > t_in:
        raise InputError(CAUSAL_SOURCE, "tile_y", f"at most the time axis of the transformed input ({t_in} steps)", str(tile_y))


_TIME_STEPS: dict[int, tuple[Workload, int]] = {}


def _time_steps_in(workload: Workload) -> int:
    """Time steps of the transformed input (kept per workload object: Step 1 asks once per scenario)."""
    hit = _TIME_STEPS.get(id(workload))
    if hit is not None and hit[0] is workload:
        return hit[1]
    from acco.causal.transform import causal_network

    g, _ = causal_network(workload)
    t_in = max(g.nodes[i].loop_sizes.get("OY", 1) for i in g.input_ids)
    if len(_TIME_STEPS) >= 64:
        _TIME_STEPS.clear()
    _TIME_STEPS[id(workload)] = (workload, t_in)
    return t_in


def tile_peak(g: StackGraph, tile_x: int, tile_y: int, first_x: bool, first_y: bool, h: bool = True, v: bool = True) -> int:
    """Peak on-chip activation bits of one tile (the original's `peak_f_mem_size`), no hardware needed."""
    a = backpropagate(g, tile_x, tile_y, not first_x, True, not first_y, True)
    b = backpropagate(g, tile_x, tile_y, not first_x and h, True, not first_y and v, True)
    peak = largest_alive(b.tile_graph(g))
    if h:
        h_bits, v_bits, _ = cache_in_bits(a, a.tile_graph(g), g)
        if not first_x:
            peak += sum(h_bits.values())
        if v:
            peak += sum(v_bits.values())
    return peak


def footprints(g: StackGraph, tile_x: int, tile_y: int, h: bool = True, v: bool = True) -> dict[str, Footprint]:
    """Warm-up / stable / total peak activation bits and weight bits of a sub-stack for one tile.

    Memoised on the graph object (a tile at least as large as the output is the whole output);
    the result is shared: callers must not modify it.
    """
    out = g.nodes[g.output_id]
    ox, oy = out.loop_sizes.get("OX", 1), out.loop_sizes.get("OY", 1)
    key = ("footprints", min(tile_x, ox), min(tile_y, oy), h, v)
    return memoised(g, key, lambda: _footprints(g, tile_x, tile_y, h, v))


def _footprints(g: StackGraph, tile_x: int, tile_y: int, h: bool, v: bool) -> dict[str, Footprint]:
    out = g.nodes[g.output_id]
    widths = tile_grid(out.loop_sizes.get("OX", 1), tile_x)
    heights = tile_grid(out.loop_sizes.get("OY", 1), tile_y)
    w = stack_weight_bits(g)
    memo: dict[tuple, int] = {}

    def peak(tx: int, ty: int, fx: bool, fy: bool) -> int:
        k = (tx, ty, fx, fy)
        if k not in memo:
            memo[k] = tile_peak(g, tx, ty, fx, fy, h, v)
        return memo[k]

    classes_x = {(widths[0], True)} | {(wd, False) for wd in widths[1:]}
    warm = max(peak(tx, heights[0], fx, True) for tx, fx in classes_x)
    res = {"warmup": Footprint(warm, w)}
    if len(heights) > 1:
        stable = max(peak(tx, ty, fx, False) for tx, fx in classes_x for ty in set(heights[1:]))
        res["stable"] = Footprint(stable, w)
    else:
        res["stable"] = Footprint(0, 0)
    res["total"] = Footprint(max(res["warmup"].peak_bits, res["stable"].peak_bits), w)
    return res


# ---------------------------------------------------------------------------------------------
# costs


@dataclass(frozen=True)
class Frames:
    """Streaming costs of one sub-stack and tile: energy (pJ) and latency (cycles) per kind, and footprints."""

    cut_before: int | None
    cut_after: int | None
    layer_ids: tuple[int, ...]
    tile_x: int
    tile_y: int
    output_size: tuple[int, int]
    rows: int
    energy: dict[str, float]
    latency: dict[str, float]
    footprint: dict[str, Footprint]
    stack: Any = None  # the depth-first StackCost (None for footprint-only runs)
    #: Step-2 readings per kind: one EntryReading per layer and data-copy layer (empty for footprint-only runs)
    readings: dict[str, tuple] = field(default_factory=dict)


def step2_sums(stack: Any, counts: Sequence[int]) -> tuple[int, int]:
    """(energy, latency) of a set of tiles as the original's Step 2 adds them up.

    Per layer and per data-copy layer: sum over tile types of cost * count, truncated to int; the
    latency is `latency_total2` (ACCO's latency, which includes the offloading stalls).
    """
    energy = latency = 0
    n_layers = len(stack.tile_types[0].layers) if stack.tile_types else 0
    for i in range(n_layers):
        ce = cl = le = ll = 0.0
        for c, t in zip(counts, stack.tile_types):
            if not c:
                continue
            lt = t.layers[i]
            ce += lt.copy.energy * c
            cl += lt.copy.latency * c
            if lt.cost is not None:
                le += lt.cost.energy_total * c
                ll += lt.cost.latency_total2 * c
        energy += int(ce) + int(le)
        latency += int(cl) + int(ll)
    return energy, latency


def cost_substack(
    ss: SubStack, acc: Any, cfg: DfConfig, cache: Any = None, progress: Callable[[int], None] | None = None,
    network_last: int | None = None,
) -> Frames:
    """Depth-first cost of one causal sub-stack: warm-up row, stable (second) row, whole sequence.

    As in the original's Step 2: the stable row falls back to the warm-up row when the sub-stack
    has a single tile row. `network_last` (the network's last layer id) tells whether the range's
    output is off-loaded to DRAM for a next sub-stack (Step-2 readings).
    """
    out_x, out_y = ss.output_size
    if cfg.tile_x < out_x and cfg.tile_y < out_y:
        return _cost_substack(ss, acc, cfg, cache, progress, network_last)
    # a tile as wide (high) as the output or more is the whole output: one result for all such tiles
    norm = replace(cfg, tile_x=min(cfg.tile_x, out_x), tile_y=min(cfg.tile_y, out_y))
    key = ("frames", acc, norm, network_last, ss.cut_before, ss.cut_after, id(cache))
    f = ss.graph.memo.get(key)
    if f is None:
        f = memoised(ss.graph, key, lambda: _cost_substack(ss, acc, cfg, cache, progress, network_last))
        if f.tile_x == cfg.tile_x and f.tile_y == cfg.tile_y:
            return f
    elif progress:
        progress(len(f.stack.tile_types))
    stack = replace(f.stack, tile_x=cfg.tile_x, tile_y=cfg.tile_y)
    return replace(f, tile_x=cfg.tile_x, tile_y=cfg.tile_y, stack=stack)


def _cost_substack(
    ss: SubStack, acc: Any, cfg: DfConfig, cache: Any, progress: Callable[[int], None] | None, network_last: int | None,
) -> Frames:
    from acco.causal.readings import entry_readings
    from acco.depthfirst.combine import run_stack

    stack = run_stack(ss.graph, acc, cfg, cache, progress)
    e0, l0 = step2_sums(stack, stack.row_counts[0])
    e1, l1 = step2_sums(stack, stack.row_counts[1]) if len(stack.row_counts) > 1 else (e0, l0)
    et, lt = step2_sums(stack, [t.count for t in stack.tile_types])
    last = ss.cut_after if network_last is None else network_last
    memo: dict = {}
    r0 = entry_readings(stack, stack.row_counts[0], acc, ss.cut_before, ss.cut_after, last, memo)
    r1 = entry_readings(stack, stack.row_counts[1], acc, ss.cut_before, ss.cut_after, last, memo) if len(stack.row_counts) > 1 else r0
    rt = entry_readings(stack, [t.count for t in stack.tile_types], acc, ss.cut_before, ss.cut_after, last, memo)
    h, v = cfg.horizontal_caching, cfg.vertical_caching
    fp = footprints(ss.graph, cfg.tile_x, cfg.tile_y, h, v)
    return Frames(
        ss.cut_before, ss.cut_after, ss.layer_ids, cfg.tile_x, cfg.tile_y, ss.output_size, len(stack.row_counts),
        {"warmup": e0, "stable": e1, "total": et},
        {"warmup": l0, "stable": l1, "total": lt},
        fp, stack, {"warmup": r0, "stable": r1, "total": rt},
    )


def footprint_frames(ss: SubStack, tile_x: int, tile_y: int, h: bool = True, v: bool = True) -> Frames:
    """Footprints only (no hardware, no mapper); costs are left empty."""
    out_x, out_y = ss.output_size
    return Frames(
        ss.cut_before, ss.cut_after, ss.layer_ids, tile_x, tile_y, ss.output_size, len(tile_grid(out_y, tile_y)),
        {}, {}, footprints(ss.graph, tile_x, tile_y, h, v),
    )


def explore(
    workload: Workload,
    tile_x: int,
    tile_y: int,
    settings: CausalSettings = CausalSettings(),
    acc: Any = None,
    cfg: DfConfig | None = None,
    costs: bool = True,
    cache: Any = None,
    progress: Callable[[int], None] | None = None,
    subs: Sequence[SubStack] | None = None,
) -> list[Frames]:
    """Every sub-stack of a causal exploration for one tile: costs (if `costs`) and footprints.

    `subs` are the sub-stacks of (workload, settings, acc) when the caller already has them
    (Step 1 keeps them per worker, so that their memoised geometry serves many scenarios).
    """
    check_tile(workload, tile_x, tile_y)
    if subs is None:
        subs = substacks(workload, settings, acc)
    if not costs:
        h, v = (cfg.horizontal_caching, cfg.vertical_caching) if cfg else (True, True)
        return [footprint_frames(s, tile_x, tile_y, h, v) for s in subs]
    if acc is None:
        raise InputError(CAUSAL_SOURCE, "hardware", "an accelerator to cost the sub-stacks", "none")
    cfg = replace(cfg or DfConfig(tile_x, tile_y), tile_x=tile_x, tile_y=tile_y)
    last = max(n.id for n in workload.layers)
    return [cost_substack(s, acc, cfg, cache, progress, last) for s in subs]


def ranges_of(frames: Sequence[Frames]) -> list[Range]:
    """The (cut_before, cut_after) of every result, in order."""
    return [(f.cut_before, f.cut_after) for f in frames]


__all__ = ["CausalSettings", "Footprint", "Frames", "SubStack", "cost_substack", "step2_sums", "explore", "footprint_frames", "footprints", "substacks", "tile_peak", "KINDS"]


