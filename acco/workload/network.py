"""The network: layers and the input node connected by operand-source edges (a DAG)."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from acco.workload.layer import InputNode, Layer


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
    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n.id)
        for n in self.layers:
            for op, src in n.operand_source.items():
                g.add_edge(src, n.id, operand=op)
        return g
