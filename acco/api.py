"""Python entry points that return plain dataclasses (the same as the CLI prints)."""

from __future__ import annotations

import os

from acco.cost import LayerCost, evaluate
from acco.errors import InputError
from acco.hardware import Accelerator
from acco.io import check_spatial_mapping, load_hardware, load_temporal_mapping, load_workload
from acco.model_versions import DEFAULT_MODEL, MODELS, check_model  # noqa: F401  (MODELS: part of the API)
from acco.search import DoesNotFit, LomaConfig, SalsaConfig, best_mapping
from acco.search.loma import SearchResult
from acco.workload import Layer


def load_any_hardware(path: str | os.PathLike[str]) -> Accelerator:
    """An ACCO hardware file, or a ZigZag 3.x one (told apart by content)."""
    from acco.io import zigzag

    try:
        data = zigzag.read_zigzag_yaml(path)
    except InputError:
        data = None
    if data is not None and zigzag.is_zigzag_hardware(data):
        return zigzag.load_zigzag_hardware(path)
    return load_hardware(path)


def _load_layer(
    hardware: str | os.PathLike[str],
    workload: str | os.PathLike[str],
    layer_id: int,
    mapping: str | os.PathLike[str] | None = None,
    check_unrolling: bool = True,
) -> tuple[Accelerator, Layer]:
    """Load hardware + workload (ACCO or ZigZag 3.x files; ZigZag workloads need their mapping file)."""
    from acco.io import zigzag

    acc = load_any_hardware(hardware)
    try:
        data = zigzag.read_zigzag_yaml(workload)
    except InputError:
        data = None
    is_zz = data is not None and zigzag.is_zigzag_workload(data)
    if is_zz:
        if mapping is None:
            raise InputError(str(workload), "", "an ACCO workload, or a ZigZag workload together with --mapping MAPPING.yaml",
                             "a ZigZag workload without a mapping file")
        wl = zigzag.load_zigzag_workload(workload, mapping, acc)
    else:
        if mapping is not None:
            raise InputError(str(mapping), "", "no --mapping for an ACCO workload (its layers carry their spatial mapping)",
                             "a mapping file")
        wl = load_workload(workload)
    ids = [l.id for l in wl.layers]
    if layer_id not in ids:
        raise InputError(str(workload), "layers", f"a computed layer id ({', '.join(map(str, ids))})", f"--layer {layer_id}")
    layer = wl.layer(layer_id)
    if not is_zz and check_unrolling:  # ZigZag keeps oversized unrollings and clips them, as the cost model does
        check_spatial_mapping(layer, acc, workload)
    return acc, layer


def evaluate_layer(
    hardware: str | os.PathLike[str],
    workload: str | os.PathLike[str],
    layer_id: int,
    temporal_mapping: str | os.PathLike[str],
    mapping: str | os.PathLike[str] | None = None,
    model: str = DEFAULT_MODEL,
) -> LayerCost:
    """Load the inputs, check they fit together and evaluate one layer under the given temporal mapping
    with the cost-model version `model` (acco.model_versions.MODELS)."""
    check_model(model)
    acc, layer = _load_layer(hardware, workload, layer_id, mapping)
    tm = load_temporal_mapping(temporal_mapping, layer, acc)
    return evaluate(layer, acc, tm, model=model)


def search_layer(
    hardware: str | os.PathLike[str],
    workload: str | os.PathLike[str],
    layer_id: int,
    config: LomaConfig | SalsaConfig = LomaConfig(),
    mapping: str | os.PathLike[str] | None = None,
) -> SearchResult:
    """Load the inputs and find the best temporal mapping of one layer with LOMA or SALSA (or a spatial
    search, which needs no fixed unrolling that fits the array); the config's `model` field names the
    cost-model version, e.g. `LomaConfig(model="zigzag-3.9.1")`."""
    from acco.search.spatial_search import SpatialSearchConfig

    acc, layer = _load_layer(hardware, workload, layer_id, mapping, not isinstance(config, SpatialSearchConfig))
    try:
        return best_mapping(layer, acc, config)
    except (DoesNotFit, ValueError) as e:
        raise InputError(str(workload), f"layers[id={layer_id}]", f"a layer that fits the memories of {acc.name}", str(e)) from None
