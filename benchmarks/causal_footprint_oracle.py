"""Footprint oracle: reproduce the original ACCO cache logs bit-exactly.

Checks (1) every line of tests/data/causal_acco_cache_logs_public.csv.gz (seldnet_oxoy_M and
stftCNN-1x, 70 tiles x 3 kinds x all ranges) and (2) the shipped `*_cache.log` files of the
original repository mirror (byte-identical; includes stftCNN-16x), and prints `N/N exact`.

    .venv/bin/python benchmarks/causal_footprint_oracle.py [--csv-only|--logs-only] [--workload NAME] [--hw NAME]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acco.causal.cachelog import log_line, log_texts  # noqa: E402
from acco.causal.frames import CausalSettings, footprint_frames, substacks  # noqa: E402
from acco.io import load_workload  # noqa: E402

CSV = ROOT / "tests" / "data" / "causal_acco_cache_logs_public.csv.gz"
#: the git folder of a clone of the original (KULeuven-MICAS/ACCO): ACCO_ORIGINAL_GIT, else a clone beside this repository
MIRROR = Path(os.environ.get("ACCO_ORIGINAL_GIT", str(ROOT.parent / "ACCO" / ".git")))
LOGDIR = "result_pickle_files_misc_camready_cache"
WORKLOADS = ("seldnet_oxoy_M", "stftCNN_fixed_unrolling_oxoy_025_1x", "stftCNN_fixed_unrolling_oxoy_025_16x")
TX = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TY = (1, 2, 4, 8, 16, 32, 64)
SETTINGS = CausalSettings(cut_max=2)


def workload(name: str):
    """The project's copy of an ACCO workload (Meta_prototype folder)."""
    return load_workload(ROOT / "inputs" / "workloads" / "Meta_prototype" / f"{name}.yaml")


_SUBS: dict = {}


def frames_for(name: str, tx: int, ty: int) -> list:
    """Footprint-only results of every cut range of a workload for one tile (sub-stacks memoised)."""
    if name not in _SUBS:
        _SUBS[name] = substacks(workload(name), SETTINGS)
    return [footprint_frames(s, tx, ty) for s in _SUBS[name]]


def our_lines(name: str, tx: int, ty: int, memo: dict) -> dict[str, list[str]]:
    """kind -> our log lines for one workload and tile (memoised)."""
    key = (name, tx, ty)
    if key not in memo:
        frames = frames_for(name, tx, ty)
        memo[key] = {k: [log_line(f, k) for f in frames] for k in ("warmup", "stable", "total")}
    return memo[key]


def check_csv(only: str | None = None) -> tuple[int, int]:
    """Compare every csv line (fields 1-8) with ours; returns (exact, total)."""
    memo: dict = {}
    exact = total = 0
    shown = 0
    with gzip.open(CSV, "rt") as fh:
        for row in csv.DictReader(fh):
            name = row["workload"].removeprefix("workload_")
            if only and name != only:
                continue
            tx, ty = int(row["tile_x"]), int(row["tile_y"])
            ours = our_lines(name, tx, ty, memo)[row["cache_kind"]]
            cb = row["cut_before"] or "None"
            ca = row["cut_after"] or "None"
            ref = f"{cb},{ca},{row['line_tile_x']},{row['line_tile_y']},{row['peak_fmap_bits']},{row['weight_bits']},{row['peak_fmap_MiB']},{row['weight_MiB']}"
            i = int(row["line_no"]) - 1
            got = ours[i] if i < len(ours) else "<missing>"
            total += 1
            if got == ref:
                exact += 1
            elif shown < 10:
                shown += 1
                print(f"  DIFF {name} {tx}x{ty} {row['cache_kind']} line {i + 1}: ref {ref} ours {got}")
    return exact, total


def check_logs(hw: str = "Meta_prototype", opt: str = "energy", only: str | None = None) -> tuple[int, int]:
    """Compare our cache-log files with the mirror's shipped files byte by byte; returns (identical, files)."""
    same = files = 0
    for name in WORKLOADS:
        if only and name != only:
            continue
        folder = f"{LOGDIR}/test_{hw}/test_mp_{opt}/workload_{name}_dil--1_fr-1"
        for tx in TX:
            for ty in TY:
                texts = log_texts(frames_for(name, tx, ty))
                for fname, text in texts.items():
                    ref = subprocess.run(
                        ["git", f"--git-dir={MIRROR}", "show", f"HEAD:{folder}/{fname}"], capture_output=True
                    ).stdout
                    files += 1
                    if ref == text.encode():
                        same += 1
                    else:
                        print(f"  DIFF {folder}/{fname}")
    return same, files


def main() -> int:
    """Run the checks and print `N/N exact` per check."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv-only", action="store_true")
    ap.add_argument("--logs-only", action="store_true")
    ap.add_argument("--workload", default=None, help="restrict to one workload name (without 'workload_')")
    ap.add_argument("--hw", default="Meta_prototype", help="which shipped HW folder to compare with (all are identical)")
    a = ap.parse_args()
    ok = True
    if not a.logs_only:
        t = time.time()
        e, n = check_csv(a.workload)
        print(f"reference csv: {e}/{n} exact ({time.time() - t:.1f} s)")
        ok &= e == n
    if not a.csv_only:
        t = time.time()
        e, n = check_logs(a.hw, only=a.workload)
        print(f"shipped cache logs ({a.hw}): {e}/{n} files byte-identical ({time.time() - t:.1f} s)")
        ok &= e == n
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
