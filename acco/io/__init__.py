"""Input layer: YAML files -> validated frozen models; every malformed input becomes one located InputError."""

from acco.errors import InputError
from acco.io.hardware import load_hardware
from acco.io.temporal import load_temporal_mapping
from acco.io.workload import check_spatial_mapping, load_workload
from acco.io.yamlfile import read_yaml

__all__ = [
    "InputError",
    "check_spatial_mapping",
    "load_hardware",
    "load_temporal_mapping",
    "load_workload",
    "read_yaml",
]
