"""Step 3: the cross-sub-stack search — the best whole-network strategy per cut set, exactly, without the product.

A *strategy* is a cut set (forced cuts plus up to `cut_max` extra cuts) and, for each of its
sub-stack ranges, one *option* = (tile_x, tile_y, h_cache, v_cache, target), i.e. one Step-1
scenario of the same hardware × workload (× explicit cuts × dilation × batch). Its cost is the sum
over its ranges of the Step-2 readings; the original's **on-chip rule** (spec acco.md §1.3):
when the ranges' summed peak activation footprint is below a threshold (1 MiB, strict <), the
DRAM off-load and reload deltas are subtracted from both energy and latency. Two views:
``total`` (kind=total rows, total footprint) and ``real-time`` (tile_y = 1 options only,
kind=stable rows and stable footprint: the steady-state cost of one new output time step).

**Exact search without the Cartesian product.** Per cut set, the ranges' option points are
merged range by range into Pareto fronts (Minkowski sum, then a Pareto filter), so a front never
holds more than its non-dominated points and never loses one:

* the *raw* front over (E, L, peak) of all combinations (no rule);
* the *rule* front over (E − ΔE, L − ΔL, peak) of the combinations with Σpeak < threshold,
  where partial sums already at or above the threshold are dropped (peaks are ≥ 0).

Every metric's optimum lies on these fronts (energy, latency and EDP = E·L are monotone in
(E, L) and the tie-break below is monotone in (E, L, peak)). With deltas ≥ 0 a combination's
true cost is never above its raw cost, so the optimum is min(best of the raw front, best of the
rule front), and the whole-network Pareto front (true E × L × peak) is the Pareto filter of the
rule fronts and the raw-front points at or above the threshold. Fronts of shared range prefixes
are reused across cut sets.

**Ties** (deterministic): within a metric, compare (metric value, then for energy: latency, for
latency: energy, for EDP: energy then latency), then the smaller summed peak, then the cut set
(fewer cuts first, then the lexicographically smaller list of cut ids), then the option per range,
first range first, options ordered by (tile_x, tile_y, h_cache, v_cache, target).
The footprint is compared in exact bits (Σ peak bits < threshold_MiB · 2^23), not in rounded MiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

Range = tuple["int | None", "int | None"]
CutSet = tuple[int, ...]

GROUP_COLUMNS = ("hardware", "workload", "cuts", "initial_dilation", "batch")
OPTION_COLUMNS = ("tile_x", "tile_y", "h_cache", "v_cache", "target")
VIEWS = ("total", "real-time")
METRICS = ("energy", "latency", "edp")
MIB_BITS = 8 * 2**20  # bits per MiB
DEFAULT_THRESHOLD_MIB = 1.0  # the original's activation global buffer (spec acco.md §1.3)
_CHUNK = 512


# ---------------------------------------------------------------------------------------------
# Pareto fronts of (a, b, peak) points with option-index tuples


@dataclass(frozen=True)
class Front:
    """Points (a, b, peak) with the option index per range (`idx`, n × k); (a, b) = (energy, latency)."""

    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    idx: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


def _order(a: np.ndarray, b: np.ndarray, p: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Indices sorting points by (a, b, p, tie columns left to right)."""
    keys = [tie[:, j] for j in range(tie.shape[1] - 1, -1, -1)] + [p, b, a]
    return np.lexsort(keys)


