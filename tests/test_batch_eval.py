"""The vectorised cost model equals the scalar allocator + cost model on every ordering it is given.

Random orderings of the full loop-prime-factor multiset (tilings LOMA's merging never produces)
on ACCO's hardware and workloads, including fractional spatial unrollings and memories shrunk
until most orderings no longer fit. Tolerance: 1e-9 relative (the two paths multiply the same
numbers in the same order; observed differences are 0).
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
import yaml

from acco.cost import evaluate
from acco.cost.batch import BatchEvaluator
from acco.cost.model import MappingDoesNotFit
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.search import DoesNotFit, allocate, lpf_list, temporal_loop_sizes
from acco.search.loma import multiset_permutations
from conftest import DATA, INPUTS

CASES = [
    ("Meta_prototype_DF", "Meta_prototype", "stftCNN_fixed_unrolling_oxoy_025_1x"),
    ("Meta_prototype_DF", "Meta_prototype", "mobilenetv1_corrected"),  # fractional unrollings (59/15)
    ("Meta_prototype_DF", "Meta_prototype", "dmcnnvd"),
    ("Edge_TPU_like_DF", "Edge_TPU_like", "seldnet_oxoy_M"),
    ("Tesla_NPU_like_DF", "Tesla_NPU_like", "fsrcnn"),
    ("Ascend_like_DF", "Ascend_like", "mccnn"),
    ("TPU_like_DF", "TPU_like", "fsrcnn"),
]


def _shrunk(acc, factor: int):
    """The accelerator with every memory below the top one divided in size (to make orderings fail)."""
    levels = tuple(
        replace(lv, instance=replace(lv.instance, size=max(8, lv.instance.size // factor))) if i < len(acc.levels) - 1 else lv
        for i, lv in enumerate(acc.levels)
    )
    return replace(acc, levels=levels)


def _compare(layer, acc, orders, lpf_limit: int | None = None) -> tuple[int, int]:
    """Batch vs scalar on `orders` (orderings of the LPFs at `lpf_limit`); (orderings, fitting ones)."""
    sm = spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), lpf_limit)
    ev = BatchEvaluator(layer, acc, sm, lpfs)
    codes = ev.encode(orders)
    r = ev.evaluate(codes)
    n_valid = 0
    for i, o in enumerate(orders):
        try:
            tm = allocate(layer, acc, sm, list(o))
            c = evaluate(layer, acc, tm, sm)
        except (DoesNotFit, MappingDoesNotFit):
            assert not r.valid[i], (layer.id, o)
            continue
        n_valid += 1
        assert r.valid[i], (layer.id, o)
        assert ev.temporal_mapping(codes[i], {op: x[i] for op, x in r.cuts.items()}) == tm
        assert r.energy[i] == pytest.approx(c.energy_total, rel=1e-9)
        assert r.latency[i] == pytest.approx(c.latency_total2, rel=1e-9)
        assert r.latency0[i] == pytest.approx(c.latency_total0, rel=1e-9)
    return len(orders), n_valid


@pytest.mark.parametrize("hw,folder,wl", CASES)
def test_batch_equals_scalar_on_random_orderings(hw, folder, wl):
    acc = load_hardware(INPUTS / "hardware" / f"{hw}.yaml")
    work = load_workload(INPUTS / "workloads" / folder / f"{wl}.yaml")
    rng = random.Random(7)
    for layer in work.layers:
        if len(set(layer.memory_operand_links.values())) < len(layer.memory_operand_links):
            continue
        sm = spatial_mapping_for(layer, acc)
        lpfs = lpf_list(temporal_loop_sizes(layer, sm), None)
        orders = [rng.sample(lpfs, len(lpfs)) for _ in range(6)]
        n, valid = _compare(layer, acc, orders)
        assert n == 6


def test_batch_equals_scalar_when_orderings_do_not_fit(meta):
    work = load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")
    rng = random.Random(3)
    seen_invalid = seen_valid = 0
    for factor in (1, 16, 256):
        acc = _shrunk(meta, factor)
        for layer in work.layers:
            sm = spatial_mapping_for(layer, acc)
            lpfs = lpf_list(temporal_loop_sizes(layer, sm), None)
            orders = [rng.sample(lpfs, len(lpfs)) for _ in range(8)]
            n, valid = _compare(layer, acc, orders)
            seen_valid += valid
            seen_invalid += n - valid
    assert seen_invalid > 50 and seen_valid > 50  # both branches exercised


def test_operands_sharing_a_memory_operand_are_refused():
    work = load_workload(INPUTS / "workloads" / "Meta_prototype" / "resnet18_corrected.yaml")
    acc = load_hardware(INPUTS / "hardware" / "Meta_prototype_DF.yaml")
    add = next(l for l in work.layers if l.type == "add")
    sm = spatial_mapping_for(add, acc)
    with pytest.raises(ValueError, match="distinct memory operands"):
        BatchEvaluator(add, acc, sm, lpf_list(temporal_loop_sizes(add, sm), 6))


def test_window_union_against_enumeration():
    """The closed-form union of periodic windows equals counting cycle by cycle."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(2, 6))
        base = [int(x) for x in rng.choice([2, 3, 4, 5], size=k)]
        periods = np.cumprod(base)
        rng.shuffle(periods)
        allowed = np.array([int(rng.integers(0, p)) for p in periods])  # strictly below the period
        active = rng.random(k) < 0.8
        total = int(periods.max()) * 3
        covered = np.zeros(total, dtype=bool)
        for a, p, on in zip(allowed, periods, active):
            if on:
                covered |= (np.arange(total) % p) < a
        got = BatchEvaluator._muw_union(allowed[None, :], periods[None, :], active[None, :], total)
        assert got[0] == covered.sum()


