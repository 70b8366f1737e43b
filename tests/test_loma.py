"""LOMA and its memory allocator: enumeration order, LPF merging, optimum vs the original and brute force."""

from __future__ import annotations

import itertools

import pytest

from acco.cost import evaluate
from acco.cost.model import MappingDoesNotFit, utilization
from acco.cost.patterns import build_patterns
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.search import DoesNotFit, LomaConfig, allocate, loma, lpf_list, multiset_permutations, temporal_loop_sizes
from acco.search.loma import ordering_count
from conftest import DATA, INPUTS


def test_permutation_order_matches_reference_algorithm():
    """Produced by running the original ACCO's classes/opt/temporal/loma/multipermute.py (Williams 2009)."""
    expected = [
        (("OX", 2), ("K", 2), ("K", 2), ("C", 3)), (("C", 3), ("OX", 2), ("K", 2), ("K", 2)),
        (("OX", 2), ("C", 3), ("K", 2), ("K", 2)), (("K", 2), ("OX", 2), ("C", 3), ("K", 2)),
        (("C", 3), ("K", 2), ("OX", 2), ("K", 2)), (("K", 2), ("C", 3), ("OX", 2), ("K", 2)),
        (("OX", 2), ("K", 2), ("C", 3), ("K", 2)), (("K", 2), ("OX", 2), ("K", 2), ("C", 3)),
        (("K", 2), ("K", 2), ("OX", 2), ("C", 3)), (("C", 3), ("K", 2), ("K", 2), ("OX", 2)),
        (("K", 2), ("C", 3), ("K", 2), ("OX", 2)), (("K", 2), ("K", 2), ("C", 3), ("OX", 2)),
    ]
    assert list(multiset_permutations([("K", 2), ("K", 2), ("C", 3), ("OX", 2)])) == expected


@pytest.mark.parametrize("ms", [[1], [1, 1, 2], [3, 1, 2, 2, 1], list("aabbbcd")])
def test_permutations_are_all_distinct_orderings(ms):
    got = list(multiset_permutations(ms))
    assert len(got) == len(set(got)) == ordering_count(ms)
    assert set(got) == set(itertools.permutations(ms))


def test_lpf_merging():
    # 56 = 2*2*2*7 -> 4*2*7 -> 8*7 -> 56 (docs/references.md)
    assert sorted(p for _, p in lpf_list({"OX": 56}, 3)) == [2, 4, 7]
    assert sorted(p for _, p in lpf_list({"OX": 56}, 2)) == [7, 8]
    assert lpf_list({"OX": 56}, 1) == [("OX", 56)]
    # the dim with most factors merges first; the first such dim on ties
    assert lpf_list({"K": 16, "C": 16}, 6) == [("K", 2), ("K", 2), ("K", 4), ("C", 2), ("C", 2), ("C", 4)]
    assert lpf_list({"K": 12, "B": 1}, None) == [("K", 2), ("K", 2), ("K", 3)]
    # a limit below the number of dims leaves one loop per dim
    assert lpf_list({"K": 12, "C": 4, "OX": 9}, 1) == [("K", 12), ("C", 4), ("OX", 9)]


def test_loma_finds_the_original_optimum_case_a(meta, stft):
    """ACCO's LOMA (lpf 6, energy) picks this mapping for stftCNN layer 4 (case A, docs/references.md)."""
    r = loma(stft.layer(4), meta, LomaConfig(6, "energy"))
    assert r.orderings == 720
    assert r.cost.energy_total == pytest.approx(8_271_168.64, rel=1e-9)
    assert r.cost.latency_total2 == 18771
    tm = r.cost.temporal_mapping
    assert tm["O"] == ((("C", 16), ("FY", 3), ("FX", 3)), (("OY", 8), ("OX", 4)), (("OX", 2),), ())


def test_loma_finds_the_original_optimum_case_c(meta, stft):
    """Fractional unrolling: the original allocator's O = C8,FY3,FX3 / OY9,OX3,OX3 / - / - (model-versions.md)."""
    r = loma(stft.layer(3), meta, LomaConfig(6, "energy"))
    assert r.cost.energy_total == pytest.approx(6_412_694.74, rel=1e-9)
    assert r.cost.temporal_mapping["O"][1] == (("OY", 9), ("OX", 3), ("OX", 3))
    assert r.cost.latency_total2 == 14267


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_loma_equals_brute_force_on_tiny_layers(objective):
    """LOMA's optimum equals the best over all itertools orderings of the same (lpf-5) factors."""
    hw = load_hardware(DATA / "tiny_hw.yaml")
    wl = load_workload(DATA / "tiny_wl.yaml")
    layer = wl.layer(0)
    r = loma(layer, hw, LomaConfig(5, objective))
    sm = spatial_mapping_for(layer, hw)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), 5)
    assert r.orderings == ordering_count(lpfs) > 20
    key = {"energy": lambda c: c.energy_total, "latency": lambda c: c.latency_total2,
           "edp": lambda c: c.energy_total * c.latency_total2}[objective]
    best = float("inf")
    for order in set(itertools.permutations(lpfs)):
        try:
            best = min(best, key(evaluate(layer, hw, allocate(layer, hw, sm, list(order)), sm)))
        except (DoesNotFit, MappingDoesNotFit):
            pass
    assert key(r.cost) == pytest.approx(best, rel=1e-12)


def test_allocator_never_overfills(meta, stft):
    """Every allocation of every ordering keeps each operand's tile within its memory level."""
    for lid in (1, 4, 9):
        layer = stft.layer(lid)
        sm = spatial_mapping_for(layer, meta)
        lpfs = lpf_list(temporal_loop_sizes(layer, sm), 5)
        for order in itertools.islice(multiset_permutations(lpfs), 40):
            tm = allocate(layer, meta, sm, list(order))
            pats = build_patterns(layer, sm, tm)
            indiv, shared, _, _ = utilization(layer, meta, pats, check=False)
            for op in indiv:
                assert all(u <= 1 for u in indiv[op]), (lid, op, indiv[op])


def test_layer_that_fits_no_memory_is_a_clear_error():
    hw = load_hardware(DATA / "handworked_hw.yaml")
    wl = load_workload(DATA / "handworked_wl.yaml")
    big = wl.layer(0).__class__(**{**wl.layer(0).__dict__, "loop_sizes": type(wl.layer(0).loop_sizes)(
        {"B": 1, "K": 1000, "C": 2, "OY": 1, "OX": 1000, "FY": 1, "FX": 1})})
    with pytest.raises(DoesNotFit, match="no loop ordering"):
        loma(big, hw, LomaConfig(6, "energy"))
