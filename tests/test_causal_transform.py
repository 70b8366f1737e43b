"""Causal transform: dilation table, output sizing, sub-stack dilations, bad parameters."""

from __future__ import annotations

from math import prod

import pytest

from acco.causal.frames import CausalSettings, check_tile, explore, substacks
from acco.causal.ranges import enumerate_ranges
from acco.causal.transform import causal_network, dilation_table, transform_graph
from acco.depthfirst.geometry import graph_of
from acco.depthfirst.synthetic import chain
from acco.io import load_workload
from acco.io.errors import InputError
from tests.conftest import INPUTS

WL = INPUTS / "workloads" / "Meta_prototype"


def _wl(name: str):
    return load_workload(WL / f"{name}.yaml")


def test_stftcnn_dilation_table():
    """Spec acco.md §2: Y dilation after the transform and D_out per layer of stftCNN_025."""
    rows = dilation_table(_wl("stftCNN_fixed_unrolling_oxoy_025_1x"))
    assert [r[0] for r in rows] == list(range(12))
    assert [r[1] for r in rows] == [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8]
    assert [r[3] for r in rows] == [1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 16]
    assert [r[2] for r in rows] == [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8]


def test_strides_become_one_x_untouched():
    g, _ = causal_network(_wl("stftCNN_fixed_unrolling_oxoy_025_1x"))
    for n in g.layers:
        iy = next(r for r in n.relations if r.data_dim == "IY")
        ix = next(r for r in n.relations if r.data_dim == "IX")
        assert iy.coef_a == 1
        assert ix.coef_a == (2 if n.type == "pool" else 1)


@pytest.mark.parametrize(
    "name, out, inp, macs",
    [
        ("stftCNN_fixed_unrolling_oxoy_025_1x", (1, 16), (76, 91), 114.6e6),
        ("stftCNN_fixed_unrolling_oxoy_025_16x", (16, 256), (316, 331), 4.10e9),
    ],
)
def test_output_sizing(name, out, inp, macs):
    """Last layer OY = OY_orig * 16; input grows by 15 rows; MACs of the whole sequence."""
    g, dil = causal_network(_wl(name))
    assert dil.final == 16
    o = g.nodes[g.output_id].loop_sizes
    assert (o["OX"], o["OY"]) == out
    i = g.nodes[g.input_ids[0]].loop_sizes
    assert (i["OX"], i["OY"]) == inp
    total = sum(prod(n.loop_sizes.values()) for n in g.layers)
    assert total == pytest.approx(macs, rel=2e-3)


def test_seldnet_is_identity():
    rows = dilation_table(_wl("seldnet_oxoy_M"))
    assert all(r[1:] == (1, 1, 1) for r in rows)
    g, _ = causal_network(_wl("seldnet_oxoy_M"))
    o = g.nodes[g.output_id].loop_sizes
    assert (o["OX"], o["OY"]) == (2, 64)


def test_substack_inherits_dilation():
    """A sub-stack starting at layer 9 keeps dilation 8, and its output is OY_orig * 16."""
    subs = {(s.cut_before, s.cut_after): s for s in substacks(_wl("stftCNN_fixed_unrolling_oxoy_025_1x"), CausalSettings(cut_max=2))}
    s = subs[(8, None)]
    assert s.dilations.d_in[9] == 8 and s.dilations.final == 16
    assert s.output_size == (1, 16)
    s = subs[(1, 4)]  # layers 2..4, ends at layer 4 (orig OY 32), D_final = 2
    assert s.dilations.d_in[2] == 1 and s.dilations.final == 2
    assert s.output_size == (32, 64)


def test_global_initial_dilation_override_and_skip():
    """d > 0 forces the start dilation; sub-stacks whose inherited dilation is smaller are skipped."""
    wl = _wl("stftCNN_fixed_unrolling_oxoy_025_1x")
    subs = substacks(wl, CausalSettings(cut_max=2, global_initial_dilation=4))
    assert subs and all(s.dilations.d_in[s.layer_ids[0]] == 4 for s in subs)
    assert all(s.layer_ids[0] >= 6 for s in subs)


def test_batch_inferred():
    wl = _wl("stftCNN_fixed_unrolling_oxoy_025_1x")
    subs = {(s.cut_before, s.cut_after): s for s in substacks(wl, CausalSettings(cut_max=2, global_initial_dilation=8, batch=-1))}
    # layers 9..11 start at 8 instead of inherited 8 -> D_final 16, B = ceil(16/16) = 1
    assert subs[(8, None)].graph.nodes[11].loop_sizes["B"] == 1


def test_conv_without_y_relation_is_an_error():
    wl = chain("no_y", 4, 4, 4, [("conv", 4, 3), ("conv1", 4)])
    with pytest.raises(InputError) as e:
        transform_graph(graph_of(wl))
    assert "layers[id=1].dimension_relations" in str(e.value)


def test_tile_y_longer_than_time_axis():
    wl = _wl("stftCNN_fixed_unrolling_oxoy_025_1x")
    check_tile(wl, 4, 91)
    with pytest.raises(InputError) as e:
        explore(wl, 4, 92, costs=False)
    assert "tile_y" in str(e.value)
    with pytest.raises(InputError) as e:
        explore(wl, 0, 4, costs=False)
    assert "tile_x" in str(e.value)


def test_negative_cut_max():
    with pytest.raises(InputError) as e:
        enumerate_ranges([-1, 0, 1, 2], [-1], (), -1)
    assert "cut_max" in str(e.value)
    with pytest.raises(InputError):
        substacks(_wl("seldnet_oxoy_M"), CausalSettings(cut_max=-2))
