"""Baselines ACCO's best strategy is compared with (issue 6 item 6), each a documented definition computed with our API.

Every baseline produces the same output time steps as ACCO's causal stream: the causal network
emits OY·D_final output rows (`acco.causal.transform.causal_stack`; D_final = the product of the
time strides). Costs are Step-2 sums (per layer and copy layer, truncated ints; latency =
`latency_total2`), so they compare with `ranges.csv`. Views as in Step 3: ``total`` = the whole
sequence, ``real-time`` = the cost of one new output time step.

* ``layer_by_layer``: the original (strided, non-causal) network, one layer per stack, each layer's
  whole output as one tile (no fusion), each time window computed from scratch.
* ``spatial_df``: DeFiNES' approach — depth-first on the original network (weight-overflow cuts
  only), the best schedule over the sweep's tiles (clipped to each stack's output), caching modes
  and mapper targets, each time window computed from scratch.
* ``fixed_causal``: the fixed dilated causal structure — the causal transform, the whole network as
  one stack (forced weight-overflow cuts only), one time step per tile (tile_y = 1), tile_x = the
  stack's full output width, fully cached; no cut or tile exploration (best over mapper targets).
  The on-chip rule applies as in Step 3.
* ``single_stack``: the best single-stack causal depth-first schedule — Step 3's best over the
  options for the cut set with the fewest cuts (the forced ones), read from its strategies table.

**Windows.** One run of the original network yields OY outputs, D_final time steps apart. The
causal stream's OY·D_final consecutive outputs therefore need D_final runs on windows shifted by one
input step each (`windows`): total = D_final × one window. In real time each new output time step
needs one whole window (its other OY − 1 outputs were produced before): real-time = one window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from acco.reports.allocate import MIB_BITS, Allocation

BASELINES = ("layer_by_layer", "spatial_df", "fixed_causal", "single_stack")
#: the paper's headline claims (docs/references.md, "The paper"): ratio baseline / ACCO, and its wording
PAPER_CLAIMS: dict[tuple[str, str], tuple[float, str]] = {
    ("fixed_causal", "edp"): (8.4, "8.4x better EDP than the fixed dilated causal structure"),
    ("single_stack", "edp"): (1.2, "~20% better than the best single-stack DF schedule (metric not stated)"),
    ("spatial_df", "latency"): (19.0, "on average 19x faster than spatial-only DF"),
    ("spatial_df", "energy"): (37.0, "on average 37x more energy-efficient than spatial-only DF"),
}
#: the workloads the paper's claims are about: other workloads get no claim beside their ratios
PAPER_WORKLOADS = ("seldnet_oxoy_M", "stftCNN_fixed_unrolling_oxoy_025_1x", "stftCNN_fixed_unrolling_oxoy_025_16x")
METRICS = ("energy", "latency", "edp")


@dataclass(frozen=True)
class BaselineSettings:
    """What the baselines take from a sweep: tiles, caching modes, targets, mapper, seed, on-chip threshold."""

    tile_x: tuple[int, ...]
    tile_y: tuple[int, ...]
    caching: tuple[tuple[bool, bool], ...] = ((True, True),)
    targets: tuple[str, ...] = ("energy",)
    mapper: Any = None  # acco.dse.sweep.MapperSettings (None = LOMA lpf 6)
    seed: int = 0
    threshold_mib: float = 1.0

    @classmethod
    def from_sweep(cls, sweep: Any, threshold_mib: float = 1.0) -> "BaselineSettings":
        """The settings of a `acco.dse.sweep.Sweep` (its tiles, caching, targets, mapper, seed)."""
        return cls(tuple(sweep.tile_x), tuple(sweep.tile_y), tuple(sweep.caching), tuple(sweep.targets), sweep.mapper, sweep.seed, threshold_mib)

    def mapper_config(self, target: str) -> Any:
        """The mapper config for one target."""
        if self.mapper is None:
            from acco.search.loma import LomaConfig

            return LomaConfig(lpf_limit=6, objective=target)
        return self.mapper.config(target, self.seed)


@dataclass(frozen=True)
class BaselineCost:
    """One baseline configuration's cost in one view (energy pJ, latency cycles, Step-2 sums)."""

    baseline: str
    view: str
    energy: int
    latency: int
    config: str
    windows: int = 1
    peak_bits: int = 0

    @property
    def edp(self) -> int:
        """Energy-delay product (exact integer)."""
        return self.energy * self.latency


