"""Property test: over random conv layers and orderings, the allocator never overfills a memory."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acco.cost.model import utilization
from acco.cost.patterns import build_patterns
from acco.frozendict import FrozenDict
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.search import allocate, lpf_list, temporal_loop_sizes
from conftest import INPUTS

ACC = load_hardware(INPUTS / "hardware" / "Meta_prototype_DF.yaml")
BASE = load_workload(INPUTS / "workloads" / "Meta_prototype" / "stftCNN_fixed_unrolling_oxoy_025_1x.yaml").layer(4)

sizes = st.fixed_dictionaries({
    "K": st.sampled_from([8, 16, 32, 48, 64, 96]),
    "C": st.sampled_from([2, 4, 16, 32, 64, 128]),
    "OY": st.integers(1, 40),
    "OX": st.integers(1, 40),
    "FY": st.sampled_from([1, 3, 5]),
    "FX": st.sampled_from([1, 3, 5]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=sizes, data=st.data())
def test_allocations_fit_every_memory(sizes, data):
    layer = replace(BASE, loop_sizes=FrozenDict({"B": 1, **sizes}))
    sm = spatial_mapping_for(layer, ACC)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), None)
    order = data.draw(st.permutations(lpfs))
    # every ordering fits Meta_prototype_DF: each operand's top is the 10 Gb DRAM and the spatial tiles
    # fit the register files, so a DoesNotFit here is a failure, not a pass
    tm = allocate(layer, ACC, sm, list(order))
    pats = build_patterns(layer, sm, tm)
    indiv, shared, _, _ = utilization(layer, ACC, pats, check=False)
    for op in indiv:
        assert all(u <= 1 + 1e-12 for u in indiv[op]), (op, indiv[op], tm)
        assert all(u <= 1 + 1e-12 for u in shared[op]), (op, shared[op], tm)  # shared memories summed
    # every loop is placed exactly once per operand
    for op in layer.operands:
        placed = sorted(x for lv in tm[op] for x in lv)
        assert placed == sorted(lpfs)
