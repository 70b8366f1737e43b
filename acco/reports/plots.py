"""Step-3 figures (matplotlib, Agg backend, PNG): heat-maps, warm-up vs stable, energy breakdown, Pareto front, baselines.

Each function draws from the Step-2/Step-3 tables only and returns the files it wrote, so the
figures can be redrawn without rerunning anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from acco.reports.ticks import plain_log_axis

METRIC_LABELS = {"energy_pJ": "energy (pJ)", "latency_cc": "latency (cycles)", "edp": "EDP (pJ·cycles)"}


def _plt():
    """pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _name(*parts: object) -> str:
    """A file-name-safe stem from parts."""
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", str(p)).strip("-") for p in parts if str(p) != "")


#: zlib level of the PNG files: 1 writes them faster than the default 6 (heat-maps: 15 % less CPU), a little larger
PNG_COMPRESS_LEVEL = 1


def _save(fig, path: Path) -> Path:
    """Write a figure as PNG and close it (at its own size: margins are set by each figure, no tight bounding box, which costs a second drawing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    _plt().close(fig)
    return path


def _fit(text: str, fig, fontsize: float = 9) -> str:
    """`text` wrapped to the figure's width (figures are saved without a tight bounding box, which would grow the canvas)."""
    import textwrap

    # ~0.62 em per character in the default font; half an inch spare for a title centred over an offset panel
    return textwrap.fill(text, max(20, int((fig.get_figwidth() - 0.5) * 72 / (0.62 * fontsize))))


def _whole(ranges: pd.DataFrame) -> pd.DataFrame:
    """Rows of the whole-network range (both ends open)."""
    return ranges[ranges["cut_before"].isna() & ranges["cut_after"].isna()]


def _cache_text(h: object, v: object) -> str:
    return f"{'T' if bool(h) else 'F'}{'T' if bool(v) else 'F'}"


def heatmaps(ranges: pd.DataFrame, out: str | Path) -> list[Path]:
    """Energy / latency / EDP of the whole-network range over tile_x × tile_y, one row per metric.

    One PNG per hardware × workload × target (kind total). In a metric's row the caching modes sit
    side by side (a blank column between them) on one colour scale (logarithmic), so they compare by colour;
    empty cells = tiles not run. (One panel per row, not per mode: matplotlib's cost is per panel.)
    """
    plt = _plt()
    from matplotlib.colors import LogNorm

    t = _whole(ranges)
    t = t[t["kind"] == "total"].assign(edp=lambda d: d["energy_pJ"].astype(float) * d["latency_cc"].astype(float))
    files = []
    for (hw, wl, target), g in t.groupby(["hardware", "workload", "target"], sort=True):
        modes = sorted({(bool(h), bool(v)) for h, v in zip(g["h_cache"], g["v_cache"])}, reverse=True)
        xs, ys = sorted(g["tile_x"].unique()), sorted(g["tile_y"].unique())
        step = len(xs) + 1  # a mode's columns and the blank one after it
        xi = {x: k for k, x in enumerate(xs)}
        yi = {y: k for k, y in enumerate(ys)}
        fig, axes = plt.subplots(3, 1, figsize=(0.32 * step * len(modes) + 2.5, 9.5), squeeze=False)
        title = _fit(f"{hw} / {wl} / target {target}: whole network, total", fig)
        w, h = fig.get_figwidth(), fig.get_figheight()
        # room (inches) for the tile_y label, the colour bar's labels and the title above the caching labels
        fig.subplots_adjust(left=0.7 / w, right=1 - 0.95 / w, bottom=0.07, top=1 - (0.6 + 0.17 * (title.count("\n") + 1)) / h, hspace=0.62)
        mode_of = [modes.index((bool(h), bool(v))) for h, v in zip(g["h_cache"], g["v_cache"])]
        cols = [xi[x] + step * m for x, m in zip(g["tile_x"], mode_of)]
        rows = [yi[y] for y in g["tile_y"]]
        ticks = [k + step * m for m in range(len(modes)) for k in range(len(xs))]
        for i, col in enumerate(("energy_pJ", "latency_cc", "edp")):
            grid = np.full((len(ys), step * len(modes) - 1), np.nan)
            grid[rows, cols] = g[col].astype(float).to_numpy()
            ax = axes[i][0]
            vals = grid[np.isfinite(grid)]
            norm = LogNorm(vals.min(), vals.max()) if len(vals) and vals.min() > 0 and vals.max() > vals.min() else None
            im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", norm=norm)
            ax.set_xticks(ticks, [str(x) for x in xs] * len(modes), rotation=90, fontsize=7)
            ax.set_yticks(range(len(ys)), [str(y) for y in ys], fontsize=7)
            ax.set_xlabel("tile_x")
            ax.set_ylabel("tile_y")
            ax.set_title(METRIC_LABELS[col], fontsize=8, pad=14)
            for m, (h, v) in enumerate(modes):
                ax.text(step * m + (len(xs) - 1) / 2, 1.01, f"caching {_cache_text(h, v)}", transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=7)
            # five plain labels (matplotlib's default log-scale labels are mathtext, slow to lay out)
            cb = fig.colorbar(im, ax=ax, pad=0.01, format="%.3g", ticks=np.geomspace(norm.vmin, norm.vmax, 5) if norm else None)
            cb.minorticks_off()
        fig.suptitle(title, fontsize=9)
        files.append(_save(fig, Path(out) / f"heatmap_{_name(hw, wl, target)}.png"))
    return files