def _load(hw_path: str, wl_path: str) -> tuple[Any, Any]:
    from acco.api import load_any_hardware
    from acco.io.workload import load_workload

    return load_any_hardware(hw_path), load_workload(wl_path)


def windows(workload: Any) -> int:
    """Runs of the original network needed for the causal stream's OY·D_final outputs: D_final."""
    from acco.causal.transform import network_dilations

    return network_dilations(workload).final


def _network_sums(net: Any) -> tuple[int, int]:
    """(energy, latency) of a depth-first network cost, summed as Step 2 does (all tiles)."""
    from acco.causal.frames import step2_sums

    e = lat = 0
    for s in net.stacks:
        se, sl = step2_sums(s, [t.count for t in s.tile_types])
        e += se
        lat += sl
    return e, lat


def _per_window(name: str, e: int, lat: int, config: str, n: int) -> list[BaselineCost]:
    """A from-scratch window cost in both views: total = n windows, real-time = one window."""
    return [BaselineCost(name, "total", e * n, lat * n, config, n), BaselineCost(name, "real-time", e, lat, config, 1)]


def layer_by_layer(hw_path: str, wl_path: str, settings: BaselineSettings, cache: Any = None) -> list[BaselineCost]:
    """Layer-by-layer (no fusion) on the original network, per mapper target, both views."""
    from acco.depthfirst.combine import run_network
    from acco.depthfirst.config import DfConfig

    acc, wl = _load(hw_path, wl_path)
    n = windows(wl)
    big = 1 << 30
    out: list[BaselineCost] = []
    for target in settings.targets:
        cfg = DfConfig(big, big, True, True, layer_by_layer=True, clip_tile_to_output=True, mapper=settings.mapper_config(target))
        e, lat = _network_sums(run_network(wl, acc, cfg, cache))
        out += _per_window("layer_by_layer", e, lat, f"layer-by-layer/{target}", n)
    return out


def spatial_df(hw_path: str, wl_path: str, settings: BaselineSettings, cache: Any = None) -> list[BaselineCost]:
    """Depth-first on the original network for every sweep tile (clipped), caching mode and target, both views.

    Tiles that clip to the same tile in every stack give the same schedule and are run once (the first).
    """
    from acco.depthfirst.combine import check_stack, plan_stacks, run_network
    from acco.depthfirst.config import DfConfig

    acc, wl = _load(hw_path, wl_path)
    n = windows(wl)
    out: list[BaselineCost] = []
    seen: set = set()
    for target in settings.targets:
        for h, v in settings.caching:
            for ty in settings.tile_y:
                for tx in settings.tile_x:
                    cfg = DfConfig(tx, ty, h, v, clip_tile_to_output=True, mapper=settings.mapper_config(target))
                    eff = tuple((c.tile_x, c.tile_y) for c in (check_stack(s.graph, acc, cfg) for s in plan_stacks(wl, acc, cfg)))
                    key = (target, cfg.mode, eff)
                    if key in seen:
                        continue
                    seen.add(key)
                    e, lat = _network_sums(run_network(wl, acc, cfg, cache))
                    out += _per_window("spatial_df", e, lat, f"{tx}x{ty}/{'T' if h else 'F'}{'T' if v else 'F'}/{target}", n)
    return out


@dataclass(frozen=True)
class FixedCausalPart:
    """The fixed causal baseline in one view before the on-chip rule: costs, the DRAM off-load/reload
    share the rule removes, and the peak activation footprint (the rule needs Step 3's threshold)."""

    view: str
    energy: int
    latency: int
    d_energy: int
    d_latency: int
    peak_bits: int
    config: str

    def cost(self, threshold_bits: float) -> BaselineCost:
        """The baseline cost under the on-chip rule: below the threshold, no DRAM off-load/reload."""
        e, lat = self.energy, self.latency
        if self.peak_bits < threshold_bits:
            e -= self.d_energy
            lat -= self.d_latency
        return BaselineCost("fixed_causal", self.view, e, lat, self.config, 1, self.peak_bits)


