"""The cost model reuses its energy patterns for latency when the spatial mapping has no fractional unrolling.

Latency is computed on `spatial.integer()` (fractional unrollings rounded up); when that is the
mapping itself, building the patterns a second time gave the same objects' values. The shortcut
must not change a single field of a layer's cost, on integer and on fractional mappings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acco.cost import model
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.mapping.spatial import SpatialMapping
from acco.search.loma import LomaConfig, loma

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("Meta_prototype_DF", "Meta_prototype/seldnet_oxoy_M.yaml"),
    ("Edge_TPU_like_DF", "Edge_TPU_like/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"),
    ("Tesla_NPU_like_DF", "Tesla_NPU_like/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"),
]


def test_is_integer_means_integer_is_the_same_mapping() -> None:
    for hw, wl in CASES:
        acc = load_hardware(ROOT / "inputs/hardware" / f"{hw}.yaml")
        for layer in load_workload(ROOT / "inputs/workloads" / wl).layers:
            sm = spatial_mapping_for(layer, acc)
            assert sm.is_integer() == (repr(sm.integer()) == repr(sm))
    frac = SpatialMapping(sm.levels, tuple((a, d, s + 0.5) for a, d, s in sm.unrolling))
    assert not frac.is_integer() and frac.integer().is_integer()


@pytest.mark.parametrize("hw, wl", CASES)
def test_latency_patterns_shortcut_changes_nothing(hw: str, wl: str, monkeypatch: pytest.MonkeyPatch) -> None:
    acc = load_hardware(ROOT / "inputs/hardware" / f"{hw}.yaml")
    for layer in load_workload(ROOT / "inputs/workloads" / wl).layers[:4]:
        sm = spatial_mapping_for(layer, acc)
        tm = loma(layer, acc, LomaConfig(lpf_limit=4), sm).cost.temporal_mapping
        fast = model.evaluate(layer, acc, tm, sm)
        with monkeypatch.context() as m:
            m.setattr(SpatialMapping, "is_integer", lambda self: False)  # always build both pattern sets
            slow = model.evaluate(layer, acc, tm, sm)
        assert fast == slow
        assert repr(fast) == repr(slow)  # same types too (an int where a float was would show)
