"""Pipeline Steps 1 and 2: sweep validation, scenario runs, result files, tables, interruptions.

The whole-network anchor (Meta_prototype_DF, stftCNN-1x, tile 4x4, fully cached, LOMA lpf 6) is
the original ACCO's Step-1 + Step-2 output for that configuration (docs/references.md, measured
by running the original code): energy target 42,011,407 pJ / 198,939 cc in total, warm-up row
37,795,767 / 165,096, stable row 1,405,206 / 11,281; latency target 42,637,444 / 198,074.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from acco.dse.result import SCHEMA_VERSION
from acco.dse.runner import run_sweep
from acco.dse.scenarios import expand
from acco.dse.store import ResultFileError, load_result, result_files, result_path
from acco.dse.sweep import load_sweep
from acco.io.errors import InputError
from acco.dse.cli import step2_main
from acco.reports.compile import compile_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"


def write_sweep(tmp: Path, **over: object) -> Path:
    """A sweep file in tmp with absolute input paths; `over` replaces lines (YAML flow text)."""
    fields = {
        "name": "t",
        "hardware": f"[{HW}]",
        "workloads": f"[{WL}]",
        "tile_x": "[4]",
        "tile_y": "[4]",
        "caching": "[[true, true]]",
        "cut_max": "0",
        "targets": "[energy]",
        "mapper": "{engine: loma, lpf_limit: 6}",
        "seed": "0",
    }
    fields.update({k: str(v) for k, v in over.items()})
    p = tmp / "sweep.yaml"
    p.write_text("".join(f"{k}: {v}\n" for k, v in fields.items() if v != "DROP"))
    return p


# ---------------------------------------------------------------------------------------------
# sweep validation


@pytest.mark.parametrize(
    "over, field",
    [
        ({"tile_x": "[4, -1]"}, "tile_x[1]"),
        ({"tile_y": "[]"}, "tile_y"),
        ({"caching": "[[true]]"}, "caching[0]"),
        ({"targets": "[power]"}, "targets[0]"),
        ({"cut_max": "-1"}, "cut_max"),
        ({"mapper": "{engine: gurobi}"}, "mapper.engine"),
        ({"hardware": "[/nonexistent/hw.yaml]"}, "hardware[0]"),
        ({"tile_xx": "[4]"}, "tile_xx"),
        ({"workloads": "DROP"}, "workloads"),
        ({"initial_dilation": "[0]"}, "initial_dilation[0]"),
    ],
)
def test_bad_sweep_names_the_field(tmp_path: Path, over: dict, field: str) -> None:
    p = write_sweep(tmp_path, **over)
    with pytest.raises(InputError) as e:
        load_sweep(p)
    assert e.value.file == str(p)
    assert e.value.field == field


def test_default_sweeps_load() -> None:
    for p in sorted((ROOT / "inputs/sweeps").glob("*.yaml")):
        s = load_sweep(p)
        assert expand(s), p


# ---------------------------------------------------------------------------------------------
# one scenario end to end against the original's numbers


def test_anchor_through_steps_1_and_2(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, targets="[energy, latency]"))
    s = run_sweep(sweep, tmp_path / "out", jobs=1, progress=False)
    assert (s.total, s.done, s.skipped, s.failed) == (2, 2, 0, [])
    t = compile_tables(sweep, tmp_path / "out", progress=False)
    r = t.ranges.set_index(["target", "kind"])
    assert len(r) == 6  # one range (the whole network) x 3 kinds x 2 targets
    got = {k: (int(r.loc[k, "energy_pJ"]), int(r.loc[k, "latency_cc"])) for k in r.index}
    assert got[("energy", "total")] == (42_011_407, 198_939)
    assert got[("energy", "warmup")] == (37_795_767, 165_096)
    assert got[("energy", "stable")] == (1_405_206, 11_281)
    assert got[("latency", "total")] == (42_637_444, 198_074)
    # whole network: no DRAM hand-over at either end
    assert (r[["offload_energy_pJ", "reload_energy_pJ", "offload_latency_cc", "reload_latency_cc"]] == 0).all().all()
    # the original's cache log: total peak 1,765,312 bits, weights 2,342,016 bits
    assert int(r.loc[("energy", "total"), "peak_activation_bits"]) == 1_765_312
    assert int(r.loc[("energy", "stable"), "peak_activation_bits"]) == 455_360
    assert int(r.loc[("energy", "total"), "weight_bits"]) == 2_342_016
    # the per-layer table adds up to the range total
    lay = t.layers[t.layers.target == "energy"]
    assert int(lay.energy_pJ.sum()) == 42_011_407 and int(lay.latency_cc.sum()) == 198_939

    # rerun: nothing recomputed, the file untouched
    p = result_path(tmp_path / "out/step1", expand(sweep)[0])
    m = p.stat().st_mtime_ns
    s2 = run_sweep(sweep, tmp_path / "out", jobs=1, progress=False)
    assert (s2.done, s2.skipped) == (0, 2) and p.stat().st_mtime_ns == m
    # manifest records version, sweep hash, input hashes and seed
    import json

    man = json.loads((tmp_path / f"out/step1/manifests/{sweep.name}.json").read_text())
    assert man["seed"] == 0 and man["acco_version"] and man["scenarios"]["count"] == 2
    assert sorted(Path(p).name for p in man["inputs"]) == sorted([HW.name, WL.name])
    assert all(len(h) == 64 for h in man["inputs"].values()) and len(man["sweep"]["sha256"]) == 64


def test_offload_and_reload_deltas_appear_only_at_inner_boundaries(tmp_path: Path) -> None:
    sweep = load_sweep(write_sweep(tmp_path, cut_max="1"))
    run_sweep(sweep, tmp_path / "out", jobs=1, progress=False)
    r = compile_tables(sweep, tmp_path / "out", progress=False, layers=False).ranges
    tot = r[r.kind == "total"]
    assert len(tot) == 23  # (None,None) + (None,k) and (k,None) for k = 0..10
    inner_end = tot.cut_after.notna()
    inner_start = tot.cut_before.notna()
    assert (tot[inner_end].offload_energy_pJ > 0).all() and (tot[~inner_end].offload_energy_pJ == 0).all()
    assert (tot[inner_start].reload_energy_pJ > 0).all() and (tot[~inner_start].reload_energy_pJ == 0).all()
    # bytes: the feature map crossing the cut is written by one range and read back by the next
    for k in range(11):
        off = tot[(tot.cut_before.isna()) & (tot.cut_after == k)].offload_bytes.item()
        rel = tot[(tot.cut_before == k) & (tot.cut_after.isna())].reload_bytes.item()
        assert off > 0 and rel > 0


# ---------------------------------------------------------------------------------------------
# failures, safety


def test_failing_scenario_is_recorded_and_the_rest_completes(tmp_path: Path) -> None:
    # tile_y 200 is longer than the transformed input's time axis (91 steps): that scenario raises
    sweep = load_sweep(write_sweep(tmp_path, tile_y="[4, 200]"))
    s = run_sweep(sweep, tmp_path / "out", jobs=1, progress=False)
    assert s.done == 1 and len(s.failed) == 1 and "tile_y" in s.failed[0]
    t = compile_tables(sweep, tmp_path / "out", progress=False)
    assert t.ranges.scenario_id.nunique() == 1
    assert list(t.missing.status) == ["failed"] and "tile_y" in t.missing.message.item()
    assert len(t.failures) == 1


class _Evil:
    def __reduce__(self):  # noqa: D105
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_refuses_code_and_other_versions(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ResultFileError, match="refused"):
        load_result(evil)
    sweep = load_sweep(write_sweep(tmp_path))
    run_sweep(sweep, tmp_path / "out", jobs=1, progress=False)
    p = result_path(tmp_path / "out/step1", expand(sweep)[0])
    res = load_result(p)
    from dataclasses import replace

    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps(replace(res, schema_version=SCHEMA_VERSION + 1)))
    with pytest.raises(ResultFileError, match="rerun Step 1"):
        load_result(old)
    trunc = tmp_path / "trunc.pkl"
    trunc.write_bytes(p.read_bytes()[:100])
    with pytest.raises(ResultFileError, match="checksum mismatch.*rerun Step 1"):  # a truncated file fails its checksum
        load_result(trunc)


def _step(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = write_sweep(tmp_path, tile_x="[0]")
    for script in ("DfStackCutAndXform_mp_misc.py", "explore_pickle_compile_readings.py"):
        r = _step(script, "--sweep", str(bad), "--out", str(tmp_path / "o"))
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr and "tile_x[0]" in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_sigkill_half_way_then_rerun_gives_the_same_tables(tmp_path: Path) -> None:
    sw = write_sweep(tmp_path, tile_x="[4, 16]", tile_y="[4, 16]", caching="[[true, true], [false, false]]")
    sweep = load_sweep(sw)
    # uninterrupted reference
    ref = tmp_path / "ref"
    run_sweep(sweep, ref, jobs=1, progress=False)
    assert step2_main(["--sweep", str(sw), "--out", str(ref), "--quiet"]) == 0
    # killed as soon as the first result lands, then rerun
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "DfStackCutAndXform_mp_misc.py"), "--sweep", str(sw), "--out", str(out), "--jobs", "2", "--quiet"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not result_files(out / "step1"):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done = len(result_files(out / "step1"))
    assert 1 <= n_done < 8
    r = _step("DfStackCutAndXform_mp_misc.py", "--sweep", str(sw), "--out", str(out), "--jobs", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"{n_done} already done" in r.stdout
    assert step2_main(["--sweep", str(sw), "--out", str(out), "--quiet"]) == 0
    for name in ("ranges.csv", "layers.csv"):
        assert (out / "step2" / name).read_bytes() == (ref / "step2" / name).read_bytes(), name
    assert len(pd.read_csv(out / "step2/ranges.csv")) == 8 * 3
    # and Step 3's chosen strategies
    for d in (ref, out):
        r = _step("explore_pickle_hierarchy_cache_allocation.py", "--sweep", str(sw), "--out", str(d), "--no-plots", "--no-baselines")
        assert r.returncode == 0, r.stderr
    for name in ("best.csv", "strategies.csv", "pareto.csv"):
        assert (out / "step3" / name).read_bytes() == (ref / "step3" / name).read_bytes(), name


def test_dask_executor_gives_the_same_results_as_the_process_pool(tmp_path: Path) -> None:
    from distributed import LocalCluster

    sweep = load_sweep(write_sweep(tmp_path, tile_x="[4, 16]", targets="[energy, latency]"))
    run_sweep(sweep, tmp_path / "pool", jobs=2, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        s = run_sweep(sweep, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address, progress=False)
    assert (s.done, s.failed) == (4, [])
    a = compile_tables(sweep, tmp_path / "pool", progress=False).ranges
    b = compile_tables(sweep, tmp_path / "dask", progress=False).ranges
    pd.testing.assert_frame_equal(a, b)


def test_three_steps_on_a_tiny_sweep(tmp_path: Path) -> None:
    """What a user runs: the three scripts in order; tables, strategies, baselines and plots appear."""
    sw = write_sweep(tmp_path, tile_x="[4, 16]", tile_y="[1, 4]", cut_max="1")
    out = tmp_path / "out"
    for script in ("DfStackCutAndXform_mp_misc.py", "explore_pickle_compile_readings.py", "explore_pickle_hierarchy_cache_allocation.py"):
        r = _step(script, "--sweep", str(sw), "--out", str(out), *(["--jobs", "2"] if script.startswith("Df") else []))
        assert r.returncode == 0, (script, r.stderr[-2000:])
    # Step 1 stored the baselines (one hardware x workload) and Step 3 read them instead of computing them
    assert len(list((out / "step1/_baselines").glob("*.pkl"))) == 1
    assert "baselines: computing" not in r.stderr
    best = pd.read_csv(out / "step3/best.csv")
    assert set(best.view) == {"total", "real-time"} and set(best.metric) == {"energy", "latency", "edp"}
    ranges = pd.read_csv(out / "step2/ranges.csv")
    whole = ranges[ranges.cut_before.isna() & ranges.cut_after.isna() & (ranges.kind == "total")]
    # the best strategy can only be as good as or better than the best whole-network option
    e_best = best[(best.view == "total") & (best.metric == "energy")].energy_pJ.item()
    assert e_best <= whole.energy_pJ.min()
    rt = best[(best.view == "real-time") & (best.metric == "energy")]
    assert all(":" in part and "x1/" in part for part in rt.strategy.item().split(";"))  # real time: tile_y = 1 only
    ratios = pd.read_csv(out / "step3/baseline_ratios.csv")
    assert {"layer_by_layer", "spatial_df", "fixed_causal"} <= set(ratios.baseline)
    pngs = list((out / "step3").glob("*.png"))
    assert len(pngs) >= 5 and all(p.stat().st_size > 1000 for p in pngs)

    # the stored baselines give Step 3 the same bytes as computing them in Step 3, also under another
    # on-chip threshold (applied when read: a tiny one keeps the fixed causal baseline's DRAM traffic)
    def step3_baselines(*extra: str) -> tuple[bytes, bytes, str]:
        r = _step("explore_pickle_hierarchy_cache_allocation.py", "--sweep", str(sw), "--out", str(out), "--no-plots", *extra)
        assert r.returncode == 0, r.stderr[-2000:]
        return (out / "step3/baselines.csv").read_bytes(), (out / "step3/baseline_ratios.csv").read_bytes(), r.stderr

    stored = {th: step3_baselines("--threshold-mib", th) for th in ("1", "0.0001")}
    assert stored["1"][:2] != stored["0.0001"][:2]
    (out / "step1/_baselines").rename(out / "step1/_moved")
    for th, (costs, ratios_csv, err) in stored.items():
        c, rr, err2 = step3_baselines("--threshold-mib", th)
        assert "computing" not in err and "baselines: computing 1 hardware x workload" in err2
        assert (c, rr) == (costs, ratios_csv), th


def test_streamed_layer_table_has_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Step 2 streams ranges.csv and layers.csv in chunks of scenarios, formatted without pandas: byte-identical to pandas' whole tables."""
    import acco.reports.compile as compile_mod

    sweep = load_sweep(write_sweep(tmp_path, tile_x="[4, 16]", tile_y="[1, 4]", targets="[energy, latency]"))
    run_sweep(sweep, tmp_path / "out", jobs=1, progress=False)
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "step1").symlink_to(tmp_path / "out" / "step1")
    write_tables(compile_tables(sweep, whole, progress=False), whole)
    monkeypatch.setattr(compile_mod, "LAYER_CHUNK", 3)  # 8 scenarios: chunks of 3, 3 and 2
    w = compile_mod.compile_to_disk(sweep, tmp_path / "out", progress=False)
    assert w.layer_rows == len(pd.read_csv(whole / "step2" / "layers.csv")) > 0
    assert w.range_rows == len(pd.read_csv(whole / "step2" / "ranges.csv")) > 0 and w.scenarios == 8
    for name in ("layers", "ranges", "missing", "failures"):
        assert (tmp_path / "out/step2" / f"{name}.csv").read_bytes() == (whole / "step2" / f"{name}.csv").read_bytes(), name
