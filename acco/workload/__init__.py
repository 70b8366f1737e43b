"""Workload models: layers (loop nests) and the network graph."""

from acco.workload.layer import InputNode, Layer, Relation
from acco.workload.network import Workload

__all__ = ["InputNode", "Layer", "Relation", "Workload"]
