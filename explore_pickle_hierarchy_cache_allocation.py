"""Step 3 of the ACCO pipeline: best whole-network strategies, Pareto front, baselines and plots (see docs/pipeline.md).

    python explore_pickle_hierarchy_cache_allocation.py [--sweep inputs/sweeps/default.yaml] [--out outputs]
        [--threshold-mib X | --threshold hardware] [--no-baselines] [--no-plots] [--no-pareto] [--jobs N] [--quiet]
        [--clock-mhz F (--hop-ms T | --frame-rate-hz R) [--act-budget-mib X] [--weight-budget-mib X]]

Reads OUT/step2/ranges.csv (and OUT/step2/layer_energy.csv when present) after checking that Step 2 made
them from the current sweep and input files (acco.provenance), and replaces OUT/step3/ as a whole.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Sequence

if __name__ == "__main__":  # a Ctrl-C while the imports below run ends with one line too
    from acco.stopping import install_early

    install_early("explore_pickle_hierarchy_cache_allocation.py")
from tqdm import tqdm  # noqa: E402

from acco.dse.cli import common_args, guarded  # noqa: E402
from acco.io.errors import InputError


def parser() -> argparse.ArgumentParser:
    """Arguments of Step 3."""
    p = argparse.ArgumentParser(
        prog="explore_pickle_hierarchy_cache_allocation.py",
        description="Step 3: for every cut set and per-sub-stack choice of tile, caching and target, the best "
        "whole-network strategy for energy, latency and EDP (total and real-time views, the on-chip rule), "
        "the Pareto front, the baselines and the plots, under OUT/step3/.",
    )
    common_args(p)
    th = p.add_mutually_exclusive_group()
    th.add_argument("--threshold-mib", type=float, default=None, metavar="X",
                    help="on-chip rule threshold in MiB (default: the sweep's step3.threshold_mib, 1.0 as the original)")
    th.add_argument("--threshold", choices=["hardware"], default=None,
                    help="hardware: take the threshold from each hardware's activation global buffer size")
    p.add_argument("--no-baselines", action="store_true", help="skip the baselines (read from Step 1's results, computed here when missing)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.add_argument("--no-pareto", action="store_true", help="skip the whole-network Pareto front (costly on large grids)")
    p.add_argument("--allow-partial", action="store_true",
                   help="use Step-2 tables that lack some scenarios (refused otherwise); the outputs then say so")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="processes for the baselines and the per-group searches (default: the CPUs; results do not depend on it)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    rt = p.add_argument_group("real-time budgets (default: the sweep's step3 keys; docs/pipeline.md)")
    rt.add_argument("--clock-mhz", type=float, default=None, metavar="F", help="accelerator clock (MHz)")
    per = rt.add_mutually_exclusive_group()
    per.add_argument("--hop-ms", type=float, default=None, metavar="T", help="period of one new input time step (ms)")
    per.add_argument("--frame-rate-hz", type=float, default=None, metavar="R", help="new input time steps per second")
    rt.add_argument("--act-budget-mib", type=float, default=None, metavar="X", help="on-chip activation budget (MiB)")
    rt.add_argument("--weight-budget-mib", type=float, default=None, metavar="X", help="on-chip weight budget (MiB)")
    return p


def _budget(args: argparse.Namespace, sweep: Any) -> Any:
    """The real-time budget from the command line, else the sweep's step3 keys; None when no clock and period."""
    from acco.reports.realtime_cli import budget_from_args

    s3 = sweep.step3
    ns = argparse.Namespace(
        clock_mhz=args.clock_mhz if args.clock_mhz is not None else s3.clock_mhz,
        hop_ms=args.hop_ms if (args.hop_ms is not None or args.frame_rate_hz is not None) else s3.hop_ms,
        frame_rate_hz=args.frame_rate_hz,
        act_budget_mib=args.act_budget_mib if args.act_budget_mib is not None else s3.act_budget_mib,
        weight_budget_mib=args.weight_budget_mib if args.weight_budget_mib is not None else s3.weight_budget_mib,
    )
    if ns.clock_mhz is None and ns.hop_ms is None and ns.frame_rate_hz is None:
        return None
    if ns.clock_mhz is None:
        raise InputError("command line", "--clock-mhz", "a clock frequency with --hop-ms/--frame-rate-hz (or step3.clock_mhz)")
    if ns.hop_ms is None and ns.frame_rate_hz is None:
        raise InputError("command line", "--hop-ms", "a period (or --frame-rate-hz, or step3.hop_ms) with the clock")
    return budget_from_args(ns)


