"""The per-layer analytical cost model (accesses, energy, latency)."""

from acco.cost.model import Accesses, LayerCost, MappingDoesNotFit, evaluate

__all__ = ["Accesses", "LayerCost", "MappingDoesNotFit", "evaluate"]
