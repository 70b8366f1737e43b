"""Spatial mapping search (acco/search/spatial_search.py): brute force, hints, no-fit error, cache."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import pytest

from acco.frozendict import FrozenDict
from acco.io import load_hardware, load_workload
from acco.search.spatial_search import (
    SpatialSearchConfig,
    candidate_unrollings,
    parse_hint,
    ranked_candidates,
    spatial_search,
)
from acco.search import DoesNotFit, LomaConfig, MappingCache, best_mapping, loma
from acco.search.loma import objective_value
from conftest import DATA


@pytest.fixture(scope="module")
def hw():
    return load_hardware(DATA / "handworked_hw.yaml")  # 2x2 array (D1, D2)


@pytest.fixture(scope="module")
def wl():
    return load_workload(DATA / "handworked_wl.yaml")


def brute_force(layer, acc, objective, allowed=None):
    """Every assignment of (layer dim, any integer factor 2..min(layer, array)) or nothing to each array
    dim, each layer dim at most once, costed by LOMA without LPF merging; the best objective value.
    (On a 2x2 array every such factor is a divisor or the greedy size, so this is the full space.)"""
    per_oa = []
    for oa, a in acc.array.dimensions.items():
        dims = (allowed or {}).get(oa, tuple(layer.loop_sizes))
        per_oa.append([None] + [(oa, d, f) for d in dims for f in range(2, min(layer.size(d), a) + 1)])
    best = float("inf")
    tried = 0
    for combo in product(*per_oa):
        used = tuple(u for u in combo if u is not None)
        if len({d for _, d, _ in used}) != len(used):
            continue
        tried += 1
        r = loma(replace(layer, spatial_mapping=used), acc, LomaConfig(None, objective))
        best = min(best, objective_value(r.cost, objective))
    assert tried > 5
    return best


@pytest.mark.parametrize("layer_id", [0, 1])
@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_search_over_all_candidates_equals_brute_force(hw, wl, layer_id, objective):
    layer = wl.layer(layer_id)
    cfg = SpatialSearchConfig(LomaConfig(None, objective), top=1000)
    r = spatial_search(layer, hw, cfg)
    assert objective_value(r.cost, objective) == pytest.approx(brute_force(layer, hw, objective), rel=1e-12)
    # the reported unrolling is the one costed: evaluating it again gives the same cost
    again = loma(replace(layer, spatial_mapping=r.spatial), hw, LomaConfig(None, objective))
    assert again.cost.energy_total == r.cost.energy_total and again.cost.latency_total2 == r.cost.latency_total2


def test_candidates_hand_listed(hw, wl):
    """Layer 0 (K4 C2 OX3) on 2x2: per array dim nothing, K2, C2 or OX2 (greedy, 1.5 effective); each dim once."""
    got = set(candidate_unrollings(wl.layer(0), hw))
    opts = {"D1": [None, ("D1", "K", 2), ("D1", "C", 2), ("D1", "OX", 2)],
            "D2": [None, ("D2", "K", 2), ("D2", "C", 2), ("D2", "OX", 2)]}
    want = {tuple(u for u in (a, b) if u) for a, b in product(opts["D1"], opts["D2"])
            if not (a and b and a[1] == b[1])}
    assert got == want and len(got) == 13


def test_top_one_costs_the_best_utilisation_candidate_and_the_own(hw, wl):
    layer = wl.layer(0)  # own unrolling D1: K2, D2: C2 (100 %, the first such in enumeration order)
    assert ranked_candidates(layer, hw, 1) == [(("D1", "K", 2), ("D2", "C", 2))]  # the own is not repeated
    hint = parse_hint("D1=C,K; D2=K,C")  # now C on D1 comes first; the own respects the hint: added
    assert ranked_candidates(layer, hw, 1, hint) == [(("D1", "C", 2), ("D2", "K", 2)), (("D1", "K", 2), ("D2", "C", 2))]


def test_search_never_worse_than_the_fixed_unrolling(hw, wl):
    for layer in wl.layers:
        for obj in ("energy", "latency", "edp"):
            fixed = loma(layer, hw, LomaConfig(6, obj))
            found = spatial_search(layer, hw, SpatialSearchConfig(LomaConfig(6, obj), top=1))
            assert objective_value(found.cost, obj) <= objective_value(fixed.cost, obj)


def test_hint_respected(hw, wl):
    layer = wl.layer(0)
    hint = parse_hint("D1=OX; D2=k,c")
    assert hint == (("D1", ("OX",)), ("D2", ("K", "C")))
    cands = candidate_unrollings(layer, hw, hint)
    assert cands and all((oa, d) in {("D1", "OX"), ("D2", "K"), ("D2", "C")} for u in cands for oa, d, _ in u)
    ranked = ranked_candidates(layer, hw, 100, hint)
    assert sorted(ranked) == sorted(cands) and len(ranked) == len(cands)  # own (D1: K) breaks the hint: not added
    r = spatial_search(layer, hw, SpatialSearchConfig(LomaConfig(None, "energy"), top=100, hint=hint))
    assert all((oa, d) in {("D1", "OX"), ("D2", "K"), ("D2", "C")} for oa, d, _ in r.spatial)
    allowed = dict(hint)
    assert r.cost.energy_total == pytest.approx(brute_force(layer, hw, "energy", allowed), rel=1e-12)


def test_bad_hint_is_named():
    with pytest.raises(ValueError, match="ARRAYDIM=DIM"):
        parse_hint("D1:K")
    with pytest.raises(ValueError, match=r"array dimension 'D9'.*D1, D2"):
        candidate_unrollings(load_workload(DATA / "handworked_wl.yaml").layer(0),
                             load_hardware(DATA / "handworked_hw.yaml"), (("D9", ("K",)),))
    with pytest.raises(ValueError, match="top must be at least 1"):
        SpatialSearchConfig(top=0)


def test_layer_no_unrolling_fits_gets_a_clear_error(hw, wl):
    layer = wl.layer(0)
    big = layer.with_loop_sizes(FrozenDict({**layer.loop_sizes, "K": 4096, "C": 4096}))  # 128 Mbit of weights
    with pytest.raises(DoesNotFit, match=r"layer 0: none of the \d+ spatial unrollings tried .* handworked_2level"):
        spatial_search(big, hw, SpatialSearchConfig(LomaConfig(6), top=3))


def test_cached_under_its_own_key(hw, wl, tmp_path):
    layer = wl.layer(1)
    cache = MappingCache()
    cfg = SpatialSearchConfig(LomaConfig(6, "edp"), top=4)
    a = best_mapping(layer, hw, cfg, cache)
    b = best_mapping(layer, hw, LomaConfig(6, "edp"), cache)
    assert len(cache) == 2 and b.spatial is None and a.spatial is not None
    cache.save(tmp_path / "c.pkl")
    back = MappingCache.load(tmp_path / "c.pkl")
    assert best_mapping(layer, hw, cfg, back) == a and back.hits == 1
