"""A user's own inputs: hardware of any name finds its workloads, a sweep anywhere resolves names against
its project folder, and lookup errors say where they looked and how to fix the entry (acco.dse.locate)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from acco.cli import main
from acco.dse.sweep import load_sweep
from acco.io.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL_NAME = "stftCNN_fixed_unrolling_oxoy_025_1x"
WL = ROOT / f"inputs/workloads/Meta_prototype/{WL_NAME}.yaml"


def _project(tmp: Path, hw_name: str = "Meta_halfA_DF", family_key: str | None = None) -> Path:
    """A user project: one copied hardware file of another name, the workload in the Meta_prototype family."""
    (tmp / "inputs/hardware").mkdir(parents=True)
    (tmp / "inputs/workloads/Meta_prototype").mkdir(parents=True)
    text = HW.read_text()
    if family_key is not None:
        text += f"\nworkload_family: {family_key}\n"
    (tmp / f"inputs/hardware/{hw_name}.yaml").write_text(text)
    shutil.copy(WL, tmp / "inputs/workloads/Meta_prototype")
    return tmp


def _sweep(path: Path, hw: str = "Meta_halfA_DF", wl: str = WL_NAME) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"hardware: [{hw}]\nworkloads: [{wl}]\ntile_x: [4]\ntile_y: [1]\n")
    return path


def test_hardware_of_another_name_without_family_says_how_to_fix(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    (proj / "inputs/workloads/Edge_TPU_like").mkdir()
    shutil.copy(WL, proj / "inputs/workloads/Edge_TPU_like")  # another family has it too: the closer name is suggested
    sweep = _sweep(proj / "inputs/sweeps/s.yaml")
    with pytest.raises(InputError) as e:
        load_sweep(sweep)
    msg = str(e.value)
    assert "workloads[0]" in msg and "looked for" in msg
    assert str(Path("workloads/Meta_halfA") / f"{WL_NAME}.yaml") in msg  # today's rule: the name without _DF
    assert "workload_family: Meta_prototype" in msg  # the fix, with the family that has the workload
    assert "exists for families Edge_TPU_like, Meta_prototype" in msg
    assert "or give the workload as a path" in msg


def test_workload_family_key_finds_the_workloads(tmp_path: Path) -> None:
    proj = _project(tmp_path, family_key="Meta_prototype")
    sweep = load_sweep(_sweep(proj / "inputs/sweeps/s.yaml"))
    wl = Path(sweep.workload_path(sweep.hardware[0], WL_NAME)).resolve()
    assert wl == (proj / f"inputs/workloads/Meta_prototype/{WL_NAME}.yaml").resolve()
    assert main(["validate", str(proj / "inputs/hardware/Meta_halfA_DF.yaml")]) == 0  # the key is a valid hardware field


def test_workload_family_must_be_text(tmp_path: Path) -> None:
    proj = _project(tmp_path, family_key="[1, 2]")
    with pytest.raises(InputError, match="workload_family: expected a workload family"):
        load_sweep(_sweep(proj / "inputs/sweeps/s.yaml"))


@pytest.mark.parametrize("where", ["inputs/sweeps/s.yaml", "s.yaml", "studies/deep/s.yaml"])
def test_names_resolve_against_the_project_wherever_the_sweep_is(tmp_path: Path, where: str) -> None:
    proj = _project(tmp_path, family_key="Meta_prototype")
    sweep = load_sweep(_sweep(proj / where))
    assert Path(sweep.hardware[0]).resolve() == (proj / "inputs/hardware/Meta_halfA_DF.yaml").resolve()


def test_sweep_outside_any_project_uses_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep_file = _sweep(tmp_path / "elsewhere/s.yaml", hw="Meta_prototype_DF")
    monkeypatch.chdir(ROOT)
    sweep = load_sweep(sweep_file)
    assert Path(sweep.hardware[0]).resolve() == HW.resolve()
    monkeypatch.chdir(tmp_path)  # no inputs/ above the sweep nor here: one clear error
    with pytest.raises(InputError, match="no inputs/ folder above"):
        load_sweep(sweep_file)


def test_unknown_hardware_lists_the_known_ones(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    with pytest.raises(InputError) as e:
        load_sweep(_sweep(proj / "s.yaml", hw="Meta_half_DF"))
    msg = str(e.value)
    assert "looked for" in msg and "Meta_half_DF.yaml" in msg and "known hardware: Meta_halfA_DF" in msg


def test_relative_paths_start_at_the_project_folder(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    sweep = load_sweep(_sweep(proj / "studies/s.yaml", hw="inputs/hardware/Meta_halfA_DF.yaml",
                              wl=f"inputs/workloads/Meta_prototype/{WL_NAME}.yaml"))
    assert Path(sweep.workload_path(sweep.hardware[0], sweep.workloads[0])).resolve() == \
        (proj / f"inputs/workloads/Meta_prototype/{WL_NAME}.yaml").resolve()
    with pytest.raises(InputError, match="relative paths start at the project folder"):
        load_sweep(_sweep(proj / "studies/t.yaml", hw="hw/missing.yaml"))


def test_onnx_file_given_as_yaml_points_to_import_onnx(capsys: pytest.CaptureFixture[str]) -> None:
    onnx = ROOT / "tests/data/onnx_resnet18.onnx"
    assert main(["validate", str(onnx)]) == 2
    err = capsys.readouterr().err
    assert "undecodable bytes" in err and "python -m acco import-onnx" in err
    assert main(["layer", str(HW), str(onnx), "--layer", "0"]) == 2
    assert "import-onnx" in capsys.readouterr().err


def test_stack_tile_larger_than_output_suggests_causal_and_clip(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stack", str(HW), str(WL), "--tile", "4", "4", "--caching", "true", "true", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "tile no larger than the output" in err
    assert "--causal" in err and "--clip-tile" in err