def fixed_causal_parts(hw_path: str, wl_path: str, settings: BaselineSettings, cache: Any = None) -> list[FixedCausalPart]:
    """The fixed dilated causal structure (whole network, tile = full width × 1 time step, fully cached), per target, before the on-chip rule."""
    from acco.causal.frames import CausalSettings, cost_substack, substacks
    from acco.causal.readings import total
    from acco.depthfirst.config import DfConfig

    acc, wl = _load(hw_path, wl_path)
    last = max(n.id for n in wl.layers)
    subs = substacks(wl, CausalSettings(cut_max=0), acc)
    if len(subs) > 1:  # two weight-overflow passes may give two forced cut sets: take the forward one
        subs = _first_chain(subs)
    out: list[FixedCausalPart] = []
    for target in settings.targets:
        base = DfConfig(1, 1, True, True, mapper=settings.mapper_config(target))
        frames = [cost_substack(s, acc, replace(base, tile_x=s.output_size[0]), cache, network_last=last) for s in subs]
        for view, kind in (("total", "total"), ("real-time", "stable")):
            rd = [total(f.readings[kind]) for f in frames]
            cuts = ".".join(str(s.cut_after) for s in subs[:-1])
            out.append(FixedCausalPart(
                view, sum(r.energy for r in rd), sum(r.latency for r in rd),
                sum(r.offload_energy + r.reload_energy for r in rd), sum(r.offload_latency + r.reload_latency for r in rd),
                sum(f.footprint[kind].peak_bits for f in frames), f"cuts-{cuts}/fullx1/TT/{target}",
            ))
    return out


def fixed_causal(hw_path: str, wl_path: str, settings: BaselineSettings, cache: Any = None) -> list[BaselineCost]:
    """The fixed dilated causal structure (whole network, tile = full width × 1 time step, fully cached), per target.

    The on-chip rule applies with the settings' threshold, as in Step 3."""
    th = settings.threshold_mib * MIB_BITS
    return [part.cost(th) for part in fixed_causal_parts(hw_path, wl_path, settings, cache)]


def _first_chain(subs: Sequence[Any]) -> list[Any]:
    """The sub-stacks of the first chain from the network start to its end (the forward weight-cut pass)."""
    chain = []
    at = None
    for s in subs:
        if s.cut_before == at:
            chain.append(s)
            at = s.cut_after
            if at is None:
                break
    return chain


def single_stack(alloc: Allocation) -> pd.DataFrame:
    """Step 3's best strategy per group, view and metric among the cut sets with the fewest cuts."""
    s = alloc.strategies
    if s.empty:
        return s
    from acco.reports.cuttext import parse_cut_text

    n = s["cut_set"].map(lambda c: len(parse_cut_text(c)))
    keys = ["hardware", "workload", "cuts", "initial_dilation", "batch", "view", "metric"]
    s = s.assign(_n=n, _cuts=s["cut_set"].map(parse_cut_text))
    fewest = s.groupby(keys, dropna=False)["_n"].transform("min")
    s = s[s["_n"] == fewest]
    rows = []
    for k, g in s.groupby(keys, dropna=False, sort=True):
        m = k[-1]
        col = {"energy": ["energy_pJ", "latency_cc"], "latency": ["latency_cc", "energy_pJ"], "edp": ["edp", "energy_pJ", "latency_cc"]}[m]
        rows.append(g.sort_values(col + ["peak_MiB", "_cuts", "strategy"], kind="stable").iloc[0])
    return pd.DataFrame(rows).drop(columns=["_n", "_cuts"]).reset_index(drop=True)


def best_of(costs: Iterable[BaselineCost], view: str, metric: str) -> BaselineCost | None:
    """The baseline configuration with the lowest `metric` in `view` (ties: the other cost, then config text)."""
    cs = [c for c in costs if c.view == view]
    if not cs:
        return None
    key = {
        "energy": lambda c: (c.energy, c.latency, c.config),
        "latency": lambda c: (c.latency, c.energy, c.config),
        "edp": lambda c: (c.edp, c.energy, c.latency, c.config),
    }[metric]
    return min(cs, key=key)


COST_COLUMNS = ("hardware", "workload", "baseline", "view", "config", "windows", "energy_pJ", "latency_cc", "edp", "peak_MiB")
RATIO_COLUMNS = (
    "hardware", "workload", "cuts", "initial_dilation", "batch", "view", "baseline", "metric", "baseline_value", "acco_value", "ratio",
    "baseline_config", "acco_strategy", "paper_ratio", "paper_claim",
)


