"""Command lines of the pipeline's Step 1 and Step 2 (the top-level scripts are thin wrappers).

Exit statuses (`acco.exitcodes`): an input mistake, or outputs of an earlier step that do not match
the current inputs, is one `error: <message>` line on stderr and status 2; a sweep where some
scenarios failed exits with status 1 after recording them; an environment failure (disk full, no
permission, unreachable scheduler) is one line and status 3; SIGINT / SIGTERM stop with one line
and 130 / 143, no traceback, no worker left (`acco.stopping`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Sequence

from acco import exitcodes
from acco.errors import EnvironmentFailure, InputError
from acco.io.errors import describe_os_error
from acco.provenance import ProvenanceError
from acco.stopping import Stopped, install_handlers, kill_workers, restore_handlers

DEFAULT_SWEEP = "inputs/sweeps/default.yaml"
DEFAULT_OUT = "outputs"
EXIT_OK, EXIT_FAILED, EXIT_INPUT = exitcodes.OK, exitcodes.SCENARIOS_FAILED, exitcodes.BAD_INPUT


def common_args(p: argparse.ArgumentParser) -> None:
    """--sweep and --out, shared by the three steps."""
    p.add_argument("--sweep", default=DEFAULT_SWEEP, help=f"sweep file (default {DEFAULT_SWEEP})")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT}/)")


def guarded(run: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse and run; every way of ending is one line and its exit status (`acco.exitcodes`): an input
    mistake or a provenance mismatch 2, an environment failure 3, SIGINT / SIGTERM 130 / 143."""
    old = install_handlers()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (InputError, ProvenanceError) as e:
        print(f"error: {e.message}", file=sys.stderr)
        return EXIT_INPUT
    except EnvironmentFailure as e:
        print(f"error: environment: {e.message}", file=sys.stderr)
        return exitcodes.ENVIRONMENT
    except OSError as e:
        print(f"error: environment: {describe_os_error(e)}", file=sys.stderr)
        return exitcodes.ENVIRONMENT
    except KeyboardInterrupt as e:
        kill_workers()
        signum = e.signum if isinstance(e, Stopped) else 2
        name = e.name if isinstance(e, Stopped) else "SIGINT"
        print(f"\n{parser.prog}: stopped by {name}; nothing half-written is left (Step 1 keeps the results it "
              "finished, Steps 2 and 3 their earlier outputs)", file=sys.stderr)
        if argv is None:  # a script: leave now (Python's exit would wait for the killed pool's threads)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exitcodes.for_signal(signum))
        return exitcodes.for_signal(signum)
    finally:
        restore_handlers(old)


