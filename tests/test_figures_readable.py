"""Every figure kind, drawn on a small and a large grid, has all its text inside the canvas and no two
tick labels of an axis overlapping; log axes carry plain labels; the paper's claims only on its workloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from acco.reports.allocate import MIB_BITS, allocate
from acco.reports.plots import best_picks, plot_all
from acco.reports.realtime import Budget, plot_realtime, realtime_report
from acco.reports.ticks import log_ticks

HWN = "Meta_prototype_DF"
PAPER_WL, OTHER_WL = "stftCNN_fixed_unrolling_oxoy_025_1x", "my_radar_net"
SMALL = ((1, 4), (1, 4), 1.0)
LARGE = ((1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64), (1, 2, 4, 8, 16, 32, 64), 3e6)


def ranges_table(xs: tuple, ys: tuple, scale: float, workload: str) -> pd.DataFrame:
    """A synthetic Step-2 table: whole network and a cut after layer 5, every tile, two caching modes."""
    rows = []
    for tx in xs:
        for ty in ys:
            for h in (True, False):
                for cb, ca in ((None, None), (None, 5), (5, None)):
                    for kind, f in (("warmup", 0.8), ("stable", 0.1), ("total", 1.0)):
                        e = int(scale * 1e6 * f * (2 + tx + ty + (0 if h else 3) + (cb or 0)))
                        lat = int(scale * 1e4 * f * (200 - tx - ty + (0 if h else 1)))
                        rows.append(dict(
                            scenario_id=f"{HWN}/{workload}/energy/{tx}x{ty}/{'TT' if h else 'FF'}/cuts-/dil-1/b1",
                            hardware=HWN, workload=workload, target="energy", tile_x=tx, tile_y=ty, h_cache=h, v_cache=h,
                            cuts="[]", initial_dilation=-1, batch=1, cut_before=cb, cut_after=ca, first_layer=0,
                            last_layer=11, n_layers=12, rows=4, kind=kind, energy_pJ=e, latency_cc=lat,
                            offload_energy_pJ=1000 if ca else 0, offload_latency_cc=10 if ca else 0,
                            reload_energy_pJ=1000 if cb else 0, reload_latency_cc=10 if cb else 0, offload_bytes=0,
                            reload_bytes=0, peak_activation_bits=int(MIB_BITS * 0.01 * tx * ty), weight_bits=1000,
                        ))
    df = pd.DataFrame(rows)
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    return df


def _overlap(a, b) -> bool:  # type: ignore[no-untyped-def]
    """True when two bounding boxes share more than a pixel in both directions."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1


def _drawn_tick_labels(axis) -> tuple[list[Text], list[Text]]:  # type: ignore[no-untyped-def]
    """(labels of the ticks inside the view, labels of the others, which matplotlib keeps but does not draw)."""
    lo, hi = sorted(axis.get_view_interval())
    eps = (hi - lo) * 1e-9
    shown, hidden = [], []
    for tick in axis.get_major_ticks() + axis.get_minor_ticks():
        inside = lo - eps <= tick.get_loc() <= hi + eps if tick.get_loc() is not None else False
        for lab in (tick.label1, tick.label2):
            (shown if inside and lab.get_visible() and lab.get_text().strip() else hidden).append(lab)
    return shown, hidden


def check_figure(fig: Figure) -> list[str]:
    """What is unreadable in a figure: text outside the canvas, overlapping tick labels, mathtext on ticks."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    bad = []
    not_drawn: set[int] = set()
    ticks: list[tuple[str, list[Text]]] = []
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            shown, hidden = _drawn_tick_labels(axis)
            not_drawn |= {id(t) for t in hidden}
            ticks.append((name, shown))
    for t in fig.findobj(Text):
        if id(t) in not_drawn or not t.get_visible() or not t.get_text().strip():
            continue
        b = t.get_window_extent(r)
        if b.x0 < -1 or b.y0 < -1 or b.x1 > w + 1 or b.y1 > h + 1:
            bad.append(f"text {t.get_text()!r} outside the canvas ({b.x0:.0f},{b.y0:.0f})-({b.x1:.0f},{b.y1:.0f}) of {w:.0f}x{h:.0f}")
    sup = getattr(fig, "_suptitle", None)  # the figure title must not run into a panel's title or labels
    if sup is not None and sup.get_text().strip():
        sb = sup.get_window_extent(r)
        for t in fig.findobj(Text):
            if t is not sup and id(t) not in not_drawn and t.get_visible() and t.get_text().strip() and _overlap(sb, t.get_window_extent(r)):
                bad.append(f"figure title overlaps {t.get_text()!r}")
    for name, labels in ticks:
        boxes = [t.get_window_extent(r) for t in labels]
        for i in range(len(boxes)):
            if "times" in labels[i].get_text() or "×" in labels[i].get_text():
                bad.append(f"{name} tick label {labels[i].get_text()!r} in scientific mathtext")
            for j in range(i + 1, len(boxes)):
                if _overlap(boxes[i], boxes[j]):
                    bad.append(f"{name} tick labels {labels[i].get_text()!r} and {labels[j].get_text()!r} overlap")
    return bad


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Check every figure when it is saved; the problems per file name."""
    found: dict[str, list[str]] = {}
    save = Figure.savefig

    def savefig(self: Figure, fname, *a, **k):  # type: ignore[no-untyped-def]
        found[Path(str(fname)).name] = check_figure(self)
        return save(self, fname, *a, **k)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return found


