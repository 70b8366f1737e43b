"""`python -m acco realtime`: the real-time answer on existing Step-1 results (nothing is rerun)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from acco.errors import InputError


def add_realtime_parser(sub: Any) -> None:
    """Register the `realtime` subcommand."""
    p = sub.add_parser(
        "realtime",
        help="cheapest strategy that keeps up with a stream, on existing Step-1 results",
        description="Per hardware and workload of a Step-1 result folder: the strategies whose stable latency per "
        "new time step meets the deadline (hop period x clock) within the memory budgets, the minimum-energy one, "
        "the largest frame rate reachable, and by how much the best misses when nothing fits (docs/pipeline.md, "
        "'Real-time budgets').",
    )
    p.add_argument("--results", required=True, metavar="DIR", help="Step-1 result folder (OUT/step1) or a pipeline OUT folder")
    p.add_argument("--clock-mhz", type=float, required=True, metavar="F", help="accelerator clock (MHz)")
    per = p.add_mutually_exclusive_group(required=True)
    per.add_argument("--hop-ms", type=float, metavar="T", help="period of one new input time step (ms)")
    per.add_argument("--frame-rate-hz", type=float, metavar="R", help="new input time steps per second")
    p.add_argument("--act-budget-mib", type=float, default=None, metavar="X", help="on-chip activation budget (MiB)")
    p.add_argument("--weight-budget-mib", type=float, default=None, metavar="X", help="on-chip weight budget (MiB)")
    p.add_argument("--cut-max", type=int, default=None, metavar="N", help="extra cuts (default: the results' cut_max)")
    p.add_argument("--threshold-mib", type=float, default=1.0, metavar="X",
                   help="on-chip rule threshold (MiB; default 1.0, the original's)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write the tables and plots (default: DIR/../realtime)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=cmd_realtime)


def budget_from_args(args: argparse.Namespace) -> Any:
    """The Budget of the command line, or one located error naming the option."""
    from acco.reports.realtime import Budget

    def positive(name: str, v: float | None, what: str) -> None:
        if v is not None and not (math.isfinite(v) and v > 0):
            raise InputError("command line", name, what, str(v))

    positive("--clock-mhz", args.clock_mhz, "a positive clock frequency in MHz")
    positive("--hop-ms", args.hop_ms, "a positive period in ms")
    positive("--frame-rate-hz", args.frame_rate_hz, "a positive frame rate in Hz")
    for name, v in (("--act-budget-mib", args.act_budget_mib), ("--weight-budget-mib", args.weight_budget_mib)):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise InputError("command line", name, "a non-negative size in MiB", str(v))
    kw = {"act_budget_mib": args.act_budget_mib, "weight_budget_mib": args.weight_budget_mib}
    if args.hop_ms is not None:
        return Budget(args.clock_mhz, args.hop_ms, **kw)
    return Budget.from_rate(args.clock_mhz, args.frame_rate_hz, **kw)


def load_ranges(step1: Path) -> tuple[Any, int, dict]:
    """Ranges table (Step 2's columns) of every result under `step1`, their cut_max and forced cut sets per group."""
    from acco.dse.store import ResultFileError, load_result, result_files
    from acco.reports.allocate import forced_cut_sets
    from acco.reports.compile import RANGE_COLUMNS, _frame, result_rows
    from acco.reports.cuttext import cut_text, parse_cut_text

    files = result_files(step1)
    if not files:
        raise InputError(str(step1), "", "Step-1 result files (*.pkl; run DfStackCutAndXform_mp_misc.py first)", "none found")
    rows: list[tuple] = []
    cut_max = 0
    paths: dict[tuple, tuple[str, str]] = {}
    for f in files:
        try:
            res = load_result(f)
        except ResultFileError as e:
            raise InputError(str(f), "", "a readable Step-1 result", str(e)) from None
        sc = res.scenario
        cut_max = max(cut_max, sc.cut_max)
        key = (sc.hardware, sc.workload, cut_text(sc.cuts), sc.initial_dilation, sc.batch)
        paths[key] = (sc.hardware_path, sc.workload_path)
        rows += result_rows(res, layers=False)[0]
    forced = {}
    for key, (hw, wl) in paths.items():
        if Path(hw).is_file() and Path(wl).is_file():
            forced[key] = forced_cut_sets(hw, wl, parse_cut_text(key[2]))
        else:
            print(f"warning: {hw} or {wl} not found: forced cuts of {key[0]}/{key[1]} inferred from the results", file=sys.stderr)
    return _frame(rows, RANGE_COLUMNS), cut_max, forced


def cmd_realtime(args: argparse.Namespace) -> int:
    """Answer the real-time question and write realtime.csv, realtime_front.csv and the plots."""
    import pandas as pd

    from acco.reports.realtime import plot_realtime, realtime_report

    budget = budget_from_args(args)
    if args.cut_max is not None and args.cut_max < 0:
        raise InputError("command line", "--cut-max", "a non-negative number of extra cuts", str(args.cut_max))
    if not (math.isfinite(args.threshold_mib) and args.threshold_mib >= 0):
        raise InputError("command line", "--threshold-mib", "a non-negative size in MiB", str(args.threshold_mib))
    root = Path(args.results)
    if not root.is_dir():
        raise InputError(str(root), "", "a Step-1 result folder", "no such folder")
    step1 = root / "step1" if (root / "step1").is_dir() else root
    ranges, cut_max, forced = load_ranges(step1)
    cut_max = cut_max if args.cut_max is None else args.cut_max
    rep = realtime_report(ranges, cut_max, budget, args.threshold_mib, forced)
    out = Path(args.out) if args.out else step1.parent / "realtime"
    files = rep.write(out)
    if not args.no_plots:
        files += plot_realtime(rep, out)
    b = budget
    mib = lambda v: "none" if v is None else f"{v:g} MiB"  # noqa: E731
    print(f"real time: clock {b.clock_mhz:g} MHz, one new time step every {b.hop_ms:g} ms -> deadline "
          f"{b.deadline_cc:,.0f} cycles per step; budgets: activations {mib(b.act_budget_mib)}, "
          f"weights {mib(b.weight_budget_mib)}")
    cols = ["hardware", "workload", "feasible", "energy_per_step_pJ", "latency_per_step_cc", "startup_delay_ms",
            "act_peak_MiB", "weight_MiB", "max_frame_rate_Hz", "latency_miss_x", "act_miss_MiB", "weight_miss_MiB", "strategy"]
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 90):
        print(rep.summary[cols].to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
    print(f"{len(files)} files -> {out}/")
    return 0


__all__ = ["add_realtime_parser", "budget_from_args", "cmd_realtime", "load_ranges"]
