"""The causal ("TCN") transform: Y is time; time strides become dilations of the later layers.

Walking the layers in topological order with a running factor D (docs/causal.md): a layer whose
Y relation is ``iy = s*oy + d*fy`` records D_in = D, gets ``iy = 1*oy + (d*D)*fy``, then D *= s
and D_out = D. Layers without relations (element-wise adds) pass D through. The last layer of a
(sub)stack then produces ``OY_orig * D_final`` rows (one per time step) and every other size is
recomputed backwards (valid convolutions, no padding).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import ceil
from typing import Mapping

from acco.depthfirst.geometry import StackGraph, graph_of, with_full_sizes, with_sizes
from acco.errors import InputError
from acco.frozendict import FrozenDict
from acco.workload.layer import InputNode, Layer, Relation
from acco.workload.network import Workload

CAUSAL_SOURCE = "causal settings"


@dataclass(frozen=True)
class Dilations:
    """Per-layer Y dilation factor before (`d_in`) and after (`d_out`) each layer, and the final one."""

    d_in: FrozenDict[int, int]
    d_out: FrozenDict[int, int]
    final: int


def y_relation(layer: Layer) -> tuple[int, Relation, str] | None:
    """(index, relation, 'a'|'b' = side holding OY) of the layer's time relation, None if it has none."""
    for i, r in enumerate(layer.relations):
        if r.dim_a == "OY":
            return i, r, "a"
        if r.dim_b == "OY":
            return i, r, "b"
    return None


def _check_y(layer: Layer) -> tuple[int, Relation, str] | None:
    """The layer's Y relation; InputError if a layer with relations (or a conv/pool) has none."""
    yr = y_relation(layer)
    if yr is None and (layer.relations or layer.type in ("conv", "pool", "depthwise")):
        raise InputError(
            CAUSAL_SOURCE, f"layers[id={layer.id}].dimension_relations",
            "a relation on the time axis (iy=S*oy+D*fy) for every convolution or pooling layer",
            ", ".join(f"{r.data_dim}={r.coef_a}*{r.dim_a.lower()}+{r.coef_b}*{r.dim_b.lower()}" for r in layer.relations) or "none",
        )
    return yr


def _transformed_layer(layer: Layer, yr: tuple[int, Relation, str], factor: int) -> tuple[Layer, int]:
    """(layer with iy = 1*oy + (d*factor)*fy, the time stride s it had)."""
    i, r, side = yr
    if side == "a":
        s, d = r.coef_a, r.coef_b
        new = replace(r, coef_a=1, coef_b=d * factor)
    else:
        s, d = r.coef_b, r.coef_a
        new = replace(r, coef_b=1, coef_a=d * factor)
    rels = list(layer.relations)
    rels[i] = new
    return replace(layer, relations=tuple(rels)), s


def transform_graph(g: StackGraph, initial_dilation: int = 1) -> tuple[StackGraph, Dilations]:
    """Rewrite the Y relations of a graph (sizes untouched) and return the per-layer dilations."""
    if initial_dilation < 1:
        raise InputError(CAUSAL_SOURCE, "initial_dilation", "a positive integer (or -1 = inherited)", str(initial_dilation))
    factor = initial_dilation
    nodes = dict(g.nodes)
    d_in: dict[int, int] = {}
    d_out: dict[int, int] = {}
    for nid in g.order:
        n = g.nodes[nid]
        if isinstance(n, InputNode):
            continue
        yr = _check_y(n)
        d_in[nid] = factor
        if yr is not None:
            nodes[nid], s = _transformed_layer(n, yr, factor)
            if s != 1:
                factor *= s
        d_out[nid] = factor
    return replace(g, nodes=FrozenDict(nodes)), Dilations(FrozenDict(d_in), FrozenDict(d_out), factor)


def network_dilations(workload: Workload) -> Dilations:
    """The whole-network transform's dilations (the first of the two calls per depth-first run)."""
    return transform_graph(graph_of(workload))[1]


