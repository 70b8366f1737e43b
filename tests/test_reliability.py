"""Issue 8 items 2, 5, 6, 7: interrupted runs, determinism, no silent overflow, concurrent runs.

A tiny sweep (Meta_prototype_DF, stftCNN-1x, tiles 4x4 and 16x4, fully cached and recompute: four
scenarios, ~2 s) is run once as the reference; every other way of running it must give Step-2 CSV
files byte-identical to the reference's. (Items 3 and 4 and a single SIGKILL are in
tests/test_pipeline_steps12.py.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from acco.dse.runner import run_sweep
from acco.dse.scenarios import expand
from acco.dse.store import BASELINE_DIR, load_baselines, load_result, result_files, result_path
from acco.dse.sweep import load_sweep
from acco.io.errors import InputError
from acco.io.hardware import accelerator_from_yaml
from acco.io.workload import workload_from_yaml
from acco.io.yamlfile import Field
from acco.dse.cli import step2_main

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
STEP1 = ROOT / "DfStackCutAndXform_mp_misc.py"
STEP3 = ROOT / "explore_pickle_hierarchy_cache_allocation.py"
N_SCENARIOS = 4


def _write_sweep(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "sweep.yaml"
    p.write_text(
        f"name: rel\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: [4, 16]\ntile_y: [4]\n"
        "caching: [[true, true], [false, false]]\ncut_max: 0\ntargets: [energy]\n"
        "mapper: {engine: loma, lpf_limit: 6}\nseed: 0\n"
    )
    return p


def _tables(sweep_file: Path, out: Path) -> dict[str, bytes]:
    """Steps 2 and 3 on `out`; the bytes of every CSV they write."""
    assert step2_main(["--sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    files = {f"step2/{p.name}": p.read_bytes() for p in sorted((out / "step2").glob("*.csv"))}
    r = subprocess.run([sys.executable, str(STEP3), "--sweep", str(sweep_file), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    step3 = {f"step3/{p.relative_to(out / 'step3')}": p.read_bytes() for p in sorted((out / "step3").rglob("*.csv"))}
    assert step3, "Step 3 wrote no CSV"
    files.update(step3)
    return files


def _every_result_loads(sweep_file: Path, out: Path) -> int:
    """Load every result file under out/step1 through the restricted unpickler; return how many.

    The baseline files (step1/_baselines/) must load too, but are not counted."""
    step1 = out / "step1"
    for p in sorted((step1 / BASELINE_DIR).glob("*.pkl")):
        assert load_baselines(p) is not None, f"{p}: not a whole baseline file"
    paths = result_files(step1)
    for p in paths:
        load_result(p)  # raises on a partial or corrupt file
    expected = {result_path(step1, sc) for sc in expand(load_sweep(sweep_file))}
    assert set(paths) <= expected, "a result file that no scenario of the sweep names"
    return len(paths)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """One uninterrupted in-process run (jobs 1): the sweep file and its table bytes."""
    d = tmp_path_factory.mktemp("reference")
    sw = _write_sweep(d)
    s = run_sweep(load_sweep(sw), d / "out", jobs=1, progress=False)
    assert (s.done, s.failed) == (N_SCENARIOS, [])
    t = _tables(sw, d / "out")
    assert {"step2/ranges.csv", "step2/layers.csv"} <= set(t)
    return sw, t


def _step1_process(sweep_file: Path, out: Path, jobs: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(STEP1), "--sweep", str(sweep_file), "--out", str(out), "--jobs", str(jobs), "--quiet", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


# ---------------------------------------------------------------------------------------------
# item 5: determinism


def test_same_inputs_and_seed_give_byte_identical_tables(reference, tmp_path: Path) -> None:
    sw, ref = reference
    run_sweep(load_sweep(sw), tmp_path / "again", jobs=1, progress=False)
    assert _tables(sw, tmp_path / "again") == ref


def test_tables_do_not_depend_on_jobs(reference, tmp_path: Path) -> None:
    sw, ref = reference
    s = run_sweep(load_sweep(sw), tmp_path / "jobs2", jobs=2, progress=False)  # fresh worker processes
    assert (s.done, s.failed) == (N_SCENARIOS, [])
    assert _tables(sw, tmp_path / "jobs2") == ref


# ---------------------------------------------------------------------------------------------
# item 7: two Step-1 processes on one output folder


def test_two_concurrent_step1_runs_on_one_folder(reference, tmp_path: Path) -> None:
    sw, ref = reference
    out = tmp_path / "shared"
    procs = [_step1_process(sw, out, 1, "--force"), _step1_process(sw, out, 1, "--force")]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (o, e) in zip(procs, results):
        assert p.returncode == 0, e
        assert f"{N_SCENARIOS} computed" in o  # --force: both really wrote every result
    assert _every_result_loads(sw, out) == N_SCENARIOS
    assert not list(out.rglob("*.tmp")), "temporary files left behind"
    assert _tables(sw, out) == ref


# ---------------------------------------------------------------------------------------------
# item 2, more than one kill: SIGKILL at random points, rerun, same tables


@pytest.mark.slow
def test_repeated_sigkill_at_random_points_then_rerun(reference, tmp_path: Path) -> None:
    sw, ref = reference
    out = tmp_path / "killed"
    rng = random.Random(8)
    kills = 0
    for i in range(4):
        # --force after the first round, so that every round has work to be killed in the middle of
        p = _step1_process(sw, out, 2, *(["--force"] if i else []))
        time.sleep(rng.uniform(0.2, 2.5))
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            kills += 1
        p.communicate()
        _every_result_loads(sw, out)  # whatever is there is whole
    assert kills >= 2  # 4 on this machine; a very fast one may finish a round before its kill
    r = subprocess.run([sys.executable, str(STEP1), "--sweep", str(sw), "--out", str(out), "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert _every_result_loads(sw, out) == N_SCENARIOS
    assert _tables(sw, out) == ref


# ---------------------------------------------------------------------------------------------
# item 6: no silent overflow


def _tiny_hw(dram_bits: int):
    d = yaml.safe_load((ROOT / "tests/data/tiny_hw.yaml").read_text())
    d["memories"][-1]["size"] = dram_bits
    return accelerator_from_yaml(Field.root("big_hw.yaml", d))


def _conv_doc(batch: int) -> dict:
    return {"name": "big", "layers": [
        {"id": -1, "type": "input", "loop_sizes": {"B": batch, "K": 8, "OY": 18, "OX": 18}, "precision": 8,
         "memory_operand_links": {"O": "I1"}},
        {"id": 0, "type": "conv", "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy]",
         "dimension_relations": ["ix=1*ox+1*fx", "iy=1*oy+1*fy"],
         "loop_sizes": {"B": batch, "K": 8, "C": 8, "OY": 16, "OX": 16, "FY": 3, "FX": 3},
         "operand_precision": {"O": 16, "O_final": 8, "W": 8, "I": 8}, "operand_source": {"I": -1},
         "constant_operands": ["W"], "operand_source_dimension_mapping": {"I": {"IX": "OX", "IY": "OY", "C": "K"}},
         "spatial_mapping": {"D1": ["K", 2], "D2": ["C", 2]}, "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}},
    ]}


def test_a_layer_past_exact_counting_is_refused_with_a_located_error() -> None:
    # layer 0 with B = 2**40: 2**40 x 147,456 MACs (~2**57) x 16 bits, MAC and bit counts past 2**63
    doc = _conv_doc(2**40)
    doc["layers"][0]["loop_sizes"]["B"] = 1  # a small network input, so the layer itself is refused
    with pytest.raises(InputError) as e:
        workload_from_yaml(Field.root("big_wl.yaml", doc))
    assert e.value.file == "big_wl.yaml" and e.value.field == "layers[id=0].loop_sizes"
    assert "2**53" in e.value.expected and "(~2**57) MACs x 16 bits" in str(e.value.got)
    # the network input alone past 2**53 bits
    with pytest.raises(InputError) as e:
        workload_from_yaml(Field.root("big_wl.yaml", _conv_doc(2**40)))
    assert e.value.field == "layers[id=-1].loop_sizes" and "2**53 bits" in e.value.expected


def test_counts_of_a_huge_layer_equal_python_integer_arithmetic() -> None:
    """B = 2**29 (7.9e13 MACs, 2**52 MAC x bits): every count is the B = 1 count times 2**29, exactly.

    The big layer is costed under the small layer's best mapping with B as the outermost loop, so
    each access count must scale by exactly 2**29 (Python integers); the vectorised search (int64 and
    float64 arrays) must agree with the scalar model (Python integers) on the mapping it picks.
    """
    from acco.cost import evaluate
    from acco.frozendict import FrozenDict
    from acco.mapping.temporal import TemporalMapping
    from acco.search import LomaConfig
    from acco.cost.batch import BatchEvaluator
    from acco.cost.model import MappingDoesNotFit
    from acco.mapping.spatial import spatial_mapping_for
    from acco.search import DoesNotFit, allocate
    from acco.search.loma import loma, loma_scalar, lpf_list, multiset_permutations, temporal_loop_sizes

    B = 2**29
    acc = _tiny_hw(2**52)
    small = workload_from_yaml(Field.root("wl", _conv_doc(1))).layer(0)
    big = workload_from_yaml(Field.root("wl", _conv_doc(B))).layer(0)
    assert big.total_macs == 147_456 * B > 2**46
    s = loma(small, acc, LomaConfig(6, "energy")).cost
    tm = s.temporal_mapping
    big_tm = TemporalMapping(FrozenDict({op: lv[:-1] + (lv[-1] + (("B", B),),) for op, lv in tm.levels.items()}))
    c = evaluate(big, acc, big_tm)
    assert c.ideal_temporal_cycle == s.ideal_temporal_cycle * B
    assert c.ideal_cycle == -(-big.total_macs // acc.array.total_units)
    n = 0
    for op in s.accesses:
        for a_small, a_big in zip(s.accesses[op], c.accesses[op]):
            for d in ("tl", "fh", "fl", "th"):
                x, y = getattr(a_small, d), getattr(a_big, d)
                assert float(x).is_integer() and float(y).is_integer()
                assert int(y) == int(x) * B, (op, d, x, y)
                n += int(x) > 0
    assert n >= 8
    # the vectorised search on the big layer (int64/float64 arrays; its reported cost is the scalar
    # model's on its winner) picks the winner of the scalar search over every ordering (Python integers)
    r = loma(big, acc, LomaConfig(6, "energy"))
    ref = loma_scalar(big, acc, LomaConfig(6, "energy"))
    assert r.cost.temporal_mapping == ref.cost.temporal_mapping
    assert (r.cost.energy_total, r.cost.latency_total2) == (ref.cost.energy_total, ref.cost.latency_total2)
    assert (r.orderings, r.valid) == (ref.orderings, ref.valid)
    assert r.cost.energy_total <= c.energy_total
    # and the batch evaluator's own numbers (which the search ranks by) equal the scalar model's on
    # every ordering: 2**52-scale counts in float64 are exact only below 2**53
    sm = spatial_mapping_for(big, acc)
    lpfs = lpf_list(temporal_loop_sizes(big, sm), 6)
    ev = BatchEvaluator(big, acc, sm, lpfs)
    orders = list(multiset_permutations(lpfs))
    codes = ev.encode(orders)
    b = ev.evaluate(codes)
    compared = 0
    for i, o in enumerate(orders):
        try:
            sc = evaluate(big, acc, allocate(big, acc, sm, list(o)), sm)
        except (DoesNotFit, MappingDoesNotFit):
            assert not b.valid[i]
            continue
        assert b.valid[i] and (b.energy[i], b.latency[i]) == (sc.energy_total, sc.latency_total2), o
        compared += 1
    assert compared == ref.valid > 100