@pytest.mark.parametrize("grid", [SMALL, LARGE], ids=["small", "large"])
def test_every_figure_is_readable(tmp_path: Path, checked: dict[str, list[str]], grid: tuple) -> None:
    xs, ys, scale = grid
    parts = [ranges_table(xs, ys, scale, wl) for wl in (PAPER_WL, OTHER_WL)]
    ranges = pd.concat(parts, ignore_index=True)
    alloc = allocate(ranges, cut_max=1)
    picks = best_picks(alloc.strategy_ranges, alloc.best)
    le = pd.DataFrame([dict(scenario_id=r.scenario_id, cut_before=r.cut_before, cut_after=r.cut_after, node_id=n,
                            component=c, energy_pJ=e * scale) for r in picks.itertuples(index=False)
                       for n in range(len(xs) + 3) for c, e in (("MAC", 10.0), ("sram_64KB", 5.0), ("dram", 2e4), ("copy", 1.0))])
    ratios = pd.DataFrame([
        dict(hardware=HWN, workload=wl, view=v, baseline=b, metric=m, ratio=2.0 * scale,
             paper_ratio=8.4 if (m == "edp" and wl == PAPER_WL) else float("nan"))
        for wl in (PAPER_WL, OTHER_WL) for v in ("total", "real-time")
        for b in ("fixed_causal", "spatial_df", "layer_by_layer", "single_stack") for m in ("energy", "latency", "edp")
    ])
    files = plot_all(ranges, tmp_path, alloc.strategy_ranges, alloc.best, alloc.pareto, le, ratios)
    deadline_hz = 1.0 / (float(ranges["latency_cc"].median()) * 1e-6)  # some strategies meet it, some do not
    rep = realtime_report(ranges, 1, Budget(1.0, 1000.0 / deadline_hz), 1.0)
    files += plot_realtime(rep, tmp_path)
    kinds = {f.name.split("_")[0] for f in files}
    assert kinds >= {"heatmap", "warmup", "pareto", "energy", "baselines", "realtime"}
    assert {f.name for f in files} <= set(checked)
    problems = {name: p for name, p in checked.items() if p}
    assert not problems, problems


def test_paper_claims_only_on_the_paper_workloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.collections import PathCollection

    from acco.reports.plots import baseline_comparison

    seen: dict[str, bool] = {}
    save = Figure.savefig

    def spy(self: Figure, fname, *a, **k):  # type: ignore[no-untyped-def]
        seen[Path(str(fname)).name] = any(isinstance(c, PathCollection) for ax in self.axes for c in ax.collections)
        return save(self, fname, *a, **k)

    monkeypatch.setattr(Figure, "savefig", spy)
    ratios = pd.DataFrame([dict(hardware=HWN, workload=wl, view="total", baseline="fixed_causal", metric=m, ratio=3.0,
                                paper_ratio=8.4 if wl == PAPER_WL and m == "edp" else np.nan)
                           for wl in (PAPER_WL, OTHER_WL) for m in ("energy", "latency", "edp")])
    baseline_comparison(ratios, tmp_path)
    def stem(*parts: str) -> str:
        return "_".join(p.replace("_", "-") for p in parts)

    assert seen == {f"{stem('baselines', HWN, PAPER_WL)}.png": True, f"{stem('baselines', HWN, OTHER_WL)}.png": False}


@pytest.mark.parametrize("lo,hi", [(0.8772, 0.9123), (1.0, 1e9), (3e4, 7e4), (0.5, 2.0), (123.0, 124.0)])
def test_log_ticks_are_few_round_and_inside(lo: float, hi: float) -> None:
    t = log_ticks(lo, hi)
    assert 1 <= len(t) <= 6 and all(lo <= x <= hi for x in t) and t == sorted(set(t))
