"""The user's loop end to end: a copied hardware file of a new name, a sweep outside inputs/sweeps/, the
whole pipeline in one call, every table read back with plain pandas, an edit and a rerun, the figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acco import exitcodes
from acco.cli import main
from acco.pipeline import open_study, run_study

ROOT = Path(__file__).resolve().parent.parent
WL_NAME = "stftCNN_fixed_unrolling_oxoy_025_1x"
CUT_COLUMNS = ("cuts", "cut_set")
#: columns of real numbers that may happen to hold whole values (everything else whole is an integer column)
REAL_COLUMNS = {"clock_MHz", "hop_ms", "deadline_cc", "ratio", "paper_ratio", "latency_miss_x", "max_frame_rate_Hz", "startup_delay_ms"}
CUT_RE = re.compile(r"^\[(\d+(,\d+)*)?\]$")

SWEEP = f"""# a user's sweep, outside inputs/sweeps/
hardware: [Meta_halfA_DF]
workloads: [{WL_NAME}]
tile_x: [4, 16]
tile_y: [1, 4]
caching: [[true, true]]
cut_max: 2
targets: [energy]
step3: {{clock_mhz: 18, hop_ms: 10}}
"""


def check_round_trip(path: Path) -> pd.DataFrame:
    """Read one CSV with plain `pandas.read_csv` and check it against its own text: nothing merged or
    changed, cut sets are text, integer columns stay integers (empty where open)."""
    df = pd.read_csv(path)
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(df.columns) == list(text.columns) and len(df) == len(text), path
    for c in df.columns:
        t, v = text[c], df[c]
        empty = (t == "").to_numpy()
        assert (v.isna().to_numpy() == empty).all(), f"{path.name}:{c}: NaN where the text is not empty"
        assert t[~empty].nunique() == v[~empty].nunique(), f"{path.name}:{c}: distinct values merged on reading"
        if c in CUT_COLUMNS:
            assert pd.api.types.is_string_dtype(v) and t.map(CUT_RE.match).all(), f"{path.name}:{c}: cut sets not as [a,b] text"
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            nums = v[~empty].to_numpy(dtype=float)
            assert np.array_equal(nums, t[~empty].astype(float).to_numpy()), f"{path.name}:{c}: values changed"
            if len(nums) and np.all(nums == np.round(nums)) and c not in REAL_COLUMNS and not c.endswith("_MiB"):
                assert not t[~empty].str.contains(r"[.eE]").any(), f"{path.name}:{c}: integers written as floats"
        elif pd.api.types.is_string_dtype(v):
            assert (v[~empty].astype(str) == t[~empty]).all(), f"{path.name}:{c}: text changed on reading"
    return df


def _project(tmp: Path) -> tuple[Path, Path]:
    """A user project: Meta_prototype_DF copied as Meta_halfA_DF with half the activation buffer, naming
    its workload family; the sweep in a folder of its own."""
    (tmp / "inputs/hardware").mkdir(parents=True)
    shutil.copytree(ROOT / "inputs/workloads/Meta_prototype", tmp / "inputs/workloads/Meta_prototype")
    hw = tmp / "inputs/hardware/Meta_halfA_DF.yaml"
    text = (ROOT / "inputs/hardware/Meta_prototype_DF.yaml").read_text()
    buf = text.index("name: sram_1MB_A")
    text = text[:buf] + text[buf:].replace("size: 8388608", "size: 4194304", 1)  # the activation buffer halved
    hw.write_text(text + "workload_family: Meta_prototype\n")
    sweep = tmp / "studies/half/sweep.yaml"
    sweep.parent.mkdir(parents=True)
    sweep.write_text(SWEEP)
    return hw, sweep


def test_the_user_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    hw, sweep = _project(tmp_path)
    out = tmp_path / "out"
    monkeypatch.chdir(ROOT)
    study = run_study(sweep, out, jobs=1)
    assert study.exit_code == exitcodes.OK
    said = capfd.readouterr().out
    # the constant threshold is said out loud, beside the hardware's own (halved) buffer and how to use it
    assert "on-chip threshold: 1 MiB, from the default" in said
    assert "Meta_halfA_DF 0.5 MiB" in said and "--threshold hardware" in said

    # every table of the run reads back as written
    tables = sorted(out.glob("step[23]/*.csv"))
    assert {p.name for p in tables} >= {"ranges.csv", "strategies.csv", "strategy_ranges.csv", "best.csv", "pareto.csv",
                                        "baselines.csv", "baseline_ratios.csv", "realtime.csv"}
    for p in tables:
        check_round_trip(p)
    best = study.step3["best"]
    assert len(best) and best["cut_set"].map(CUT_RE.match).all()
    assert len(study.figures) >= 4 and all(f.stat().st_size > 0 for f in study.figures)
    assert study.step3["baseline_ratios"]["paper_ratio"].notna().any()  # a paper workload: the claims beside

    # the same run opened again, without running anything
    again = open_study(out)
    pd.testing.assert_frame_equal(again.step3["best"], best)

    # edit an energy value (DRAM read cost x2) and rerun: the tables follow the edit
    text = hw.read_text()
    dram = text.index("name: dram")
    r_cost = re.compile(r"r_cost: ([0-9.]+)").search(text, dram)
    assert r_cost is not None
    hw.write_text(text[:r_cost.start(1)] + str(2 * float(r_cost.group(1))) + text[r_cost.end(1):])
    # Steps 2 and 3 alone after the edit: refused (exit 2) with what changed and what to run, outputs untouched
    before = {p: p.read_bytes() for p in tables}
    capfd.readouterr()
    for script in ("explore_pickle_compile_readings.py", "explore_pickle_hierarchy_cache_allocation.py"):
        r = subprocess.run([sys.executable, script, "--sweep", str(sweep), "--out", str(out), "--quiet"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == exitcodes.BAD_INPUT, (script, r.returncode, r.stderr)
        assert "inputs/hardware/Meta_halfA_DF.yaml edited" in r.stderr, r.stderr
        assert "DfStackCutAndXform_mp_misc.py" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert {p: p.read_bytes() for p in tables} == before
    after = run_study(sweep, out, jobs=1)
    assert after.exit_code == exitcodes.OK
    e0 = best.set_index(["view", "metric"])["energy_pJ"]
    e1 = after.step3["best"].set_index(["view", "metric"])["energy_pJ"]
    assert (e1.loc[e0.index] > e0).all()


def test_threshold_from_the_hardware_is_said_per_hardware() -> None:
    from acco.dse.sweep import load_sweep
    from acco.reports.threshold import threshold_note, threshold_origin

    sweep = load_sweep(ROOT / "inputs/sweeps/default.yaml")
    note = threshold_note({"Meta_prototype_DF": 1.0}, threshold_origin(None, True, sweep), sweep)
    assert note == "on-chip threshold: each hardware's activation buffer (Meta_prototype_DF 1 MiB), from --threshold hardware"
    assert "inputs/sweeps/default.yaml step3.threshold_mib; the hardware's own activation buffer (Meta_prototype_DF 1 MiB)" in threshold_note(1.0, threshold_origin(None, False, sweep), sweep)


def test_acco_run_stops_on_bad_input(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "inputs/sweeps/bad.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("hardware: [Nope_DF]\nworkloads: [x]\ntile_x: [1]\ntile_y: [1]\n")
    code = main(["run", "--sweep", str(bad), "--out", str(tmp_path / "o"), "--jobs", "1", "--quiet"])
    captured = capfd.readouterr()
    assert code == exitcodes.BAD_INPUT
    assert "stopped: Step 1 exited with code 2" in captured.err and "Step 2" not in captured.out
    assert not (tmp_path / "o/step2").exists()


def test_acco_run_rejects_bad_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--jobs", "0"]) == exitcodes.BAD_INPUT
    assert "--jobs" in capsys.readouterr().err


@pytest.mark.parametrize("codes,want,ran", [
    ((0, 0, 0), exitcodes.OK, 3),
    ((1, 1, 0), exitcodes.SCENARIOS_FAILED, 3),  # failed scenarios: the later steps still run
    ((3, 0, 0), exitcodes.ENVIRONMENT, 1),
    ((0, 2, 0), exitcodes.BAD_INPUT, 2),
    ((0, 0, 130), exitcodes.INTERRUPTED, 3),
    ((143, 0, 0), exitcodes.TERMINATED, 1),
])
def test_driver_exit_code_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                                 codes: tuple, want: int, ran: int) -> None:
    """Each step's code: 0 and 1 go on (1 says what the later steps lack), anything else stops the run."""
    import acco.pipeline as pipeline

    log = tmp_path / "ran.txt"
    for (_, script), code in zip(pipeline.STEPS, codes):
        (tmp_path / script).write_text(f"import sys\nopen({str(log)!r}, 'a').write('x')\nsys.exit({code})\n")
    monkeypatch.setattr(pipeline, "script_path", lambda name: tmp_path / name)
    assert pipeline.run_pipeline("s.yaml", str(tmp_path / "o"), jobs=1) == want
    assert log.read_text() == "x" * ran
    err = capfd.readouterr().err
    if codes[0] == 1:
        assert "Steps 2 and 3 go on without them" in err
    if want not in (exitcodes.OK, exitcodes.SCENARIOS_FAILED):
        assert f"exited with code {want}" in err and "later steps not run" in err


