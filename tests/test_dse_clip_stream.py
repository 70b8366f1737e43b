"""Issue 21 (reliability, second round): tiles clipped to the same tile are computed once; big sweeps stream.

A tiny sweep (stftCNN-1x on Meta_prototype_DF, one range, whose output is 1 wide and 16 high; tiles 1 and 4
wide, 4, 16 and 40 high) has six scenarios but two different clipped tiles: Step 1 computes two and stores
their results for the four others, byte-identical to computing each, and the tables equal those of computing each.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from tqdm import tqdm

import acco.dse.runner as runner
from acco.dse.cli import step2_main
from acco.dse.result import ScenarioResult
from acco.dse.runner import ChunkResult, run_sweep
from acco.dse.scenarios import _substacks, clipped_duplicates, expand, output_limits, run_scenario
from acco.dse.store import encode_result, load_result, result_path
from acco.dse.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
STEP3 = ROOT / "explore_pickle_hierarchy_cache_allocation.py"


def _write_sweep(folder: Path, tile_y: str = "[4, 16, 40]") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "sweep.yaml"
    p.write_text(
        f"name: clip\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: [1, 4]\ntile_y: {tile_y}\n"
        "caching: [[true, true]]\ncut_max: 0\ntargets: [energy]\nmapper: {engine: loma, lpf_limit: 6}\nseed: 0\n"
    )
    return p


def _tables(sweep_file: Path, out: Path) -> dict[str, bytes]:
    assert step2_main(["--sweep", str(sweep_file), "--out", str(out), "--quiet"]) == 0
    files = {f"step2/{p.name}": p.read_bytes() for p in sorted((out / "step2").glob("*.csv"))}
    r = subprocess.run([sys.executable, str(STEP3), "--sweep", str(sweep_file), "--out", str(out), "--no-plots"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    files.update({f"step3/{p.name}": p.read_bytes() for p in sorted((out / "step3").glob("*.csv"))})
    return files


def _bytes(r: ScenarioResult) -> bytes:
    """A result file's bytes but for the time it took."""
    return encode_result(replace(r, seconds=0.0))


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    computed: list[tuple[int, int]] = []

    def counted(sc, cache=None):
        computed.append((sc.tile_x, sc.tile_y))
        return run_scenario(sc, cache)

    monkeypatch.setattr(runner, "run_scenario", counted)
    return computed


def test_the_sweep_clips_two_tiles_to_the_same(tmp_path: Path) -> None:
    scs = expand(load_sweep(_write_sweep(tmp_path)))
    ox, oy, t_in = output_limits(scs[0].hardware_path, scs[0].workload_path, 0, scs[0].cuts, scs[0].initial_dilation, 1)
    assert (ox, oy) == (1, 16) and t_in > 40
    compute, dups = clipped_duplicates(scs)
    assert [(s.tile_x, s.tile_y) for s in compute] == [(1, 4), (1, 16)]
    tiles = {(k.tile_x, k.tile_y): sorted((s.tile_x, s.tile_y) for s in v) for k, v in dups.items()}
    assert tiles == {(1, 4): [(4, 4)], (1, 16): [(1, 40), (4, 16), (4, 40)]}
    # a tile higher than the input's time axis is refused: not a duplicate of one that is not
    compute, dups = clipped_duplicates(expand(load_sweep(_write_sweep(tmp_path / "b", f"[16, {t_in + 1}]"))))
    assert [(s.tile_x, s.tile_y) for s in compute] == [(1, 16), (1, t_in + 1)]