#: up to this many options per warm-up/stable figure get a labelled tick each; more are shown sorted, unlabelled
LABELLED_OPTIONS = 60


def warmup_stable(ranges: pd.DataFrame, out: str | Path) -> list[Path]:
    """Warm-up (first tile row) vs stable (a later row) energy and latency per option, whole network; one PNG per hardware × workload.

    Options (tile, caching, target) are sorted by their stable cost; with more than
    `LABELLED_OPTIONS` of them the ticks are left unlabelled and the cheapest one is named instead.
    """
    plt = _plt()
    t = _whole(ranges)
    t = t[t["kind"].isin(["warmup", "stable"])]
    files = []
    for (hw, wl), g in t.groupby(["hardware", "workload"], sort=True):
        g = g.assign(option=[f"{x}x{y}/{_cache_text(h, v)}/{tg}" for x, y, h, v, tg in zip(g["tile_x"], g["tile_y"], g["h_cache"], g["v_cache"], g["target"])])
        n = g["option"].nunique()
        labelled = n <= LABELLED_OPTIONS
        fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.35 * n + 2) if labelled else 12, 7))
        # fixed margins (a tight bounding box costs a second drawing): room for rotated option labels
        w = fig.get_figwidth()
        fig.subplots_adjust(left=1.0 / w, right=1 - 0.2 / w, top=0.93, bottom=0.16 if labelled else 0.08, hspace=0.5 if labelled else 0.25)
        for ax, col, lab in ((axes[0], "energy_pJ", "energy (pJ)"), (axes[1], "latency_cc", "latency (cycles)")):
            piv = g.pivot_table(index="option", columns="kind", values=col, aggfunc="first", sort=True)
            if "stable" in piv:
                piv = piv.sort_values("stable", kind="stable")
            x = np.arange(n)
            for kind, off in (("warmup", -0.2), ("stable", 0.2)):
                if kind not in piv:
                    continue
                if labelled:
                    ax.bar(x + off, piv[kind].to_numpy(float), width=0.4, label=kind)
                else:
                    ax.plot(x, piv[kind].to_numpy(float), ".", ms=3, label=kind)
            ax.set_yscale("log")
            plain_log_axis(ax, "y")
            ax.set_ylabel(lab)
            if labelled:
                ax.set_xticks(x, list(piv.index), rotation=90, fontsize=6)
            else:
                ax.set_xlabel(f"{n} options (tile/caching/target), sorted by stable {lab.split()[0]}; cheapest: {piv.index[0]}", fontsize=8)
            ax.legend(fontsize=7)
        fig.suptitle(_fit(f"{hw} / {wl}: whole network, warm-up vs stable row", fig), fontsize=9)
        files.append(_save(fig, Path(out) / f"warmup_stable_{_name(hw, wl)}.png"))
    return files