def _thresholds(args: argparse.Namespace, sweep: Any) -> float | dict[str, float]:
    """The on-chip threshold(s) in MiB: command line first, then the sweep; 'hardware' gives one per hardware."""
    from acco.dse.sweep import hardware_name
    from acco.reports.allocate import activation_buffer_mib

    if args.threshold_mib is not None:
        if args.threshold_mib < 0:
            raise InputError("command line", "--threshold-mib", "a non-negative size in MiB", str(args.threshold_mib))
        return args.threshold_mib
    from_hw = args.threshold == "hardware" or getattr(getattr(sweep, "step3", None), "threshold_mib", 1.0) is None
    if from_hw:
        return {hardware_name(h): activation_buffer_mib(h) for h in sweep.hardware}
    return float(sweep.step3.threshold_mib) if getattr(sweep, "step3", None) is not None else 1.0


def _submit_baselines(pool: Executor | None, sweep: Any, ranges: Any, th: float | dict[str, float], step1: Path) -> dict[tuple, Any]:
    """The baselines of every (hardware, workload) with results: read from Step 1's baseline files, else
    computed in `pool` (None: when asked). Returns, per (hardware name, workload name) in sweep order, a
    function giving its baseline costs under the on-chip threshold `th`.
    """
    from acco.dse.store import baseline_path, load_baselines
    from acco.dse.sweep import hardware_name, workload_name
    from acco.reports.allocate import MIB_BITS
    from acco.reports.baselines import BaselineSettings, run_baselines

    present = set(zip(ranges["hardware"], ranges["workload"]))
    out: dict[tuple, Any] = {}
    computed = []
    for h in sweep.hardware:
        for w in sweep.workloads:
            key = (hardware_name(h), workload_name(w))
            if key not in present:
                continue
            hth = th[key[0]] if isinstance(th, dict) else th
            wp = sweep.workload_path(h, w)
            settings = BaselineSettings.from_sweep(sweep, hth)
            stored = load_baselines(baseline_path(step1, h, wp, settings))
            if stored is not None:
                out[key] = lambda run=stored, bits=hth * MIB_BITS: run.costs(bits)
                continue
            computed.append(f"{key[0]}/{key[1]}")
            job = (h, wp, settings)
            if pool is None:
                out[key] = lambda job=job: run_baselines(*job)
            else:
                out[key] = pool.submit(run_baselines, *job).result
    if computed:
        print(f"baselines: computing {len(computed)} hardware x workload pairs that Step 1 did not store "
              f"({', '.join(computed[:3])}{', ...' if len(computed) > 3 else ''})", file=sys.stderr)
    return out


def _forced(ranges: Any, sweep: Any) -> dict[tuple, list]:
    """Forced cut sets per Step-3 group, from the hardware and workload files (the weight-overflow passes)."""
    from acco.dse.sweep import hardware_name, workload_name
    from acco.reports.allocate import forced_cut_sets, groups_of
    from acco.reports.cuttext import parse_cut_text

    paths = {(hardware_name(h), workload_name(w)): (h, sweep.workload_path(h, w)) for h in sweep.hardware for w in sweep.workloads}
    out = {}
    for key in groups_of(ranges):
        if (key[0], key[1]) in paths:
            explicit = list(parse_cut_text(key[2]))
            out[key] = forced_cut_sets(*paths[key[0], key[1]], explicit)
    return out


