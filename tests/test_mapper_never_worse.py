"""Property tests on random layers: SALSA (with its LOMA floor) never loses to LOMA at the same lpf
limit, and the spatial search never loses to the layer's fixed unrolling, for every objective."""

from __future__ import annotations

import random

import pytest

from acco.frozendict import FrozenDict
from acco.search.spatial_search import SpatialSearchConfig, spatial_search
from acco.search import DoesNotFit, LomaConfig, SalsaConfig, loma, salsa
from acco.search.loma import objective_value

SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 18, 24, 32)


def random_layers(stft, n: int, seed: int):
    """`n` conv layers with stftCNN layer 3's loop nest and spatial mapping, loop sizes drawn at random."""
    rng = random.Random(seed)
    base = stft.layer(3)
    for _ in range(n):
        sizes = {d: rng.choice(SIZES) for d in ("K", "C", "OY", "OX")}
        sizes |= {"FY": rng.choice((1, 3)), "FX": rng.choice((1, 3)), "B": 1}
        yield base.with_loop_sizes(FrozenDict({d: sizes[d] for d in base.loop_sizes}))


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
@pytest.mark.parametrize("lpf", [3, 6])
def test_salsa_never_worse_than_loma_on_random_layers(meta, stft, objective, lpf):
    cfg = SalsaConfig(iterations=10, chains=1, seed=1, objective=objective, exhaustive_threshold=24, loma_lpf_limit=lpf)
    checked = 0
    for layer in random_layers(stft, 12, seed=lpf):
        try:
            ref = loma(layer, meta, LomaConfig(lpf, objective))
        except DoesNotFit:
            continue
        got = salsa(layer, meta, cfg)
        assert objective_value(got.cost, objective) <= objective_value(ref.cost, objective), dict(layer.loop_sizes)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_spatial_search_never_worse_than_fixed_on_random_layers(meta, stft, objective):
    checked = 0
    for layer in random_layers(stft, 8, seed=7):
        try:
            ref = loma(layer, meta, LomaConfig(4, objective))
        except DoesNotFit:
            continue
        got = spatial_search(layer, meta, SpatialSearchConfig(LomaConfig(4, objective), top=3))
        v, r = objective_value(got.cost, objective), objective_value(ref.cost, objective)
        assert v <= r, dict(layer.loop_sizes)
        checked += 1
    assert checked >= 6
