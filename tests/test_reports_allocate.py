"""Step 3's exact cross-sub-stack search against brute force over the Cartesian product, a hand-worked case and the original's Step 3 on one configuration."""

from __future__ import annotations

import random
from itertools import combinations, product

import numpy as np
import pandas as pd
import pytest

from acco.reports.cuttext import parse_cut_text
from acco.reports.allocate import (
    MIB_BITS,
    allocate,
    cut_sets,
    forced_cuts,
    pareto_mask,
    view_table,
)

KEYS = dict(hardware="HW", workload="WL", cuts="", initial_dilation=-1, batch=1)


def _row(opt, cb, ca, kind, e, lat, peak, off=(0, 0), rel=(0, 0), n_layers=3):
    tx, ty, h, v, target = opt
    sid = f"HW/WL/{target}/{tx}x{ty}/{'T' if h else 'F'}{'T' if v else 'F'}/cuts-/dil-1/b1"
    first = 0 if cb is None else cb + 1
    last = n_layers - 1 if ca is None else ca
    return dict(
        scenario_id=sid, **KEYS, target=target, tile_x=tx, tile_y=ty, h_cache=h, v_cache=v,
        cut_before=cb, cut_after=ca, first_layer=first, last_layer=last, n_layers=last - first + 1, rows=4, kind=kind,
        energy_pJ=e, latency_cc=lat, offload_energy_pJ=off[0], offload_latency_cc=off[1], reload_energy_pJ=rel[0],
        reload_latency_cc=rel[1], offload_bytes=0, reload_bytes=0, peak_activation_bits=peak, weight_bits=0,
    )


def _frame(rows):
    df = pd.DataFrame(rows)
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    return df


# ---------------------------------------------------------------------------------------------
# random tables and brute force


def synthetic(seed: int, n_layers: int = 5, drop: float = 0.15) -> pd.DataFrame:
    """Every contiguous range × 16 options × (total, stable); small values (many ties), some rows missing."""
    rnd = random.Random(seed)
    opts = [(tx, ty, h, h, t) for tx in (1, 2) for ty in (1, 2) for h in (True, False) for t in ("energy", "latency")]
    cuts = [None, *range(n_layers - 1)]
    rows = []
    unit = MIB_BITS // 8
    for cb in cuts:
        for ca in [c for c in cuts[1:] if cb is None or c > cb] + [None]:
            for o in opts:
                if rnd.random() < drop:
                    continue
                for kind in ("total", "stable"):
                    e, lat = rnd.randint(20, 30), rnd.randint(20, 30)
                    off = (rnd.randint(0, 12), rnd.randint(0, 12)) if ca is not None else (0, 0)
                    rel = (rnd.randint(0, 6), rnd.randint(0, 6)) if cb is not None else (0, 0)
                    rows.append(_row(o, cb, ca, kind, e, lat, rnd.randint(0, 5) * unit, off, rel, n_layers))
    return _frame(rows)


def _metric_key(metric, e, lat, peak, cuts, opts):
    head = {"energy": (e, lat), "latency": (lat, e), "edp": (e * lat, e, lat)}[metric]
    return head + (peak, len(cuts), cuts, opts)


def brute(df: pd.DataFrame, cut_max: int, th_mib: float, view: str):
    """Per cut set and metric the best (key, onchip) by enumerating every combination; and the Pareto set."""
    kind = "total" if view == "total" else "stable"
    t = df[df["kind"] == kind]
    if view == "real-time":
        t = t[t["tile_y"] == 1]
    okey = lambda r: (int(r.tile_x), int(r.tile_y), bool(r.h_cache), bool(r.v_cache), r.target)  # noqa: E731
    options = sorted({okey(r) for r in t.itertuples()})
    pos = {o: i for i, o in enumerate(options)}
    present: dict = {}
    for r in t.itertuples():
        rg = (None if pd.isna(r.cut_before) else int(r.cut_before), None if pd.isna(r.cut_after) else int(r.cut_after))
        present.setdefault(rg, {})[pos[okey(r)]] = r
    points = sorted({c for rg in present for c in rg if c is not None})
    forced = [c for c in points if not any((cb is None or cb < c) and (ca is None or c < ca) for cb, ca in present)]
    free = [c for c in points if c not in forced]
    sets = set()
    for k in range(cut_max + 1):
        for ex in combinations(free, k):
            cs = tuple(sorted(set(forced) | set(ex)))
            if all(rg in present for rg in zip([None, *cs], [*cs, None])):
                sets.add(cs)
    best, everything = {}, []
    for cs in sets:
        rgs = list(zip([None, *cs], [*cs, None]))
        for combo in product(*[sorted(present[rg]) for rg in rgs]):
            rs = [present[rg][o] for rg, o in zip(rgs, combo)]
            e = sum(int(r.energy_pJ) for r in rs)
            lat = sum(int(r.latency_cc) for r in rs)
            p = sum(int(r.peak_activation_bits) for r in rs)
            on = p / 8 / 2**20 < th_mib
            if on:
                e -= sum(int(r.offload_energy_pJ) + int(r.reload_energy_pJ) for r in rs)
                lat -= sum(int(r.offload_latency_cc) + int(r.reload_latency_cc) for r in rs)
            everything.append((e, lat, p, len(cs), cs, combo, on))
            for m in ("energy", "latency", "edp"):
                k = (_metric_key(m, e, lat, p, cs, combo), on)
                if (cs, m) not in best or k < best[cs, m]:
                    best[cs, m] = k
    # Pareto: not dominated (<= everywhere, < somewhere); of equal points the smallest (cuts, options)
    everything.sort()
    front = []
    for pt in everything:
        if any(q[0] <= pt[0] and q[1] <= pt[1] and q[2] <= pt[2] for q in front):
            continue
        front.append(pt)
    return options, best, sorted(front)