def energy_breakdown(layer_energy: pd.DataFrame, picks: pd.DataFrame, out: str | Path, view: str = "total", metric: str = "edp") -> list[Path]:
    """Per-layer energy of the best strategy (MAC vs each memory level vs copies), stacked; one PNG per group.

    `picks`: Step 3's strategy_ranges rows of the strategy to show (`best_picks`); `view` and
    `metric` only label the figure.
    """
    plt = _plt()
    files = []
    if layer_energy.empty or picks.empty:
        return files
    for (hw, wl), p in picks.groupby(["hardware", "workload"], sort=True):
        keys = {(s, _i(cb), _i(ca)) for s, cb, ca in zip(p["scenario_id"], p["cut_before"], p["cut_after"])}
        le = layer_energy[[(s, _i(cb), _i(ca)) in keys for s, cb, ca in zip(layer_energy["scenario_id"], layer_energy["cut_before"], layer_energy["cut_after"])]]
        if le.empty:
            continue
        piv = le.pivot_table(index="node_id", columns="component", values="energy_pJ", aggfunc="sum", fill_value=0.0).sort_index()
        cols = ["MAC"] + sorted(c for c in piv.columns if c not in ("MAC", "copy")) + (["copy"] if "copy" in piv.columns else [])
        cols = [c for c in cols if c in piv.columns]
        fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(piv) + 2), 4))
        w = fig.get_figwidth()
        title = _fit(f"{hw} / {wl}: best {metric} strategy ({view}), energy per layer", fig)
        fig.subplots_adjust(left=0.8 / w, right=1 - 0.2 / w, top=1 - (0.3 + 0.17 * title.count("\n")) / 4, bottom=0.13)
        bottom = np.zeros(len(piv))
        for c in cols:
            vals = piv[c].to_numpy(float)
            ax.bar([str(i) for i in piv.index], vals, bottom=bottom, label=c)
            bottom += vals
        ax.set_xlabel("layer")
        ax.set_ylabel("energy (pJ)")
        ax.legend(fontsize=7)
        ax.set_title(title, fontsize=9)
        files.append(_save(fig, Path(out) / f"energy_breakdown_{_name(hw, wl, view, metric)}.png"))
    return files


def _i(v: object) -> int | None:
    return None if v is None or pd.isna(v) else int(v)  # type: ignore[arg-type]