def run(args: argparse.Namespace) -> int:
    """Step 3 body: provenance check, then search, baselines, tables, plots into a staging folder, summary."""
    from acco.dse.sweep import load_sweep
    from acco.io.staging import staged_folder
    from acco.provenance import STEP2, check_step2, command

    sweep = load_sweep(args.sweep)
    step2 = Path(args.out) / "step2"
    rpath = step2 / "ranges.csv"
    if not rpath.is_file():
        raise InputError(str(rpath), "", f"the ranges table of Step 2 (run {command(STEP2, sweep, args.out)} first)", "no such file")
    record = check_step2(sweep, args.out, args.allow_partial)
    from acco.reports.compile import read_ranges

    ranges = read_ranges(args.out)
    if ranges.empty:
        raise InputError(str(rpath), "", "at least one range row (Step 1 produced no result?)", "an empty table")
    final = Path(args.out) / "step3"
    with staged_folder(final) as out:
        alloc, ratios, th, n_files = _run_staged(args, sweep, ranges, step2, out, record)
    _summary(alloc, ratios, th)
    print(f"step 3: {len(alloc.strategies)} strategies, {len(alloc.pareto)} Pareto points, {n_files} files -> {final}/")
    missing = int(record["results"]["missing"])
    if missing:
        print(f"warning: partial input (--allow-partial): {missing} of {record['scenarios']['count']} scenarios "
              f"have no result; {final}/provenance.json says so", file=sys.stderr)
    return 0