def step1_parser() -> argparse.ArgumentParser:
    """Arguments of DfStackCutAndXform_mp_misc.py."""
    p = argparse.ArgumentParser(
        prog="DfStackCutAndXform_mp_misc.py",
        description="Step 1: run every scenario of a sweep (causal depth-first costs of all sub-stack ranges) "
        "and store one result file per scenario under OUT/step1/.",
    )
    common_args(p)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: number of CPUs)")
    p.add_argument("--executor", choices=("process", "dask"), default="process",
                   help="process pool on this machine (default) or an existing Dask cluster")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --executor dask)")
    p.add_argument("--force", action="store_true", help="recompute scenarios that already have a result")
    p.add_argument("--mapper-cache", default=None, metavar="DIR|off",
                   help="folder of mapper searches shared by workers and runs, or 'off' "
                   "(default: $ACCO_MAPPER_CACHE, else OUT/.mapper-cache)")
    p.add_argument("--no-baselines", action="store_true",
                   help="skip the baselines Step 3 compares with (one job per hardware x workload; Step 3 then computes them)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run_step1(args: argparse.Namespace) -> int:
    """Step 1 body: load the sweep, run it, report."""
    import os

    from acco.dse.runner import run_sweep
    from acco.dse.sweep import load_sweep

    sweep = load_sweep(args.sweep)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise InputError("command line", "--jobs", "a positive number of worker processes", str(jobs))
    if args.executor == "dask" and not args.scheduler:
        raise InputError("command line", "--scheduler", "the address of a running Dask scheduler with --executor dask", "nothing")
    s = run_sweep(sweep, args.out, jobs, args.force, args.executor, args.scheduler, progress=not args.quiet,
                  mapper_cache=args.mapper_cache, baselines=not args.no_baselines)
    rate = s.done / s.seconds if s.seconds > 0 else 0.0
    print(
        f"step 1: {s.total} scenarios, {s.skipped} already done, {s.done} computed, {len(s.failed)} failed "
        + (f"({s.clipped} served as clipped duplicates of another: same tile once clipped to the output) " if s.clipped else "")
        + f"in {s.seconds:.1f} s ({rate:.2f} scenarios/s) -> {args.out}/step1/"
    )
    if s.damaged:
        print(f"  {s.damaged} damaged result files (checksum mismatch) were computed again", file=sys.stderr)
    if s.mapper_hits + s.mapper_misses:
        print(f"  mapper cache {s.mapper_cache or 'off'}: {s.mapper_misses} searches, {s.mapper_hit_rate:.0%} of look-ups answered from the cache")
    if s.baselines_done:
        print(f"  baselines of {s.baselines_done} hardware x workload pairs -> {args.out}/step1/_baselines/")
    for b in s.baseline_errors:
        print(f"  warning: baselines of {b} (Step 3 tries them again)", file=sys.stderr)
    for f in s.failed:
        print(f"  failed: {f}", file=sys.stderr)
    return EXIT_OK if s.ok else EXIT_FAILED


def step1_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of Step 1."""
    return guarded(run_step1, step1_parser(), argv)


def step2_parser() -> argparse.ArgumentParser:
    """Arguments of explore_pickle_compile_readings.py."""
    p = argparse.ArgumentParser(
        prog="explore_pickle_compile_readings.py",
        description="Step 2: reduce the Step-1 results of a sweep to CSV tables under OUT/step2/ "
        "(per sub-stack range: warm-up / stable / total energy and latency, DRAM off-load/reload deltas, "
        "footprints; per layer; energy breakdown).",
    )
    common_args(p)
    p.add_argument("--no-layers", action="store_true", help="skip the per-layer table (layers.csv), the large one")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="processes reading the results (default: the CPUs; the tables do not depend on it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run_step2(args: argparse.Namespace) -> int:
    """Step 2 body."""
    from pathlib import Path

    from acco.dse.sweep import load_sweep
    from acco.provenance import STEP1, check_step1, command

    sweep = load_sweep(args.sweep)
    if args.jobs is not None and args.jobs < 1:
        raise InputError("command line", "--jobs", "a positive number of processes", str(args.jobs))
    if not (Path(args.out) / "step1").is_dir():
        raise InputError(str(Path(args.out) / "step1"), "", f"the results folder of Step 1 (run {command(STEP1, sweep, args.out)} first)", "no such folder")
    record, lacking, total = step1_inputs(sweep, args.out)
    check_step1(sweep, args.out, record, lacking, total)
    d = Path(args.out) / "step2"
    t = write_step2(sweep, args.out, record, progress=not args.quiet, layers=not args.no_layers, jobs=args.jobs)
    print(f"step 2: {t.scenarios} scenarios, {t.range_rows} range rows, {t.layer_rows} layer rows -> {d}/")
    if len(t.missing):
        print(f"  {len(t.missing)} scenarios have no result (see {d}/missing.csv):", file=sys.stderr)
        for sid, status, msg in t.missing.head(10).itertuples(index=False):
            print(f"    {status}: {sid} {msg}", file=sys.stderr)
        print(f"  to compute them: {command(STEP1, sweep, args.out)}, then Step 2 again "
              "(Step 3 refuses partial tables unless given --allow-partial)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def step1_inputs(sweep: Any, out: str) -> tuple[dict, int, int]:
    """(the sweep's provenance record, scenarios with neither a result file nor a failure record, scenarios)."""
    from pathlib import Path

    from acco.dse.scenarios import expand
    from acco.dse.store import failure_path, result_path
    from acco.provenance import sweep_record

    step1 = Path(out) / "step1"
    scenarios = expand(sweep)
    lacking = sum(1 for sc in scenarios if not result_path(step1, sc).exists() and not failure_path(step1, sc).exists())
    return sweep_record(sweep, scenarios), lacking, len(scenarios)


def write_step2(
    sweep: Any, out: str, record: dict, progress: bool = True, layers: bool = True, jobs: int | None = None
) -> Any:
    """Step 2's tables and provenance record, written into a staging folder swapped in for OUT/step2/ when
    complete (an error or a signal leaves the old tables as they were)."""
    from pathlib import Path

    from acco.io.staging import staged_folder
    from acco.provenance import stamp_step2
    from acco.reports.compile import compile_to_disk

    with staged_folder(Path(out) / "step2") as d:
        t = compile_to_disk(sweep, out, progress=progress, layers=layers, jobs=jobs, dest=d)
        stamp_step2(d, record, t.scenarios, t.results_digest, len(t.missing), len(t.failures))
    return t


def step2_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of Step 2."""
    return guarded(run_step2, step2_parser(), argv)


__all__ = ["step1_main", "step2_main", "common_args", "guarded"]
