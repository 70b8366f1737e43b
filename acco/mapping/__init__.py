"""Spatial and temporal mappings of a layer onto an accelerator."""

from acco.mapping.spatial import SpatialMapping, spatial_mapping_for
from acco.mapping.temporal import TemporalMapping

__all__ = ["SpatialMapping", "TemporalMapping", "spatial_mapping_for"]