def test_clipped_duplicates_are_computed_once_and_stored_as_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep_file = _write_sweep(tmp_path)
    sweep = load_sweep(sweep_file)
    computed = _counting(monkeypatch)
    s = run_sweep(sweep, tmp_path / "once", jobs=1, progress=False, baselines=False, mapper_cache="off")
    assert sorted(computed) == [(1, 4), (1, 16)]
    assert (s.total, s.done, s.clipped, s.failed) == (6, 6, 4, [])
    # each way: every scenario computed
    computed.clear()
    monkeypatch.setattr(runner, "clipped_duplicates", lambda todo: (list(todo), {}))
    s2 = run_sweep(sweep, tmp_path / "each", jobs=1, progress=False, baselines=False, mapper_cache="off")
    assert len(computed) == 6 and s2.clipped == 0
    for sc in expand(sweep):
        a = load_result(result_path(tmp_path / "once/step1", sc))
        b = load_result(result_path(tmp_path / "each/step1", sc))
        assert a.scenario == sc
        assert _bytes(a) == _bytes(b), sc.id
    # the clipped scenario computed alone in a fresh worker state, too
    wide = next(sc for sc in expand(sweep) if sc.tile_y == 40 and sc.tile_x == 4)
    _substacks.cache_clear()
    assert _bytes(run_scenario(wide)) == _bytes(load_result(result_path(tmp_path / "once/step1", wide)))
    assert _tables(sweep_file, tmp_path / "once") == _tables(sweep_file, tmp_path / "each")


def test_a_worker_encoded_result_is_stored_for_its_duplicates(tmp_path: Path) -> None:
    """The process-pool path: the worker returns the result file's bytes, the parent serves the duplicates."""
    scs = expand(load_sweep(_write_sweep(tmp_path)))
    compute, dups = clipped_duplicates(scs)
    rep, (dup, *_) = next(iter(dups.items()))
    dups = {rep: [dup]}
    step1 = tmp_path / "out/step1"
    step1.mkdir(parents=True)
    summary = runner.RunSummary()
    with tqdm(disable=True) as bar:
        runner._store_chunk(step1, ChunkResult([encode_result(run_scenario(rep))], 0, 0), summary, bar, [rep], dups)
    assert (summary.done, summary.clipped) == (2, 1) and not dups
    _substacks.cache_clear()
    assert _bytes(load_result(result_path(step1, dup))) == _bytes(run_scenario(dup))


# --- B: big sweeps stream ---------------------------------------------------------------------------------


def _sweep_text(tile_x: list[int], tile_y: list[int], extra: str = "") -> str:
    return (f"name: big\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: {tile_x}\ntile_y: {tile_y}\n"
            "caching: [[true, true], [false, false]]\ncut_max: 1\n" + extra)


@pytest.mark.parametrize("text", [
    _sweep_text([4], [1]),
    _sweep_text([1, 4, 16], [1, 4], "targets: [energy, latency]\n"),
    _sweep_text([2, 8], [3], "cuts: [[], [3], [2, 5]]\ninitial_dilation: [-1, 1]\nbatch: 2\n"),
])
def test_count_and_iter_scenarios_agree_with_expand(tmp_path: Path, text: str) -> None:
    from acco.dse.scenarios import count_scenarios, iter_scenarios, iter_stems
    from acco.provenance import sweep_record

    p = tmp_path / "s.yaml"
    p.write_text(text)
    sweep = load_sweep(p)
    scs = expand(sweep)
    assert count_scenarios(sweep) == len(scs) > 0
    assert list(iter_scenarios(sweep)) == scs
    assert list(iter_stems(sweep)) == [sc.file_stem for sc in scs]
    # the manifest's digest, streamed, is the one of the joined list
    import hashlib

    rec = sweep_record(sweep)
    assert rec["scenarios"] == {"count": len(scs), "digest": hashlib.sha256("\n".join(sc.file_stem for sc in scs).encode()).hexdigest()}
    assert rec == sweep_record(sweep, scs)


