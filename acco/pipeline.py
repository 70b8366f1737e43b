"""The whole pipeline in one call: `acco run` and `run_study` / `open_study` for Python users.

The three step scripts stay the faithful entry points; this driver runs them one after the other, each
in its own process (its exit code and its signals are its own), and applies one exit-code policy
(acco.exitcodes): 0 = done, go on; 1 = some scenarios failed, go on and say what the next steps lack;
anything else (bad input 2, environment 3, interrupted 130/143) stops the run with that code.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import pandas as pd

from acco import exitcodes

#: the three steps, in order (script file names at the project root)
STEPS = (
    ("Step 1", "DfStackCutAndXform_mp_misc.py"),
    ("Step 2", "explore_pickle_compile_readings.py"),
    ("Step 3", "explore_pickle_hierarchy_cache_allocation.py"),
)
DEFAULT_SWEEP = "inputs/sweeps/default.yaml"
DEFAULT_OUT = "outputs"

#: what a step's exit code 1 means for the steps after it
_PARTIAL = {
    "Step 1": "some scenarios failed (listed above): Steps 2 and 3 go on without them "
              "(Step 2 lists them in {out}/step2/missing.csv; Step 3's best strategies cannot use their ranges)",
    "Step 2": "some scenarios have no result ({out}/step2/missing.csv): Step 3 searches the ranges that exist "
              "(run with --allow-partial; its provenance.json records the tables as partial)",
}


def script_path(name: str) -> Path:
    """The step script `name` beside the acco package (the project root); an OSError-free check."""
    return Path(__file__).resolve().parent.parent / name


def exit_code(returncode: int) -> int:
    """A child's return code as this process's exit code (killed by signal N -> 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def step_arguments(sweep: str, out: str, jobs: int | None, quiet: bool = False,
                   step1: Sequence[str] = (), step3: Sequence[str] = ()) -> list[list[str]]:
    """The command-line arguments of each step: --sweep, --out, --jobs (and --quiet) to all three, the
    extra ones to Step 1 or Step 3."""
    shared = ["--sweep", sweep, "--out", out]
    if jobs is not None:
        shared += ["--jobs", str(jobs)]
    if quiet:
        shared += ["--quiet"]
    return [shared + list(step1), list(shared), shared + list(step3)]


def run_pipeline(sweep: str = DEFAULT_SWEEP, out: str = DEFAULT_OUT, jobs: int | None = None, quiet: bool = False,
                 step1: Sequence[str] = (), step3: Sequence[str] = ()) -> int:
    """Run Steps 1, 2 and 3 on `sweep` into `out`; returns the exit code of the run (acco.exitcodes).

    The worst code of the steps that ran: 0 when all are done, 1 when some scenarios failed but every
    step ran, else the code of the step that stopped the run.
    """
    if jobs is not None and jobs < 1:
        print(f"error: command line: --jobs: expected a positive number of processes, got {jobs}", file=sys.stderr)
        return exitcodes.BAD_INPUT
    status = exitcodes.OK
    for (label, script), args in zip(STEPS, step_arguments(sweep, out, jobs, quiet, step1, step3)):
        path = script_path(script)
        if not path.is_file():
            print(f"error: {path}: expected the {label} script of the ACCO project (run from a clone of the "
                  "repository), got no such file", file=sys.stderr)
            return exitcodes.ENVIRONMENT
        if label == "Step 3" and status == exitcodes.SCENARIOS_FAILED:
            args = [*args, "--allow-partial"]  # Step 3 refuses partial tables unless told; the note above said why
        print(f"== {label}: {script} {' '.join(args)}", flush=True)
        code = _run(path, args)
        if code == exitcodes.SCENARIOS_FAILED and label in _PARTIAL:
            print(f"note: {label} exit code 1: {_PARTIAL[label].format(out=out)}", file=sys.stderr)
            status = exitcodes.SCENARIOS_FAILED
        elif code != exitcodes.OK:
            what = {exitcodes.BAD_INPUT: "bad input or usage (message above)",
                    exitcodes.ENVIRONMENT: "environment failure (disk, permissions, scheduler; message above)",
                    exitcodes.INTERRUPTED: "interrupted", exitcodes.TERMINATED: "terminated"}.get(code, "failed")
            print(f"stopped: {label} exited with code {code} ({what}); later steps not run", file=sys.stderr)
            return code
    return status


def _run(path: Path, args: list[str]) -> int:
    """Run one step script with this interpreter. Ctrl-C reaches the step too (same process group): the
    driver waits for it to stop and returns 130; a SIGTERM to the driver is passed on to the step (143)."""
    proc = subprocess.Popen([sys.executable, str(path), *args])
    previous = signal.getsignal(signal.SIGTERM)
    terminated = []

    def on_term(signum: int, frame: object) -> None:
        terminated.append(signum)
        proc.send_signal(signal.SIGTERM)

    main = threading.current_thread() is threading.main_thread()  # signal handlers only there
    if main:
        signal.signal(signal.SIGTERM, on_term)
    try:
        code = exit_code(proc.wait())
        return exitcodes.TERMINATED if terminated else code
    except KeyboardInterrupt:
        try:
            proc.wait(timeout=60)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.terminate()
            proc.wait()
        return exitcodes.INTERRUPTED
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def add_run_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`acco run`: the whole pipeline (Steps 1, 2, 3) with one exit code."""
    p = sub.add_parser(
        "run", help="run the whole pipeline (Steps 1, 2 and 3) on a sweep",
        description="Run Step 1 (costs of every scenario), Step 2 (tables) and Step 3 (best strategies, baselines, "
        "figures) on a sweep, each step's script in turn. Exit code: 0 done, 1 some scenarios failed (the tables "
        "hold the rest), 2 bad input, 3 environment failure, 130/143 interrupted (docs/pipeline.md).",
    )
    p.add_argument("--sweep", default=DEFAULT_SWEEP, metavar="FILE", help=f"sweep file (default {DEFAULT_SWEEP})")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default {DEFAULT_OUT}/)")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="processes in each step (default: the CPUs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    s1 = p.add_argument_group("Step 1 options")
    s1.add_argument("--force", action="store_true", help="recompute scenarios that already have a result")
    s1.add_argument("--mapper-cache", default=None, metavar="DIR|off", help="mapper search cache (default OUT/.mapper-cache)")
    s1.add_argument("--no-baselines", action="store_true", help="no baselines (Steps 1 and 3)")
    s1.add_argument("--executor", choices=("process", "dask"), default=None, help="Step 1's executor (default process)")
    s1.add_argument("--scheduler", default=None, metavar="ADDR", help="Dask scheduler address (with --executor dask)")
    s3 = p.add_argument_group("Step 3 options")
    th = s3.add_mutually_exclusive_group()
    th.add_argument("--threshold-mib", type=float, default=None, metavar="X", help="on-chip rule threshold (MiB)")
    th.add_argument("--threshold", choices=["hardware"], default=None,
                    help="hardware: each hardware's activation buffer as the on-chip threshold")
    s3.add_argument("--no-plots", action="store_true", help="no figures")
    s3.add_argument("--no-pareto", action="store_true", help="no whole-network Pareto front")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """The `acco run` handler: split the options between the steps and run them."""
    step1 = (["--force"] if args.force else []) + (["--no-baselines"] if args.no_baselines else [])
    for flag, value in (("--mapper-cache", args.mapper_cache), ("--executor", args.executor), ("--scheduler", args.scheduler)):
        if value is not None:
            step1 += [flag, value]
    step3 = [f for f, on in (("--no-baselines", args.no_baselines), ("--no-plots", args.no_plots),
                             ("--no-pareto", args.no_pareto)) if on]
    if args.threshold_mib is not None:
        step3 += ["--threshold-mib", str(args.threshold_mib)]
    if args.threshold is not None:
        step3 += ["--threshold", args.threshold]
    return run_pipeline(args.sweep, args.out, args.jobs, args.quiet, step1, step3)


class Tables(Mapping[str, pd.DataFrame]):
    """The CSV tables of one step folder by name (`ranges`, `best`, ...), each read with a plain
    `pandas.read_csv` on first use (the per-layer table of a large run is big)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._paths = {p.stem: p for p in sorted(folder.glob("*.csv"))}
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            if name not in self._paths:
                raise KeyError(f"{name}: no {name}.csv in {self.folder} (tables: {', '.join(self._paths) or 'none'})")
            self._read[name] = pd.read_csv(self._paths[name])
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


@dataclass
class Study:
    """The tables and figures of a finished run: `step2['ranges']`, `step3['best']`, ... and the PNG paths."""

    out: Path
    step2: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    step3: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    exit_code: int = exitcodes.OK


def open_study(out: str | os.PathLike[str], exit_code: int = exitcodes.OK) -> Study:
    """Read a finished run under `out` (plain `pandas.read_csv` of every Step-2 and Step-3 table)."""
    d = Path(out)
    if not (d / "step2").is_dir():
        from acco.errors import InputError

        raise InputError(str(d / "step2"), "", "the tables of a finished run (acco run --out DIR writes them)", "no such folder")
    figures = sorted((d / "step3").glob("*.png"))
    return Study(d, Tables(d / "step2"), Tables(d / "step3"), figures, exit_code)


def run_study(sweep: str | os.PathLike[str], out: str | os.PathLike[str], jobs: int | None = None,
              quiet: bool = True, step1: Sequence[str] = (), step3: Sequence[str] = ()) -> Study:
    """Run the whole pipeline on `sweep` into `out` and return its tables and figures.

    A rerun only computes what Step 1 does not have yet. Raises RuntimeError when a step stops the run
    (exit code 2 or more; its message is on stderr); a run where some scenarios failed returns with
    `exit_code` 1 and the tables of the rest.
    """
    code = run_pipeline(str(sweep), str(out), jobs, quiet, step1, step3)
    if code not in (exitcodes.OK, exitcodes.SCENARIOS_FAILED):
        raise RuntimeError(f"the pipeline stopped with exit code {code} (the step's message is above)")
    return open_study(out, code)


__all__ = ["STEPS", "add_run_parser", "cmd_run", "Study", "Tables", "open_study", "run_pipeline", "run_study", "step_arguments"]
