"""Tile types, counts, cache sizes and memory-level choice (hand checks T4, T10, T11, T13, docs/references.md)."""

from __future__ import annotations

import pytest

from acco.depthfirst.caching import cache_in_bits, determine_caching, largest_alive
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import backpropagate, graph_of, output_bits
from acco.depthfirst.synthetic import chain
from acco.depthfirst.tiles import plan_tiles
from acco.io import load_hardware, load_workload
from tests.conftest import DATA, INPUTS

FSRCNN = INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml"
MODES = {1: (False, False), 2: (True, False), 3: (True, True)}


@pytest.fixture(scope="module")
def toy():
    return load_hardware(DATA / "df_toy_hw.yaml")


@pytest.fixture(scope="module")
def fsrcnn():
    return graph_of(load_workload(FSRCNN))


def two_conv(ox: int = 8, oy: int = 8):
    return graph_of(chain("2conv", 4, ox, oy, [("conv", 8, 3), ("conv", 8, 3)]))


def test_t4_cache_amounts_first_tile():
    g = two_conv()
    a = backpropagate(g, 4, 4, False, True, False, True)
    h, v, corner = cache_in_bits(a, a.tile_graph(g), g)
    assert h[(1, "I")] == 768 and h[(0, "I")] == 512
    assert v[(1, "I")] == 1280 and v[(0, "I")] == 768
    assert corner[(1, "I")] == 256 and corner[(0, "I")] == 128
    tg = a.tile_graph(g)
    writes = {p: output_bits(tg.nodes[p]) // tg.nodes[p].loop_sizes[d] * n for p, (d, n) in a.h_out.items()}
    assert writes == {0: 768, -1: 512}


@pytest.mark.parametrize(
    "ox,mode,counts",
    [
        (8, 1, (1, 3)), (8, 2, (1, 2, 1)), (8, 3, (1, 1, 1, 1)),
        (64, 1, (1, 31)), (64, 2, (1, 28, 2, 1)), (64, 3, (1, 14, 1, 1, 14, 1)),
    ],
)
def test_t11_two_conv_tile_types(toy, ox, mode, counts):
    plan = plan_tiles(two_conv(ox, 8), toy, DfConfig(4, 4, *MODES[mode]))
    assert plan.counts == counts
    assert plan.types[0].weights_from_top and not any(t.weights_from_top for t in plan.types[1:])


@pytest.mark.parametrize(
    "tile,mode,n_types,counts",
    [
        ((4, 4), 3, 9, (1, 238, 1, 133, 31654, 133, 1, 238, 1)),
        ((60, 72), 3, 9, (1, 14, 1, 6, 84, 6, 1, 14, 1)),
        ((60, 72), 2, 6, None),
        ((60, 72), 1, 3, (1, 15, 112)),
        ((240, 270), 3, 6, None),
        ((240, 270), 1, 2, None),
        ((960, 72), 3, 3, None),
        pytest.param((1, 1), 1, 2, (1, 518399), marks=pytest.mark.slow),
    ],
)
def test_t11_fsrcnn_tile_types(fsrcnn, tile, mode, n_types, counts):
    from acco.io import load_hardware as lh

    meta = lh(INPUTS / "hardware" / "Meta_prototype_DF.yaml")
    plan = plan_tiles(fsrcnn, meta, DfConfig(*tile, *MODES[mode]))
    assert len(plan.types) == n_types
    if counts is not None:
        assert plan.counts == counts
    total = -(-960 // tile[0]) * -(-540 // tile[1])
    assert plan.total_tiles() == total


def test_t10_tiny_tile_writes_and_multiplicities(toy):
    g = two_conv()
    plan = plan_tiles(g, toy, DfConfig(1, 1, True, True))
    assert plan.counts == (1, 6, 1, 6, 36, 6, 1, 6, 1)
    first, inner = plan.cachings[(1, 1, True, True)], plan.cachings[(1, 1, False, False)]
    assert dict(first.h_write)[0] == ("OX", 2)  # the first column writes the whole overlap
    assert dict(inner.h_write)[0] == ("OX", 1)  # later tiles only min(ov, new columns)
    assert dict(inner.h_read)[(1, "I")] == ("IX", 2)


@pytest.mark.parametrize(
    "pos,peaks",
    [
        ((True, True), (4352, 4352, 17152)),
        ((False, True), (3328, 4608, 17408)),
        ((True, False), (3328, 3328, 16128)),
        ((False, False), (3328, 4480, 17280)),
    ],
)
def test_t13_level_choice(toy, pos, peaks):
    g = two_conv(64, 8)
    c = determine_caching(g, toy, DfConfig(4, 4, True, True), 4, 4, *pos)
    assert (c.peak_io, c.peak_h, c.peak_v) == peaks
    assert (c.io_ml, c.h_ml, c.v_ml) == ("A_LB", "A_LB", "A_GB")
    assert c.weight_bits == 6912 and c.w_ml == "W_LB"


def test_t13_v_cache_is_full_width(toy):
    g = two_conv(64, 8)
    a = backpropagate(g, 4, 4, False, True, False, True)
    _, v, _ = cache_in_bits(a, a.tile_graph(g), g)
    assert v[(1, "I")] == 8448 and v[(0, "I")] == 4352


def test_first_column_peak_option(toy):
    """§9.8: the corrected model counts the H-caches built while computing the first column."""
    g = two_conv(64, 8)
    ref = determine_caching(g, toy, DfConfig(4, 4, True, True), 4, 4, True, False)
    fixed = determine_caching(g, toy, DfConfig(4, 4, True, True, first_column_peak_without_caches=False), 4, 4, True, False)
    assert ref.peak_h == ref.peak_io
    assert fixed.peak_h > ref.peak_h


def test_largest_alive_chain():
    g = two_conv(64, 8)
    tg = backpropagate(g, 4, 4).tile_graph(g)
    # layer 0: input 8x8x4 + output 6x6x8 ; layer 1: input 6x6x8 + output 4x4x8
    assert largest_alive(tg) == max(8 * 8 * 4 * 8 + 6 * 6 * 8 * 8, 6 * 6 * 8 * 8 + 4 * 4 * 8 * 8)


def test_false_true_is_recompute(toy):
    """(H=False, V=True) behaves like fully recompute: same tile types and counts (§9.7)."""
    g = two_conv(64, 8)
    a = plan_tiles(g, toy, DfConfig(4, 4, False, True))
    b = plan_tiles(g, toy, DfConfig(4, 4, False, False))
    assert a.counts == b.counts and all(t.use_v is None and t.use_h is None for t in a.types)