def test_batch_equals_scalar_on_every_merged_lpf6_ordering():
    """LOMA's own search space: every distinct ordering of the merged lpf-6 factors (what the default
    pipeline costs), on every layer of stftCNN-1x on Meta_prototype_DF and of seldnet on Edge_TPU_like_DF
    (every 2nd and every 4th ordering)."""
    total = 0
    for hw, folder, wl, step in [("Meta_prototype_DF", "Meta_prototype", "stftCNN_fixed_unrolling_oxoy_025_1x", 2),
                                 ("Edge_TPU_like_DF", "Edge_TPU_like", "seldnet_oxoy_M", 4)]:
        acc = load_hardware(INPUTS / "hardware" / f"{hw}.yaml")
        for layer in load_workload(INPUTS / "workloads" / folder / f"{wl}.yaml").layers:
            sm = spatial_mapping_for(layer, acc)
            lpfs = lpf_list(temporal_loop_sizes(layer, sm), 6)
            orders = [list(o) for o in multiset_permutations(lpfs)][::step]
            n, valid = _compare(layer, acc, orders, 6)
            assert valid > 0
            total += n
    assert total > 1000


def _shared_gb_hw(gb_bits: int):
    """tiny_hw with a global buffer between the registers and DRAM holding I1, I2 and O at once."""
    from acco.io.hardware import accelerator_from_yaml
    from acco.io.yamlfile import Field

    d = yaml.safe_load((DATA / "tiny_hw.yaml").read_text())
    gb = {"name": "gb", "size": gb_bits, "r_bw": 32, "w_bw": 32, "r_cost": 2.0, "w_cost": 2.5,
          "operands": ["I1", "I2", "O"], "ports": {"r_port_1": "read", "w_port_1": "write"},
          "port_allocation": {"I1": {"tl": "r_port_1", "fh": "w_port_1"}, "I2": {"tl": "r_port_1", "fh": "w_port_1"},
                              "O": {"tl": "r_port_1", "th": "r_port_1", "fh": "w_port_1", "fl": "w_port_1"}},
          "served_dimensions": "all"}
    d["memories"].insert(3, gb)
    return accelerator_from_yaml(Field.root("shared_gb_hw.yaml", d))


def test_batch_equals_scalar_with_a_buffer_shared_by_three_operands():
    """One 512-bit buffer holds W, I and O: the allocator's combined fit test and the shared ports.
    200 random orderings of the full factorisation and every ordering at lpf 4, on both convs of tiny_wl;
    in some of them all three operands do keep loops in the shared buffer."""
    acc = _shared_gb_hw(512)
    gb = acc.level_by_name("gb")
    assert gb.operands == ("I1", "I2", "O")
    wl = load_workload(DATA / "tiny_wl.yaml")
    rng = random.Random(11)
    all_three = 0
    for layer in wl.layers[:2]:
        sm = spatial_mapping_for(layer, acc)
        full = lpf_list(temporal_loop_sizes(layer, sm), None)
        orders = [rng.sample(full, len(full)) for _ in range(200)]
        n, valid = _compare(layer, acc, orders)
        assert valid == n
        merged = lpf_list(temporal_loop_sizes(layer, sm), 4)
        n, valid = _compare(layer, acc, [list(o) for o in multiset_permutations(merged)], 4)
        assert valid == n
        for o in orders:
            tm = allocate(layer, acc, sm, o)
            level = {op: [lv for lv in acc.chain(layer.memory_operand_links[op])].index(gb) for op in layer.operands}
            all_three += all(tm[op][level[op]] for op in layer.operands)
    assert all_three > 20


@pytest.mark.parametrize("name", ["ascend_like", "edge_tpu_like", "meta_prototype", "tesla_npu_like", "tpu_like"])
def test_batch_equals_scalar_on_zigzag_imported_hardware(name):
    """ZigZag 3.x example hardware (imported by acco.io.zigzag, with its own spatial mappings) and
    ZigZag's conv layer: random full-factorisation orderings and every lpf-6 ordering."""
    from acco.io.zigzag import load_zigzag_hardware, load_zigzag_workload

    zz = DATA / "zigzag_examples"
    mapping = {"meta_prototype": "meta_prototype_like"}.get(name, name)
    acc = load_zigzag_hardware(zz / "hardware" / f"{name}.yaml")
    layer = load_zigzag_workload(zz / "workload" / "conv_k64_c64_56x56_3x3.yaml", zz / "mapping" / f"{mapping}.yaml", acc).layers[0]
    sm = spatial_mapping_for(layer, acc)
    rng = random.Random(5)
    full = lpf_list(temporal_loop_sizes(layer, sm), None)
    _, v1 = _compare(layer, acc, [rng.sample(full, len(full)) for _ in range(40)])
    merged = lpf_list(temporal_loop_sizes(layer, sm), 6)
    _, v2 = _compare(layer, acc, [list(o) for o in multiset_permutations(merged)], 6)
    assert v1 > 0 and v2 > 0
