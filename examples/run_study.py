"""Run a whole ACCO study from Python and read its tables (python examples/run_study.py [--out DIR]).

`run_study` runs Steps 1-3 (a rerun only computes what is missing) and returns the Step-2 and Step-3
tables as pandas DataFrames and the figure paths; `open_study(DIR)` reads a finished run.
"""

import argparse
from pathlib import Path

from acco.pipeline import run_study

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="outputs/example", help="output folder (default outputs/example)")
    p.add_argument("--jobs", type=int, default=1, help="processes per step (default 1)")
    args = p.parse_args()

    study = run_study(HERE / "tiny_sweep.yaml", args.out, jobs=args.jobs)
    best = study.step3["best"]
    print(best[["view", "metric", "cut_set", "energy_pJ", "latency_cc", "strategy"]].to_string(index=False))
    print(f"{len(study.step2['ranges'])} range rows, {len(study.figures)} figures in {study.out}/step3/")
