"""Stacks: cutting a network into depth-first fused groups and building each stack's sub-graph.

Cuts are "after layer id". Weight-overflow cuts pack undividable units (a residual block stays
whole) greedily into the top on-chip weight memory, forwards or (ACCO) from the last layer
backwards (docs/depthfirst.md, docs/causal.md). Every stack reads its input from DRAM and
writes its output to DRAM; a stack's input is a stand-in input node carrying the producer's id.
"""

from __future__ import annotations

from dataclasses import dataclass

from acco.depthfirst.geometry import StackGraph, tensor_dims, weight_bits
from acco.errors import InputError
from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator
from acco.workload.layer import InputNode, Layer

CLI_SOURCE = "depth-first settings"


def units(g: StackGraph) -> list[list[int]]:
    """Undividable units: a unit closes whenever the graph is back to a single live branch."""
    branches = 1
    out: list[list[int]] = [[g.order[0]]]
    for n in g.order[1:]:
        branches -= len(g.producers(n)) - 1
        out[-1].append(n)
        if branches == 1:
            out.append([])
        branches += len(g.consumers(n)) - 1
    if out and not out[-1]:
        out.pop()
    return out


def weight_capacity(acc: Accelerator, g: StackGraph) -> int:
    """Size of the weight level just below the top (the top on-chip weight memory)."""
    w_op = next((n.memory_operand_links[n.constant_operands[0]] for n in g.layers if n.constant_operands), "I2")
    chain = acc.chain(w_op)
    return chain[-2].instance.size if len(chain) > 1 else chain[-1].instance.size


def weight_overflow_cuts(g: StackGraph, acc: Accelerator, reverse: bool = False) -> list[int]:
    """Greedy weight-overflow cuts (ACCO's DfStackCutIfWeightsOverflowStage, forward or reversed pass)."""
    cap = weight_capacity(acc, g)
    us = units(g)
    sizes = [sum(weight_bits(g.nodes[n]) for n in u) for u in us]
    if reverse:
        us, sizes = us[::-1], sizes[::-1]
    cuts: list[int] = []
    run = 0
    last: int | None = None
    for u, w in zip(us, sizes):
        if run + w > cap:
            if w > cap:
                if not cuts or cuts[-1] != last:
                    if last is not None and run != 0:
                        cuts.append(last)
                cuts.extend(u)
                run = 0
            else:
                cuts.append(last)  # type: ignore[arg-type]
                run = w
        else:
            run += w
        last = u[0] if reverse else u[-1]
    if reverse:
        pos = {n: i for i, n in enumerate(g.order)}
        cuts = [g.order[pos[c] - 1] for c in cuts if pos[c] > 0]  # cut before a unit = after its predecessor
    return sorted(set(cuts), key=lambda c: g.order.index(c))


def check_cuts(g: StackGraph, cuts: tuple[int, ...] | list[int]) -> None:
    """InputError naming `cuts` if a cut id is not a layer of the network."""
    ids = set(g.order)
    for c in cuts:
        if c not in ids:
            raise InputError(CLI_SOURCE, "cuts", f"layer ids of the workload ({min(ids)}..{max(ids)})", repr(c))


def ranges(g: StackGraph, cuts: list[int]) -> list[tuple[int | None, int | None]]:
    """(cut_before, cut_after) pairs of consecutive cuts, in network order; empty stacks dropped."""
    order = sorted(set(cuts), key=g.order.index)
    out = []
    last_id = g.order[-1]
    for before, after in zip([None] + order, order + [None]):
        if before == last_id:
            continue
        out.append((before, after))
    return out


@dataclass(frozen=True)
class Stack:
    """One stack: its range and its sub-graph (stand-in inputs carry the producer ids)."""

    cut_before: int | None
    cut_after: int | None
    graph: StackGraph

    @property
    def layer_ids(self) -> tuple[int, ...]:
        return tuple(n for n in self.graph.order if isinstance(self.graph.nodes[n], Layer))


def substack(g: StackGraph, cut_before: int | None, cut_after: int | None) -> StackGraph:
    """The nodes after `cut_before` up to `cut_after` that feed its end node, with stand-in inputs."""
    pos = {n: i for i, n in enumerate(g.order)}
    end = cut_after if cut_after is not None else g.order[-1]
    # ancestors of the end node that come after cut_before (and are not ancestors of it)
    removed: set[int] = set()
    if cut_before is not None:
        stack = [cut_before]
        while stack:
            n = stack.pop()
            if n in removed:
                continue
            removed.add(n)
            stack.extend(g.producers(n))
    keep: set[int] = set()
    stack = [end]
    while stack:
        n = stack.pop()
        if n in keep or n in removed:
            continue
        keep.add(n)
        stack.extend(g.producers(n))
    nodes: dict[int, Layer | InputNode] = {n: g.nodes[n] for n in keep}
    edges = [e for e in g.edges if e[0] in keep and e[1] in keep]
    # stand-in inputs for producers outside the stack
    outside: dict[int, list[tuple[int, str]]] = {}
    for p, c, op in g.edges:
        if c in keep and p not in keep:
            outside.setdefault(p, []).append((c, op))
    for p, uses in outside.items():
        src = g.nodes[p]
        dims: dict[str, int] = {}
        prec = 0
        for c, op in uses:
            layer = g.nodes[c]
            assert isinstance(layer, Layer)
            for d, v in tensor_dims(layer, op).items():
                pd = layer.source_dimension_mapping[op].get(d, d)
                if pd in ("C", "K", "G"):
                    dims["K"] = min(dims.get("K", v), v)
                elif pd == "B":
                    dims["B"] = v
                else:
                    dims[pd] = max(dims.get(pd, 0), v)
            prec = max(prec, layer.precision[op])
        links = FrozenDict({"O": "I1"})
        if isinstance(src, InputNode):
            links = src.memory_operand_links
        nodes[p] = InputNode(p, FrozenDict({"B": dims.get("B", 1), "K": dims.get("K", 1), "OY": dims.get("OY", 1), "OX": dims.get("OX", 1)}), prec, links, name=f"substack_input_{p}")
        edges.extend((p, c, op) for c, op in uses)
    order = tuple(sorted(nodes, key=lambda n: pos[n]))
    return StackGraph(FrozenDict({n: nodes[n] for n in order}), order, tuple(edges))


def stacks_of(g: StackGraph, acc: Accelerator, cuts: list[int] | tuple[int, ...]) -> list[Stack]:
    """The stacks of a network for the given cuts (no stack without a computed layer)."""
    check_cuts(g, cuts)
    out = []
    for before, after in ranges(g, list(cuts)):
        sg = substack(g, before, after)
        if not sg.layers:
            continue  # reference quirk §9.14: a cut after the input node makes an input-only stack
        out.append(Stack(before, after, sg))
    return out