def freeze_unit_dims(g: StackGraph, declared: Mapping[int, Mapping[str, int]]) -> StackGraph:
    """Reference quirk: a direct operand dim declared with size 1 is dropped from the operand for good.

    The original parser keeps only loops of size != 1 as relevant (`operand_loop_dim['r']`), using
    the declared sizes; when the transform later gives such a dim a larger size (OY of a 1x1 final
    layer times the dilation), the operand's size still ignores it. Only dims whose full size is no
    longer 1 are affected.
    """
    nodes = dict(g.nodes)
    for nid, n in g.nodes.items():
        if isinstance(n, InputNode) or nid not in declared:
            continue
        dead = {d for d, v in declared[nid].items() if v == 1 and n.loop_sizes.get(d, 1) != 1}
        if not dead:
            continue
        pr = n.pr_dims
        dims = {op: tuple(d for d in ds if d in pr or d not in dead) for op, ds in n.operand_dims.items()}
        nodes[nid] = replace(n, operand_dims=FrozenDict(dims))
    return replace(g, nodes=FrozenDict(nodes))


def causal_stack(
    stack: StackGraph,
    original_out: Mapping[str, int],
    initial_dilation: int,
    batch: int = 1,
    global_d_out: Mapping[int, int] | None = None,
    declared: Mapping[int, Mapping[str, int]] | None = None,
) -> tuple[StackGraph, Dilations]:
    """Transform a (sub)stack cut from the original full-size network and resize it.

    `original_out` is the stack output's full-size loop sizes in the original (strided) network;
    the output gets OX unchanged, OY * D_final and B = `batch` (or ceil(D_out_global / D_final)
    when `batch` is -1); every other node is resized backwards. With `declared` (the file's loop
    sizes) the reference's size-1 quirk is applied (`freeze_unit_dims`).
    """
    tg, dil = transform_graph(stack, initial_dilation)
    out = tg.output_id
    if batch == -1:
        if global_d_out is None:
            raise InputError(CAUSAL_SOURCE, "batch", "the global dilations when the batch is inferred (-1)", "none")
        b = ceil(global_d_out[out] / dil.final)
    elif batch < 1:
        raise InputError(CAUSAL_SOURCE, "batch", "a positive integer or -1 (inferred)", str(batch))
    else:
        b = batch
    sizes = {"OX": original_out.get("OX", 1), "OY": int(original_out.get("OY", 1) * dil.final)}
    nodes = dict(tg.nodes)
    nodes[out] = with_sizes(nodes[out], sizes)
    # batch alignment: every node takes the last node's B
    nodes = {nid: with_sizes(n, {"B": b}) for nid, n in nodes.items()}
    tg = with_full_sizes(replace(tg, nodes=FrozenDict(nodes)))
    if declared is not None:
        tg = freeze_unit_dims(tg, declared)
    return tg, dil


def declared_sizes(workload: Workload) -> dict[int, dict[str, int]]:
    """The loop sizes as declared in the workload file (before back-propagation), per layer id."""
    return {n.id: dict(n.loop_sizes) for n in workload.layers}


def causal_network(workload: Workload, batch: int = 1) -> tuple[StackGraph, Dilations]:
    """The whole network after the causal transform, at full size."""
    g = with_full_sizes(graph_of(workload))
    out = g.nodes[g.output_id]
    return causal_stack(g, dict(out.loop_sizes), 1, batch, network_dilations(workload).d_out, declared_sizes(workload))


def dilation_table(workload: Workload) -> list[tuple[int, int, int, int]]:
    """(layer id, Y dilation after the transform, D_in, D_out) for every layer, in topological order."""
    tg, dil = transform_graph(graph_of(workload))
    rows = []
    for nid in tg.order:
        n = tg.nodes[nid]
        if isinstance(n, InputNode):
            continue
        yr = y_relation(n)
        dy = 1 if yr is None else (yr[1].coef_b if yr[2] == "a" else yr[1].coef_a)
        rows.append((nid, dy, dil.d_in[nid], dil.d_out[nid]))
    return rows
