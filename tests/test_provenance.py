"""Issue 21 items 1, 3 and 5, issue 22 item 1: Step 2 and 3 check what their inputs were made from,
refuse a mix or a partial input with a message that says what changed and what to run, replace their
outputs as a whole and remove the temporaries of killed runs.

A tiny sweep (Meta_prototype_DF copied into a project folder of the test, so that it can be edited,
stftCNN-1x, tiles 4x4 and 16x4, fully cached, both targets: four scenarios) runs once; every case
works on a copy of that project folder (a moved folder: the records name inputs from the project).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acco import exitcodes
from acco.dse.cli import step1_main, step2_main
from acco.dse.scenarios import expand
from acco.dse.store import result_path
from acco.dse.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
N = 4


def _step3():
    spec = importlib.util.spec_from_file_location("step3_script", ROOT / "explore_pickle_hierarchy_cache_allocation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.main


STEP3 = _step3()


def _sweep(folder: Path, name: str = "prov", tiles: str = "[4, 16]") -> Path:
    p = folder / "inputs/sweeps" / f"{name}.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        f"name: {name}\nhardware: [inputs/hardware/hw.yaml]\nworkloads: [{WL}]\ntile_x: {tiles}\ntile_y: [4]\n"
        "caching: [[true, true]]\ncut_max: 1\ntargets: [energy, latency]\nmapper: {engine: loma, lpf_limit: 6}\nseed: 0\n"
    )
    return p


def _args(sw: Path, out: Path, *extra: str) -> list[str]:
    return ["--sweep", str(sw), "--out", str(out), *extra]


def _run(main, sw: Path, out: Path, *extra: str) -> int:
    return main(_args(sw, out, "--quiet", *extra) if main is not STEP3 else _args(sw, out, "--no-plots", "--jobs", "1", *extra))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with inputs/hardware/hw.yaml, the sweep and OUT = out/ after Steps 1, 2 and 3."""
    d = tmp_path_factory.mktemp("prov")
    (d / "inputs/hardware").mkdir(parents=True)
    shutil.copy(HW, d / "inputs/hardware/hw.yaml")
    sw = _sweep(d)
    assert _run(step1_main, sw, d / "out", "--jobs", "1") == 0
    assert _run(step2_main, sw, d / "out") == 0
    assert _run(STEP3, sw, d / "out") == 0
    return d


@pytest.fixture
def copy(done: Path, tmp_path: Path) -> Path:
    d = tmp_path / "w"
    shutil.copytree(done, d)
    return d


def _redo(d: Path, sw: Path) -> None:
    """Steps 1 and 2 again, as the refusal messages advise."""
    assert _run(step1_main, sw, d / "out", "--jobs", "1") == 0
    assert _run(step2_main, sw, d / "out") == 0


def test_input_edited_after_step2_then_step3_alone_is_refused(copy: Path, capsys) -> None:
    d, sw = copy, copy / "inputs/sweeps/prov.yaml"
    before = _snapshot(d / "out/step3")
    with open(d / "inputs/hardware/hw.yaml", "a") as f:
        f.write("\n# edited\n")
    capsys.readouterr()
    assert _run(STEP3, sw, d / "out") == exitcodes.BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "inputs/hardware/hw.yaml edited" in err and "prov.yaml edited" not in err
    assert "DfStackCutAndXform_mp_misc.py" in err and "explore_pickle_compile_readings.py" in err
    assert _snapshot(d / "out/step3") == before, "Step 3's outputs touched"
    # Step 2 alone after the edit: refused too, good tables kept (not replaced by header-only ones)
    before2 = _snapshot(d / "out/step2")
    assert _run(step2_main, sw, d / "out") == exitcodes.BAD_INPUT
    err = capsys.readouterr().err
    assert "inputs/hardware/hw.yaml edited since Step 1" in err and "DfStackCutAndXform_mp_misc.py" in err
    assert _snapshot(d / "out/step2") == before2
    # the advice works
    _redo(d, sw)
    assert _run(STEP3, sw, d / "out") == 0


def test_step3_with_another_sweep_than_step2s_is_refused(copy: Path, capsys) -> None:
    d = copy
    other = _sweep(d, "other", tiles="[4]")
    before = _snapshot(d / "out/step3")
    capsys.readouterr()
    assert _run(STEP3, other, d / "out") == exitcodes.BAD_INPUT
    err = capsys.readouterr().err
    assert "made from sweep 'prov'" in err and "'other'" in err and "--sweep" in err
    assert _snapshot(d / "out/step3") == before


