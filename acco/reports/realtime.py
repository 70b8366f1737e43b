"""Real-time budgets: the cheapest strategy that keeps up with the input stream (docs/pipeline.md).

A device runs at `clock_mhz` and a new input time step (e.g. an STFT frame) arrives every `hop_ms`:
the causal network must produce each new output step within the deadline hop_ms x clock cycles.
Per Step-3 group, the candidates are the `real-time` view's strategies (tile_y = 1, `stable` rows
= the cost of one new time step; the on-chip rule as in Step 3) on the exact (energy, latency,
activation peak) Pareto fronts of every cut set: the minimum-energy strategy meeting a latency bound
and an activation budget is always among them (a strategy off the front is matched or beaten in
all three by one on it). Weights (Σ of the ranges' warm-up weight bits: every weight of a range is
used at every step) are checked on these candidates. Warm-up (the first output step: caches
filled from scratch) is reported as a start-up delay, not held to the deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from acco.reports.allocate import (
    MIB_BITS,
    Choice,
    CutSet,
    GroupSearch,
    _bool,
    _group_rows,
    cut_text,
    groups_of,
    ranges_of,
    strategy_text,
    view_table,
)


@dataclass(frozen=True)
class Budget:
    """The deployment: clock (MHz), period of one new time step (ms), optional on-chip budgets (MiB)."""

    clock_mhz: float
    hop_ms: float
    act_budget_mib: float | None = None
    weight_budget_mib: float | None = None

    def __post_init__(self) -> None:
        for name in ("clock_mhz", "hop_ms"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        for name in ("act_budget_mib", "weight_budget_mib"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a non-negative number of MiB, got {v!r}")

    @classmethod
    def from_rate(cls, clock_mhz: float, frame_rate_hz: float, **kw: float | None) -> "Budget":
        """The budget for a frame rate (new time steps per second) instead of a period."""
        if not (math.isfinite(frame_rate_hz) and frame_rate_hz > 0):
            raise ValueError(f"frame_rate_hz must be a positive number, got {frame_rate_hz!r}")
        return cls(clock_mhz, 1000.0 / frame_rate_hz, **kw)  # type: ignore[arg-type]

    @property
    def deadline_cc(self) -> float:
        """Cycles available per new time step."""
        return self.hop_ms * 1e-3 * self.clock_mhz * 1e6

    def ms(self, cycles: float) -> float:
        """Milliseconds for a number of cycles at this clock."""
        return cycles / (self.clock_mhz * 1e3)

    def rate_hz(self, cycles: float) -> float:
        """Time steps per second when each takes `cycles`."""
        return self.clock_mhz * 1e6 / cycles if cycles > 0 else math.inf


@dataclass(frozen=True)
class RtStrategy:
    """A real-time candidate: its Step-3 choice, start-up (warm-up) costs and weight bits."""

    choice: Choice
    text: str
    warmup_energy: int
    warmup_latency: int
    warmup_peak_bits: int
    weight_bits: int

    @property
    def key(self) -> tuple:
        """Minimum energy per step, then latency, peak, fewer cuts, cut list, options (Step 3's tie rule)."""
        c = self.choice
        return (c.energy, c.latency, c.peak_bits, len(c.cuts), c.cuts, c.options)


def candidates(rows: pd.DataFrame, cut_max: int, threshold_bits: float, forced: Sequence[CutSet] | None = None) -> list[RtStrategy]:
    """The real-time strategies of one group on the (energy, latency, peak) fronts of every cut set."""
    vt = view_table(rows, "real-time")
    if not vt.ranges:
        return []
    gs = GroupSearch(vt, cut_max, threshold_bits, forced)
    warm = _warmup_rows(rows)
    out: list[RtStrategy] = []
    for cuts in gs.cut_sets():
        rgs = tuple(ranges_of(cuts))
        for ruled in (True, False):
            for c in gs._choices(cuts, gs.front(rgs, ruled, "abp"), ruled, False):
                we = wl = wp = wb = 0
                for rg, o in zip(rgs, c.options):
                    w = warm[(rg, vt.options[o])]
                    we += int(w["energy_pJ"]) - (int(w["offload_energy_pJ"]) + int(w["reload_energy_pJ"]) if c.onchip else 0)
                    wl += int(w["latency_cc"]) - (int(w["offload_latency_cc"]) + int(w["reload_latency_cc"]) if c.onchip else 0)
                    wp += int(w["peak_activation_bits"])
                    wb += int(w["weight_bits"])
                out.append(RtStrategy(c, strategy_text(vt, c), we, wl, wp, wb))
    return out


def _warmup_rows(rows: pd.DataFrame) -> dict[tuple, pd.Series]:
    """Warm-up row per (range, option) of a group's real-time options."""
    t = rows[(rows["kind"] == "warmup") & (rows["tile_y"] == 1)]
    out = {}
    for _, r in t.iterrows():
        cb = None if pd.isna(r["cut_before"]) else int(r["cut_before"])
        ca = None if pd.isna(r["cut_after"]) else int(r["cut_after"])
        opt = (int(r["tile_x"]), int(r["tile_y"]), _bool(r["h_cache"]), _bool(r["v_cache"]), str(r["target"]))
        out[((cb, ca), opt)] = r
    return out


@dataclass(frozen=True)
class Answer:
    """The real-time answer of one group."""

    budget: Budget
    best: RtStrategy | None  # minimum energy per step among the feasible ones
    feasible: list[RtStrategy]  # on the (energy, latency) front, feasible, fastest last
    frontier: list[RtStrategy]  # (energy, latency) front of the memory-feasible strategies
    fastest: RtStrategy | None  # lowest latency per step of any strategy (memory ignored)
    fastest_in_budget: RtStrategy | None  # lowest latency per step within the memory budgets
    latency_miss: float | None  # infeasible: fastest-in-budget latency / deadline (x)
    act_miss_mib: float | None  # infeasible: smallest activation peak among deadline-meeting ones - budget
    weight_miss_mib: float | None  # infeasible: smallest weights among deadline-meeting ones - budget


def _mem_ok(s: RtStrategy, b: Budget) -> bool:
    return (b.act_budget_mib is None or s.choice.peak_bits <= b.act_budget_mib * MIB_BITS) and (
        b.weight_budget_mib is None or s.weight_bits <= b.weight_budget_mib * MIB_BITS
    )


def _front_el(cands: list[RtStrategy]) -> list[RtStrategy]:
    """(energy, latency) Pareto front, by energy ascending (ties: the Step-3 order)."""
    out: list[RtStrategy] = []
    best_l = math.inf
    for s in sorted(cands, key=lambda s: s.key):
        if s.choice.latency < best_l:
            out.append(s)
            best_l = s.choice.latency
    return out


def answer(cands: list[RtStrategy], budget: Budget) -> Answer:
    """Feasible strategies, the minimum-energy one, the fastest ones and, when none is feasible, the misses."""
    d = budget.deadline_cc
    in_mem = [s for s in cands if _mem_ok(s, budget)]
    frontier = _front_el(in_mem)
    feasible = [s for s in frontier if s.choice.latency <= d]
    best = feasible[0] if feasible else None
    by_lat = lambda s: (s.choice.latency, s.choice.energy) + s.key[2:]  # noqa: E731
    fastest = min(cands, key=by_lat) if cands else None
    fastest_in = min(in_mem, key=by_lat) if in_mem else None
    lat_miss = act_miss = w_miss = None
    if best is None and cands:
        if fastest_in is not None:
            lat_miss = fastest_in.choice.latency / d
        on_time = [s for s in cands if s.choice.latency <= d]
        if on_time and budget.act_budget_mib is not None:
            act_miss = max(0.0, min(s.choice.peak_bits for s in on_time) / MIB_BITS - budget.act_budget_mib)
        if on_time and budget.weight_budget_mib is not None:
            w_miss = max(0.0, min(s.weight_bits for s in on_time) / MIB_BITS - budget.weight_budget_mib)
    return Answer(budget, best, feasible, frontier, fastest, fastest_in, lat_miss, act_miss, w_miss)


SUMMARY_COLUMNS = (
    "hardware", "workload", "cuts", "initial_dilation", "batch", "clock_MHz", "hop_ms", "deadline_cc",
    "act_budget_MiB", "weight_budget_MiB", "feasible", "n_feasible", "energy_per_step_pJ", "latency_per_step_cc",
    "latency_per_step_ms", "frame_rate_Hz", "startup_delay_cc", "startup_delay_ms", "startup_energy_pJ",
    "act_peak_MiB", "weight_MiB", "onchip_rule", "cut_set", "strategy", "max_frame_rate_Hz",
    "max_frame_rate_in_budget_Hz", "latency_miss_x", "latency_miss_ms", "act_miss_MiB", "weight_miss_MiB",
)
FRONT_COLUMNS = (
    "hardware", "workload", "cuts", "initial_dilation", "batch", "feasible", "energy_per_step_pJ",
    "latency_per_step_cc", "frame_rate_Hz", "act_peak_MiB", "weight_MiB", "startup_delay_cc", "onchip_rule",
    "cut_set", "strategy",
)


def _front_row(key: tuple, s: RtStrategy, b: Budget) -> tuple:
    c = s.choice
    return key + (c.latency <= b.deadline_cc, c.energy, c.latency, b.rate_hz(c.latency), c.peak_bits / MIB_BITS,
                  s.weight_bits / MIB_BITS, s.warmup_latency, c.onchip, cut_text(c.cuts), s.text)


def summary_row(key: tuple, a: Answer) -> tuple:
    """One `realtime.csv` row."""
    b = a.budget
    head = key + (b.clock_mhz, b.hop_ms, b.deadline_cc, b.act_budget_mib, b.weight_budget_mib)
    s = a.best
    fast = b.rate_hz(a.fastest.choice.latency) if a.fastest else math.nan
    fast_in = b.rate_hz(a.fastest_in_budget.choice.latency) if a.fastest_in_budget else math.nan
    if s is None:
        pick = (False, 0) + (math.nan,) * 9 + (None, "", "")
    else:
        c = s.choice
        pick = (True, len(a.feasible), c.energy, c.latency, b.ms(c.latency), b.rate_hz(c.latency), s.warmup_latency,
                b.ms(s.warmup_latency), s.warmup_energy, c.peak_bits / MIB_BITS, s.weight_bits / MIB_BITS, c.onchip,
                cut_text(c.cuts), s.text)
    lat_ms = (a.latency_miss - 1) * b.hop_ms if a.latency_miss is not None else math.nan
    miss = (fast, fast_in, a.latency_miss if a.latency_miss is not None else math.nan, lat_ms,
            a.act_miss_mib if a.act_miss_mib is not None else math.nan,
            a.weight_miss_mib if a.weight_miss_mib is not None else math.nan)
    return head + pick + miss


@dataclass(frozen=True)
class RealTimeReport:
    """`realtime.csv` (one row per group) and `realtime_front.csv` (the memory-feasible (E, L) fronts)."""

    summary: pd.DataFrame
    front: pd.DataFrame
    answers: dict[tuple, Answer]

    def write(self, directory: str | Path) -> list[Path]:
        """Write both tables (atomically) into `directory`."""
        from acco.io.atomic import atomic_write_bytes

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = []
        for name, df in (("realtime", self.summary), ("realtime_front", self.front)):
            p = d / f"{name}.csv"
            atomic_write_bytes(p, df.to_csv(index=False, lineterminator="\n").encode())
            out.append(p)
        return out


def realtime_report(
    ranges: pd.DataFrame,
    cut_max: int,
    budget: Budget,
    threshold_mib: float | Mapping[str, float] = 1.0,
    forced: Mapping[tuple, Sequence[CutSet]] | None = None,
) -> RealTimeReport:
    """The real-time answer for every group of a Step-2 ranges table."""
    if "cuts" in ranges.columns:
        ranges = ranges.assign(cuts=ranges["cuts"].fillna("").astype(str))
    s_rows, f_rows, answers = [], [], {}
    for key in groups_of(ranges):
        th = threshold_mib[str(key[0])] if isinstance(threshold_mib, Mapping) else threshold_mib
        cands = candidates(_group_rows(ranges, key), cut_max, th * MIB_BITS, None if forced is None else forced.get(key))
        if not cands:
            continue
        a = answer(cands, budget)
        answers[key] = a
        s_rows.append(summary_row(key, a))
        f_rows += [_front_row(key, s, budget) for s in a.frontier]
    return RealTimeReport(pd.DataFrame(s_rows, columns=list(SUMMARY_COLUMNS)), pd.DataFrame(f_rows, columns=list(FRONT_COLUMNS)), answers)


def plot_realtime(report: RealTimeReport, directory: str | Path) -> list[Path]:
    """Per group: energy per step vs achievable frame rate (the front, deadline marked), and the on-chip
    memory over the first time steps of the chosen (or, when none meets the deadline, the fastest) strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acco.reports.plots import _fit
    from acco.reports.ticks import plain_log_axis

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for key, a in report.answers.items():
        b = a.budget
        name = f"{key[0]}_{key[1]}".replace("_", "-")
        fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
        rate = np.array([b.rate_hz(s.choice.latency) for s in a.frontier])
        e = np.array([s.choice.energy for s in a.frontier]) / 1e6
        ok = np.array([s.choice.latency <= b.deadline_cc for s in a.frontier])
        ax.step(rate, e, where="post", color="0.6", lw=0.8)
        ax.scatter(rate[~ok], e[~ok], s=14, color="0.6", label="misses the deadline")
        ax.scatter(rate[ok], e[ok], s=14, color="tab:blue", label="meets the deadline")
        need = 1000.0 / b.hop_ms
        ax.axvline(need, color="tab:red", ls="--", lw=1, label=f"required {need:g} steps/s ({b.hop_ms:g} ms at {b.clock_mhz:g} MHz)")
        if a.best is not None:
            ax.scatter([b.rate_hz(a.best.choice.latency)], [a.best.choice.energy / 1e6], s=60, marker="*", color="tab:green",
                       zorder=3, label=f"chosen: {a.best.choice.energy / 1e6:.3g} µJ/step")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax, "x", 5)
        plain_log_axis(ax, "y")
        ax.set_xlabel("achievable frame rate (new time steps per second)")
        ax.set_ylabel("energy per time step (µJ)")
        ax.set_title(f"{key[1]} on {key[0]}: real-time frontier", fontsize=9)
        ax.legend(fontsize=7)
        p = d / f"realtime_frontier_{name}.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        out.append(p)
        s = a.best or a.fastest_in_budget or a.fastest
        if s is None:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.6), constrained_layout=True)
        steps = np.arange(8)
        act = np.array([s.warmup_peak_bits] + [s.choice.peak_bits] * 7) / MIB_BITS
        w = np.full(8, s.weight_bits / MIB_BITS)
        ax.bar(steps, w, color="0.75", label="weights")
        ax.bar(steps, act, bottom=w, color="tab:orange", label="activations (peak)")
        if b.act_budget_mib is not None:
            ax.axhline(w[0] + b.act_budget_mib, color="tab:red", ls="--", lw=1, label="weights + activation budget")
        ax.set_xticks(steps, ["warm-up"] + [f"step {i}" for i in range(1, 8)], fontsize=7)
        ax.set_ylabel("on-chip memory (MiB)")
        ax.set_title(_fit(f"{key[1]}: memory over the first time steps (cuts after layers "
                          f"{', '.join(map(str, s.choice.cuts)) or 'none'})", fig), fontsize=9)
        ax.legend(fontsize=7)
        p = d / f"realtime_memory_{name}.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        out.append(p)
    return out


__all__ = ["Answer", "Budget", "RealTimeReport", "RtStrategy", "answer", "candidates", "plot_realtime", "realtime_report"]
