"""The compiled cost kernel equals the numpy batch evaluator, ordering by ordering, bit for bit.

Same cases as tests/test_batch_eval.py (which ties the numpy evaluator to the scalar model): every
hardware family, fractional spatial unrollings (mobilenetv1 59/15), memories shrunk until most
orderings do not fit. Tolerance 0: validity, energy, both latencies and the allocation cuts of
every fitting ordering must be identical. The compiled LOMA scan must pick the same ordering, with
the same visit and fit counts, as the numpy batches in the reference enumeration order.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from acco.cost import kernel
from acco.cost.batch import BatchEvaluator
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.search import lpf_list, temporal_loop_sizes
from acco.search.loma import _code_batches, best_of_orderings
from conftest import INPUTS
from test_batch_eval import CASES, _shrunk

def _same(a, b) -> None:
    """Equal validity everywhere; equal costs and cuts wherever the ordering fits."""
    assert np.array_equal(a.valid, b.valid)
    v = a.valid
    assert np.array_equal(a.energy[v], b.energy[v])
    assert np.array_equal(a.latency[v], b.latency[v])
    assert np.array_equal(a.latency0[v], b.latency0[v])
    for op in a.cuts:
        assert np.array_equal(a.cuts[op][v], b.cuts[op][v]), op


def _layers(work):
    return [ly for ly in work.layers if len(set(ly.memory_operand_links.values())) == len(ly.memory_operand_links)]


def _compare_on_random(layer, acc, rng, k: int) -> tuple[int, int]:
    """Kernel = numpy on k random orderings of the layer's LPFs; returns (fitting, not fitting)."""
    sm = spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), None)
    ev = BatchEvaluator(layer, acc, sm, lpfs)
    codes = ev.encode([rng.sample(lpfs, len(lpfs)) for _ in range(k)])
    a = ev.evaluate(codes)
    _same(a, kernel.CompiledEvaluator(ev).evaluate(codes))
    return int(a.valid.sum()), int((~a.valid).sum())


@pytest.mark.parametrize("hw,folder,wl", CASES)
def test_kernel_equals_numpy_on_random_orderings(hw, folder, wl):
    acc = load_hardware(INPUTS / "hardware" / f"{hw}.yaml")
    work = load_workload(INPUTS / "workloads" / folder / f"{wl}.yaml")
    rng = random.Random(11)
    n_valid = sum(_compare_on_random(layer, acc, rng, 40)[0] for layer in _layers(work))
    assert n_valid > 0


def test_kernel_equals_numpy_when_orderings_do_not_fit(meta):
    work = load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")
    rng = random.Random(5)
    seen = np.zeros(2, int)
    for factor in (1, 16, 256):
        acc = _shrunk(meta, factor)
        for layer in work.layers:
            seen += _compare_on_random(layer, acc, rng, 30)
    assert seen.min() > 100  # both fitting and non-fitting orderings exercised