def _ours(alloc, view, options):
    s = alloc.strategies[alloc.strategies["view"] == view]
    got = {}
    for r in s.itertuples():
        cs = parse_cut_text(r.cut_set)
        opts = tuple(options.index(_parse_opt(x.split(":", 1)[1])) for x in r.strategy.split(";"))
        e, lat = int(r.energy_pJ), int(r.latency_cc)
        p = round(r.peak_MiB * MIB_BITS)
        got[cs, r.metric] = (_metric_key(r.metric, e, lat, p, cs, opts), bool(r.onchip_rule))
    return got


def _parse_opt(text):
    tile, hv, target = text.split("/")
    tx, ty = tile.split("x")
    return (int(tx), int(ty), hv[0] == "T", hv[1] == "T", target)


@pytest.mark.parametrize("seed", range(6))
def test_exact_search_equals_brute_force(seed):
    df = synthetic(seed)
    th = 1.0 if seed % 2 else 0.75
    alloc = allocate(df, cut_max=2, threshold_mib=th)
    for view in ("total", "real-time"):
        options, want, front = brute(df, 2, th, view)
        got = _ours(alloc, view, options)
        assert got == want
        # overall best per metric
        b = alloc.best[alloc.best["view"] == view].set_index("metric")
        for m in ("energy", "latency", "edp"):
            k = min(v for (cs, mm), v in want.items() if mm == m)
            row = b.loc[m]
            assert (int(row.energy_pJ), int(row.latency_cc)) in {(k[0][0], k[0][1]), (k[0][1], k[0][0]), (k[0][1], k[0][2])}
            assert _metric_key(m, int(row.energy_pJ), int(row.latency_cc), round(row.peak_MiB * MIB_BITS), *k[0][-2:]) == k[0]
        # the whole-network Pareto front
        p = alloc.pareto[alloc.pareto["view"] == view]
        ours = sorted(
            (int(r.energy_pJ), int(r.latency_cc), round(r.peak_MiB * MIB_BITS),
             parse_cut_text(r.cut_set),
             tuple(options.index(_parse_opt(x.split(":", 1)[1])) for x in r.strategy.split(";")), bool(r.onchip_rule))
            for r in p.itertuples()
        )
        assert ours == sorted((e, lat, pk, cs, combo, on) for e, lat, pk, _, cs, combo, on in front)


def test_the_rule_flips_winners_in_the_random_cases():
    """The random cases above cover winners that change when the on-chip rule is switched off."""
    flips = 0
    for seed in range(3):
        df = synthetic(seed)
        th = 1.0 if seed % 2 else 0.75
        _, with_rule, _ = brute(df, 2, th, "total")
        _, without, _ = brute(df, 2, 0.0, "total")
        flips += sum(1 for k in with_rule if with_rule[k][0][-1] != without[k][0][-1] and with_rule[k][1])
    assert flips > 3


def test_pareto_mask_matches_naive():
    rnd = np.random.default_rng(3)
    for _ in range(20):
        n = int(rnd.integers(1, 1500))
        a, b, p = (rnd.integers(0, 12, n) for _ in range(3))
        tie = rnd.integers(0, 3, (n, 2))
        m = pareto_mask(a, b, p, tie)
        pts = sorted(zip(a, b, p, map(tuple, tie), range(n)))
        keep = []
        for pt in pts:
            if not any(q[0] <= pt[0] and q[1] <= pt[1] and q[2] <= pt[2] for q in keep):
                keep.append(pt)
        assert sorted(np.nonzero(m)[0]) == sorted(q[4] for q in keep)