def cost_table(costs: Mapping[tuple[str, str], Sequence[BaselineCost]]) -> pd.DataFrame:
    """All baseline configurations' costs, one row each, per (hardware, workload)."""
    rows = [
        (hw, wl, c.baseline, c.view, c.config, c.windows, c.energy, c.latency, c.edp, c.peak_bits / MIB_BITS)
        for (hw, wl) in sorted(costs) for c in costs[hw, wl]
    ]
    return pd.DataFrame(rows, columns=list(COST_COLUMNS))


def ratio_table(alloc: Allocation, costs: Mapping[tuple[str, str], Sequence[BaselineCost]]) -> pd.DataFrame:
    """Baseline / ACCO ratios of energy, latency and EDP per Step-3 group and view, with the paper's claims beside.

    Each side is at its best for the metric compared (ACCO: Step 3's overall best; a baseline: its
    best configuration; single_stack: Step 3's best on the forced cut set).
    """
    rows = []
    single = single_stack(alloc)
    value = {"energy": "energy_pJ", "latency": "latency_cc", "edp": "edp"}
    for b in alloc.best.itertuples(index=False):
        key = (b.hardware, b.workload, b.cuts, b.initial_dilation, b.batch, b.view)
        acco_v = int(getattr(b, value[b.metric]))
        for name in BASELINES:
            if name == "single_stack":
                m = single[
                    (single["hardware"] == b.hardware) & (single["workload"] == b.workload) & (single["cuts"] == b.cuts)
                    & (single["initial_dilation"] == b.initial_dilation) & (single["batch"] == b.batch)
                    & (single["view"] == b.view) & (single["metric"] == b.metric)
                ]
                if m.empty:
                    continue
                bv, cfg = int(m.iloc[0][value[b.metric]]), f"cuts-{m.iloc[0]['cut_set']}:{m.iloc[0]['strategy']}"
            else:
                c = best_of([x for x in costs.get((b.hardware, b.workload), ()) if x.baseline == name], b.view, b.metric)
                if c is None:
                    continue
                bv, cfg = {"energy": c.energy, "latency": c.latency, "edp": c.edp}[b.metric], c.config
            claim = PAPER_CLAIMS.get((name, b.metric)) if b.workload in PAPER_WORKLOADS else None
            rows.append(key + (
                name, b.metric, bv, acco_v, bv / acco_v if acco_v else float("nan"), cfg, f"cuts-{b.cut_set}:{b.strategy}",
                claim[0] if claim else float("nan"), claim[1] if claim else "",
            ))
    return pd.DataFrame(rows, columns=list(RATIO_COLUMNS))


@dataclass(frozen=True)
class BaselineRun:
    """The computed baselines of one hardware × workload, independent of Step 3's on-chip threshold
    (Step 1 computes and stores them; `costs` applies the threshold)."""

    computed: tuple[BaselineCost, ...]  # layer_by_layer, then spatial_df
    fixed: tuple[FixedCausalPart, ...]

    def costs(self, threshold_bits: float) -> list[BaselineCost]:
        """Every baseline cost (layer_by_layer, spatial_df, fixed_causal) with the on-chip rule at `threshold_bits`."""
        return list(self.computed) + [p.cost(threshold_bits) for p in self.fixed]


def compute_baselines(hw_path: str, wl_path: str, settings: BaselineSettings, cache: Any = None) -> BaselineRun:
    """The three computed baselines of one hardware × workload (they run the mapper), before the on-chip rule."""
    computed = layer_by_layer(hw_path, wl_path, settings, cache) + spatial_df(hw_path, wl_path, settings, cache)
    return BaselineRun(tuple(computed), tuple(fixed_causal_parts(hw_path, wl_path, settings, cache)))


def run_baselines(hw_path: str, wl_path: str, settings: BaselineSettings, cache: Any = None) -> list[BaselineCost]:
    """The three computed baselines (layer_by_layer, spatial_df, fixed_causal) of one hardware × workload."""
    return compute_baselines(hw_path, wl_path, settings, cache).costs(settings.threshold_mib * MIB_BITS)


__all__ = [
    "BASELINES", "BaselineCost", "BaselineRun", "BaselineSettings", "FixedCausalPart", "PAPER_CLAIMS", "PAPER_WORKLOADS", "best_of", "compute_baselines",
    "cost_table", "fixed_causal", "fixed_causal_parts", "layer_by_layer", "ratio_table", "run_baselines", "single_stack", "spatial_df",
    "windows",
]
