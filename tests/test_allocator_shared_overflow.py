"""A shared memory where no combination of per-operand choices fits allocates nothing, even at a top level.

ACCO's `find_best_loop_combination` then keeps `best_loop_idxs = [0, ...]` without the top-level
offset, so an operand whose top level this is keeps its loops and the ordering does not fit
(`MemHierarchyTooSmallException`). The case is the first tile of layer 4 of stftCNN on
Meta_prototype_DF with 8x2 tiles: its final output (32x64x32 x 8 bits) fills sram_64KB exactly,
and sram_64KB also holds I1, so O cannot end at sram_64KB. The original's depth-first retry then
gives O one more level (sram_1MB_A); before this fix we accepted the overfilled sram_64KB.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from acco.cost.batch import BatchEvaluator
from acco.depthfirst.memory import truncate
from acco.frozendict import FrozenDict
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.search import DoesNotFit, LomaConfig, allocate, loma, lpf_list, multiset_permutations, temporal_loop_sizes
from conftest import INPUTS

ACC = load_hardware(INPUTS / "hardware" / "Meta_prototype_DF.yaml")
BASE = load_workload(INPUTS / "workloads" / "Meta_prototype" / "stftCNN_fixed_unrolling_oxoy_025_1x.yaml").layer(4)
LAYER = replace(BASE, loop_sizes=FrozenDict({"B": 1, "K": 32, "C": 32, "OY": 64, "OX": 32, "FY": 3, "FX": 3}))


def test_output_filling_a_shared_top_memory_does_not_fit():
    acc = truncate(ACC, {"I1": "sram_1MB_A", "O": "sram_64KB"})
    sm = spatial_mapping_for(LAYER, acc)
    # the ordering we used to pick: O took everything at sram_64KB, I1 nothing, 524288 + I1 bits > capacity
    with pytest.raises(DoesNotFit):
        allocate(LAYER, acc, sm, [("C", 16), ("FY", 3), ("FX", 3), ("OY", 16), ("OX", 4), ("OX", 2)])
    lpfs = lpf_list(temporal_loop_sizes(LAYER, sm), 6)
    ev = BatchEvaluator(LAYER, acc, sm, lpfs)
    r = ev.evaluate(ev.encode(list(multiset_permutations(lpfs))))
    assert not r.valid.any()
    with pytest.raises(DoesNotFit):
        loma(LAYER, acc, LomaConfig(objective="latency"))


def test_one_more_output_level_gives_the_original_mapping():
    acc = truncate(ACC, {"I1": "sram_1MB_A", "O": "sram_1MB_A"})
    r = loma(LAYER, acc, LomaConfig(objective="latency"))
    tm = r.cost.temporal_mapping
    # the original's pickle (Meta_prototype latency 8x2 (T,T), whole network, layer 4, first tile)
    assert tm["O"] == ((("C", 16), ("FY", 3), ("FX", 3)), (("OY", 16),), (("OX", 4), ("OX", 2)))
    assert tm["I"] == ((("C", 16), ("FY", 3), ("FX", 3), ("OY", 16), ("OX", 4)), (("OX", 2),))
    assert r.cost.latency_total2 == 20753