# ---------------------------------------------------------------------------------------------
# hand-worked case


def _hand() -> pd.DataFrame:
    a, b = (1, 1, True, True, "energy"), (2, 1, True, True, "energy")
    u = MIB_BITS // 16
    rows = [
        _row(a, None, None, "total", 100, 100, 8 * u), _row(b, None, None, "total", 90, 120, 13 * u),
        _row(a, None, 0, "total", 40, 30, 5 * u, off=(10, 5)), _row(b, None, 0, "total", 35, 40, 10 * u, off=(2, 1)),
        _row(a, 0, None, "total", 45, 40, 5 * u, rel=(10, 5)), _row(b, 0, None, "total", 42, 30, 8 * u, rel=(2, 1)),
    ]
    for o in (a, b):
        rows += [_row(o, None, 1, "total", 80, 80, u), _row(o, 1, None, "total", 80, 80, u)]
    return _frame(rows)


def test_hand_worked_case():
    """Cut set {0} (A = 1x1, B = 2x1 per range), raw E/L, footprint, with the rule (< 1 MiB):
    AA 85/70, 10/16 MiB -> 65/60; AB 82/60, 13/16 -> 70/54; BA 80/80, 15/16 -> 68/74; BB 77/70, 18/16 (no rule).
    """
    alloc = allocate(_hand(), cut_max=1, threshold_mib=1.0, views=("total",))
    s = alloc.strategies.set_index(["cut_set", "metric"])
    assert tuple(s.loc[("[]", "energy"), ["energy_pJ", "latency_cc"]]) == (90, 120)
    assert tuple(s.loc[("[]", "latency"), ["energy_pJ", "latency_cc"]]) == (100, 100)
    assert tuple(s.loc[("[]", "edp"), ["energy_pJ", "latency_cc", "edp"]]) == (100, 100, 10000)
    # the rule flips the energy winner from BB (77, over the threshold) to AA (65)
    assert s.loc[("[0]", "energy"), "strategy"] == "None-0:1x1/TT/energy;0-None:1x1/TT/energy"
    assert tuple(s.loc[("[0]", "energy"), ["energy_pJ", "latency_cc", "onchip_rule"]]) == (65, 60, True)
    assert s.loc[("[0]", "energy"), "peak_MiB"] == 10 / 16
    assert s.loc[("[0]", "latency"), "strategy"] == "None-0:1x1/TT/energy;0-None:2x1/TT/energy"
    assert tuple(s.loc[("[0]", "latency"), ["energy_pJ", "latency_cc"]]) == (70, 54)
    assert tuple(s.loc[("[0]", "edp"), ["energy_pJ", "latency_cc", "edp"]]) == (70, 54, 3780)
    assert tuple(s.loc[("[1]", "edp"), ["energy_pJ", "latency_cc"]]) == (160, 160)
    best = alloc.best.set_index("metric")
    assert best.loc["energy", "cut_set"] == "[0]" and best.loc["energy", "energy_pJ"] == 65
    assert best.loc["latency", "latency_cc"] == 54 and best.loc["edp", "edp"] == 3780
    # a threshold of 0 switches the rule off
    off = allocate(_hand(), cut_max=1, threshold_mib=0.0, views=("total",)).strategies.set_index(["cut_set", "metric"])
    assert off.loc[("[0]", "energy"), "strategy"] == "None-0:2x1/TT/energy;0-None:2x1/TT/energy"
    assert tuple(off.loc[("[0]", "energy"), ["energy_pJ", "latency_cc", "onchip_rule"]]) == (77, 70, False)
    assert tuple(off.loc[("[0]", "edp"), ["energy_pJ", "latency_cc", "edp"]]) == (82, 60, 4920)
    # Pareto front (true E, L, MiB): AA, AB, whole-network A (least memory of the single stacks) and cut {1}
    # (2/16 MiB); whole-network B (90, 120, 13/16) is dominated by AB (70, 54, 13/16)
    p = alloc.pareto
    assert [(int(r.energy_pJ), int(r.latency_cc), r.peak_MiB) for r in p.itertuples()] == [
        (65, 60, 10 / 16), (70, 54, 13 / 16), (100, 100, 8 / 16), (160, 160, 2 / 16)]
    rg = _hand()
    present = {(None if pd.isna(x) else int(x), None if pd.isna(y) else int(y)) for x, y in zip(rg["cut_before"], rg["cut_after"])}
    assert cut_sets(present, 1) == [(), (0,), (1,)]


