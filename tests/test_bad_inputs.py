"""Issue 8 item 1: every malformed input in tests/data/bad_inputs/ is one located error, exit status 2.

For each file of the corpus (listed with its mistake and the field it must name in the folder's
README.md): `python -m acco validate FILE` and the three pipeline scripts (given a sweep that points
at the bad hardware/workload file, or the bad sweep itself) exit with status 2 and print exactly
one `error: FILE: FIELD: expected ...` line, no traceback, and write nothing to `--out`.

In-process for the whole corpus (acco.cli.main, and the scripts through runpy, so each call costs
milliseconds); as real subprocesses for a representative subset and for one `validate` call over the
whole corpus.
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from acco.cli import main as acco_main

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests/data/bad_inputs"
TINY_HW = ROOT / "tests/data/tiny_hw.yaml"
TINY_WL = ROOT / "tests/data/tiny_wl.yaml"
STEP_SCRIPTS = (
    "DfStackCutAndXform_mp_misc.py",
    "explore_pickle_compile_readings.py",
    "explore_pickle_hierarchy_cache_allocation.py",
)
#: sweeps whose mistake lies in another file: the message names that file
NAMED_ELSEWHERE = {
    "sweep_bad_hardware_file.yaml": BAD / "hw_negative_size.yaml",
    "sweep_bad_workload_file.yaml": BAD / "wl_cycle.yaml",
    "sweep_unrolling_exceeds_array.yaml": ROOT / "inputs/workloads/Tesla_NPU_like/stftCNN_fixed_unrolling_oxoy_025_1x.yaml",
}


def _corpus() -> dict[str, str]:
    """file name -> field path the error must name ('' = a whole-file error), from the README table."""
    rows = {}
    for line in (BAD / "README.md").read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \| .* \| (?:`([^`]*)`|\(whole file\)) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2) or ""
    return rows


CORPUS = _corpus()
NAMES = sorted(CORPUS)


def test_corpus_is_complete_and_documented() -> None:
    files = sorted(p.name for p in BAD.iterdir() if p.name != "README.md")
    assert files == NAMES, "README.md must list every file of tests/data/bad_inputs/ and only those"
    kinds = {n.split("_")[0] for n in NAMES}
    assert kinds == {"hw", "wl", "sweep"}
    assert len(NAMES) >= 30
    assert all(sum(n.startswith(k) for n in NAMES) >= 10 for k in kinds)


def _expect(name: str) -> tuple[str, str]:
    """(file the error must name, field): the bad file itself, or the file a bad sweep points at."""
    named = NAMED_ELSEWHERE.get(name, BAD / name)
    return str(named), CORPUS[name]


def _check_one_message(err: str, out_dir: Path | None, file: str, field: str) -> None:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    msg = lines[0]
    assert msg.startswith("error: "), msg
    # the file may be printed relative to the working folder
    if field:
        heads = [f"{f}: {field}: expected " for f in _spellings(file)]
    else:
        heads = [f"{f}: expected " for f in _spellings(file)]
    assert any(msg.startswith("error: " + h) for h in heads), (msg, heads)
    if out_dir is not None:
        assert not out_dir.exists(), f"{out_dir} was written"


def _spellings(file: str) -> list[str]:
    p = Path(file)
    out = [file, str(p.resolve())]
    try:
        out.append(str(p.resolve().relative_to(Path.cwd())))
    except ValueError:
        pass
    try:
        out.append(str(p.resolve().relative_to(ROOT)))
    except ValueError:
        pass
    return out


def _sweep_for(name: str, tmp: Path) -> Path:
    """The sweep a step script is given: the bad sweep itself, or a tiny sweep naming the bad file."""
    bad = BAD / name
    if name.startswith("sweep_"):
        return bad
    hw, wl = (bad, TINY_WL) if name.startswith("hw_") else (TINY_HW, bad)
    p = tmp / "sweep.yaml"
    p.write_text(f"name: t\nhardware: [{hw}]\nworkloads: [{wl}]\ntile_x: [2]\ntile_y: [2]\n")
    return p


# ---------------------------------------------------------------------------------------------
# in process: the whole corpus


@pytest.mark.parametrize("name", NAMES)
def test_validate_refuses(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = acco_main(["validate", str(BAD / name)])
    cap = capsys.readouterr()
    assert rc == 2, cap
    assert cap.out == ""
    _check_one_message(cap.err, None, *_expect(name))


def _run_script(script: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", [script, *args])
    try:
        runpy.run_path(str(ROOT / script), run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0


@pytest.mark.parametrize("script", STEP_SCRIPTS)
@pytest.mark.parametrize("name", NAMES)
def test_step_scripts_refuse(
    name: str, script: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    sweep = _sweep_for(name, tmp_path)
    rc = _run_script(script, ["--sweep", str(sweep), "--out", str(out)], monkeypatch)
    cap = capsys.readouterr()
    assert rc == 2, cap
    _check_one_message(cap.err, out, *_expect(name))


# ---------------------------------------------------------------------------------------------
# real processes: a representative subset, and one validate call over the whole corpus

SUBSET = [
    "hw_binary_garbage.yaml",
    "wl_layer_too_large.yaml",
    "sweep_tile_zero.yaml",
    "sweep_unrolling_exceeds_array.yaml",
]


@pytest.mark.parametrize("name", SUBSET)
def test_step_scripts_refuse_as_processes(name: str, tmp_path: Path) -> None:
    assert set(SUBSET) <= set(NAMES)
    sweep = _sweep_for(name, tmp_path)
    for script in STEP_SCRIPTS:
        out = tmp_path / "out"
        r = subprocess.run([sys.executable, str(ROOT / script), "--sweep", str(sweep), "--out", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, (script, r.stderr)
        _check_one_message(r.stderr, out, *_expect(name))


def test_validate_process_over_the_whole_corpus() -> None:
    files = [str(BAD / n) for n in NAMES]
    r = subprocess.run([sys.executable, "-m", "acco", "validate", *files], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    assert r.stdout == "" and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == len(NAMES)
    for name, line in zip(NAMES, lines):
        file, field = _expect(name)
        assert any(line.startswith(f"error: {f}: " + (f"{field}: " if field else "expected")) for f in _spellings(file)), line


def test_validate_accepts_the_shipped_inputs_and_sweeps(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (ROOT / "inputs").glob("hardware/*.yaml"))
    files += sorted(str(p) for p in (ROOT / "inputs").glob("sweeps/*.yaml"))
    files += [str(TINY_HW), str(TINY_WL)]
    assert acco_main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert out.count("OK ") == len(files) and "sweep default:" in out