def pareto(front: pd.DataFrame, out: str | Path) -> list[Path]:
    """Energy vs latency of the whole-network Pareto front, coloured by on-chip memory (MiB); one PNG per group × view."""
    plt = _plt()
    files = []
    if front.empty:
        return files
    for (hw, wl, view), g in front.groupby(["hardware", "workload", "view"], sort=True):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        fig.subplots_adjust(left=0.15, right=0.97, bottom=0.12, top=0.88)
        sc = ax.scatter(g["latency_cc"].astype(float), g["energy_pJ"].astype(float), c=g["peak_MiB"].astype(float), cmap="viridis", s=12)
        fig.colorbar(sc, ax=ax, label="Σ peak activation (MiB)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax, "x", 4)
        plain_log_axis(ax, "y")
        ax.set_xlabel("latency (cycles)")
        ax.set_ylabel("energy (pJ)")
        ax.set_title(_fit(f"{hw} / {wl}: Pareto front ({view}), {len(g)} strategies", fig), fontsize=9)
        files.append(_save(fig, Path(out) / f"pareto_{_name(hw, wl, view)}.png"))
    return files


def baseline_comparison(ratios: pd.DataFrame, out: str | Path) -> list[Path]:
    """Baseline / ACCO ratios (log scale) per metric and view, with the paper's claims as markers; one PNG per hardware × workload."""
    plt = _plt()
    files = []
    if ratios.empty:
        return files
    for (hw, wl), g in ratios.groupby(["hardware", "workload"], sort=True):
        views = sorted(g["view"].unique())
        fig, axes = plt.subplots(1, len(views), figsize=(5.5 * len(views), 4), squeeze=False)
        w = fig.get_figwidth()
        fig.subplots_adjust(left=0.8 / w, right=1 - 0.2 / w, top=0.88, bottom=0.16, wspace=0.25)
        for ax, view in zip(axes[0], views):
            gv = g[g["view"] == view]
            names = sorted(gv["baseline"].unique())
            metrics = ["energy", "latency", "edp"]
            x = np.arange(len(names))
            drawn = False
            for k, m in enumerate(metrics):
                gm = gv[gv["metric"] == m].set_index("baseline")
                vals = [float(gm.loc[n, "ratio"]) if n in gm.index else np.nan for n in names]
                ax.bar(x + (k - 1) * 0.27, vals, width=0.27, label=m)
                claims = [float(gm.loc[n, "paper_ratio"]) if n in gm.index else np.nan for n in names]
                if np.isfinite(claims).any():  # the paper's claims: only on the paper's workloads
                    ax.scatter(x + (k - 1) * 0.27, claims, marker="*", color="black", zorder=3,
                               label="paper" if not drawn else None)
                    drawn = True
            ax.axhline(1.0, color="grey", lw=0.8)
            ax.set_yscale("log")
            plain_log_axis(ax, "y")
            ax.set_xticks(x, names, rotation=20, fontsize=7)
            ax.set_ylabel("baseline / ACCO")
            ax.set_title(f"{view}", fontsize=9)
            ax.legend(fontsize=7)
        fig.suptitle(_fit(f"{hw} / {wl}: baselines vs ACCO's best", fig), fontsize=9)
        files.append(_save(fig, Path(out) / f"baselines_{_name(hw, wl)}.png"))
    return files


def best_picks(strategy_ranges: pd.DataFrame, best: pd.DataFrame, view: str = "total", metric: str = "edp") -> pd.DataFrame:
    """The strategy_ranges rows of the overall best strategy per group for `view` × `metric`."""
    keys = ["hardware", "workload", "cuts", "initial_dilation", "batch", "view", "metric", "cut_set"]
    b = best[(best["view"] == view) & (best["metric"] == metric)][keys]
    if b.empty or strategy_ranges.empty:
        return strategy_ranges.iloc[0:0]
    sr = strategy_ranges.assign(cuts=strategy_ranges["cuts"].astype(str), cut_set=strategy_ranges["cut_set"].astype(str))
    b = b.assign(cuts=b["cuts"].astype(str), cut_set=b["cut_set"].astype(str))
    return sr.merge(b, on=keys, how="inner")


def range_figures(ranges: pd.DataFrame, out: str | Path) -> list[Path]:
    """The figures drawn from `ranges.csv` alone (heat-maps, warm-up vs stable); they read only whole-network rows."""
    return heatmaps(ranges, out) + warmup_stable(ranges, out)


def whole_network_rows(ranges: pd.DataFrame) -> pd.DataFrame:
    """The rows `range_figures` reads (a small part of a large table, cheap to hand to another process)."""
    return _whole(ranges)


def range_figure_parts(ranges: pd.DataFrame) -> list[pd.DataFrame]:
    """`ranges`' whole-network rows split per hardware × workload: `range_figures` of each part draws
    that pair's figures, so the parts can be drawn in parallel."""
    return [g for _, g in _whole(ranges).groupby(["hardware", "workload"], sort=True)]


def _parts(df: pd.DataFrame) -> list[pd.DataFrame]:
    return [g for _, g in df.groupby(["hardware", "workload"], sort=True)]


def figure_jobs(
    ranges: pd.DataFrame | None = None,
    front: pd.DataFrame | None = None,
    layer_energy: pd.DataFrame | None = None,
    picks: pd.DataFrame | None = None,
    ratios: pd.DataFrame | None = None,
) -> list[tuple[Callable[..., list[Path]], tuple]]:
    """The figures the given tables allow, as jobs `(function, arguments)` to call with the output
    folder appended: one per hardware × workload and kind of figure, to draw in any order or in parallel."""
    jobs: list[tuple[Callable[..., list[Path]], tuple]] = []
    if ranges is not None:
        jobs += [(range_figures, (p,)) for p in range_figure_parts(ranges)]
    if front is not None and not front.empty:
        jobs += [(pareto, (p,)) for p in _parts(front)]
    if layer_energy is not None and picks is not None and not picks.empty:
        jobs += [(energy_breakdown, (layer_energy, p)) for p in _parts(picks)]
    if ratios is not None and not ratios.empty:
        jobs += [(baseline_comparison, (p,)) for p in _parts(ratios)]
    return jobs


def plot_all(
    ranges: pd.DataFrame | None,
    out: str | Path,
    strategy_ranges: pd.DataFrame | None = None,
    best: pd.DataFrame | None = None,
    front: pd.DataFrame | None = None,
    layer_energy: pd.DataFrame | None = None,
    ratios: pd.DataFrame | None = None,
) -> list[Path]:
    """Every figure the given tables allow, written into `out`; returns the files, sorted (`ranges` None: no range figures)."""
    picks = best_picks(strategy_ranges, best) if strategy_ranges is not None and best is not None else None
    jobs = figure_jobs(ranges, front, layer_energy, picks, ratios)
    return sorted(f for fn, args in jobs for f in fn(*args, out))


__all__ = [
    "baseline_comparison", "best_picks", "energy_breakdown", "figure_jobs", "heatmaps", "pareto", "plot_all", "range_figure_parts", "range_figures",
    "warmup_stable",
    "whole_network_rows",
]

