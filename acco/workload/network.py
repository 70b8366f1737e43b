"""The network: layers and the input node connected by operand-source edges (a DAG)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from acco.workload.layer import InputNode, Layer

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Workload:
    """A named network; `nodes` keeps file order, `graph` has an edge producer -> consumer."""

    name: str
    nodes: tuple[Layer | InputNode, ...]

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(n for n in self.nodes if isinstance(n, Layer))

    def node(self, node_id: int) -> Layer | InputNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def layer(self, layer_id: int) -> Layer:
        n = self.node(layer_id)
        if not isinstance(n, Layer):
            raise KeyError(layer_id)
        return n

    @property
    def graph(self) -> "nx.DiGraph":
        import networkx as nx  # imported on use: networkx's import is ~0.2 s of every command's start-up

        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n.id)
        for n in self.layers:
            for op, src in n.operand_source.items():
                g.add_edge(src, n.id, operand=op)
        return g


def is_acyclic(node_ids: Iterable[int], edges: Iterable[tuple[int, int]]) -> bool:
    """Whether the directed graph (producer, consumer) has no cycle (Kahn's algorithm; no networkx import)."""
    indeg: dict[int, int] = {n: 0 for n in node_ids}
    succ: dict[int, list[int]] = {}
    for p, c in edges:
        indeg.setdefault(p, 0)
        indeg[c] = indeg.get(c, 0) + 1
        succ.setdefault(p, []).append(c)
    ready = [n for n, d in indeg.items() if d == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for c in succ.get(n, ()):
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    return seen == len(indeg)