def test_a_million_scenarios_are_counted_and_started_without_expanding(tmp_path: Path) -> None:
    import itertools
    import tracemalloc

    from acco.dse.scenarios import count_scenarios, iter_scenarios

    p = tmp_path / "s.yaml"
    p.write_text(_sweep_text(list(range(1, 501)), list(range(1, 1001))))
    sweep = load_sweep(p)
    tracemalloc.start()
    try:
        assert count_scenarios(sweep) == 1_000_000
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 1 << 20
        tracemalloc.reset_peak()
        first = list(itertools.islice(iter_scenarios(sweep), 1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    assert [(s.tile_x, s.tile_y, s.h_cache) for s in first[:2]] == [(1, 1, True), (2, 1, True)]
    assert (first[-1].tile_x, first[-1].tile_y) == (500, 2)


def test_batches_are_bounded_and_cut_between_tile_rows(tmp_path: Path) -> None:
    from acco.dse.runner import _batches

    p = tmp_path / "s.yaml"
    p.write_text(_sweep_text([1, 2, 3], [1, 2], "cuts: [[], [3], [2, 5]]\n"))
    scs = expand(load_sweep(p))  # 2 cachings x 3 cuts = 6 groups of 2 rows of 3 tiles
    batches = list(_batches(scs, 8))
    assert [len(b) for b in batches] == [9] * 4
    assert [sc for b in batches for sc in b] == scs
    assert all(len({(sc.tile_y, sc.cuts, sc.h_cache) for sc in b}) == 3 for b in batches)
    assert [len(b) for b in _batches(scs, 12)] == [12] * 3


def test_a_streamed_run_in_small_batches_gives_the_same_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of one tile row at a time (and a rerun that skips them all): equivalent tiles are found within a
    batch (here: a row, 1 and 4 wide clip alike), every result is stored as computing it gives."""
    sweep = load_sweep(_write_sweep(tmp_path))
    computed = _counting(monkeypatch)
    monkeypatch.setattr(runner, "BATCH", 1)
    s = run_sweep(sweep, tmp_path / "o", jobs=1, progress=False, baselines=False, mapper_cache="off")
    assert (s.total, s.done, s.clipped, len(computed)) == (6, 6, 3, 3)
    assert sorted(computed) == [(1, 4), (1, 16), (1, 40)]
    _substacks.cache_clear()
    for sc in expand(sweep):
        assert _bytes(load_result(result_path(tmp_path / "o/step1", sc))) == _bytes(run_scenario(sc)), sc.id
    s = run_sweep(sweep, tmp_path / "o", jobs=1, progress=False, baselines=False, mapper_cache="off")
    assert (s.total, s.skipped, s.done, len(computed)) == (6, 6, 0, 3)


def test_step1_says_how_many_were_clipped_duplicates_and_what_is_left(tmp_path: Path, capsys) -> None:
    from acco.dse.cli import step1_main
    from acco.dse.runner import start_line

    sw = _write_sweep(tmp_path)
    args = ["--sweep", str(sw), "--out", str(tmp_path / "o"), "--jobs", "1", "--no-baselines", "--mapper-cache", "off"]
    assert step1_main(args) == 0
    out = capsys.readouterr()
    assert "step 1: 6 scenarios, 0 already done, 6 to compute" in out.err
    assert "6 computed, 0 failed (4 served as clipped duplicates of another" in out.out
    assert step1_main(args) == 0
    out = capsys.readouterr()
    assert "step 1: 6 scenarios, up to 6 already done (result files in the folder), 0 or more to compute" in out.err
    assert "6 already done, 0 computed" in out.out and "clipped" not in out.out
    assert start_line(10, None, 2, 4).startswith("step 1: 10 scenarios, up to 4 already done")


def test_step1_starts_computing_a_million_scenario_sweep_after_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Step 1 reads the sweep in batches: when the first scenario runs, at most a batch has been made."""
    from acco.dse import scenarios

    class Stop(BaseException):
        pass

    p = tmp_path / "s.yaml"
    p.write_text(_sweep_text(list(range(1, 501)), list(range(1, 1001))))
    made = []

    def counted_iter(sweep):
        for sc in scenarios.iter_scenarios(sweep):
            made.append(None)
            yield sc

    def first(sc, cache=None):
        raise Stop

    monkeypatch.setattr(runner, "iter_scenarios", counted_iter)
    monkeypatch.setattr(runner, "run_scenario", first)
    with pytest.raises(Stop):
        run_sweep(load_sweep(p), tmp_path / "o", jobs=1, progress=False, baselines=False, mapper_cache="off")
    assert 0 < len(made) <= runner.BATCH + 500