def _run_staged(args: argparse.Namespace, sweep: Any, ranges: Any, step2: Path, out: Path, record: dict) -> tuple:
    """Step 3's work into the staging folder `out`: (allocation, ratios, thresholds, files written)."""
    import pandas as pd

    from acco.io.atomic import atomic_write_bytes
    from acco.provenance import PROVENANCE_FILE, write_record
    from acco.reports.allocate import allocate
    from acco.stopping import worker_pool

    th = _thresholds(args, sweep)
    from acco.reports.threshold import threshold_note, threshold_origin

    print(threshold_note(th, threshold_origin(args.threshold_mib, args.threshold == "hardware", sweep), sweep))
    budget = _budget(args, sweep)
    if args.jobs is not None and args.jobs < 1:
        raise InputError("command line", "--jobs", "a number of processes >= 1", str(args.jobs))
    jobs = args.jobs or os.cpu_count() or 1
    # one pool for the figures (each as soon as its tables exist), the baselines Step 1 did not store
    # and the per-(group, view) searches
    pool: Executor | None = worker_pool(jobs) if jobs > 1 else None
    plots = not args.no_plots
    try:
        figures: list[Any] = []  # figure jobs run in the pool, one per hardware x workload and kind
        if plots and pool is not None:  # the range figures are drawn while the searches run
            from acco.reports.plots import figure_jobs

            figures += [pool.submit(fn, *a, out) for fn, a in figure_jobs(ranges=ranges)]
        forced = _forced(ranges, sweep)
        baselines = None if args.no_baselines else _submit_baselines(pool, sweep, ranges, th, Path(args.out) / "step1")
        on_pair = None
        if plots and pool is not None and not args.no_pareto:  # a pair's Pareto figures once its searches are done
            def on_pair(pair: tuple, front: Any) -> None:
                figures.extend(pool.submit(fn, *a, out) for fn, a in figure_jobs(front=front))  # type: ignore[union-attr]

        alloc = allocate(ranges, sweep.cut_max, th, forced, pareto=not args.no_pareto, jobs=jobs, executor=pool, on_pair=on_pair,
                         progress=not args.quiet)
        ratios = costs = None
        if baselines is not None:
            from acco.reports.baselines import ratio_table

            costs = {key: f() for key, f in tqdm(baselines.items(), desc="step 3 baselines", unit="pair", disable=args.quiet, leave=False)}
            ratios = ratio_table(alloc, costs)
        if plots:  # the rest of the figures, submitted before the tables are written
            from acco.reports.plots import best_picks, figure_jobs

            picks = best_picks(alloc.strategy_ranges, alloc.best)
            later = figure_jobs(ranges=None if pool is not None else ranges,
                                front=None if args.no_pareto or on_pair is not None else alloc.pareto,
                                layer_energy=_layer_energy(args.out, step2, picks, sweep), picks=picks, ratios=ratios)
            if pool is not None:
                figures += [pool.submit(fn, *a, out) for fn, a in later]
        files = alloc.write(out)
        if costs is not None:
            from acco.reports.baselines import cost_table

            for name, df in (("baselines", cost_table(costs)), ("baseline_ratios", ratios)):
                p = out / f"{name}.csv"
                atomic_write_bytes(p, df.to_csv(index=False, lineterminator="\n").encode())
                files.append(p)
        if budget is not None:
            from acco.reports.realtime import plot_realtime, realtime_report

            rt = realtime_report(ranges, sweep.cut_max, budget, th, forced)
            files += rt.write(out)
            if plots:
                files += plot_realtime(rt, out)
            cols = ["hardware", "workload", "feasible", "energy_per_step_pJ", "latency_per_step_cc", "startup_delay_ms",
                    "act_peak_MiB", "max_frame_rate_Hz", "latency_miss_x", "act_miss_MiB", "strategy"]
            with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 90):
                print(f"real time ({budget.clock_mhz:g} MHz, a time step every {budget.hop_ms:g} ms = "
                      f"{budget.deadline_cc:,.0f} cycles):")
                print(rt.summary[cols].to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
        if plots and pool is None:
            files += [f for fn, a in tqdm(later, desc="step 3 figures", unit="figure job", disable=args.quiet, leave=False)
                      for f in fn(*a, out)]
        for fut in tqdm(figures, desc="step 3 figures", unit="figure job", disable=args.quiet, leave=False):
            files += fut.result()
    except BaseException:
        if pool is not None:
            pool.stop()  # type: ignore[attr-defined]  # kills the workers, does not wait
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    partial = int(record["results"]["missing"])
    write_record(out / PROVENANCE_FILE, dict(record, step=3, partial=partial > 0, cut_max=sweep.cut_max,
                                             threshold_mib=th, files=sorted(p.name for p in out.iterdir())))
    return alloc, ratios, th, len(files)


def _layer_energy(out: str, step2: Path, picks: Any, sweep: Any) -> Any:
    """The per-layer energy of the picked strategies (Step 2's layer_energy.csv, else from the Step-1 results); None if unavailable."""
    import pandas as pd

    le_path = step2 / "layer_energy.csv"
    if le_path.is_file():
        return pd.read_csv(le_path, dtype={"cuts": str})
    if not (Path(out) / "step1").is_dir():
        return None
    from acco.dse.store import ResultFileError
    from acco.reports.compile import layer_energy_of

    try:
        return layer_energy_of(out, zip(picks["scenario_id"], picks["cut_before"], picks["cut_after"]), sweep)
    except ResultFileError as e:
        print(f"warning: no energy breakdown ({e})", file=sys.stderr)
        return None


def _summary(alloc: Any, ratios: Any, th: Any) -> None:
    """Print the overall best per metric and view, and the baseline ratios beside the paper's."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 70):
        cols = ["hardware", "workload", "view", "metric", "cut_set", "energy_pJ", "latency_cc", "edp", "peak_MiB", "onchip_rule", "strategy"]
        print(f"best whole-network strategies (on-chip threshold {th} MiB):")
        print(alloc.best[cols].to_string(index=False))
        if ratios is not None and len(ratios):
            r = ratios[ratios["metric"].isin(["energy", "latency", "edp"])]
            print("\nbaseline / ACCO (paper's claims beside):")
            print(r[["hardware", "workload", "view", "baseline", "metric", "ratio", "paper_ratio"]].to_string(index=False, float_format=lambda x: f"{x:.2f}"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of Step 3 (exit status 2 with one message on an input problem)."""
    return guarded(run, parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
