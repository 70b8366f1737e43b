"""Footprint oracle: the original tool's cache logs, reproduced bit-exactly and without the mapper."""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys

import pytest

from acco.causal.cachelog import log_line, log_texts
from acco.causal.frames import CausalSettings, explore, footprint_frames, substacks
from acco.io import load_workload
from tests.conftest import DATA, INPUTS, ROOT

CSV = DATA / "causal_acco_cache_logs_public.csv.gz"
SETTINGS = CausalSettings(cut_max=2)
TX = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TY = (1, 2, 4, 8, 16, 32, 64)


def _wl(name: str):
    return load_workload(INPUTS / "workloads" / "Meta_prototype" / f"{name}.yaml")


def _ref_line(row: dict) -> str:
    cb, ca = row["cut_before"] or "None", row["cut_after"] or "None"
    return (f"{cb},{ca},{row['line_tile_x']},{row['line_tile_y']},{row['peak_fmap_bits']},{row['weight_bits']},"
            f"{row['peak_fmap_MiB']},{row['weight_MiB']}")


def _rows() -> list[dict]:
    with gzip.open(CSV, "rt") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(autouse=True)
def no_mapper(monkeypatch):
    """Footprints must never reach the per-layer mapper."""
    import acco.depthfirst.combine as combine

    def boom(*a, **k):
        raise AssertionError("the footprint path called the mapper")

    monkeypatch.setattr(combine, "best_mapping", boom)


def _check(rows: list[dict]) -> tuple[int, list[str]]:
    memo: dict = {}
    subs: dict = {}
    bad = []
    for row in rows:
        name = row["workload"].removeprefix("workload_")
        key = (name, int(row["tile_x"]), int(row["tile_y"]))
        if key not in memo:
            if name not in subs:
                subs[name] = substacks(_wl(name), SETTINGS)
            frames = [footprint_frames(s, key[1], key[2]) for s in subs[name]]
            memo[key] = {k: [log_line(f, k) for f in frames] for k in ("warmup", "stable", "total")}
        got = memo[key][row["cache_kind"]][int(row["line_no"]) - 1]
        if got != _ref_line(row):
            bad.append(f"{key} {row['cache_kind']} line {row['line_no']}: ref {_ref_line(row)} ours {got}")
    return len(rows), bad


def test_spot_check():
    """Spec acco.md §7: stftCNN-1x, 4x4, whole network."""
    frames = explore(_wl("stftCNN_fixed_unrolling_oxoy_025_1x"), 4, 4, SETTINGS, costs=False)
    f = frames[0]
    assert (f.cut_before, f.cut_after) == (None, None)
    assert f.footprint["warmup"].peak_bits == 1765312
    assert f.footprint["stable"].peak_bits == 455360
    assert f.footprint["total"].peak_bits == 1765312
    assert {fp.weight_bits for fp in f.footprint.values()} == {2342016}


def test_last_layer_declared_1x1_quirk():
    """Range (10,None) of stftCNN-1x: the pool declared 1x1 keeps an output of 1 row in the footprint."""
    frames = explore(_wl("stftCNN_fixed_unrolling_oxoy_025_1x"), 1, 4, SETTINGS, costs=False)
    f = frames[22]
    assert (f.cut_before, f.cut_after) == (10, None)
    assert f.footprint["warmup"].peak_bits == 41984


def test_csv_sample():
    """Every csv line of six tiles, both workloads (the full check is `test_csv_all_lines`)."""
    rows = _rows()
    tiles = {("4", "4"), ("512", "1"), ("1", "64"), ("16", "8"), ("2", "32"), ("64", "2")}
    sample = [r for r in rows if (r["tile_x"], r["tile_y"]) in tiles]
    assert len(sample) == 6 * 3 * (36 + 78)
    n, bad = _check(sample)
    assert not bad, "\n".join(bad[:10])


@pytest.mark.parametrize("name", ["seldnet_oxoy_M", "stftCNN_fixed_unrolling_oxoy_025_1x"])
def test_cache_log_files_identical(name):
    """Our 4x4 log files equal the original's shipped files byte for byte."""
    texts = log_texts(explore(_wl(name), 4, 4, SETTINGS, costs=False))
    for kind in ("warmup", "stable", "total"):
        fname = f"4_4_True_True_{kind}_cache.log"
        assert texts[fname].encode() == (DATA / f"causal_{name}_{fname}").read_bytes()


def test_cli_writes_identical_logs(tmp_path):
    """`stack --causal --footprint-only --cache-log DIR` writes the shipped files."""
    name = "stftCNN_fixed_unrolling_oxoy_025_1x"
    out = subprocess.run(
        [sys.executable, "-m", "acco", "stack", str(INPUTS / "hardware" / "Meta_prototype_DF.yaml"),
         str(INPUTS / "workloads" / "Meta_prototype" / f"{name}.yaml"), "--tile", "4", "4", "--causal",
         "--cut-max", "2", "--footprint-only", "--cache-log", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    for kind in ("warmup", "stable", "total"):
        fname = f"4_4_True_True_{kind}_cache.log"
        assert (tmp_path / fname).read_bytes() == (DATA / f"causal_{name}_{fname}").read_bytes()


@pytest.mark.slow
def test_csv_all_lines():
    """Every line of the reference csv (23,940 lines, seldnet and stftCNN-1x)."""
    n, bad = _check(_rows())
    assert n == 23940
    assert not bad, f"{n - len(bad)}/{n} exact\n" + "\n".join(bad[:10])


def _shipped_16x() -> dict[str, str]:
    files: dict[str, list[str]] = {}
    cur = None
    with gzip.open(DATA / "causal_stftCNN_16x_shipped_cache_logs.txt.gz", "rt") as fh:
        for line in fh:
            if line.startswith("== "):
                cur = line[3:].strip()
                files[cur] = []
            else:
                files[cur].append(line)  # type: ignore[index]
    return {k: "".join(v) for k, v in files.items()}


@pytest.mark.slow
def test_stftcnn_16x_all_shipped_logs():
    """All 210 shipped stftCNN-16x log files (70 tiles x 3 kinds), byte-identical."""
    ref = _shipped_16x()
    assert len(ref) == 210
    wl = _wl("stftCNN_fixed_unrolling_oxoy_025_16x")
    bad = []
    for tx in TX:
        for ty in TY:
            for fname, text in log_texts(explore(wl, tx, ty, SETTINGS, costs=False)).items():
                if text != ref[fname]:
                    bad.append(fname)
    assert not bad, f"{210 - len(bad)}/210 identical: {bad[:5]}"
