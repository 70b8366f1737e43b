"""Depth-first geometry: input extents, full sizes, tile back-propagation, grids (hand checks T1-T10, docs/references.md)."""

from __future__ import annotations

import pytest

from acco.depthfirst.geometry import (
    backpropagate,
    full_sizes,
    graph_of,
    input_bits,
    input_extent,
    overlap,
    tile_grid,
)
from acco.depthfirst.synthetic import chain
from acco.io import load_workload
from tests.conftest import INPUTS

FSRCNN = INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml"


def two_conv(ox: int = 8, oy: int = 8):
    return graph_of(chain("2conv", 4, ox, oy, [("conv", 8, 3), ("conv", 8, 3)]))


# (stride, dilation, kernel, T) -> (I, ov)
T1 = [
    ((1, 1, 3, 4), (6, 2)), ((1, 1, 3, 1), (3, 2)),
    ((2, 1, 3, 4), (9, 1)), ((2, 1, 3, 1), (3, 1)),
    ((1, 1, 5, 4), (8, 4)),
    ((2, 1, 1, 4), (4, 0)),
    ((2, 1, 2, 4), (8, 0)),
    ((1, 2, 3, 4), (8, 4)), ((1, 2, 3, 1), (5, 4)),
    ((4, 1, 4, 8), (32, 0)),
]


@pytest.mark.parametrize("args,expected", T1)
def test_t1_input_extent_and_overlap(args, expected):
    assert (input_extent(*args), overlap(*args)) == expected


def test_t2_full_sizes_fsrcnn():
    sizes = full_sizes(graph_of(load_workload(FSRCNN)))
    chain_ = [sizes[i] for i in (7, 6, 5, 4, 3, 2, 1, 0, -1)]
    assert chain_ == [(960, 540), (962, 542), (962, 542), (964, 544), (966, 546), (968, 548), (970, 550), (970, 550), (974, 554)]


def test_t2_full_sizes_two_conv():
    sizes = full_sizes(two_conv())
    assert sizes[0] == (10, 10) and sizes[-1] == (12, 12)


def _ext(b, nid):
    return f"{b.sizes[nid][0]}x{b.sizes[nid][1]}"


# mode -> tile position (first_x, first_y) -> L1, L0, input output tiles
T3 = {
    (False, False): {pos: ("4x4", "6x6", "8x8") for pos in [(1, 1), (0, 1), (1, 0), (0, 0)]},
    (True, False): {(1, 1): ("4x4", "6x6", "8x8"), (0, 1): ("4x4", "4x6", "4x8"),
                    (1, 0): ("4x4", "6x6", "8x8"), (0, 0): ("4x4", "4x6", "4x8")},
    (True, True): {(1, 1): ("4x4", "6x6", "8x8"), (0, 1): ("4x4", "4x6", "4x8"),
                   (1, 0): ("4x4", "6x4", "8x4"), (0, 0): ("4x4", "4x4", "4x4")},
}


@pytest.mark.parametrize("mode", list(T3))
def test_t3_tile_extents_and_dram_input_bits(mode):
    g = two_conv()
    total_input_bits = 0
    for (fx, fy), expected in T3[mode].items():
        b = backpropagate(g, 4, 4, mode[0] and not fx, True, mode[1] and not fy, True)
        assert (_ext(b, 1), _ext(b, 0), _ext(b, -1)) == expected
        tg = b.tile_graph(g)
        total_input_bits += b.sizes[-1][0] * b.sizes[-1][1] * 4 * 8
        assert input_bits(tg.nodes[1]) == 6 * 6 * 8 * 8  # the consumer always sees its full input tile
    assert total_input_bits == {(False, False): 8192, (True, False): 6144, (True, True): 4608}[mode]


def test_t5_stride_two():
    g = graph_of(chain("s2", 4, 8, 8, [("conv", 8, 3, 2), ("conv", 8, 3)]))
    sizes = full_sizes(g)
    assert sizes[0] == (10, 10) and sizes[-1] == (21, 21)
    first = backpropagate(g, 4, 4)
    assert (first.sizes[1], first.sizes[0], first.sizes[-1]) == ((4, 4), (6, 6), (13, 13))
    inner = backpropagate(g, 4, 4, True, True, True, True)
    assert (inner.sizes[1], inner.sizes[0], inner.sizes[-1]) == ((4, 4), (4, 4), (8, 8))
    assert inner.h_out[-1] == ("OX", 1) and inner.h_out[0] == ("OX", 2)
    assert inner.v_out[-1] == ("OY", 1)


def test_t6_pooling():
    g = graph_of(chain("pool", 4, 8, 8, [("conv", 8, 3), ("pool", 2, 2), ("conv", 8, 3)]))
    sizes = full_sizes(g)
    assert (sizes[1], sizes[0], sizes[-1]) == ((10, 10), (20, 20), (22, 22))
    first = backpropagate(g, 4, 4)
    assert [first.sizes[i] for i in (2, 1, 0, -1)] == [(4, 4), (6, 6), (12, 12), (14, 14)]
    inner = backpropagate(g, 4, 4, True, True, True, True)
    assert [inner.sizes[i] for i in (2, 1, 0, -1)] == [(4, 4), (4, 4), (8, 8), (8, 8)]
    assert inner.h_in[(1, "I")][1] == 0 and inner.h_out[1] == ("OX", 2) and inner.h_out[-1] == ("OX", 2)


def test_t7_fsrcnn_overlaps():
    b = backpropagate(graph_of(load_workload(FSRCNN)), 4, 4, True, True, True, True)
    assert b.h_in[(0, "I")] == ("IX", 4)
    assert b.h_in[(1, "I")] == ("OX", 0) and b.h_in[(6, "I")] == ("OX", 0)
    for n in (2, 3, 4, 5, 7):
        assert b.h_in[(n, "I")] == ("IX", 2)


def test_t8_residual_union():
    g = graph_of(chain("res", 4, 8, 8, [("conv1", 8), ("conv", 8, 3), ("conv", 8, 3), ("add", 0, 2)]))
    first = backpropagate(g, 4, 4, False, True, False, True)
    assert [first.sizes[i] for i in (3, 2, 1, 0, -1)] == [(4, 4), (4, 4), (6, 6), (8, 8), (8, 8)]
    assert first.h_out[0] == ("OX", 2)
    inner = backpropagate(g, 4, 4, True, True, True, True)
    assert all(s == (4, 4) for s in inner.sizes.values())


def test_t9_grid_leftover_first():
    assert tile_grid(10, 4) == [2, 4, 4]
    assert tile_grid(540, 72) == [36] + [72] * 7
    assert tile_grid(10, 12) == [10] and tile_grid(10, 10) == [10]
    assert tile_grid(10, 4, leftover_first=False) == [4, 4, 2]


def test_t10_tiny_tiles():
    g = two_conv()
    first = backpropagate(g, 1, 1, False, True, False, True)
    assert first.sizes[0] == (3, 3) and first.sizes[-1] == (5, 5)
    assert first.sizes[-1][0] * first.sizes[-1][1] * 4 * 8 == 800
    inner = backpropagate(g, 1, 1, True, True, True, True)
    assert inner.sizes[0] == (1, 1) and inner.sizes[-1] == (1, 1)
    assert inner.sizes[-1][0] * inner.sizes[-1][1] * 4 * 8 == 32
    assert inner.h_in[(1, "I")] == ("IX", 2)  # reads 2 cached columns