def pareto_mask(a: np.ndarray, b: np.ndarray, p: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated points (all three minimised); of identical points the smallest `tie` row stays.

    Points are sorted by (a, b, p, tie); a point is dropped when an earlier one is ≤ in b and p
    (it is ≤ in a by the sort). Checked in chunks against the kept points and the chunk's earlier
    points (dominance is transitive, so earlier dropped points need not be excluded).
    """
    n = len(a)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    order = _order(a, b, p, tie)
    sb, sp = b[order], p[order]
    kb = np.empty(0, dtype=sb.dtype)
    kp = np.empty(0, dtype=sp.dtype)
    kept_pos: list[np.ndarray] = []
    for s in range(0, n, _CHUNK):
        cb, cp = sb[s:s + _CHUNK], sp[s:s + _CHUNK]
        dom = np.zeros(len(cb), dtype=bool)
        if len(kb):
            dom |= ((kb[None, :] <= cb[:, None]) & (kp[None, :] <= cp[:, None])).any(axis=1)
        inner = (cb[None, :] <= cb[:, None]) & (cp[None, :] <= cp[:, None])
        inner &= np.tri(len(cb), k=-1, dtype=bool)
        dom |= inner.any(axis=1)
        ok = ~dom
        if ok.any():
            kb = np.concatenate([kb, cb[ok]])
            kp = np.concatenate([kp, cp[ok]])
            kept_pos.append(s + np.nonzero(ok)[0])
    if kept_pos:
        keep[order[np.concatenate(kept_pos)]] = True
    return keep


def _filtered(f: Front) -> Front:
    m = pareto_mask(f.a, f.b, f.p, f.idx)
    return Front(f.a[m], f.b[m], f.p[m], f.idx[m])


def merge(front: Front, pts: Front, limit: float | None = None) -> Front:
    """Pareto front of every sum (front point + range point); with `limit`, only sums with peak < limit."""
    a = (front.a[:, None] + pts.a[None, :]).ravel()
    b = (front.b[:, None] + pts.b[None, :]).ravel()
    p = (front.p[:, None] + pts.p[None, :]).ravel()
    n, m = len(front), len(pts)
    idx = np.concatenate([np.repeat(front.idx, m, axis=0), np.tile(pts.idx, (n, 1))], axis=1)
    if limit is not None:
        ok = p < limit
        a, b, p, idx = a[ok], b[ok], p[ok], idx[ok]
    return _filtered(Front(a, b, p, idx))


def _empty(k: int) -> Front:
    z = np.zeros(0, dtype=np.int64)
    return Front(z, z, z, np.zeros((0, k), dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# the data of one group and view


@dataclass(frozen=True)
class RangeOptions:
    """The option points of one range in one view: option indices and costs (ints)."""

    opt: np.ndarray
    energy: np.ndarray
    latency: np.ndarray
    peak: np.ndarray  # peak activation bits
    d_energy: np.ndarray  # offload + reload energy
    d_latency: np.ndarray  # offload + reload latency
    rows: tuple[int, ...]  # positions in the source table (for reporting)

    def raw(self) -> Front:
        """(E, L, peak) points of the range."""
        return Front(self.energy, self.latency, self.peak, self.opt[:, None])

    def ruled(self) -> Front:
        """(E − ΔE, L − ΔL, peak) points of the range (the on-chip rule applied)."""
        return Front(self.energy - self.d_energy, self.latency - self.d_latency, self.peak, self.opt[:, None])


@dataclass(frozen=True)
class ViewTable:
    """One group in one view: its options (sorted) and, per range, the option points."""

    options: tuple[tuple, ...]
    ranges: Mapping[Range, RangeOptions]
    table: pd.DataFrame  # the rows these points came from (positions = RangeOptions.rows)


def _none(v: object) -> int | None:
    return None if v is None or pd.isna(v) else int(v)  # type: ignore[arg-type]


def _bool(v: object) -> bool:
    if isinstance(v, str):
        return v.strip().lower() == "true"
    return bool(v)


def view_table(rows: pd.DataFrame, view: str) -> ViewTable:
    """Option points per range of one group's ranges.csv rows in a view (`total` or `real-time`)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    kind = "total" if view == "total" else "stable"
    t = rows[rows["kind"] == kind]
    if view == "real-time":
        t = t[t["tile_y"] == 1]
    t = t.reset_index(drop=True)
    opt_keys = [
        (int(r.tile_x), int(r.tile_y), _bool(r.h_cache), _bool(r.v_cache), str(r.target))
        for r in t[list(OPTION_COLUMNS)].itertuples(index=False)
    ]
    options = tuple(sorted(set(opt_keys)))
    pos = {o: i for i, o in enumerate(options)}
    per: dict[Range, list[int]] = {}
    for i, (cb, ca) in enumerate(zip(t["cut_before"], t["cut_after"])):
        per.setdefault((_none(cb), _none(ca)), []).append(i)
    ranges: dict[Range, RangeOptions] = {}
    i64 = np.int64
    for rg, ii in per.items():
        ii = sorted(ii, key=lambda j: pos[opt_keys[j]])
        opts = [pos[opt_keys[j]] for j in ii]
        if len(set(opts)) != len(opts):
            raise ValueError(f"range {rg}: an option appears twice in the {kind} rows (duplicate scenarios?)")
        sub = t.iloc[ii]
        e = sub["energy_pJ"].to_numpy(i64)
        lat = sub["latency_cc"].to_numpy(i64)
        de = (sub["offload_energy_pJ"] + sub["reload_energy_pJ"]).to_numpy(i64)
        dl = (sub["offload_latency_cc"] + sub["reload_latency_cc"]).to_numpy(i64)
        if (de < 0).any() or (dl < 0).any() or (de > e).any() or (dl > lat).any():
            raise ValueError(
                f"range {rg}: the on-chip rule needs 0 <= offload+reload delta <= cost (energy and latency); "
                "the exact search relies on it"
            )
        ranges[rg] = RangeOptions(np.asarray(opts, dtype=i64), e, lat, sub["peak_activation_bits"].to_numpy(i64), de, dl, tuple(ii))
    return ViewTable(options, ranges, t)


# ---------------------------------------------------------------------------------------------
# cut sets


def _lo(c: int | None) -> float:
    return -np.inf if c is None else c


def _hi(c: int | None) -> float:
    return np.inf if c is None else c


def forced_cuts(ranges: Iterable[Range]) -> CutSet:
    """Cut points that no present range spans (the forced cuts when every pass forces the same ones)."""
    rs = list(ranges)
    pts = sorted({c for r in rs for c in r if c is not None})
    return tuple(c for c in pts if not any(_lo(cb) < c < _hi(ca) for cb, ca in rs))


def ranges_of(cuts: CutSet) -> list[Range]:
    """The sub-stack ranges (cut_before, cut_after) of a cut set, None = open end."""
    return list(zip([None, *cuts], [*cuts, None]))


def cut_sets(present: Iterable[Range], cut_max: int, forced_sets: Sequence[CutSet] | None = None) -> list[CutSet]:
    """Every cut set of forced cuts plus ≤ `cut_max` extra cuts whose ranges are all present; sorted (fewer cuts first).

    Candidates are the cut points the present ranges name (a cut anywhere else gives an absent
    range). `forced_sets`: one set per weight-overflow pass (forward, reversed), as the original
    tries each; default: the cut points no present range spans. Multi-output violations need no
    test: such ranges are never present.
    """
    ps = set(present)
    points = sorted({c for r in ps for c in r if c is not None})
    sets = [tuple(sorted(f)) for f in (forced_sets if forced_sets is not None else [forced_cuts(ps)])]
    out: set[CutSet] = set()
    for forced in sets:
        free = [c for c in points if c not in forced]
        for r in range(cut_max + 1):
            for extra in combinations(free, r):
                cs = tuple(sorted(set(forced) | set(extra)))
                if all(rg in ps for rg in ranges_of(cs)):
                    out.add(cs)
    return sorted(out, key=lambda c: (len(c), c))


# ---------------------------------------------------------------------------------------------
# the search


@dataclass(frozen=True)
class Choice:
    """One whole-network strategy: cut set, option per range, true cost, footprint, rule applied."""

    cuts: CutSet
    options: tuple[int, ...]
    energy: int
    latency: int
    peak_bits: int
    onchip: bool

    @property
    def edp(self) -> int:
        """Energy-delay product (exact integer)."""
        return self.energy * self.latency


def metric_key(metric: str, c: Choice) -> tuple:
    """The total order a metric ranks strategies by (value, secondary costs, peak, cut set, options)."""
    e, lat = c.energy, c.latency
    head = {"energy": (e, lat), "latency": (lat, e), "edp": (e * lat, e, lat)}[metric]
    return head + (c.peak_bits, len(c.cuts), c.cuts, c.options)


@dataclass
class CutSetResult:
    """Per cut set: the best choice per metric, and the fronts (for the whole-network Pareto front)."""

    cuts: CutSet
    best: dict[str, Choice]
    raw: Front
    ruled: Front


@dataclass
class GroupSearch:
    """The exact search over one group × view (fronts of range prefixes are memoised)."""

    table: ViewTable
    cut_max: int
    threshold_bits: float
    forced_sets: Sequence[CutSet] | None = None
    _raw: dict[tuple, Front] = field(default_factory=dict)
    _ruled: dict[tuple, Front] = field(default_factory=dict)

    def _front(self, rgs: tuple[Range, ...], ruled: bool) -> Front:
        memo = self._ruled if ruled else self._raw
        if rgs in memo:
            return memo[rgs]
        ro = self.table.ranges[rgs[-1]]
        pts = _filtered(ro.ruled() if ruled else ro.raw())
        limit = self.threshold_bits if ruled else None
        if len(rgs) == 1:
            f = pts
            if limit is not None:
                ok = f.p < limit
                f = Front(f.a[ok], f.b[ok], f.p[ok], f.idx[ok])
        else:
            prev = self._front(rgs[:-1], ruled)
            f = merge(prev, pts, limit) if len(prev) else _empty(len(rgs))
        memo[rgs] = f
        return f

    def cut_sets(self) -> list[CutSet]:
        """Valid cut sets of this group."""
        return cut_sets(self.table.ranges.keys(), self.cut_max, self.forced_sets)

    def run(self, cuts: CutSet) -> CutSetResult:
        """Best strategy per metric for one cut set, and its raw and rule fronts."""
        rgs = tuple(ranges_of(cuts))
        raw = self._front(rgs, False)
        ruled = self._front(rgs, True)
        best = {m: min(self.candidates(cuts, raw, ruled), key=lambda x: metric_key(m, x)) for m in METRICS}
        return CutSetResult(cuts, best, raw, ruled)

    def candidates(self, cuts: CutSet, raw: Front, ruled: Front) -> list[Choice]:
        """True-cost strategies that can be optimal: the rule front, and the raw-front points at or above the threshold.

        A raw-front point under the threshold is left out: its true cost is its rule cost, which the
        rule front bounds; an above-threshold combination dominated on the raw front by an
        under-threshold one is beaten by the rule front too (deltas >= 0).
        """
        out = [_choice(cuts, ruled, i, True) for i in range(len(ruled))]
        out += [_choice(cuts, raw, int(i), False) for i in np.nonzero(raw.p >= self.threshold_bits)[0]]
        return out

    def pareto(self, results: Sequence[CutSetResult]) -> list[Choice]:
        """Whole-network Pareto front (true energy × latency × peak) over all cut sets, sorted by (E, L, peak)."""
        parts: list[Choice] = []
        ranks: list[int] = []
        for rank, r in enumerate(results):
            cs = self.candidates(r.cuts, r.raw, r.ruled)
            parts += cs
            ranks += [rank] * len(cs)
        if not parts:
            return []
        a = np.array([c.energy for c in parts], dtype=np.int64)
        b = np.array([c.latency for c in parts], dtype=np.int64)
        p = np.array([c.peak_bits for c in parts], dtype=np.int64)
        k = max(len(c.options) for c in parts)
        # ties: cut-set rank (results come in (number of cuts, cuts) order), then the options
        tie = np.array([(rk, *c.options, *([-1] * (k - len(c.options)))) for rk, c in zip(ranks, parts)], dtype=np.int64)
        keep = pareto_mask(a, b, p, tie)
        front = [c for c, k_ in zip(parts, keep) if k_]
        return sorted(front, key=lambda c: (c.energy, c.latency, c.peak_bits, len(c.cuts), c.cuts, c.options))


def _choice(cuts: CutSet, f: Front, i: int, ruled: bool) -> Choice:
    return Choice(cuts, tuple(int(x) for x in f.idx[i]), int(f.a[i]), int(f.b[i]), int(f.p[i]), ruled)


# ---------------------------------------------------------------------------------------------
# whole tables


@dataclass(frozen=True)
class Allocation:
    """Step-3 results as tables: chosen strategy per cut set, their ranges, overall best, Pareto front."""

    strategies: pd.DataFrame
    strategy_ranges: pd.DataFrame
    best: pd.DataFrame
    pareto: pd.DataFrame

    def write(self, directory: str | Path) -> list[Path]:
        """Write the four tables as CSV into `directory` (atomically each); returns the paths."""
        from acco.io.atomic import atomic_write_bytes

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = []
        for name in ("strategies", "strategy_ranges", "best", "pareto"):
            p = d / f"{name}.csv"
            atomic_write_bytes(p, getattr(self, name).to_csv(index=False, lineterminator="\n").encode())
            out.append(p)
        return out


STRATEGY_COLUMNS = GROUP_COLUMNS + (
    "view", "metric", "cut_set", "n_ranges", "energy_pJ", "latency_cc", "edp", "peak_MiB", "onchip_rule", "threshold_MiB", "strategy",
)
RANGE_PICK_COLUMNS = GROUP_COLUMNS + (
    "view", "metric", "cut_set", "scenario_id", "cut_before", "cut_after", "kind", "tile_x", "tile_y", "h_cache", "v_cache", "target",
    "energy_pJ", "latency_cc", "offload_energy_pJ", "offload_latency_cc", "reload_energy_pJ", "reload_latency_cc", "peak_MiB",
)
PARETO_COLUMNS = GROUP_COLUMNS + (
    "view", "cut_set", "n_ranges", "energy_pJ", "latency_cc", "edp", "peak_MiB", "onchip_rule", "threshold_MiB", "strategy",
)


def cut_text(cuts: Sequence[int]) -> str:
    """A cut set as text: ids joined by '.', empty for none (as Step 2's `cuts` column)."""
    return ".".join(str(c) for c in cuts)


def option_text(o: tuple) -> str:
    """An option as text: `4x1/TT/energy` (tile_x x tile_y / H V caching / target)."""
    tx, ty, h, v, target = o
    return f"{tx}x{ty}/{'T' if h else 'F'}{'T' if v else 'F'}/{target}"


def strategy_text(vt: ViewTable, c: Choice) -> str:
    """A strategy as text: `cb-ca:option` per range, ';'-separated (open ends as `None`)."""
    return ";".join(f"{cb}-{ca}:{option_text(vt.options[o])}" for (cb, ca), o in zip(ranges_of(c.cuts), c.options))


def groups_of(ranges: pd.DataFrame) -> list[tuple]:
    """The (hardware, workload, cuts, initial_dilation, batch) groups of a ranges table, sorted."""
    g = ranges[list(GROUP_COLUMNS)].drop_duplicates()
    keys = [tuple(r) for r in g.itertuples(index=False)]
    return sorted(keys, key=lambda k: tuple(str(x) for x in k))


def _group_rows(ranges: pd.DataFrame, key: tuple) -> pd.DataFrame:
    m = np.ones(len(ranges), dtype=bool)
    for c, v in zip(GROUP_COLUMNS, key):
        col = ranges[c]
        m &= (col.isna() & pd.isna(v)).to_numpy() if pd.isna(v) else (col == v).to_numpy()
    return ranges[m]


def allocate(
    ranges: pd.DataFrame,
    cut_max: int,
    threshold_mib: float | Mapping[str, float] = DEFAULT_THRESHOLD_MIB,
    forced: Mapping[tuple, Sequence[CutSet]] | None = None,
    views: Sequence[str] = VIEWS,
) -> Allocation:
    """Run the exact Step-3 search on a Step-2 `ranges.csv` table, per group and view.

    `threshold_mib`: the on-chip rule's threshold in MiB, one for all or per hardware name.
    `forced`: per group key, the forced cut sets (one per weight-overflow pass); default inferred.
    """
    if "cuts" in ranges.columns:
        ranges = ranges.assign(cuts=ranges["cuts"].fillna("").astype(str))
    s_rows: list[tuple] = []
    r_rows: list[tuple] = []
    b_rows: list[tuple] = []
    p_rows: list[tuple] = []
    for key in groups_of(ranges):
        rows = _group_rows(ranges, key)
        th = threshold_mib[str(key[0])] if isinstance(threshold_mib, Mapping) else threshold_mib
        for view in views:
            vt = view_table(rows, view)
            if not vt.ranges:
                continue
            gs = GroupSearch(vt, cut_max, th * MIB_BITS, None if forced is None else forced.get(key))
            results = [gs.run(c) for c in gs.cut_sets()]
            for m in METRICS:
                per = [r.best[m] for r in results]
                for c in per:
                    s_rows.append(_strategy_row(key, view, m, vt, c, th))
                    r_rows += _range_rows(key, view, m, vt, c)
                if per:
                    b_rows.append(_strategy_row(key, view, m, vt, min(per, key=lambda x: metric_key(m, x)), th))
            for c in gs.pareto(results):
                p_rows.append(key + (view, cut_text(c.cuts), len(c.options), c.energy, c.latency, c.edp, c.peak_bits / MIB_BITS, c.onchip, th, strategy_text(vt, c)))
    return Allocation(
        pd.DataFrame(s_rows, columns=list(STRATEGY_COLUMNS)),
        pd.DataFrame(r_rows, columns=list(RANGE_PICK_COLUMNS)),
        pd.DataFrame(b_rows, columns=list(STRATEGY_COLUMNS)),
        pd.DataFrame(p_rows, columns=list(PARETO_COLUMNS)),
    )


def _strategy_row(key: tuple, view: str, metric: str, vt: ViewTable, c: Choice, th: float) -> tuple:
    return key + (
        view, metric, cut_text(c.cuts), len(c.options), c.energy, c.latency, c.edp, c.peak_bits / MIB_BITS, c.onchip, th,
        strategy_text(vt, c),
    )


def _range_rows(key: tuple, view: str, metric: str, vt: ViewTable, c: Choice) -> list[tuple]:
    out = []
    for rg, o in zip(ranges_of(c.cuts), c.options):
        ro = vt.ranges[rg]
        j = int(np.nonzero(ro.opt == o)[0][0])
        r = vt.table.iloc[ro.rows[j]]
        out.append(key + (
            view, metric, cut_text(c.cuts), r["scenario_id"], rg[0], rg[1], r["kind"], *vt.options[o],
            int(r["energy_pJ"]), int(r["latency_cc"]), int(r["offload_energy_pJ"]), int(r["offload_latency_cc"]),
            int(r["reload_energy_pJ"]), int(r["reload_latency_cc"]), int(r["peak_activation_bits"]) / MIB_BITS,
        ))
    return out


# ---------------------------------------------------------------------------------------------
# inputs from the hardware and workload files


def activation_buffer_mib(hw_path: str) -> float:
    """Size (MiB) of the hardware's activation global buffer: the output chain's level just below DRAM."""
    from acco.api import load_any_hardware

    acc = load_any_hardware(hw_path)
    chain = acc.chain("O")
    level = chain[-2] if len(chain) > 1 else chain[-1]
    return level.instance.size / MIB_BITS


def forced_cut_sets(hw_path: str, wl_path: str, explicit: Sequence[int] = ()) -> list[CutSet]:
    """Forced cut sets as Step 1 forms them: explicit cuts plus the forward and the reversed weight-overflow cuts."""
    from acco.api import load_any_hardware
    from acco.causal.frames import original_graph
    from acco.depthfirst.stacks import weight_overflow_cuts
    from acco.io.workload import load_workload

    acc, wl = load_any_hardware(hw_path), load_workload(wl_path)
    g = original_graph(wl)
    last = max(n.id for n in wl.layers)
    out: list[CutSet] = []
    for rev in (False, True):
        cs = tuple(sorted({int(c) for c in (*explicit, *weight_overflow_cuts(g, acc, rev)) if c != last and c >= 0}))
        if cs not in out:
            out.append(cs)
    return out


__all__ = [
    "Allocation", "Choice", "DEFAULT_THRESHOLD_MIB", "Front", "GROUP_COLUMNS", "GroupSearch", "METRICS", "MIB_BITS",
    "OPTION_COLUMNS", "VIEWS", "ViewTable", "activation_buffer_mib", "allocate", "cut_sets", "cut_text", "forced_cut_sets",
    "forced_cuts", "groups_of", "merge", "metric_key", "option_text", "pareto_mask", "ranges_of", "strategy_text", "view_table",
]