def test_partial_step2_is_refused_unless_allowed_and_then_said(copy: Path, capsys) -> None:
    d, sw = copy, copy / "inputs/sweeps/prov.yaml"
    lat = [sc for sc in expand(load_sweep(sw)) if sc.target == "latency"]
    for sc in lat:  # one target's results missing
        result_path(d / "out/step1", sc).unlink()
    assert _run(step2_main, sw, d / "out") == exitcodes.SCENARIOS_FAILED
    capsys.readouterr()
    before = _snapshot(d / "out/step3")
    assert _run(STEP3, sw, d / "out") == exitcodes.BAD_INPUT
    err = capsys.readouterr().err
    assert f"partial: {len(lat)} of {N} scenarios" in err and "--allow-partial" in err
    assert _snapshot(d / "out/step3") == before
    assert _run(STEP3, sw, d / "out", "--allow-partial") == 0
    assert "partial input" in capsys.readouterr().err
    rec = json.loads((d / "out/step3/provenance.json").read_text())
    assert rec["partial"] is True and rec["results"]["missing"] == len(lat)


def test_tables_without_a_provenance_record_are_refused(copy: Path, capsys) -> None:
    d, sw = copy, copy / "inputs/sweeps/prov.yaml"
    (d / "out/step2/provenance.json").unlink()
    capsys.readouterr()
    assert _run(STEP3, sw, d / "out") == exitcodes.BAD_INPUT
    assert "no provenance record" in capsys.readouterr().err


def test_sweep_edit_that_keeps_the_scenarios_is_accepted(copy: Path) -> None:
    d, sw = copy, copy / "inputs/sweeps/prov.yaml"
    sw.write_text(sw.read_text() + "step3: {threshold_mib: 0.5}\n")
    assert _run(STEP3, sw, d / "out") == 0


def test_outputs_are_replaced_as_a_whole(copy: Path) -> None:
    d, sw = copy, copy / "inputs/sweeps/prov.yaml"
    (d / "out/step3/realtime_old.csv").write_text("stale\n")
    (d / "out/step3/energy_breakdown_old.png").write_bytes(b"stale")
    assert (d / "out/step2/layers.csv").exists()
    assert _run(step2_main, sw, d / "out", "--no-layers") == 0
    assert not (d / "out/step2/layers.csv").exists(), "an old layers.csv kept beside a new ranges.csv"
    assert _run(STEP3, sw, d / "out") == 0
    assert not list((d / "out/step3").glob("*_old.*")), "Step 3 kept files it no longer writes"
    assert not [p for p in (d / "out").iterdir() if p.name.startswith(".step")]
    # Step 1 keeps one manifest per sweep (not one describing the last sweep run)
    other = _sweep(d, "other", tiles="[4]")
    assert _run(step1_main, other, d / "out", "--jobs", "1") == 0
    names = {p.name for p in (d / "out/step1/manifests").iterdir()}
    assert names == {"prov.json", "other.json"} and not (d / "out/step1/manifest.json").exists()


def test_temporaries_of_killed_runs_are_removed_at_start(copy: Path) -> None:
    d, sw = copy, copy / "inputs/sweeps/prov.yaml"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process id that no longer exists
    step1 = d / "out/step1"
    some = result_path(step1, expand(load_sweep(sw))[0])
    tmp = some.parent / f".{some.name}.{pid}-abcd1234.tmp"
    tmp.write_bytes(b"x" * 1000)
    shard_dir = next((d / "out/.mapper-cache").iterdir())
    shard_tmp = shard_dir / f".x.cache.{pid}-abcd1234.tmp"
    shard_tmp.write_bytes(b"x")
    live = some.parent / f".{some.name}.{os.getpid()}-abcd1234.tmp"  # a live writer's: kept
    live.write_bytes(b"x")
    stage = d / "out" / f".step2.staging-{pid}-abcd"
    (stage / "sub").mkdir(parents=True)
    assert _run(step1_main, sw, d / "out", "--jobs", "1") == 0
    assert not tmp.exists() and not shard_tmp.exists() and live.exists()
    assert _run(step2_main, sw, d / "out") == 0
    assert not stage.exists()
