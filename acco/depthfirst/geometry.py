"""Depth-first geometry: feature-map sizes, input extents and the backward propagation of a tile.

A `StackGraph` is a (sub)network: its nodes (layers and input nodes) at full feature-map size,
in topological order, with producer -> consumer edges. `backpropagate` walks it backwards from
the output node, giving every node the output tile it must produce for one output tile of the
last layer, and the halo ("overlap") every consumer shares with its left / upper neighbour.
It follows DeFiNES' `backpropagate_tilesize` step by step (docs/depthfirst.md), including the
"lag" bookkeeping that unions the halos of several consumers of one producer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from math import prod
from typing import Any, Mapping

from acco.frozendict import FrozenDict
from acco.workload.layer import InputNode, Layer, pr_extent
from acco.workload.network import Workload

Node = Layer | InputNode
SPATIAL = ("OX", "OY")


def input_extent(stride: int, dilation: int, kernel: int, tile: int) -> int:
    """Input extent I(T) of a partially relevant dim ``i = S*o + D*f`` for an output extent T: S*(T-1) + D*(F-1) + 1."""
    return pr_extent(stride, tile, dilation, kernel)


def overlap(stride: int, dilation: int, kernel: int, tile: int) -> int:
    """Halo shared with the neighbouring tile: ``max(0, I(T) - T*S)``."""
    return max(0, input_extent(stride, dilation, kernel, tile) - tile * stride)


def with_sizes(node: Node, sizes: Mapping[str, int]) -> Node:
    """A copy of `node` whose loop sizes are updated with `sizes` (only dims the node has)."""
    old = node.loop_sizes
    new = None
    for d, v in sizes.items():
        if d in old and old[d] != v:
            if new is None:
                new = dict(old)
            new[d] = int(v)
    if new is None:
        return node
    if isinstance(node, Layer):
        return node.with_loop_sizes(FrozenDict(new))
    return replace(node, loop_sizes=FrozenDict(new))


def tensor_dims(layer: Layer, op: str, sizes: Mapping[str, int] | None = None) -> dict[str, int]:
    """Extent of every dim of operand `op` (direct dims: the loop size; pr dims such as IX: the span)."""
    s = layer.loop_sizes if sizes is None else sizes
    out: dict[str, int] = {}
    get = s.get
    for d, r in layer._struct.tensor_dims[op]:
        if r is not None:
            out[d] = pr_extent(r.coef_a, get(r.dim_a, 1), r.coef_b, get(r.dim_b, 1))
        else:
            out[d] = get(d, 1)
    return out


def output_bits(node: Node) -> int:
    """Bits of the node's output tile at final precision (kept on the node object: it is frozen)."""
    d = node.__dict__
    r = d.get("_output_bits")
    if r is None:
        if isinstance(node, InputNode):
            r = node.size_bits
        else:
            r = node.tensor_size(node.output_operand, node.loop_sizes) * node.precision["O_final"]
        d["_output_bits"] = r
    return r


def activation_inputs(layer: Layer) -> tuple[str, ...]:
    """The non-constant input operands of a layer (those with a producer)."""
    d = layer.__dict__
    r = d.get("_activation_inputs")
    if r is None:
        r = d["_activation_inputs"] = tuple(op for op in layer.input_operands if op not in layer.constant_operands)
    return r


def input_bits(node: Node) -> int:
    """Bits of all non-constant input tiles of a layer (0 for an input node; kept on the node object)."""
    if isinstance(node, InputNode):
        return 0
    d = node.__dict__
    r = d.get("_input_bits")
    if r is None:
        r = d["_input_bits"] = sum(node.tensor_size(op, node.loop_sizes) * node.precision[op] for op in activation_inputs(node))
    return r


def weight_bits(node: Node) -> int:
    """Bits of the constant operands of a layer."""
    if isinstance(node, InputNode):
        return 0
    return sum(node.operand_size(op) * node.precision[op] for op in node.constant_operands)


