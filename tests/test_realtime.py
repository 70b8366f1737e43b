"""Real-time budgets (acco/reports/realtime.py, `python -m acco realtime`).

A hand-made result set whose answers are worked out by hand: one group, ranges (None, None),
(None, 0), (0, None), options A = 1x1 and B = 2x1 (fully cached, energy target), clock 1 MHz (one
cycle = 1 µs). Stable rows (E pJ, L cycles, peak MiB):

    whole   A (100, 1500, 0.5)   B (200, 900, 0.6)
    (-,0)   A ( 40,  400, 0.3)   B ( 60, 300, 0.2)
    (0,-)   A ( 50,  500, 0.3)   B ( 90, 350, 0.4)

Strategies (cut set, options -> E, L, peak): () A 100/1500/.5, () B 200/900/.6, (0) AA 90/900/.6,
AB 130/750/.7, BA 110/800/.5, BB 150/650/.6. Warm-up rows: every latency x 4, energy x 3.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from acco.reports.compile import RANGE_COLUMNS
from acco.reports.realtime import Budget, realtime_report

ROOT = Path(__file__).resolve().parents[1]
MIB = 8 * 2**20
STABLE = {
    (None, None): {1: (100, 1500, 0.5), 2: (200, 900, 0.6)},
    (None, 0): {1: (40, 400, 0.3), 2: (60, 300, 0.2)},
    (0, None): {1: (50, 500, 0.3), 2: (90, 350, 0.4)},
}
KEY = ("hw", "net", "", -1, 1)
FORCED = {KEY: [()]}


def table(deltas: dict | None = None, weights: int = 1000) -> pd.DataFrame:
    """The hand-made ranges table; `deltas[(range, tile_x)] = (dE, dL)` off-load + reload deltas of the stable row."""
    rows = []
    for rg, opts in STABLE.items():
        for tx, (e, lat, peak) in opts.items():
            sid = f"hw/net/energy/{tx}x1/TT/cuts-/dil-1/b1"
            for kind, f in (("warmup", (3, 4)), ("stable", (1, 1))):
                de, dl = (deltas or {}).get((rg, tx), (0, 0)) if kind == "stable" else (0, 0)
                rec = dict.fromkeys(RANGE_COLUMNS, 0)
                rec.update(scenario_id=sid, hardware="hw", workload="net", target="energy", tile_x=tx, tile_y=1,
                           h_cache=True, v_cache=True, cuts="", initial_dilation=-1, batch=1, cut_before=rg[0],
                           cut_after=rg[1], first_layer=0, last_layer=1, n_layers=2, rows=8, kind=kind,
                           energy_pJ=e * f[0], latency_cc=lat * f[1], offload_energy_pJ=de, offload_latency_cc=dl,
                           peak_activation_bits=int(peak * MIB), weight_bits=weights)
                rows.append(rec)
    df = pd.DataFrame(rows, columns=list(RANGE_COLUMNS))
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    return df


def run(budget: Budget, deltas: dict | None = None, threshold_mib: float = 0.0, weights: int = 1000):
    rep = realtime_report(table(deltas, weights), 1, budget, threshold_mib, FORCED)
    return rep, rep.answers[KEY]


def test_minimum_energy_feasible_strategy_and_feasible_set():
    rep, a = run(Budget(1.0, 1.0))  # deadline 1000 cycles
    assert Budget(1.0, 1.0).deadline_cc == 1000
    assert a.best.choice.cuts == (0,) and a.best.text == "None-0:1x1/TT/energy;0-None:1x1/TT/energy"
    assert (a.best.choice.energy, a.best.choice.latency, a.best.choice.peak_bits) == (90, 900, int(0.6 * MIB))
    # (E, L) front: AA 90/900, BA 110/800, AB 130/750, BB 150/650 (() A 100/1500 and () B 200/900 are
    # dominated by AA); all four meet 1000 cycles
    assert [(s.choice.energy, s.choice.latency) for s in a.feasible] == [(90, 900), (110, 800), (130, 750), (150, 650)]
    # start-up: the chosen ranges' warm-up rows (latency x 4, energy x 3)
    assert (a.best.warmup_latency, a.best.warmup_energy) == (4 * 900, 3 * 90)
    row = rep.summary.iloc[0]
    assert row.feasible and row.n_feasible == 4 and row.startup_delay_ms == pytest.approx(3.6)
    assert row.max_frame_rate_Hz == pytest.approx(1e6 / 650)
    assert pd.isna(row.latency_miss_x) and row.weight_MiB == pytest.approx(2000 / MIB)


def test_activation_budget_changes_the_choice():
    _, a = run(Budget(1.0, 1.0, act_budget_mib=0.55))
    assert a.best.text == "None-0:2x1/TT/energy;0-None:1x1/TT/energy"  # BA: 110 pJ, 800 cycles, 0.5 MiB
    assert (a.best.choice.energy, a.best.choice.latency) == (110, 800)


def test_latency_miss_margin_when_the_deadline_is_too_short():
    rep, a = run(Budget(1.0, 0.6))  # 600 cycles; the fastest strategy (BB) takes 650
    assert a.best is None and not a.feasible
    assert a.latency_miss == pytest.approx(650 / 600)
    row = rep.summary.iloc[0]
    assert not row.feasible and row.latency_miss_ms == pytest.approx(0.05)  # 50 cycles at 1 MHz
    assert row.max_frame_rate_Hz == pytest.approx(1e6 / 650)


def test_memory_miss_margin_when_the_budget_is_too_small():
    _, a = run(Budget(1.0, 1.0, act_budget_mib=0.4))
    # strategies meeting 1000 cycles have peaks 0.6, 0.6, 0.7, 0.5, 0.6 MiB: the smallest misses by 0.1
    assert a.best is None and a.act_miss_mib == pytest.approx(0.1, abs=1e-6)  # peaks truncated to whole bits
    assert a.latency_miss is None  # no strategy fits 0.4 MiB at all (the smallest peak is 0.5)


def test_weight_budget():
    # one range holds 1000 weight bits, two ranges 2000: within 1500 bits only the uncut strategies remain,
    # of which B (200 pJ, 900 cycles) meets the deadline
    _, a = run(Budget(1.0, 1.0, weight_budget_mib=1500 / MIB))
    assert a.best.text == "None-None:2x1/TT/energy" and (a.best.choice.energy, a.best.weight_bits) == (200, 1000)
    _, a = run(Budget(1.0, 1.0, weight_budget_mib=500 / MIB))
    assert a.best is None and a.weight_miss_mib == pytest.approx(500 / MIB)
    assert a.latency_miss is None  # nothing fits 500 bits at any speed


def test_on_chip_rule_counts_in_the_real_time_view():
    # BA's ranges carry off-load/reload deltas; its peak 0.5 MiB is under a 0.55 MiB threshold, so its
    # per-step cost drops to 110 - 30 = 80 pJ and 800 - 150 = 650 cycles: now the cheapest feasible one
    deltas = {((None, 0), 2): (10, 50), ((0, None), 1): (20, 100)}
    _, a = run(Budget(1.0, 1.0), deltas, threshold_mib=0.55)
    assert a.best.choice.onchip and (a.best.choice.energy, a.best.choice.latency) == (80, 650)
    _, raw = run(Budget(1.0, 1.0), deltas, threshold_mib=0.0)  # rule off: back to AA
    assert (raw.best.choice.energy, raw.best.choice.latency) == (90, 900)


def test_bad_budgets_are_refused():
    for kw in ({"clock_mhz": 0, "hop_ms": 1}, {"clock_mhz": 1, "hop_ms": -1}, {"clock_mhz": 1, "hop_ms": 1, "act_budget_mib": -2}):
        with pytest.raises(ValueError):
            Budget(**kw)
    assert Budget.from_rate(200, 100).hop_ms == pytest.approx(10)


def _acco(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acco", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_on_a_tiny_step1_run(tmp_path: Path):
    from test_pipeline_steps12 import write_sweep

    sw = write_sweep(tmp_path, tile_x="[4, 16]", tile_y="[1]", cut_max="1", targets="[energy, latency]")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "DfStackCutAndXform_mp_misc.py"), "--sweep", str(sw), "--out", str(out),
                        "--jobs", "1", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    r = _acco("realtime", "--results", str(out / "step1"), "--clock-mhz", "200", "--hop-ms", "10")
    assert r.returncode == 0, r.stderr[-2000:]
    s = pd.read_csv(out / "realtime" / "realtime.csv")
    assert len(s) == 1 and bool(s.feasible.item()) and s.deadline_cc.item() == 2_000_000
    front = pd.read_csv(out / "realtime" / "realtime_front.csv")
    assert s.energy_per_step_pJ.item() == front.energy_per_step_pJ.min()  # nothing on the front is cheaper
    assert all("x1/" in p for p in s.strategy.item().split(";"))
    assert len(list((out / "realtime").glob("realtime_*.png"))) == 2
    # a deadline shorter than the fastest strategy: infeasible, with the miss margin
    fastest = front.latency_per_step_cc.min()
    hop = float(fastest) / 2 / 200e3  # half the fastest latency, in ms at 200 MHz
    r = _acco("realtime", "--results", str(out), "--clock-mhz", "200", "--hop-ms", repr(hop), "--no-plots", "--out", str(tmp_path / "rt2"))
    assert r.returncode == 0, r.stderr[-2000:]
    s2 = pd.read_csv(tmp_path / "rt2" / "realtime.csv")
    assert not bool(s2.feasible.item()) and s2.latency_miss_x.item() == pytest.approx(2.0)
    # Step 3 with the same budget (flags) answers the same from Step 2's table
    for script, extra in (("explore_pickle_compile_readings.py", []),
                          ("explore_pickle_hierarchy_cache_allocation.py", ["--no-baselines", "--no-plots", "--clock-mhz", "200", "--hop-ms", "10"])):
        r = subprocess.run([sys.executable, str(ROOT / script), "--sweep", str(sw), "--out", str(out), *extra],
                           cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
    s3 = pd.read_csv(out / "step3" / "realtime.csv")
    assert s3.strategy.item() == s.strategy.item() and s3.energy_per_step_pJ.item() == s.energy_per_step_pJ.item()


@pytest.mark.parametrize("args, field", [
    (["--clock-mhz", "0", "--hop-ms", "10"], "--clock-mhz"),
    (["--clock-mhz", "200", "--hop-ms", "-1"], "--hop-ms"),
    (["--clock-mhz", "200", "--frame-rate-hz", "nan"], "--frame-rate-hz"),
    (["--clock-mhz", "200", "--hop-ms", "10", "--act-budget-mib", "-1"], "--act-budget-mib"),
])
def test_cli_bad_arguments(tmp_path: Path, args: list, field: str):
    r = _acco("realtime", "--results", str(tmp_path), *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr and field in r.stderr, r.stderr


def test_cli_missing_results(tmp_path: Path):
    r = _acco("realtime", "--results", str(tmp_path), "--clock-mhz", "200", "--hop-ms", "10")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "result" in r.stderr
