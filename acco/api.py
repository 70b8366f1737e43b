"""Python entry points that return plain dataclasses (the same as the CLI prints)."""

from __future__ import annotations

import os

from acco.cost import LayerCost, evaluate
from acco.io import check_spatial_mapping, load_hardware, load_temporal_mapping, load_workload
from acco.io.errors import InputError


def evaluate_layer(
    hardware: str | os.PathLike[str],
    workload: str | os.PathLike[str],
    layer_id: int,
    temporal_mapping: str | os.PathLike[str],
) -> LayerCost:
    """Load the inputs, check they fit together and evaluate one layer under the given temporal mapping."""
    acc = load_hardware(hardware)
    wl = load_workload(workload)
    ids = [l.id for l in wl.layers]
    if layer_id not in ids:
        raise InputError(str(workload), "layers", f"a computed layer id ({', '.join(map(str, ids))})", f"--layer {layer_id}")
    layer = wl.layer(layer_id)
    check_spatial_mapping(layer, acc, workload)
    tm = load_temporal_mapping(temporal_mapping, layer, acc)
    return evaluate(layer, acc, tm)