@dataclass(frozen=True)
class StackGraph:
    """A fused (sub)network: nodes by id at full size, topological order, edges (producer, consumer, operand)."""

    nodes: FrozenDict[int, Node]
    order: tuple[int, ...]
    edges: tuple[tuple[int, int, str], ...]

    # derived views are computed once per graph object (it is frozen); `memo` holds the results of
    # pure functions of the graph (back-propagations, tile graphs, tile plans) for the graph's life
    @cached_property
    def _links(self) -> tuple[dict[int, tuple[int, ...]], dict[int, tuple[int, ...]]]:
        prod_: dict[int, list[int]] = {}
        cons: dict[int, list[int]] = {}
        for p, c, _ in self.edges:
            prod_.setdefault(c, []).append(p)
            cons.setdefault(p, []).append(c)
        return {k: tuple(v) for k, v in prod_.items()}, {k: tuple(v) for k, v in cons.items()}

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Per-graph memo of pure functions of this graph (bounded by `memoised`)."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "order": self.order, "edges": self.edges}

    @cached_property
    def output_id(self) -> int:
        """The single node without consumers (asserted: a stack has exactly one output)."""
        outs = [n for n in self.order if not any(e[0] == n for e in self.edges)]
        if len(outs) != 1:
            raise ValueError(f"a depth-first stack must have exactly one output node, found {outs}")
        return outs[0]

    def producers(self, nid: int) -> list[int]:
        """Producers of a node, in edge order."""
        return list(self._links[0].get(nid, ()))

    def consumers(self, nid: int) -> list[int]:
        """Consumers of a node, in edge order."""
        return list(self._links[1].get(nid, ()))

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The computed layers, in topological order."""
        return tuple(self.nodes[n] for n in self.order if isinstance(self.nodes[n], Layer))

    @property
    def input_ids(self) -> tuple[int, ...]:
        """Ids of the input nodes (network input or stand-ins for producers outside the stack)."""
        return tuple(n for n in self.order if isinstance(self.nodes[n], InputNode))

    def resized(self, sizes: Mapping[int, tuple[int, int]]) -> "StackGraph":
        """The same graph with per-node (OX, OY) sizes replaced."""
        nodes = {nid: with_sizes(n, dict(zip(SPATIAL, sizes[nid]))) if nid in sizes else n for nid, n in self.nodes.items()}
        return replace(self, nodes=FrozenDict(nodes))


def graph_of(workload: Workload) -> StackGraph:
    """The whole network as a StackGraph (nodes in a topological order that keeps file order on ties)."""
    import networkx as nx  # imported on use (start-up of commands that never build a graph)

    g = nx.DiGraph()
    for n in workload.nodes:
        g.add_node(n.id)
    edges = []
    for n in workload.layers:
        for op, src in n.operand_source.items():
            g.add_edge(src, n.id)
            edges.append((src, n.id, op))
    pos = {n.id: i for i, n in enumerate(workload.nodes)}
    order = tuple(nx.lexicographical_topological_sort(g, key=lambda x: pos[x]))
    return StackGraph(FrozenDict({n.id: n for n in workload.nodes}), order, tuple(edges))


@dataclass(frozen=True)
class Backprop:
    """Result of one backward propagation of an output tile.

    `sizes[n]` = (OX, OY) output tile of every useful node; `h_in[(n, op)]` / `v_in[(n, op)]` =
    (input dim, overlap) of each consumer input; `h_out[p]` / `v_out[p]` = (output dim, cached
    amount) at each producer (the lag union over its consumers; 0 when not making caches).
    """

    sizes: dict[int, tuple[int, int]]
    h_in: dict[tuple[int, str], tuple[str, int]]
    v_in: dict[tuple[int, str], tuple[str, int]]
    h_out: dict[int, tuple[str, int]]
    v_out: dict[int, tuple[str, int]]

    def tile_graph(self, g: StackGraph) -> StackGraph:
        """The graph restricted to useful nodes with their tile sizes (computed once per (backprop, graph))."""
        memo = self.__dict__.get("_tg")
        if memo is not None and memo[0] is g:
            return memo[1]
        tg = self._tile_graph(g)
        object.__setattr__(self, "_tg", (g, tg))
        return tg

    def _tile_graph(self, g: StackGraph) -> StackGraph:
        nodes = {nid: with_sizes(g.nodes[nid], dict(zip(SPATIAL, self.sizes[nid]))) for nid in g.order if nid in self.sizes}
        order = tuple(n for n in g.order if n in nodes)
        edges = tuple(e for e in g.edges if e[0] in nodes and e[1] in nodes)
        return StackGraph(FrozenDict(nodes), order, edges)


def _stride_dim(layer: Layer, op: str, out_dim: str) -> tuple[str, int]:
    """(input dim of `op` that follows `out_dim`, its stride w.r.t. `out_dim`)."""
    cache = layer._struct.stride_dims
    k = (op, out_dim)
    r = cache.get(k)
    if r is None:
        r = cache[k] = _stride_dim_of(layer, op, out_dim)
    return r


def _stride_dim_of(layer: Layer, op: str, out_dim: str) -> tuple[str, int]:
    if out_dim in layer.operand_dims[op]:
        return out_dim, 1
    pr = layer.pr_dims
    for d in layer.operand_dims[op]:
        if d in pr:
            r = pr[d]
            if r.dim_a == out_dim:
                return d, r.coef_a
            if r.dim_b == out_dim:
                return d, r.coef_b
    raise ValueError(f"layer {layer.id}: operand {op} does not depend on {out_dim}")


def _effective(entries: dict[int, tuple[str, int, int]]) -> tuple[str, int, int]:
    """(dim, union amount, lag) over the consumers of one producer."""
    lag = max(e[2] for e in entries.values())
    leftmost = min(e[2] - e[1] for e in entries.values())
    dim = next(iter(entries.values()))[0]
    return dim, lag - leftmost, lag


def backpropagate(
    g: StackGraph,
    tile_x: int | None,
    tile_y: int | None,
    use_h: bool = False,
    make_h: bool = False,
    use_v: bool = False,
    make_v: bool = False,
) -> Backprop:
    """Propagate an output tile (None = full size) backwards through the stack (DeFiNES' algorithm).

    Memoised per graph object (the result is shared: callers must not modify it).
    """
    key = ("bp", tile_x, tile_y, use_h, make_h, use_v, make_v)
    return memoised(g, key, lambda: _backpropagate(g, tile_x, tile_y, use_h, make_h, use_v, make_v))


#: entries kept per graph in `StackGraph.memo` before it is emptied (bounds a long-lived worker's memory)
MEMO_LIMIT = 4096


def memoised(g: StackGraph, key: Any, compute: Any) -> Any:
    """`compute()` memoised in `g.memo` under `key` (a pure function of the graph and the key)."""
    memo = g.memo
    try:
        return memo[key]
    except KeyError:
        pass
    v = compute()
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = v
    return v


def _backpropagate(
    g: StackGraph,
    tile_x: int | None,
    tile_y: int | None,
    use_h: bool,
    make_h: bool,
    use_v: bool,
    make_v: bool,
) -> Backprop:
    cur: dict[int, list[int]] = {nid: [n.loop_sizes.get("OX", 1), n.loop_sizes.get("OY", 1)] for nid, n in g.nodes.items()}
    out = g.output_id
    if tile_x is not None:
        cur[out][0] = tile_x
    if tile_y is not None:
        cur[out][1] = tile_y
    useful: dict[int, list[int]] = {out: list(cur[out])}
    h_in: dict[tuple[int, str], tuple[str, int]] = {}
    v_in: dict[tuple[int, str], tuple[str, int]] = {}
    h_out: dict[int, dict[int, tuple[str, int, int]]] = {}
    v_out: dict[int, dict[int, tuple[str, int, int]]] = {}
    queue: list[tuple[int, str, str, int, int]] = [(out, "OX", "OY", 0, 0)]
    while queue:
        nid, dx, dy, lag_h, lag_v = queue.pop(0)
        n = g.nodes[nid]
        if isinstance(n, InputNode):
            continue
        sizes = dict(n.loop_sizes)
        sizes["OX"], sizes["OY"] = cur[nid]
        for op, p in n.operand_source.items():
            ext = tensor_dims(n, op, sizes)
            ix, sx = _stride_dim(n, op, dx)
            iy, sy = _stride_dim(n, op, dy)
            ov_x = max(0, ext[ix] - sizes[dx] * sx)
            ov_y = max(0, ext[iy] - sizes[dy] * sy)
            new_lag_h = sx * lag_h - (ext[ix] - sizes[dx] * sx + sx - 1) // 2 + ov_x
            new_lag_v = sy * lag_v - (ext[iy] - sizes[dy] * sy + sy - 1) // 2 + ov_y
            h_in[(nid, op)] = (ix, ov_x)
            v_in[(nid, op)] = (iy, ov_y)
            if use_h:
                ext[ix] -= ov_x
            if use_v:
                ext[iy] -= ov_y
            u = useful.setdefault(p, [0, 0])
            u[0] = max(u[0], ext[ix])
            u[1] = max(u[1], ext[iy])
            mapping = n.source_dimension_mapping[op]
            px, py = mapping[ix], mapping[iy]
            cur[p] = [u[0], u[1]] if (px, py) == ("OX", "OY") else _set_xy(cur[p], px, py, u)
            hp = h_out.setdefault(p, {})
            hp[nid] = (px, ov_x if make_h else 0, new_lag_h)
            new_lag_h = new_lag_h if len(hp) == 1 else max([e[2] for e in hp.values()])  # _effective's lag
            vp = v_out.setdefault(p, {})
            vp[nid] = (py, ov_y if make_v else 0, new_lag_v)
            new_lag_v = new_lag_v if len(vp) == 1 else max([e[2] for e in vp.values()])
            if p in g.nodes:
                queue.insert(0, (p, px, py, new_lag_h, new_lag_v))
    hx = {p: _effective(e)[:2] if make_h else (next(iter(e.values()))[0], 0) for p, e in h_out.items()}
    vx = {p: _effective(e)[:2] if make_v else (next(iter(e.values()))[0], 0) for p, e in v_out.items()}
    return Backprop(
        {nid: (cur[nid][0], cur[nid][1]) for nid in useful}, h_in, v_in, hx, vx  # type: ignore[arg-type]
    )


def _set_xy(cur: list[int], px: str, py: str, u: list[int]) -> list[int]:
    if (px, py) == ("OY", "OX"):
        return [u[1], u[0]]
    raise ValueError(f"unsupported source dimension mapping {px}, {py}")


def full_sizes(g: StackGraph) -> dict[int, tuple[int, int]]:
    """Full (OX, OY) of every node, recomputed backwards from the output node's own size (docs/depthfirst.md)."""
    return dict(backpropagate(g, None, None).sizes)


def with_full_sizes(g: StackGraph) -> StackGraph:
    """The graph with every node's OX/OY recomputed backwards (valid convolution, no padding)."""
    return g.resized(full_sizes(g))


def tile_grid(total: int, tile: int, leftover_first: bool = True) -> list[int]:
    """Tile widths along one axis: ceil(total/tile) tiles, the leftover one first (reference) or last."""
    if tile >= total:
        return [total]
    n = -(-total // tile)
    rest = total - (n - 1) * tile
    widths = [tile] * (n - 1)
    return [rest] + widths if leftover_first else widths + [rest]


def macs(g: StackGraph) -> int:
    """MACs of all computed layers of a graph at its current sizes."""
    return sum(prod(layer.loop_sizes.values()) for layer in g.layers)
