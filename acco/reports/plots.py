"""Step-3 figures (matplotlib, Agg backend, PNG): heat-maps, warm-up vs stable, energy breakdown, Pareto front, baselines.

Each function draws from the Step-2/Step-3 tables only and returns the files it wrote, so the
figures can be redrawn without rerunning anything.
"""

from __future__ import annotations

import re
from pathlib import Path
import numpy as np
import pandas as pd

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


def _save(fig, path: Path, tight: bool = True) -> Path:
    """Write a figure as PNG and close it; `tight` crops to the drawn content (costs a second drawing pass)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight" if tight else None)
    _plt().close(fig)
    return path


def _whole(ranges: pd.DataFrame) -> pd.DataFrame:
    """Rows of the whole-network range (both ends open)."""
    return ranges[ranges["cut_before"].isna() & ranges["cut_after"].isna()]


def _cache_text(h: object, v: object) -> str:
    return f"{'T' if bool(h) else 'F'}{'T' if bool(v) else 'F'}"


def heatmaps(ranges: pd.DataFrame, out: str | Path) -> list[Path]:
    """Energy / latency / EDP of the whole-network range over tile_x × tile_y, one column per caching mode.

    One PNG per hardware × workload × target (kind total); empty cells = tiles not run.
    """
    plt = _plt()
    t = _whole(ranges)
    t = t[t["kind"] == "total"].assign(edp=lambda d: d["energy_pJ"].astype(float) * d["latency_cc"].astype(float))
    files = []
    for (hw, wl, target), g in t.groupby(["hardware", "workload", "target"], sort=True):
        modes = sorted({(bool(h), bool(v)) for h, v in zip(g["h_cache"], g["v_cache"])}, reverse=True)
        xs, ys = sorted(g["tile_x"].unique()), sorted(g["tile_y"].unique())
        fig, axes = plt.subplots(3, len(modes), figsize=(3.6 * len(modes) + 1, 8.5), squeeze=False)
        fig.subplots_adjust(left=0.07, right=0.97, bottom=0.07, top=0.92, wspace=0.35, hspace=0.55)
        for j, (h, v) in enumerate(modes):
            gm = g[(g["h_cache"].astype(bool) == h) & (g["v_cache"].astype(bool) == v)]
            for i, col in enumerate(("energy_pJ", "latency_cc", "edp")):
                grid = np.full((len(ys), len(xs)), np.nan)
                for r in gm.itertuples(index=False):
                    grid[ys.index(r.tile_y), xs.index(r.tile_x)] = float(getattr(r, col))
                ax = axes[i][j]
                im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
                ax.set_xticks(range(len(xs)), [str(x) for x in xs], rotation=90, fontsize=7)
                ax.set_yticks(range(len(ys)), [str(y) for y in ys])
                ax.set_xlabel("tile_x")
                ax.set_ylabel("tile_y")
                ax.set_title(f"{METRIC_LABELS[col]}, caching {_cache_text(h, v)}", fontsize=8)
                fig.colorbar(im, ax=ax)
        fig.suptitle(f"{hw} / {wl} / target {target}: whole network, total", fontsize=9)
        files.append(_save(fig, Path(out) / f"heatmap_{_name(hw, wl, target)}.png", tight=False))
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
            ax.set_ylabel(lab)
            if labelled:
                ax.set_xticks(x, list(piv.index), rotation=90, fontsize=6)
            else:
                ax.set_xlabel(f"{n} options (tile/caching/target), sorted by stable {lab.split()[0]}; cheapest: {piv.index[0]}", fontsize=8)
            ax.legend(fontsize=7)
        fig.suptitle(f"{hw} / {wl}: whole network, warm-up vs stable row", fontsize=9)
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
        bottom = np.zeros(len(piv))
        for c in cols:
            vals = piv[c].to_numpy(float)
            ax.bar([str(i) for i in piv.index], vals, bottom=bottom, label=c)
            bottom += vals
        ax.set_xlabel("layer")
        ax.set_ylabel("energy (pJ)")
        ax.legend(fontsize=7)
        ax.set_title(f"{hw} / {wl}: best {metric} strategy ({view}), energy per layer", fontsize=9)
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
        fig.subplots_adjust(left=0.15, right=0.97, bottom=0.12, top=0.92)
        sc = ax.scatter(g["latency_cc"].astype(float), g["energy_pJ"].astype(float), c=g["peak_MiB"].astype(float), cmap="viridis", s=12)
        fig.colorbar(sc, ax=ax, label="Σ peak activation (MiB)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("latency (cycles)")
        ax.set_ylabel("energy (pJ)")
        ax.set_title(f"{hw} / {wl}: Pareto front ({view}), {len(g)} strategies", fontsize=9)
        files.append(_save(fig, Path(out) / f"pareto_{_name(hw, wl, view)}.png", tight=False))
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
        for ax, view in zip(axes[0], views):
            gv = g[g["view"] == view]
            names = sorted(gv["baseline"].unique())
            metrics = ["energy", "latency", "edp"]
            x = np.arange(len(names))
            for k, m in enumerate(metrics):
                gm = gv[gv["metric"] == m].set_index("baseline")
                vals = [float(gm.loc[n, "ratio"]) if n in gm.index else np.nan for n in names]
                ax.bar(x + (k - 1) * 0.27, vals, width=0.27, label=m)
                claims = [float(gm.loc[n, "paper_ratio"]) if n in gm.index else np.nan for n in names]
                ax.scatter(x + (k - 1) * 0.27, claims, marker="*", color="black", zorder=3, label="paper" if k == 0 else None)
            ax.axhline(1.0, color="grey", lw=0.8)
            ax.set_yscale("log")
            ax.set_xticks(x, names, rotation=20, fontsize=7)
            ax.set_ylabel("baseline / ACCO")
            ax.set_title(f"{view}", fontsize=9)
            ax.legend(fontsize=7)
        fig.suptitle(f"{hw} / {wl}: baselines vs ACCO's best", fontsize=9)
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
    files: list[Path] = range_figures(ranges, out) if ranges is not None else []
    if front is not None:
        files += pareto(front, out)
    if layer_energy is not None and strategy_ranges is not None and best is not None:
        files += energy_breakdown(layer_energy, best_picks(strategy_ranges, best), out)
    if ratios is not None:
        files += baseline_comparison(ratios, out)
    return sorted(files)


__all__ = [
    "baseline_comparison", "best_picks", "energy_breakdown", "heatmaps", "pareto", "plot_all", "range_figures", "warmup_stable",
    "whole_network_rows",
]

