"""Python entry points that return plain dataclasses (the same as the CLI prints)."""

from __future__ import annotations

import os

from acco.cost import LayerCost, evaluate
from acco.io import check_spatial_mapping, load_hardware, load_temporal_mapping, load_workload
from acco.io.errors import InputError
from acco.hardware import Accelerator
from acco.search import DoesNotFit, LomaConfig, SalsaConfig, best_mapping
from acco.search.loma import SearchResult
from acco.workload import Layer


def _load_layer(hardware: str | os.PathLike[str], workload: str | os.PathLike[str], layer_id: int) -> tuple[Accelerator, Layer]:
    acc = load_hardware(hardware)
    wl = load_workload(workload)
    ids = [l.id for l in wl.layers]
    if layer_id not in ids:
        raise InputError(str(workload), "layers", f"a computed layer id ({', '.join(map(str, ids))})", f"--layer {layer_id}")
    layer = wl.layer(layer_id)
    check_spatial_mapping(layer, acc, workload)
    return acc, layer


def evaluate_layer(
    hardware: str | os.PathLike[str],
    workload: str | os.PathLike[str],
    layer_id: int,
    temporal_mapping: str | os.PathLike[str],
) -> LayerCost:
    """Load the inputs, check they fit together and evaluate one layer under the given temporal mapping."""
    acc, layer = _load_layer(hardware, workload, layer_id)
    tm = load_temporal_mapping(temporal_mapping, layer, acc)
    return evaluate(layer, acc, tm)


def search_layer(
    hardware: str | os.PathLike[str],
    workload: str | os.PathLike[str],
    layer_id: int,
    config: LomaConfig | SalsaConfig = LomaConfig(),
) -> SearchResult:
    """Load the inputs and find the best temporal mapping of one layer with LOMA or SALSA."""
    acc, layer = _load_layer(hardware, workload, layer_id)
    try:
        return best_mapping(layer, acc, config)
    except DoesNotFit as e:
        raise InputError(str(workload), f"layers[id={layer_id}]", f"a layer that fits the memories of {acc.name}", str(e)) from None
