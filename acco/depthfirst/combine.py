"""Costing a depth-first schedule: layer-tiles -> tile types -> stacks -> network.

For every tile type the stack is walked in topological order (DeFiNES' `run_for_tilesize`,
docs/depthfirst.md): each layer gets the lowest input and output levels that fit its tile,
the pending data copies (stack input from DRAM, outputs to where the next layer reads them, cache
reads, cache writes of the previous layer) form a copy layer before it, and the layer itself is
mapped on the accelerator truncated at those levels (weights from DRAM only in the first tile).
Everything runs sequentially: energy and latency add up, multiplied by the tile-type counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod
from typing import Any, Callable

from acco.cost.model import LayerCost
from acco.depthfirst.caching import largest_alive
from acco.depthfirst.config import DfConfig
from acco.depthfirst.datacopy import CopyAction, CopyCost, copy_layer
from acco.depthfirst.geometry import (
    StackGraph,
    activation_inputs,
    backpropagate,
    input_bits,
    memoised,
    output_bits,
    tensor_dims,
)
from acco.depthfirst.memory import truncate, with_second_input_on_i1
from acco.depthfirst.tiles import TilePlan, TileType, plan_tiles
from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator, MemoryLevel
from acco.search import DoesNotFit, best_mapping
from acco.workload.layer import InputNode, Layer

MAX_RETRIES = 1000


class DfError(Exception):
    """A depth-first schedule that cannot be evaluated (e.g. a tile that fits no memory at all)."""


@dataclass(frozen=True)
class LayerTile:
    """One layer (or the stack input) within one tile type: its copy layer, its cost, its top levels."""

    node_id: int
    copy: CopyCost
    cost: LayerCost | None
    i_top: str | None
    o_top: str
    macs: int

    @property
    def energy(self) -> float:
        return self.copy.energy + (self.cost.energy_total if self.cost else 0.0)

    @property
    def latency1(self) -> float:
        return self.copy.latency + (self.cost.latency_total1 if self.cost else 0.0)

    @property
    def latency2(self) -> float:
        return self.copy.latency + (self.cost.latency_total2 if self.cost else 0.0)


@dataclass(frozen=True)
class TileTypeCost:
    """Cost of one tile of a type, and how many tiles of the stack have it."""

    tile: TileType
    count: int
    layers: tuple[LayerTile, ...]

    @property
    def energy(self) -> float:
        return sum(lt.energy for lt in self.layers)

    @property
    def latency(self) -> float:
        return sum(lt.latency1 for lt in self.layers)

    @property
    def latency2(self) -> float:
        return sum(lt.latency2 for lt in self.layers)

    @property
    def copy_energy(self) -> float:
        return sum(lt.copy.energy for lt in self.layers)

    @property
    def macs(self) -> int:
        return sum(lt.macs for lt in self.layers)


@dataclass(frozen=True)
class StackCost:
    """Totals of one stack (energy pJ, latency cycles = sum of latency_total1, as in the paper)."""

    layer_ids: tuple[int, ...]
    tile_x: int
    tile_y: int
    mode: str
    tile_types: tuple[TileTypeCost, ...]
    row_counts: tuple[tuple[int, ...], ...]
    peak_activation_bits: int
    weight_bits: int
    w_level: str | None

    @property
    def energy(self) -> float:
        return sum(t.energy * t.count for t in self.tile_types)

    @property
    def latency(self) -> float:
        return sum(t.latency * t.count for t in self.tile_types)

    @property
    def latency2(self) -> float:
        return sum(t.latency2 * t.count for t in self.tile_types)

    @property
    def macs(self) -> int:
        return sum(t.macs * t.count for t in self.tile_types)

    def energy_per_layer(self) -> dict[str, float]:
        """Energy per layer id and per copy layer ("copy_b4_<id>"), summed over tiles."""
        out: dict[str, float] = {}
        for t in self.tile_types:
            for lt in t.layers:
                out[f"copy_b4_{lt.node_id}"] = out.get(f"copy_b4_{lt.node_id}", 0.0) + lt.copy.energy * t.count
                if lt.cost:
                    out[str(lt.node_id)] = out.get(str(lt.node_id), 0.0) + lt.cost.energy_total * t.count
        return out

    def rows(self, index: int) -> tuple[float, float]:
        """(energy, latency) of one row of tiles (0 = warm-up row, 1 = the steady-state row, -1 = last)."""
        counts = self.row_counts[index]
        return (
            sum(c * t.energy for c, t in zip(counts, self.tile_types)),
            sum(c * t.latency for c, t in zip(counts, self.tile_types)),
        )


@dataclass(frozen=True)
class NetworkCost:
    """All stacks of a network under one depth-first schedule."""

    stacks: tuple[StackCost, ...]

    @property
    def energy(self) -> float:
        return sum(s.energy for s in self.stacks)

    @property
    def latency(self) -> float:
        return sum(s.latency for s in self.stacks)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.stacks)


def _lowest_prefix(acc: Accelerator, mem_op: str, bits: int, same_as: str | None = None, extra: int = 0) -> list[MemoryLevel]:
    """Levels of `mem_op` up to the lowest non-replicated one that fits `bits` (+`extra` if it is `same_as`)."""
    out: list[MemoryLevel] = []
    for lv in acc.chain(mem_op):
        out.append(lv)
        need = bits + (extra if lv.name == same_as else 0)
        if lv.instance.size >= need and acc.instance_count(lv) == 1:
            break
    return out


def _operand_bits(layer: Layer, op: str, dim: str, amount: int, precision: int, override: tuple[str, int] | None = None) -> int:
    """Bits of operand `op` of a tile with dim `dim` set to `amount` (the reference's factor product)."""
    factors = {d: layer.loop_sizes[d] for d in layer.relevant_dims(op)}
    for d, v in tensor_dims(layer, op).items():
        if d not in factors:
            factors[d] = v
    if override is not None:
        factors[override[0]] = override[1]
    factors[dim] = amount
    return prod(factors.values()) * precision


def _out_bits_with(node: Layer, dim: str, amount: int, minus: tuple[str, int] | None) -> int:
    factors = {d: node.loop_sizes[d] for d in node.relevant_dims(node.output_operand)}
    factors[dim] = amount
    if minus is not None:
        factors[minus[0]] -= minus[1]
    return prod(factors.values()) * node.precision["O_final"]


#: one node of a walked tile type: its LayerTile (cost None), and the layer and truncated hardware to map
WalkStep = tuple[LayerTile, "Layer | None", "Accelerator | None"]


def run_tile_type(
    g: StackGraph,
    acc: Accelerator,
    cfg: DfConfig,
    plan: TilePlan,
    t: TileType,
    mapper: Any,
    cache: Any = None,
) -> tuple[LayerTile, ...]:
    """Cost one tile of type `t`: copies and the mapped layer for every node of the stack.

    The walk (levels, copies, truncated hardware per node) does not depend on the mapper as long
    as every layer fits at the levels it picks first: it is memoised on the graph without the mapper
    (shared by the optimisation targets) and followed by one mapper look-up per layer. A layer that
    fits no mapping there makes the whole tile re-walk with the mapper (`walk_tile_type`), which
    then moves its levels up as the reference does.
    """
    key = ("walk", acc, replace(cfg, tile_x=1, tile_y=1, mapper=None), plan.v_read_level, plan.w_ml, t)
    steps = memoised(g, key, lambda: walk_tile_type(g, acc, cfg, plan, t, None))
    out: list[LayerTile] = []
    for lt, layer, tacc in steps:
        if layer is None:
            out.append(lt)
            continue
        try:
            cost = _mapped(layer, tacc, mapper, cache)
        except DoesNotFit:
            return tuple(s[0] for s in walk_tile_type(g, acc, cfg, plan, t, lambda la, ac: _mapped(la, ac, mapper, cache)))
        out.append(LayerTile(lt.node_id, lt.copy, cost, lt.i_top, lt.o_top, lt.macs))
    return tuple(out)


def _mapped(layer: Layer, tacc: Accelerator, mapper: Any, cache: Any) -> LayerCost:
    """The best mapping's cost (DoesNotFit when no mapping fits)."""
    r = best_mapping(layer, tacc, mapper, cache) if cache is not None else best_mapping(layer, tacc, mapper)
    return r.cost


def walk_tile_type(
    g: StackGraph,
    acc: Accelerator,
    cfg: DfConfig,
    plan: TilePlan,
    t: TileType,
    map_layer: Callable[[Layer, Accelerator], LayerCost] | None,
) -> tuple[WalkStep, ...]:
    """Walk one tile of type `t` node by node (the reference): levels, copy layer, truncated hardware, mapping.

    `map_layer(layer, truncated accelerator)` maps a layer or raises DoesNotFit, and the node's
    levels are moved up and tried again; None leaves every cost None (every layer assumed to fit).
    """
    b = backpropagate(g, t.tile_x, t.tile_y, t.use_h is not None, t.make_h is not None, t.use_v is not None)
    tg = b.tile_graph(g)
    out_id = tg.output_id
    hw, hr, vw, vr = dict(t.h_write), dict(t.h_read), dict(t.v_write), dict(t.v_read)
    v_level = plan.v_read_level if cfg.v_read_uses_last_tile_level else t.use_v
    lookup: dict[int, tuple[str, int]] = {}
    pending: list[CopyAction] = []
    results: list[WalkStep] = []
    for nid in tg.order:
        node = tg.nodes[nid]
        is_in = isinstance(node, InputNode)
        is_out = nid == out_id
        o_op = node.memory_operand_links["O"]
        extra_i = extra_o = 0
        tries = 0
        while True:
            copies = list(pending)
            in_bits = input_bits(node)
            if is_in:
                i_levels: list[MemoryLevel] = []
                i_op = None
            else:
                i_op = node.memory_operand_links[activation_inputs(node)[0]]
                i_levels = _lowest_prefix(acc, i_op, in_bits)
            out_b = output_bits(node)
            if is_out:
                o_levels = list(acc.chain(o_op))
            else:
                o_levels = _lowest_prefix(acc, o_op, out_b, i_levels[-1].name if i_levels else None, in_bits)
            if extra_i and i_op is not None:
                i_levels = list(acc.chain(i_op)[: len(i_levels) + extra_i])
            if extra_o:
                o_levels = list(acc.chain(o_op)[: len(o_levels) + extra_o])
            i_top = i_levels[-1].name if i_levels else None
            o_top = o_levels[-1].name
            if is_in:
                src = acc.chain(o_op)[-1].name
                if src != o_top:
                    copies.append(CopyAction(out_b, o_op, src, o_op, o_top, "SI"))
            else:
                assert isinstance(node, Layer)
                i_names = {lv.name for lv in i_levels}
                for op, p in node.operand_source.items():
                    stored, bits = lookup[p]
                    p_in = isinstance(tg.nodes[p], InputNode)
                    if (i_top != stored and not p_in) or (stored not in i_names and p_in):
                        p_op = tg.nodes[p].memory_operand_links["O"]
                        s_op = "O" if "O" in acc.level_by_name(stored).operands else p_op
                        copies.append(CopyAction(bits, s_op, stored, node.memory_operand_links[op], i_top, "O->I"))  # type: ignore[arg-type]
                if t.use_h is not None and t.use_h != i_top:
                    for op in activation_inputs(node):
                        dim, cols = hr[(nid, op)]
                        prec = node.precision["O_final"] if cfg.cache_read_output_precision else node.precision[op]
                        bits = _operand_bits(node, op, dim, cols, prec)
                        if bits > 0:
                            mop = node.memory_operand_links[op]
                            copies.append(CopyAction(bits, mop, t.use_h, mop, i_top, "CI-H"))  # type: ignore[arg-type]
                if t.use_v is not None and v_level != i_top:
                    for op in activation_inputs(node):
                        vdim, rows, col_dim = vr[(nid, op)]
                        nb_cols = node.loop_sizes[col_dim] if col_dim in node.loop_sizes else tensor_dims(node, op)[col_dim]
                        if t.use_h is not None:
                            nb_cols -= hr[(nid, op)][1]
                        prec = node.precision["O_final"] if cfg.cache_read_output_precision else node.precision[op]
                        bits = _operand_bits(node, op, vdim, rows, prec, override=(col_dim, nb_cols))
                        if bits > 0:
                            mop = node.memory_operand_links[op]
                            copies.append(CopyAction(bits, mop, t.use_v, mop, i_top, "CI-V"))  # type: ignore[arg-type]
            copy = copy_layer(acc, copies)
            layer: Layer | None = None
            tacc: Accelerator | None = None
            if is_in:
                cost = None
                break
            tops: dict[str, str] = {}
            for op in activation_inputs(node):
                tops[node.memory_operand_links[op]] = i_top  # type: ignore[assignment]
            if not is_out:
                tops[o_op] = o_top
            layer = node
            if not t.weights_from_top and node.constant_operands and plan.w_ml is not None:
                w_op = node.memory_operand_links[node.constant_operands[0]]
                tops[w_op] = plan.w_ml
            tacc = truncate(acc, tops)
            if [node.memory_operand_links[op] for op in node.input_operands] == ["I1", "I1"]:
                tacc = with_second_input_on_i1(tacc)
                links = dict(node.memory_operand_links)
                links[node.input_operands[1]] = "I2"
                layer = replace(node, memory_operand_links=FrozenDict(links))
            try:
                cost = map_layer(layer, tacc) if map_layer is not None else None
                break
            except DoesNotFit as e:
                tries += 1
                full_i = i_op is None or len(i_levels) >= len(acc.chain(i_op))
                full_o = len(o_levels) >= len(acc.chain(o_op))
                if tries > MAX_RETRIES or (full_i and full_o):
                    raise DfError(f"layer {nid}: tile {t.tile_x}x{t.tile_y} does not fit even the full memory hierarchy: {e}") from e
                if extra_o == extra_i:
                    extra_o += 1
                elif extra_o > extra_i:
                    extra_i += 1
                    extra_o -= 1
                else:
                    extra_o += 1
        results.append((LayerTile(nid, copy, cost, i_top, o_top, 0 if is_in else node.total_macs), layer, tacc))  # type: ignore[union-attr]
        lookup[nid] = (o_top, out_b)
        pending = []
        skip_write = is_in and cfg.skip_input_cache_writes
        sub = None
        dims_o = node.relevant_dims(node.output_operand) if isinstance(node, Layer) else tuple(node.loop_sizes)
        if t.make_v is not None and t.make_v != o_top and nid in vw:
            dim, rows = vw[nid]
            bits = _write_bits(node, dims_o, dim, rows, None)
            sub = vw[nid]
            if bits > 0 and not skip_write:
                pending.append(CopyAction(bits, _src_op(acc, o_top, o_op), o_top, o_op, t.make_v, "CO-V"))
        if t.make_h is not None and t.make_h != o_top and nid in hw:
            dim, cols = hw[nid]
            bits = _write_bits(node, dims_o, dim, cols, sub)
            if bits > 0 and not skip_write:
                pending.append(CopyAction(bits, _src_op(acc, o_top, o_op), o_top, o_op, t.make_h, "CO-H"))
    return tuple(results)


def _src_op(acc: Accelerator, level: str, o_op: str) -> str:
    return "O" if "O" in acc.level_by_name(level).operands else o_op


def _write_bits(node: Layer | InputNode, dims: tuple[str, ...], dim: str, amount: int, minus: tuple[str, int] | None) -> int:
    factors = {d: node.loop_sizes[d] for d in dims}
    factors[dim] = amount
    if minus is not None:
        factors[minus[0]] -= minus[1]
    prec = node.precision if isinstance(node, InputNode) else node.precision["O_final"]
    return prod(factors.values()) * prec


def run_stack(
    g: StackGraph,
    acc: Accelerator,
    cfg: DfConfig,
    cache: Any = None,
    progress: Callable[[int], None] | None = None,
) -> StackCost:
    """Cost one stack under a depth-first config: plan the tiles, cost every tile type once, add up.

    The plan and the tile-type costs are memoised on the graph object (`StackGraph.memo`), keyed by
    everything they depend on: a tile at least as large as the stack output is the whole output,
    and a tile type's cost does not depend on the tile size asked for, only on the type.
    """
    out = g.nodes[g.output_id]
    geo = replace(
        cfg, tile_x=min(cfg.tile_x, out.loop_sizes.get("OX", 1)), tile_y=min(cfg.tile_y, out.loop_sizes.get("OY", 1)), mapper=None,
    )
    plan = memoised(g, ("plan", acc, geo), lambda: plan_tiles(g, acc, cfg))
    tile_cfg = replace(geo, tile_x=1, tile_y=1, mapper=cfg.mapper)
    types = []
    for t, n in zip(plan.types, plan.counts):
        key = ("tile", acc, tile_cfg, plan.v_read_level, plan.w_ml, t, id(cache))
        layers = memoised(g, key, lambda: run_tile_type(g, acc, cfg, plan, t, cfg.mapper, cache))  # noqa: B023
        types.append(TileTypeCost(t, n, layers))
        if progress:
            progress(1)
    peak = max(c.peak_v for c in plan.cachings.values())
    w = max(c.weight_bits for c in plan.cachings.values())
    return StackCost(
        tuple(n for n in g.order if isinstance(g.nodes[n], Layer)),
        cfg.tile_x,
        cfg.tile_y,
        cfg.mode_name,
        tuple(types),
        plan.row_counts,
        peak,
        w,
        plan.w_ml,
    )


__all__ = ["DfError", "LayerTile", "NetworkCost", "StackCost", "TileTypeCost", "run_stack", "run_tile_type", "largest_alive"]


def plan_stacks(workload: Any, acc: Accelerator, cfg: DfConfig) -> list:
    """The stacks a config gives on a network: explicit cuts, weight-overflow cuts, or one layer each."""
    from acco.depthfirst.geometry import graph_of, with_full_sizes
    from acco.depthfirst.stacks import check_cuts, stacks_of, weight_overflow_cuts

    g = with_full_sizes(graph_of(workload))
    check_cuts(g, cfg.cuts)
    cuts = list(cfg.cuts)
    if cfg.layer_by_layer:
        cuts = [n for n in g.order if isinstance(g.nodes[n], Layer)]
    elif cfg.weight_overflow_cuts:
        cuts = cuts + weight_overflow_cuts(g, acc, cfg.reverse_greedy)
    return stacks_of(g, acc, sorted(set(cuts), key=g.order.index))


def check_stack(stack_graph: StackGraph, acc: Accelerator, cfg: DfConfig) -> DfConfig:
    """InputError for a tile larger than the stack output or weights that fit no memory; the config to use."""
    from acco.depthfirst.caching import stack_weight_bits
    from acco.depthfirst.stacks import CLI_SOURCE
    from acco.errors import InputError

    out = stack_graph.nodes[stack_graph.output_id]
    ox, oy = out.loop_sizes.get("OX", 1), out.loop_sizes.get("OY", 1)
    if cfg.tile_x > ox or cfg.tile_y > oy:
        if not cfg.clip_tile_to_output:
            name, val, tot = ("tile_x", cfg.tile_x, ox) if cfg.tile_x > ox else ("tile_y", cfg.tile_y, oy)
            raise InputError(
                CLI_SOURCE, name,
                f"a tile no larger than the output of the stack ending at layer {stack_graph.output_id} ({ox}x{oy})",
                f"{val} (--clip-tile clips the tile to that output; a time-series network such as stftCNN "
                "is costed as a stream with --causal, where the output keeps its full size)",
            )
        cfg = replace(cfg, tile_x=min(cfg.tile_x, ox), tile_y=min(cfg.tile_y, oy))
    w = stack_weight_bits(stack_graph)
    layers = [n for n in stack_graph.layers if n.constant_operands]
    if layers:
        w_op = layers[0].memory_operand_links[layers[0].constant_operands[0]]
        top = acc.chain(w_op)[-1]
        if w > top.instance.size:
            raise InputError(
                CLI_SOURCE, "cuts",
                f"stacks whose weights fit a weight memory (the stack of layers {list(stack_graph.order)} "
                f"has {w} weight bits, the largest weight memory {top.name} holds {top.instance.size})",
                repr(cfg.cuts),
            )
    return cfg


def run_network(
    workload: Any,
    acc: Accelerator,
    cfg: DfConfig,
    cache: Any = None,
    progress: Callable[[int], None] | None = None,
) -> NetworkCost:
    """Cost a whole network under a depth-first config (stacks run one after another, via DRAM)."""
    stacks = plan_stacks(workload, acc, cfg)
    cfgs = [check_stack(s.graph, acc, cfg) for s in stacks]
    return NetworkCost(tuple(run_stack(s.graph, acc, c, cache, progress) for s, c in zip(stacks, cfgs)))


def count_tile_types(workload: Any, acc: Accelerator, cfg: DfConfig) -> int:
    """Number of tile types over all stacks (for progress bars)."""
    stacks = plan_stacks(workload, acc, cfg)
    return sum(len(plan_tiles(s.graph, acc, check_stack(s.graph, acc, cfg)).types) for s in stacks)