def _scan_matches_numpy(layer, acc, objective) -> tuple[int, int]:
    """The compiled scan picks the numpy batches' ordering and cuts with the same visit and fit counts
    (LOMA lpf 6); returns (orderings that fit, orderings that do not)."""
    sm = spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), 6)
    ev = BatchEvaluator(layer, acc, sm, lpfs)
    ref = best_of_orderings(ev, _code_batches(ev, lpfs), objective)
    got = kernel.CompiledEvaluator(ev).scan([ev.code_of[x] for x in lpfs], objective, chunk=100)
    assert got[2:] == ref[2:]  # orderings visited, orderings that fit
    if ref[0] is None:
        assert got[0] is None
    else:
        assert np.array_equal(got[0], ref[0])
        for op in ref[1]:
            assert np.array_equal(got[1][op], ref[1][op])
    return ref[3], ref[2] - ref[3]


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
@pytest.mark.parametrize("hw,folder,wl", [CASES[0], CASES[1], CASES[3], CASES[5]])
def test_scan_picks_what_numpy_batches_pick(hw, folder, wl, objective):
    acc = load_hardware(INPUTS / "hardware" / f"{hw}.yaml")
    work = load_workload(INPUTS / "workloads" / folder / f"{wl}.yaml")
    for layer in _layers(work)[:4]:
        _scan_matches_numpy(layer, acc, objective)


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_scan_picks_what_numpy_picks_when_most_orderings_do_not_fit(meta, objective):
    """The scan skips the costs of orderings that do not fit (and, for energy, the latency of orderings
    that cannot win): counts and choice must still be the numpy batches'."""
    work = load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")
    seen = np.zeros(2, int)
    for factor in (128, 256):  # buffers (>= 1 kib) shrunk: some layers have some orderings that fit
        acc = replace(meta, levels=tuple(
            replace(lv, instance=replace(lv.instance, size=lv.instance.size // factor))
            if lv.instance.size >= 1024 and i < len(meta.levels) - 1 else lv for i, lv in enumerate(meta.levels)))
        for layer in _layers(work)[:4]:
            seen += _scan_matches_numpy(layer, acc, objective)
    assert seen.min() > 100  # both fitting and non-fitting orderings scanned


def test_numpy_switch(monkeypatch):
    monkeypatch.setenv("ACCO_EVALUATOR", "numpy")
    assert not kernel.available()
    monkeypatch.setenv("ACCO_EVALUATOR", "")
    assert kernel.available()


def _with_shared_buffer(tmp_path, size: int):
    """Meta_prototype_DF with one more buffer, shared by all three operands, between the 1 MB SRAMs
    and DRAM: the allocator then chooses cut positions for three operands at once (no input file has
    such a level; the two-operand case has a faster path in the kernel)."""
    import yaml

    from acco.io import load_hardware

    doc = yaml.safe_load((INPUTS / "hardware" / "Meta_prototype_DF.yaml").read_text())
    dram = doc["memories"][-1]
    shared = dict(dram, name="sram_shared", size=size, r_cost=300.0, w_cost=310.0, r_bw=512, w_bw=512,
                  ports={"r_port_1": "read", "w_port_1": "write"},
                  port_allocation={"I1": {"tl": "r_port_1", "fh": "w_port_1", "fl": "w_port_1"},
                                   "I2": {"tl": "r_port_1", "fh": "w_port_1"},
                                   "O": {"tl": "r_port_1", "fh": "w_port_1", "fl": "w_port_1", "th": "r_port_1"}})
    doc["memories"].insert(len(doc["memories"]) - 1, shared)
    path = tmp_path / f"shared_{size}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_hardware(path)


def test_kernel_equals_numpy_with_three_operands_sharing_a_buffer(tmp_path):
    work = load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")
    rng = random.Random(3)
    seen = np.zeros(2, int)
    for size in (2**24, 2**20, 2**17):
        acc = _with_shared_buffer(tmp_path, size)
        for layer in _layers(work):
            seen += _compare_on_random(layer, acc, rng, 30)
            for objective in ("energy", "latency"):
                _scan_matches_numpy(layer, acc, objective)
    assert seen.min() > 20  # fitting and non-fitting orderings exercised


def _union(acts, total):
    """kernel._muw_union over (allowed, period, active) triples."""
    k = len(acts)
    A = np.array([a for a, _, _ in acts], float)
    PD = np.array([p for _, p, _ in acts], float)
    ACT = np.array([x for _, _, x in acts], np.bool_)
    w = [np.zeros(k, np.int64) for _ in range(5)]
    with kernel._indices_as_given():
        return kernel._muw_union(A, PD, ACT, np.arange(k), k, total, *w)


def test_port_union_ignores_inactive_activities():
    """The kernel unions only the active transfers of a port: inactive ones (count 0; the numpy
    evaluator passes them with window 0 and period 1) must not change the union. Random ports with
    nested periods (products of loop prefixes, so each divides the next) and 0-5 inactive entries."""
    rng = random.Random(7)
    for _ in range(3000):
        sizes = [rng.choice([2, 3, 4, 5, 7]) for _ in range(rng.randint(1, 7))]
        total = int(np.prod(sizes))
        prefix = [int(np.prod(sizes[:i])) for i in range(len(sizes) + 1)]
        active = []
        for _ in range(rng.randint(2, 6)):
            p = rng.choice(prefix)
            active.append((rng.randint(0, p), p, True))
        inactive = [(rng.randint(0, 9), rng.choice(prefix), False) for _ in range(rng.randint(0, 5))]
        mixed = active + inactive
        rng.shuffle(mixed)
        assert _union(mixed, total) == _union([x for x in mixed if x[2]], total)


@pytest.mark.parametrize("hw,folder,wl", [CASES[0], CASES[1], CASES[3], CASES[6]])
def test_kernel_equals_numpy_on_consecutive_orderings(hw, folder, wl):
    """Consecutive orderings of the reference enumeration differ in their first few positions only:
    the kernel then updates its per-position tables from the first differing position on. Every
    ordering's costs and cuts must still equal the numpy evaluator's (which recomputes everything)."""
    from itertools import islice

    from acco.search import multiset_permutations

    acc = load_hardware(INPUTS / "hardware" / f"{hw}.yaml")
    work = load_workload(INPUTS / "workloads" / folder / f"{wl}.yaml")
    n_valid = 0
    for layer in _layers(work)[:6]:
        sm = spatial_mapping_for(layer, acc)
        lpfs = lpf_list(temporal_loop_sizes(layer, sm), 6)
        ev = BatchEvaluator(layer, acc, sm, lpfs)
        codes = np.array(list(islice(multiset_permutations([ev.code_of[x] for x in lpfs]), 400)), np.int64)
        ce = kernel.CompiledEvaluator(ev)
        for part in (codes, codes[::-1], codes[7:300:3]):  # also backwards and with gaps
            _same(ev.evaluate(part), ce.evaluate(part))
        n_valid += int(ev.evaluate(codes).valid.sum())
    assert n_valid > 0


@pytest.mark.parametrize("only", ["energy", "latency"])
def test_kernel_single_metric_modes(meta, only):
    """`evaluate(codes, only=...)` gives the full evaluation's validity, cuts and requested metric,
    and NaN for the other one."""
    work = load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")
    rng = random.Random(2)
    for factor in (1, 256):
        acc = _shrunk(meta, factor)
        for layer in work.layers[:4]:
            sm = spatial_mapping_for(layer, acc)
            lpfs = lpf_list(temporal_loop_sizes(layer, sm), None)
            ce = kernel.CompiledEvaluator(BatchEvaluator(layer, acc, sm, lpfs))
            codes = ce.encode([rng.sample(lpfs, len(lpfs)) for _ in range(30)])
            full, part = ce.evaluate(codes), ce.evaluate(codes, only)
            v = full.valid
            assert np.array_equal(full.valid, part.valid)
            for op in full.cuts:
                assert np.array_equal(full.cuts[op][v], part.cuts[op][v])
            if only == "energy":
                assert np.array_equal(full.energy[v], part.energy[v]) and np.isnan(part.latency[v]).all()
            else:
                assert np.array_equal(full.latency[v], part.latency[v])
                assert np.array_equal(full.latency0[v], part.latency0[v]) and np.isnan(part.energy[v]).all()


def test_indices_as_given_swaps_numbas_index_fixup_only_while_active():
    """The kernel's compile option (`_indices_as_given`) reaches numba with the pinned version and is undone."""
    import numba.np.arrayobj as ao

    before = ao.fix_integer_index
    with kernel._indices_as_given():
        assert ao.fix_integer_index is not before
    assert ao.fix_integer_index is before


def test_kernel_indexes_within_bounds(tmp_path):
    """The kernel is compiled without numba's negative-index fix-up, so every index it uses must lie inside its
    array. This file's comparisons (every hardware family, fractional unrollings, orderings that do not fit,
    scans, single-metric modes) are run again with the kernel compiled with numba's bounds checking, which
    raises IndexError on an index below 0 or past the end (a fresh numba cache keeps that build apart)."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    env.pop("ACCO_EVALUATOR", None)
    here = Path(__file__)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(here), "-k", "not within_bounds"],
        cwd=here.parents[1], env=env, capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