def test_cut_sets_forced_and_limits():
    present = {(None, 2), (2, None), (None, 0), (0, 2), (2, 4), (4, None), (0, 1)}
    assert forced_cuts(present) == (2,)
    assert cut_sets(present, 0) == [(2,)]
    assert cut_sets(present, 1) == [(2,), (0, 2), (2, 4)]
    assert cut_sets(present, 2) == [(2,), (0, 2), (2, 4), (0, 2, 4)]
    # explicit forced sets (one per weight-cut pass)
    assert cut_sets(present, 0, [(2,), (0, 4)]) == [(2,)]


# ---------------------------------------------------------------------------------------------
# the original's Step 3 run on one configuration (docs/references.md): Meta_prototype, stftCNN-1x, tile 4x4, cut_max 0


def test_reference_single_configuration():
    """Our Steps 1-2 on the one configuration of docs/references.md, then our Step 3, against the original's Step 3.

    The reference is what the original Step-3 notebook printed for this configuration (docs/references.md:
    KULeuven-MICAS/ACCO 229f6d7 run cell by cell on its shipped cache logs, tiles [4]/[4],
    cut_max 0): `case_study_combination_EDP = {8357707297173: {'df_cut': [], 'latency': 198939,
    'energy': 42011407, 'strategy': {'None,None': '4_4_True_True_energy'}, 'peak_f': 0.2104}}`.
    Nothing here is typed in from it except that printout: the rows come from our own Step 1.
    """
    from pathlib import Path

    from acco.dse.result import Scenario
    from acco.dse.scenarios import run_scenario
    from acco.dse.sweep import MapperSettings
    from acco.reports.compile import RANGE_COLUMNS, result_rows

    root = Path(__file__).resolve().parents[1]
    wl = "stftCNN_fixed_unrolling_oxoy_025_1x"
    sc = Scenario("Meta_prototype_DF", str(root / "inputs/hardware/Meta_prototype_DF.yaml"), wl,
                  str(root / f"inputs/workloads/Meta_prototype/{wl}.yaml"), "energy", 4, 4, True, True, (), -1, 1, 0,
                  MapperSettings(engine="loma", lpf_limit=6), 0)
    rows, _, _ = result_rows(run_scenario(sc), layers=False)
    df = _frame([dict(zip(RANGE_COLUMNS, r)) for r in rows])
    assert df.cut_before.isna().all() and df.cut_after.isna().all() and len(df) == 3  # cut_max 0: whole network
    alloc = allocate(df, cut_max=0)
    best = alloc.best.set_index("metric")
    assert int(best.loc["edp", "edp"]) == 8357707297173
    assert (int(best.loc["edp", "latency_cc"]), int(best.loc["edp", "energy_pJ"])) == (198939, 42011407)
    assert best.loc["edp", "strategy"] == "None-None:4x4/TT/energy"
    assert round(best.loc["edp", "peak_MiB"], 4) == 0.2104  # the original prints 4 decimals
    assert set(alloc.best["view"]) == {"total"}  # no tile_y = 1 option: no real-time view


def test_view_table_rejects_negative_deltas():
    df = _frame([_row((1, 1, True, True, "energy"), None, 0, "total", 10, 10, 0, off=(-1, 0))])
    with pytest.raises(ValueError, match="delta"):
        view_table(df, "total")


def test_surely_dominated_by_never_flags_a_non_dominated_point():
    from acco.reports.allocate import Front, surely_dominated_by

    rnd = np.random.default_rng(5)
    for _ in range(10):
        g = Front(*(rnd.integers(0, 50, 300) for _ in range(3)), np.zeros((300, 1), dtype=np.int64))
        x = Front(*(rnd.integers(0, 50, 400) for _ in range(3)), np.zeros((400, 1), dtype=np.int64))
        got = surely_dominated_by(g, x)
        exact = ((g.a[None, :] <= x.a[:, None]) & (g.b[None, :] <= x.b[:, None]) & (g.p[None, :] <= x.p[:, None])).any(axis=1)
        assert not (got & ~exact).any()
        assert got.sum() > 0.5 * exact.sum()


def test_several_processes_give_the_same_tables(monkeypatch):
    """Large tables are searched one process per (group, view); the tables must not depend on it."""
    import acco.reports.allocate as alloc_mod

    df = pd.concat([synthetic(s).assign(workload=f"w{s}") for s in (1, 2, 3)], ignore_index=True)
    one = allocate(df, cut_max=2, threshold_mib=1.0, jobs=1)
    monkeypatch.setattr(alloc_mod, "PARALLEL_ROWS", 0)
    two = allocate(df, cut_max=2, threshold_mib=1.0, jobs=2)
    for name in ("strategies", "strategy_ranges", "best", "pareto"):
        a, b = getattr(one, name), getattr(two, name)
        assert len(a) > 0 and a.equals(b), name