def test_jobs_reach_every_step() -> None:
    from acco.pipeline import step_arguments

    for args in step_arguments("s.yaml", "o", 1, step1=["--force"], step3=["--no-plots"]):
        assert args[args.index("--jobs") + 1] == "1" and args[:4] == ["--sweep", "s.yaml", "--out", "o"]


def test_step2_refuses_bad_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from acco.dse.cli import step2_main

    assert step2_main(["--sweep", str(ROOT / "inputs/sweeps/default.yaml"), "--out", str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs: expected a positive number" in capsys.readouterr().err


def test_run_sh_is_the_acco_run_command() -> None:
    import subprocess

    p = subprocess.run([str(ROOT / "run.sh"), "--help"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "--jobs N" in p.stdout and "--sweep FILE" in p.stdout


def test_example_runs(tmp_path: Path) -> None:
    """examples/run_study.py, as the README shows it."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, str(ROOT / "examples/run_study.py"), "--out", str(tmp_path / "ex")],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "cut_set" in p.stdout and "range rows" in p.stdout and (tmp_path / "ex/step3/best.csv").is_file()


def test_acco_run_splits_the_options_between_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    import acco.pipeline as pipeline

    seen = {}
    monkeypatch.setattr(pipeline, "run_pipeline", lambda *a: seen.setdefault("args", a) and 0)
    main(["run", "--sweep", "s.yaml", "--out", "o", "--jobs", "2", "--force", "--executor", "dask", "--scheduler", "h:1",
          "--threshold", "hardware", "--no-plots", "--no-baselines"])
    sweep, out, jobs, quiet, step1, step3 = seen["args"]
    assert (sweep, out, jobs, quiet) == ("s.yaml", "o", 2, False)
    assert step1 == ["--force", "--no-baselines", "--executor", "dask", "--scheduler", "h:1"]
    assert step3 == ["--no-baselines", "--no-plots", "--threshold", "hardware"]
