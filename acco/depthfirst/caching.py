"""Where caches and weights live: live-activation peaks, cache sizes, memory-level choice per tile.

For one tile shape and position class (first column? first row?) `determine_caching` propagates
the tile twice (DeFiNES' `determine_caching_for_tilesize`, docs/depthfirst.md): once with every
cache in use (giving the cache amounts) and once as the mode really runs (giving the live
activations), then picks the lowest shared I/O level that fits the live activations plus the
H-caches (H level) plus the V-caches (V level), and the lowest weight level that fits all stack
weights next to whatever activation data shares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import (
    Backprop,
    StackGraph,
    activation_inputs,
    backpropagate,
    input_bits,
    memoised,
    output_bits,
    tensor_dims,
    weight_bits,
)
from acco.hardware.models import Accelerator
from acco.workload.layer import InputNode, Layer


def largest_alive(tg: StackGraph, permanent: Mapping[int, int] | None = None) -> int:
    """Peak of live activation bits while running the tile graph layer by layer (reference estimate).

    At each node its full input tile (including any cached halo) replaces its producers' outputs,
    its output is added, and a producer is freed once all its consumers ran; `permanent[p]` bits
    (a producer's cache) stay allocated after p is freed. Without `permanent` the result is
    memoised on the tile graph (tile plans and footprints ask for the same graphs).
    """
    if not permanent:
        return memoised(tg, ("largest_alive",), lambda: _largest_alive(tg, {}))
    return _largest_alive(tg, permanent)


def _largest_alive(tg: StackGraph, permanent: Mapping[int, int]) -> int:
    state = [0, 0]  # current, peak

    def add(bits: int) -> None:
        state[0] += bits
        state[1] = max(state[1], state[0])

    pending: dict[int, list] = {}
    for nid in tg.order:
        n = tg.nodes[nid]
        si = input_bits(n)
        preds = tg.producers(nid)
        for p in preds:
            add(-pending[p][1])
        add(si)
        s = output_bits(n)
        add(s)
        add(-si)
        for p in preds:
            add(pending[p][1])
        for p in preds:
            pending[p][0].remove(nid)
            if not pending[p][0]:
                add(-pending[p][1])
                add(permanent.get(p, 0))
                del pending[p]
        pending[nid] = [list(tg.consumers(nid)), s]
    peak = state[1]
    return peak


@dataclass(frozen=True)
class TileCaching:
    """Caching decisions for one (tile shape, first column?, first row?) class.

    Levels are memory names (None = no such cache). `h_write[p]` = (dim, columns) producer p writes
    to the H-cache after computing the tile; `h_read[(n, op)]` = (dim, columns) consumer n reads;
    `v_write` / `v_read` likewise for rows (`v_read` also names the H dim).
    """

    h_ml: str | None
    v_ml: str | None
    w_ml: str | None
    h_write: tuple[tuple[int, tuple[str, int]], ...]
    h_read: tuple[tuple[tuple[int, str], tuple[str, int]], ...]
    v_write: tuple[tuple[int, tuple[str, int]], ...]
    v_read: tuple[tuple[tuple[int, str], tuple[str, int, str]], ...]
    peak_io: int
    peak_h: int
    peak_v: int
    io_ml: str
    weight_bits: int
    h_cache_bits: int
    v_cache_bits: int
    corner_bits: int


def cache_in_bits(
    a: Backprop, tg: StackGraph, full: StackGraph
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """(H, V, corner) cache bits held at every consumer input (docs/depthfirst.md)."""
    # kept on the back-propagation object per (tile graph, graph) pair: the result is shared, callers must not modify it
    memo = a.__dict__.get("_cache_in_bits")
    if memo is not None and memo[0] is tg and memo[1] is full:
        return memo[2]
    r = _cache_in_bits(a, tg, full)
    object.__setattr__(a, "_cache_in_bits", (tg, full, r))
    return r


def _cache_in_bits(
    a: Backprop, tg: StackGraph, full: StackGraph
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """`cache_in_bits` computed (not memoised)."""
    h_bits: dict[tuple[int, str], int] = {}
    v_bits: dict[tuple[int, str], int] = {}
    c_bits: dict[tuple[int, str], int] = {}
    shapes: dict[tuple[int, str], tuple[int, dict[str, int]]] = {}

    def shape(n: Layer, op: str) -> tuple[int, dict[str, int]]:
        """(elements, extent per dim) of a consumer's input tile, once per (node, operand)."""
        k = (n.id, op)
        r = shapes.get(k)
        if r is None:
            r = shapes[k] = (n.tensor_size(op, n.loop_sizes), tensor_dims(n, op))
        return r

    for (nid, op), (dim, size) in a.h_in.items():
        n = tg.nodes[nid]
        assert isinstance(n, Layer)
        elems = 0
        if dim not in n.relevant_dims(op):
            ts, td = shape(n, op)
            elems = ts // td[dim] * size
        h_bits[(nid, op)] = elems * n.precision[op]
    for (nid, op), (dim, size) in a.v_in.items():
        n = tg.nodes[nid]
        assert isinstance(n, Layer)
        elems = 0
        if dim not in n.relevant_dims(op):
            h_dim = a.h_in[(nid, op)][0]
            h_total = tensor_dims(full.nodes[nid], op)[h_dim]  # type: ignore[arg-type]
            ts, td = shape(n, op)
            elems = ts // td[h_dim] * h_total // td[dim] * size
        v_bits[(nid, op)] = elems * n.precision[op]
        h_dim, h_size = a.h_in[(nid, op)]
        if dim in n.loop_sizes or h_dim in n.loop_sizes:
            c_bits[(nid, op)] = 0
        else:
            ts, td = shape(n, op)
            c_bits[(nid, op)] = ts // td[h_dim] * h_size // td[dim] * size * n.precision[op]
    return h_bits, v_bits, c_bits


def _lowest(acc: Accelerator, bits: int, i_op: str = "I1", o_op: str = "O", minus: Mapping[str, int] | None = None) -> str:
    """Lowest O level that also holds `i_op`, is not replicated and fits `bits` (minus a per-level rebate)."""
    chain = acc.chain(o_op)
    for lv in chain:
        need = bits - (minus or {}).get(lv.name, 0)
        if lv.instance.size >= need and i_op in lv.operands and acc.instance_count(lv) == 1:
            return lv.name
    return chain[-1].name


def determine_caching(
    g: StackGraph, acc: Accelerator, cfg: DfConfig, tile_x: int, tile_y: int, first_x: bool, first_y: bool
) -> TileCaching:
    """Cache levels, weight level and cache amounts for one tile class (docs/depthfirst.md)."""
    mode_h, mode_v_flag = cfg.horizontal_caching, cfg.vertical_caching
    a = backpropagate(g, tile_x, tile_y, not first_x, True, not first_y, True)
    b_v = not first_y and (mode_v_flag if cfg.vertical_needs_horizontal else (mode_v_flag and mode_h))
    b = backpropagate(g, tile_x, tile_y, not first_x and mode_h, True, b_v, True)
    ta = a.tile_graph(g)
    tb = b.tile_graph(g)
    peak_io = largest_alive(tb)
    h_bits, v_bits, c_bits = cache_in_bits(a, ta, g)
    corner = sum(c_bits.values())

    io_ml = _lowest(acc, peak_io)
    io_levels = {lv.name for lv in acc.chain("O")[: [lv.name for lv in acc.chain("O")].index(io_ml) + 1]}
    h_ml = v_ml = None
    peak = peak_io
    peak_h = peak_io
    if mode_h:
        if first_x:
            if cfg.first_column_peak_without_caches:
                peak = peak_io
            else:
                out_bits = {}
                for p, (dim, size) in a.h_out.items():
                    n = ta.nodes[p]
                    out_bits[p] = output_bits(n) // n.loop_sizes[dim] * size if dim in n.loop_sizes else 0
                peak = largest_alive(tb, out_bits)
        else:
            peak = peak_io + sum(h_bits.values())
        peak_h = peak
        h_ml = _lowest(acc, peak)
        if mode_v_flag:
            peak = peak + sum(v_bits.values())
            v_ml = _lowest(acc, peak, minus={h_ml: corner})
    peak_v = peak

    w_total = sum(weight_bits(ta.nodes[n]) for n in ta.order)
    w_ml = None
    w_op = next((n.memory_operand_links["W"] for n in ta.layers if "W" in n.memory_operand_links), None)
    if w_op is not None:
        chain = acc.chain(w_op)
        w_ml = chain[-1].name
        for lv in chain:
            need = w_total
            if lv.name in io_levels:
                need = w_total + peak_io
            if lv.name == h_ml:
                need = w_total + peak_h
            if lv.name == v_ml:
                need = w_total + peak
            if lv.name == h_ml and lv.name == v_ml:
                need = w_total + peak - corner
            if lv.instance.size >= need:
                w_ml = lv.name
                break

    h_write = dict(a.h_out)
    v_write = dict(a.v_out)
    if not first_x:
        h_write = {p: (d, min(s, ta.nodes[p].loop_sizes[d])) for p, (d, s) in h_write.items()}
    if not first_y:
        v_write = {p: (d, min(s, ta.nodes[p].loop_sizes[d])) for p, (d, s) in v_write.items()}
    h_read = {} if first_x else dict(a.h_in)
    v_read = {} if first_y else {k: (d, s, a.h_in[k][0]) for k, (d, s) in a.v_in.items()}
    return TileCaching(
        h_ml, v_ml, w_ml,
        tuple(h_write.items()), tuple(h_read.items()), tuple(v_write.items()), tuple(v_read.items()),
        peak_io, peak_h, peak_v, io_ml, w_total,
        sum(h_bits.values()), sum(v_bits.values()), corner,
    )


def stack_weight_bits(g: StackGraph) -> int:
    """All weight bits of a stack."""
    return sum(weight_bits(g.nodes[n]) for n in g.order)


def is_input(node: Layer | InputNode) -> bool:
    """True for input nodes (network input or a stack's stand-in input)."""
    return isinstance(node, InputNode)


__all__ = ["TileCaching", "determine_caching", "largest_alive", "stack_weight_bits", "activation_inputs"]
