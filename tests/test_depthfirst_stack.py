"""Stack-level depth-first results: copy totals, MAC conservation, cuts, errors, CLI (hand checks T12, T15, T16, docs/references.md)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from acco.cli import main
from acco.depthfirst.combine import plan_stacks, run_network, run_stack
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import graph_of, with_full_sizes
from acco.depthfirst.stacks import substack, units, weight_overflow_cuts
from acco.depthfirst.synthetic import chain
from acco.io import InputError, load_hardware, load_workload
from acco.search import LomaConfig
from tests.conftest import DATA, INPUTS, with_lb

FAST = LomaConfig(lpf_limit=4)
MODES = {1: (False, False), 2: (True, False), 3: (True, True)}
META = INPUTS / "hardware" / "Meta_prototype_DF.yaml"


def two_conv_wl(ox=64, oy=8):
    return chain("2conv", 4, ox, oy, [("conv", 8, 3), ("conv", 8, 3)])


def copy_totals(stack):
    e = stack.energy_per_layer()
    return e["copy_b4_-1"], e["copy_b4_0"], e["copy_b4_1"]


@pytest.mark.parametrize(
    "mode,totals",
    [(3, (45288, 408, 1584)), (2, (60384, 0, 0)), (1, (113664, 0, 0))],
)
def test_t15_copy_totals(toy, mode, totals):
    s = run_stack(graph_of(two_conv_wl()), toy, DfConfig(4, 4, *MODES[mode], mapper=FAST))
    assert copy_totals(s) == pytest.approx(totals)


def test_t15_small_local_buffer_raises_levels(toy):
    s = run_stack(graph_of(two_conv_wl()), with_lb(toy, 4096), DfConfig(4, 4, True, True, mapper=FAST))
    assert copy_totals(s) == pytest.approx((45288, 1668, 5280))
    per_type = [[lt.copy.energy for lt in t.layers] for t in s.tile_types]
    assert [p[1] for p in per_type] == pytest.approx([0, 48, 48, 48, 60, 60])
    assert [p[2] for p in per_type] == pytest.approx([216, 168, 120, 120, 168, 120])
    assert [t.count for t in s.tile_types] == [1, 14, 1, 1, 14, 1]
    first = s.tile_types[0].layers
    assert (first[1].i_top, first[1].o_top) == ("A_LB", "A_GB")  # O_top(L0) raised, copied down before L1
    # tile (0,4) makes its H-cache in A_GB because tile (4,4) reads it there
    assert s.tile_types[3].tile.make_h == "A_GB" and s.tile_types[4].tile.use_h == "A_GB"
    # tile (4,4): H read 384 b (36 pJ) + V read 256 b (24 pJ) before L0, sharing ports: 10 cycles
    assert s.tile_types[4].layers[1].copy.latency == 10


@pytest.mark.parametrize("mode,l0", [(3, 190080), (2, 228096), (1, 331776)])
def test_t16_mac_conservation(toy, mode, l0):
    s = run_stack(graph_of(two_conv_wl()), toy, DfConfig(4, 4, *MODES[mode], mapper=FAST))
    assert s.macs == l0 + 64 * 8 * 8 * 8 * 9


def test_t12_mobilenet_cuts():
    g = with_full_sizes(graph_of(load_workload(INPUTS / "workloads" / "Meta_prototype" / "mobilenetv1_corrected.yaml")))
    assert weight_overflow_cuts(g, load_hardware(META)) == [17, 23, 25, 27]


def test_fsrcnn_no_cut_and_resnet_units():
    meta = load_hardware(META)
    g = with_full_sizes(graph_of(load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")))
    assert weight_overflow_cuts(g, meta) == []
    r = with_full_sizes(graph_of(load_workload(INPUTS / "workloads" / "Meta_prototype" / "resnet18_corrected.yaml")))
    assert any(len(u) > 2 for u in units(r))  # residual blocks are kept whole
    assert weight_overflow_cuts(r, meta)[:3] == [13, 16, 17]


def test_tiny_weight_buffer_cuts_every_layer(toy):
    tiny_w = replace(toy, levels=tuple(
        replace(lv, instance=replace(lv.instance, size=64)) if lv.name == "W_LB" else lv for lv in toy.levels))
    wl = two_conv_wl(8, 8)
    g = with_full_sizes(graph_of(wl))
    assert weight_overflow_cuts(g, tiny_w) == [-1, 0, 1]
    stacks = plan_stacks(wl, tiny_w, DfConfig(4, 4, mapper=FAST))
    assert [s.layer_ids for s in stacks] == [(0,), (1,)]


def test_substack_input_stand_in():
    g = with_full_sizes(graph_of(two_conv_wl(8, 8)))
    s = substack(g, 0, None)
    assert s.order == (0, 1) and s.nodes[0].type == "input"
    assert (s.nodes[0].loop_sizes["OX"], s.nodes[0].loop_sizes["K"]) == (10, 8)


def _one_layer_networks():
    """The two layers of two_conv_wl(8, 8) as two separate one-layer networks, each reading its input
    from DRAM and writing its output there: what a cut between them must cost."""
    return chain("l0", 4, 10, 10, [("conv", 8, 3)]), chain("l1", 8, 8, 8, [("conv", 8, 3)])


#: MACs of two_conv_wl(8, 8) without recomputation: 10x10x8x4x9 (layer 0) + 8x8x8x8x9 (layer 1)
TWO_CONV_MACS = 10 * 10 * 8 * 4 * 9 + 8 * 8 * 8 * 8 * 9


def test_layer_by_layer_vs_fused(toy):
    wl = two_conv_wl(8, 8)
    lbl = run_network(wl, toy, DfConfig(4, 4, layer_by_layer=True, clip_tile_to_output=True, mapper=FAST))
    fused = run_network(wl, toy, DfConfig(8, 8, mapper=FAST))
    assert len(lbl.stacks) == 2 and len(fused.stacks) == 1
    assert lbl.macs == fused.macs == TWO_CONV_MACS  # no recomputation in either
    # layer by layer = each layer run as its own network (same tile, clipped to its output)
    alone = [run_network(w, toy, DfConfig(4, 4, clip_tile_to_output=True, mapper=FAST)) for w in _one_layer_networks()]
    assert [s.energy for s in lbl.stacks] == [a.energy for a in alone]
    assert lbl.energy == alone[0].energy + alone[1].energy
    assert lbl.latency == alone[0].latency + alone[1].latency
    # fusing keeps layer 0's 10x10x8 output on chip: no DRAM round trip, so strictly cheaper
    assert fused.energy < lbl.energy


def test_explicit_cut(toy):
    net = run_network(two_conv_wl(8, 8), toy, DfConfig(4, 4, cuts=(0,), mapper=FAST))
    assert [s.layer_ids for s in net.stacks] == [(0,), (1,)]
    # a cut = two networks run one after the other through DRAM, each costed on its own
    alone = [run_network(w, toy, DfConfig(4, 4, mapper=FAST)) for w in _one_layer_networks()]
    assert [(s.energy, s.latency, s.macs) for s in net.stacks] == [(a.energy, a.latency, a.macs) for a in alone]
    assert net.energy == alone[0].energy + alone[1].energy
    assert net.macs == TWO_CONV_MACS


def test_error_tile_larger_than_output(toy):
    with pytest.raises(InputError) as e:
        run_network(two_conv_wl(8, 8), toy, DfConfig(9, 4, mapper=FAST))
    assert e.value.field == "tile_x"


def test_error_unknown_cut(toy):
    with pytest.raises(InputError) as e:
        run_network(two_conv_wl(8, 8), toy, DfConfig(4, 4, cuts=(7,), mapper=FAST))
    assert e.value.field == "cuts" and "7" in str(e.value)


def test_error_weights_fit_nowhere(toy):
    small = replace(toy, levels=tuple(
        replace(lv, instance=replace(lv.instance, size=4096)) if lv.name == "DRAM" else lv for lv in toy.levels))
    with pytest.raises(InputError) as e:
        run_network(two_conv_wl(8, 8), small, DfConfig(4, 4, weight_overflow_cuts=False, mapper=FAST))
    assert e.value.field == "cuts" and "weight" in str(e.value)


def test_config_rejects_bad_tile():
    with pytest.raises(ValueError):
        DfConfig(0, 4)


def test_cli_stack_json(tmp_path, capsys):
    rc = main(["stack", str(DATA / "tiny_hw.yaml"), str(DATA / "tiny_wl.yaml"), "--tile", "4", "4",
               "--caching", "true", "true", "--lpf-limit", "4", "--no-progress", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["stacks"] and out["energy_pJ"] == pytest.approx(sum(s["energy_pJ"] for s in out["stacks"]))
    assert sum(t["count"] for t in out["stacks"][0]["tile_types"]) == 4


def test_cli_stack_errors(capsys):
    rc = main(["stack", str(DATA / "tiny_hw.yaml"), str(DATA / "tiny_wl.yaml"), "--tile", "4", "4", "--cuts", "9",
               "--no-progress"])
    assert rc == 2 and "cuts" in capsys.readouterr().err
    rc = main(["stack", str(DATA / "tiny_hw.yaml"), str(DATA / "tiny_wl.yaml"), "--tile", "40", "4", "--no-progress"])
    assert rc == 2 and "tile_x" in capsys.readouterr().err


# ---- reference-quirk flags and reverse_greedy away from their defaults ---------------------------
def test_reverse_greedy_packs_from_the_end(toy):
    """Hand-worked: weights 2,304 / 9,216 / 4,608 / 9,216 bits (K*C*9*8) against the toy's 16,384-bit W_LB.
    Forward greedy: 2,304 + 9,216 + 4,608 = 16,128 fits, + 9,216 does not: cut after layer 2.
    Reverse greedy: 9,216 + 4,608 = 13,824 fits, + 9,216 does not: cut after layer 1 (then 11,520)."""
    wl = chain("4conv", 4, 16, 16, [("conv", 8, 3), ("conv", 16, 3), ("conv", 4, 3), ("conv", 32, 3)])
    g = with_full_sizes(graph_of(wl))
    assert weight_overflow_cuts(g, toy) == [2]
    assert weight_overflow_cuts(g, toy, reverse=True) == [1]
    assert [s.layer_ids for s in plan_stacks(wl, toy, DfConfig(4, 4, mapper=FAST))] == [(0, 1, 2), (3,)]
    assert [s.layer_ids for s in plan_stacks(wl, toy, DfConfig(4, 4, reverse_greedy=True, mapper=FAST))] == [(0, 1), (2, 3)]


def test_input_cache_writes_charged_when_corrected(toy):
    """§9.3: by default the stack input's cache writes are free, so copy_b4_0 (before layer 0) holds only
    reading the input's H/V caches back from A_GB: 408 pJ (spec T15). Charged, it doubles: every cached
    input bit is written once A_LB -> A_GB and read once A_GB -> A_LB, at symmetric costs (A_LB 1 pJ per
    64-bit word both ways, A_GB 10 pJ per 128-bit word both ways); nothing else changes."""
    g = graph_of(two_conv_wl())
    ref = run_stack(g, toy, DfConfig(4, 4, True, True, mapper=FAST))
    fixed = run_stack(g, toy, DfConfig(4, 4, True, True, skip_input_cache_writes=False, mapper=FAST))
    e0, e1 = ref.energy_per_layer(), fixed.energy_per_layer()
    assert (e0["copy_b4_0"], e1["copy_b4_0"]) == (408, 816)
    assert {k: v for k, v in e1.items() if k != "copy_b4_0"} == {k: v for k, v in e0.items() if k != "copy_b4_0"}


@pytest.mark.parametrize("first_x,first_y", [(True, True), (False, True), (True, False), (False, False)])
def test_h_false_v_true_is_fully_recompute_when_corrected(toy, first_x, first_y):
    """§9.7: (H=False, V=True) computes as fully recompute; the reference still sizes the live activations
    as if V were cached (peak 3,328 bits off the first row, spec T13's V-cached value, instead of 4,352).
    Corrected, every tile class's caching plan equals fully recompute's."""
    from acco.depthfirst.caching import determine_caching

    g = with_full_sizes(graph_of(two_conv_wl()))
    ff = determine_caching(g, toy, DfConfig(4, 4, False, False), 4, 4, first_x, first_y)
    fixed = determine_caching(g, toy, DfConfig(4, 4, False, True, vertical_needs_horizontal=False), 4, 4, first_x, first_y)
    ref = determine_caching(g, toy, DfConfig(4, 4, False, True), 4, 4, first_x, first_y)
    assert fixed == ff and ff.peak_io == 4352
    assert ref.peak_io == (4352 if first_y else 3328)


def _with_layer1_precision(wl, i_bits: int, o_final_bits: int):
    """The workload with layer 1's input precision and O_final changed (a consumer whose input is
    narrower than its output: in every shipped workload both are 8 bits)."""
    from acco.frozendict import FrozenDict

    nodes = tuple(replace(n, precision=FrozenDict({**n.precision, "I": i_bits, "O_final": o_final_bits})) if n.id == 1 else n
                  for n in wl.nodes)
    return replace(wl, nodes=nodes)


def test_cache_reads_sized_with_input_precision_when_corrected(toy):
    """§9.5: cache reads are sized with the consumer's O_final. Layer 1 with 4-bit inputs and 8-bit O_final:
    copy_b4_1 = layer 0's cache writes (792 pJ) + layer 1's cache reads (792 pJ at 8 bits, spec T15's 1,584
    in all). Corrected, the reads are 4-bit: 396 pJ, copy_b4_1 = 1,188, which is also what the reference
    computes when O_final is 4 bits (an independent route to the same reads); nothing else changes."""
    w = _with_layer1_precision(two_conv_wl(), 4, 8)
    cfg = DfConfig(4, 4, True, True, mapper=FAST)
    ref = run_stack(graph_of(w), toy, cfg).energy_per_layer()
    fixed = run_stack(graph_of(w), toy, replace(cfg, cache_read_output_precision=False)).energy_per_layer()
    narrow_out = run_stack(graph_of(_with_layer1_precision(two_conv_wl(), 4, 4)), toy, cfg).energy_per_layer()
    assert (ref["copy_b4_1"], fixed["copy_b4_1"], narrow_out["copy_b4_1"]) == (1584, 1188, 1188)
    assert {k: v for k, v in fixed.items() if k != "copy_b4_1"} == {k: v for k, v in ref.items() if k != "copy_b4_1"}
