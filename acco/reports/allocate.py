"""Step 3: the cross-sub-stack search — the best whole-network strategy per cut set, exactly, without the product.

A *strategy* is a cut set (forced cuts plus up to `cut_max` extra cuts) and, for each of its
sub-stack ranges, one *option* = (tile_x, tile_y, h_cache, v_cache, target), i.e. one Step-1
scenario of the same hardware × workload (× explicit cuts × dilation × batch). Its cost is the sum
over its ranges of the Step-2 readings; the original's **on-chip rule** (docs/references.md):
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

import os
from concurrent.futures import Executor
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from acco.jit import available as staircase_compiled
from acco.reports.cuttext import cut_text
from acco.reports.staircase import dominated_by_sorted, merge_keep, staircase

Range = tuple["int | None", "int | None"]
CutSet = tuple[int, ...]

GROUP_COLUMNS = ("hardware", "workload", "cuts", "initial_dilation", "batch")
OPTION_COLUMNS = ("tile_x", "tile_y", "h_cache", "v_cache", "target")
VIEWS = ("total", "real-time")
METRICS = ("energy", "latency", "edp")
MIB_BITS = 8 * 2**20  # bits per MiB
DEFAULT_THRESHOLD_MIB = 1.0  # the original's activation global buffer (docs/references.md)
_CHUNK = 512


# ---------------------------------------------------------------------------------------------
# Pareto fronts of (a, b, peak) points with option-index tuples


@dataclass(frozen=True)
class Front:
    """Points (a, b, peak) with the option index per range (`idx`, n × k); (a, b) = two cost sums."""

    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    idx: np.ndarray

    def __len__(self) -> int:
        return len(self.a)

    def take(self, m: np.ndarray) -> "Front":
        """The points selected by a mask or index array."""
        return Front(self.a[m], self.b[m], self.p[m], self.idx[m])


_BIG = np.iinfo(np.int64).max
_EDGES = 16  # b-thresholds of the vectorised pre-pass


def _order(a: np.ndarray, b: np.ndarray, p: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Indices sorting points by (a, b, p, tie columns left to right), equal keys in index order:
    `np.lexsort` of those keys, computed as one sort by a and a lexsort of the points whose a is
    shared (a 4-key lexsort of every point costs ~4x a one-key sort)."""
    t = tie.reshape(len(tie), -1)
    o = np.argsort(a, kind="stable")
    sa = a[o]
    same = sa[1:] == sa[:-1]
    if not same.any():
        return o
    tied = np.zeros(len(o), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    pos = np.flatnonzero(tied)
    group = np.cumsum(np.concatenate([[True], ~same]))[pos]  # runs of equal a, in a order
    sub = o[pos]
    keys = [t[sub, j] for j in range(t.shape[1] - 1, -1, -1)] + [p[sub], b[sub], group]
    o[pos] = sub[np.lexsort(keys)]  # stable: equal keys keep o's (index) order
    return o


def _ranks(idx: np.ndarray) -> np.ndarray:
    """Rank of each row of `idx` in lexicographic order (rows distinct)."""
    order = np.lexsort([idx[:, j] for j in range(idx.shape[1] - 1, -1, -1)]) if idx.shape[1] else np.arange(len(idx))
    r = np.empty(len(idx), dtype=np.int64)
    r[order] = np.arange(len(idx), dtype=np.int64)
    return r


def _surely_dominated(sb: np.ndarray, sp: np.ndarray, src: np.ndarray | None = None) -> np.ndarray:
    """Vectorised sufficient test on points sorted by a: an earlier point (of `src`, if given) has b ≤ e ≤ b_i and p ≤ p_i.

    Tried for a few thresholds e (quantiles of b); a point it flags is dominated, one it misses
    may still be (callers that need exactness run the staircase on what is left).
    """
    n = len(sb)
    dom = np.zeros(n, dtype=bool)
    if n < 64:
        return dom
    edges = np.unique(np.quantile(sb, np.linspace(0, 1, _EDGES), method="lower"))
    for e in edges:
        v = np.where((sb <= e) if src is None else (sb <= e) & src, sp, _BIG)
        prev = np.concatenate([[_BIG], np.minimum.accumulate(v)[:-1]])
        dom |= (sb >= e) & (prev <= sp)
    return dom


def pareto_mask(a: np.ndarray, b: np.ndarray, p: np.ndarray, tie: np.ndarray, dims: str = "abp") -> np.ndarray:
    """Mask of the non-dominated points; of points equal in the compared dims the smallest (rest, tie) stays.

    `dims`: "abp" = all three minimised; "ab" = (a, b) only (peak then tie break ties); "ap" = (a
    then b lexicographically, peak); "a" = the single lexicographic minimum of (a, b, peak, tie).
    `tie`: one column or several (compared left to right). Points are sorted by (a, b, p, tie); a
    point is dropped when an earlier one is ≤ in the remaining compared dims (it is ≤ in a, or
    lexicographically ≤ in (a, b), by the sort).
    """
    n = len(a)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    order = _order(a, b, p, tie)
    if dims == "a":
        keep[order[0]] = True
        return keep
    if dims in ("ab", "ap"):
        v = (b if dims == "ab" else p)[order]
        prev = np.concatenate([[_BIG], np.minimum.accumulate(v)[:-1]])
        keep[order[v < prev]] = True
        return keep
    sb, sp = b[order], p[order]
    if staircase_compiled():  # machine code: the whole staircase is cheaper than the pre-pass
        keep[order[staircase(sb, sp)]] = True
        return keep
    left = np.nonzero(~_surely_dominated(sb, sp))[0]
    ok = staircase(sb[left], sp[left])
    keep[order[left[ok]]] = True
    return keep


def sorted_by_abp(g: Front) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A front's (a, b, peak) arrays sorted by (a, b, peak): `surely_dominated_by` then merges instead of sorting g."""
    o = np.lexsort((g.p, g.b, g.a))
    return g.a[o], g.b[o], g.p[o]


def surely_dominated_by(g: Front, x: Front, g_sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Mask of points of `x` that a point of `g` is ≤ in all of (a, b, peak): exact when compiled, else a vectorised sufficient test (may miss some).

    `g_sorted`: `sorted_by_abp(g)`, when the same g is tested against many x (compiled path)."""
    if not len(g) or not len(x):
        return np.zeros(len(x), dtype=bool)
    if staircase_compiled():
        return dominated_by_sorted(*(g_sorted or sorted_by_abp(g)), x.a, x.b, x.p)
    a = np.concatenate([g.a, x.a])
    b = np.concatenate([g.b, x.b])
    p = np.concatenate([g.p, x.p])
    src = np.concatenate([np.zeros(len(g), dtype=np.int64), np.ones(len(x), dtype=np.int64)])
    order = _order(a, b, p, src)
    is_g = src[order] == 0
    if len(order) >= 64:
        dom = _surely_dominated(b[order], p[order], is_g)
    else:
        dom = _small_dominated(b[order], p[order], is_g)
    out = np.zeros(len(x), dtype=bool)
    xs = ~is_g
    out[order[xs] - len(g)] = dom[xs]
    return out


def _small_dominated(sb: np.ndarray, sp: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Exact version of `_surely_dominated` for a few points (quadratic)."""
    le = (sb[None, :] <= sb[:, None]) & (sp[None, :] <= sp[:, None]) & src[None, :]
    return (le & np.tri(len(sb), k=-1, dtype=bool)).any(axis=1)


def filtered(f: Front, dims: str = "abp") -> Front:
    """The non-dominated points of a front (see `pareto_mask`)."""
    return f.take(pareto_mask(f.a, f.b, f.p, f.idx, dims))


def merge(front: Front, pts: Front, dims: str = "abp", limit: float | None = None) -> Front:
    """Non-dominated sums (front point + range point); with `limit`, only sums with peak < limit.

    Ties between sums compare the option tuples; as both parts' tuples are distinct, the rank of
    the front point times len(pts) plus the rank of the range point orders them the same way.
    """
    n, m = len(front), len(pts)
    if staircase_compiled():  # machine code: sums, order and filter in one pass, no n·m temporaries
        keep = merge_keep(front.a, front.b, front.p, _ranks(front.idx), pts.a, pts.b, pts.p, _ranks(pts.idx), limit, dims)
        i, j = np.divmod(keep, m)
        idx = np.concatenate([front.idx[i], pts.idx[j]], axis=1)
        return Front(front.a[i] + pts.a[j], front.b[i] + pts.b[j], front.p[i] + pts.p[j], idx)
    a = (front.a[:, None] + pts.a[None, :]).ravel()
    b = (front.b[:, None] + pts.b[None, :]).ravel()
    p = (front.p[:, None] + pts.p[None, :]).ravel()
    tie = (_ranks(front.idx)[:, None] * m + _ranks(pts.idx)[None, :]).ravel()
    sel = np.arange(n * m) if limit is None else np.nonzero(p < limit)[0]
    keep = sel[pareto_mask(a[sel], b[sel], p[sel], tie[sel], dims)]
    i, j = np.divmod(keep, m)
    idx = np.concatenate([front.idx[i], pts.idx[j]], axis=1)
    return Front(a[keep], b[keep], p[keep], idx)


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

    def points(self, ruled: bool, swap: bool = False) -> Front:
        """The range's points: (E, L, peak), or (L, E, peak) with `swap`; with `ruled`, costs minus the deltas."""
        e, lat = (self.energy - self.d_energy, self.latency - self.d_latency) if ruled else (self.energy, self.latency)
        a, b = (lat, e) if swap else (e, lat)
        return Front(a, b, self.peak, self.opt[:, None])


@dataclass(frozen=True)
class ViewTable:
    """One group in one view: its options (sorted) and, per range, the option points."""

    options: tuple[tuple, ...]
    ranges: Mapping[Range, RangeOptions]
    table: pd.DataFrame  # the rows these points came from (positions = RangeOptions.rows)
    _columns: dict = field(default_factory=dict, compare=False, repr=False)

    def columns(self) -> dict[str, list]:
        """The report columns of `table` as Python lists (row look-ups without pandas' per-row cost)."""
        if not self._columns:
            for name in _REPORT_COLUMNS:
                self._columns[name] = self.table[name].tolist()
        return self._columns


_REPORT_COLUMNS = (
    "scenario_id", "kind", "energy_pJ", "latency_cc", "offload_energy_pJ", "offload_latency_cc", "reload_energy_pJ",
    "reload_latency_cc", "peak_activation_bits",
)


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
    # option keys and range ends from plain column lists (per-row pandas access costs ~100x more)
    opt_keys = list(zip(
        (int(x) for x in t["tile_x"].tolist()), (int(y) for y in t["tile_y"].tolist()),
        (_bool(h) for h in t["h_cache"].tolist()), (_bool(v) for v in t["v_cache"].tolist()), (str(g) for g in t["target"].tolist()),
    ))
    options = tuple(sorted(set(opt_keys)))
    pos = {o: i for i, o in enumerate(options)}
    opt_pos = [pos[k] for k in opt_keys]
    per: dict[Range, list[int]] = {}
    for i, (cb, ca) in enumerate(zip(t["cut_before"].tolist(), t["cut_after"].tolist())):
        per.setdefault((_none(cb), _none(ca)), []).append(i)
    ranges: dict[Range, RangeOptions] = {}
    i64 = np.int64
    col = {c: t[c].to_numpy(i64) for c in ("energy_pJ", "latency_cc", "offload_energy_pJ", "reload_energy_pJ", "offload_latency_cc",
                                            "reload_latency_cc", "peak_activation_bits")}
    for rg, ii in per.items():
        ii = sorted(ii, key=opt_pos.__getitem__)
        opts = [opt_pos[j] for j in ii]
        if len(set(opts)) != len(opts):
            raise ValueError(f"range {rg}: an option appears twice in the {kind} rows (duplicate scenarios?)")
        sel = np.asarray(ii, dtype=np.intp)
        e = col["energy_pJ"][sel]
        lat = col["latency_cc"][sel]
        de = col["offload_energy_pJ"][sel] + col["reload_energy_pJ"][sel]
        dl = col["offload_latency_cc"][sel] + col["reload_latency_cc"][sel]
        if (de < 0).any() or (dl < 0).any() or (de > e).any() or (dl > lat).any():
            raise ValueError(
                f"range {rg}: the on-chip rule needs 0 <= offload+reload delta <= cost (energy and latency); "
                "the exact search relies on it"
            )
        ranges[rg] = RangeOptions(np.asarray(opts, dtype=i64), e, lat, col["peak_activation_bits"][sel], de, dl, tuple(ii))
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


#: per (metric, rule applied): the front kind (`pareto_mask` dims) and whether latency comes first
SPECS = {
    ("energy", False): ("a", False), ("latency", False): ("a", True), ("edp", False): ("ab", False),
    ("energy", True): ("ap", False), ("latency", True): ("ap", True), ("edp", True): ("abp", False),
}


@dataclass
class GroupSearch:
    """The exact search over one group × view (fronts of range prefixes are memoised)."""

    table: ViewTable
    cut_max: int
    threshold_bits: float
    forced_sets: Sequence[CutSet] | None = None
    _memo: dict[tuple, Front] = field(default_factory=dict)

    def cut_sets(self) -> list[CutSet]:
        """Valid cut sets of this group, fewest cuts first (forced cuts inferred when the given ones fit no range)."""
        sets = cut_sets(self.table.ranges.keys(), self.cut_max, self.forced_sets)
        return sets if sets or self.forced_sets is None else cut_sets(self.table.ranges.keys(), self.cut_max)

    def points(self, rg: Range, ruled: bool, dims: str, swap: bool = False) -> Front:
        """A range's non-dominated points (under the threshold when `ruled`)."""
        key = ("pts", rg, ruled, dims, swap)
        if key not in self._memo:
            f = self.table.ranges[rg].points(ruled, swap)
            if ruled:
                f = f.take(f.p < self.threshold_bits)
            self._memo[key] = filtered(f, dims)
        return self._memo[key]

    def front(self, rgs: tuple[Range, ...], ruled: bool, dims: str, swap: bool = False) -> Front:
        """Non-dominated combinations of a chain of ranges (memoised per prefix)."""
        key = ("front", rgs, ruled, dims, swap)
        if key not in self._memo:
            pts = self.points(rgs[-1], ruled, dims, swap)
            if len(rgs) == 1:
                f = pts
            else:
                prev = self.front(rgs[:-1], ruled, dims, swap)
                f = merge(prev, pts, dims, self.threshold_bits if ruled else None)
            self._memo[key] = f
        return self._memo[key]

    def _choices(self, cuts: CutSet, f: Front, ruled: bool, swap: bool, metric: str | None = None) -> list[Choice]:
        """Strategies of a front with their true costs: all of a rule front, raw points at or above the threshold.

        A raw point under the threshold is left out: its true cost is its rule cost, which the rule
        front bounds; an above-threshold combination dominated on a raw front by an under-threshold
        one is beaten by the rule front too (deltas >= 0).
        With `metric`, only the strategies whose first `metric_key` value is within 1e-9 of the
        smallest (in floating point, so every exact minimum is among them), in front order: `min`
        by `metric_key` over several such lists picks what it picks over the full lists.
        """
        if not ruled:
            f = f.take(f.p >= self.threshold_bits)
        es, ls = (f.b, f.a) if swap else (f.a, f.b)
        if metric is not None and len(f) > 1:
            e, lat = es.astype(float), ls.astype(float)
            v = {"energy": e, "latency": lat, "edp": e * lat}[metric]
            lo = v.min()
            f = f.take(v <= lo + abs(lo) * 1e-9)
            es, ls = (f.b, f.a) if swap else (f.a, f.b)
        return [
            Choice(cuts, tuple(o), e, lat, p, ruled)
            for o, e, lat, p in zip(f.idx.tolist(), es.tolist(), ls.tolist(), f.p.tolist())
        ]

    def _suffix_minima(self, fronts: Sequence[Front]) -> tuple[list[int], list[int], list[int], list[int]]:
        """Per position j, Σ over the later ranges of min a, min b, min peak, max peak."""
        k = len(fronts)
        out: tuple[list[int], ...] = ([0] * (k + 1), [0] * (k + 1), [0] * (k + 1), [0] * (k + 1))
        for j in range(k - 1, -1, -1):
            f = fronts[j]
            vals = (int(f.a.min()), int(f.b.min()), int(f.p.min()), int(f.p.max())) if len(f) else (0, 0, 0, 0)
            for o, v in zip(out, vals):
                o[j] = o[j + 1] + v
        return tuple(x[1:] for x in out)  # type: ignore[return-value]

    def _edp_ruled(self, rgs: tuple[Range, ...], bound: float) -> Front:
        """Rule front for EDP of one chain, pruned by the footprint and by an achievable EDP `bound`."""
        pts = [self.points(rg, True, "abp") for rg in rgs]
        if any(not len(p) for p in pts):
            return _empty(len(rgs))
        sa, sb, sp, _ = self._suffix_minima(pts)
        f = pts[0]
        for j in range(len(rgs)):
            if j:
                f = merge(f, pts[j], "abp", self.threshold_bits)
            lb = (f.a + sa[j]).astype(float) * (f.b + sb[j]).astype(float)
            f = f.take(((f.p + sp[j]) < self.threshold_bits) & (lb <= bound * (1 + 1e-9) + 1))
        return f

    def run(self, cuts: CutSet) -> CutSetResult:
        """Best strategy per metric for one cut set."""
        rgs = tuple(ranges_of(cuts))
        best: dict[str, Choice] = {}
        for m in ("energy", "latency"):
            cands = []
            for ruled in (True, False):
                dims, swap = SPECS[m, ruled]
                cands += self._choices(cuts, self.front(rgs, ruled, dims, swap), ruled, swap, m)
            best[m] = min(cands, key=lambda x: metric_key(m, x))
        raw = self._choices(cuts, self.front(rgs, False, "ab"), False, False, "edp")
        bound = min(c.edp for c in [best["energy"], best["latency"], *raw])
        ruled_edp = self._choices(cuts, self._edp_ruled(rgs, float(bound)), True, False, "edp")
        best["edp"] = min(raw + ruled_edp, key=lambda x: metric_key("edp", x))
        return CutSetResult(cuts, best)

    def pareto(self, sets: Sequence[CutSet]) -> list[Choice]:
        """Whole-network Pareto front (true energy × latency × peak) over the cut sets `sets` (given in rank order).

        Branch and bound: a partial combination may be dropped when a point already on the front is ≤
        its lower bound (partial sums plus the later ranges' minima) in all three (a vectorised test
        that finds most such cases; the final filter is exact); rule partials whose
        peak bound reaches the threshold, and raw partials that cannot reach it, are dropped too.
        Ties go to the earlier cut set, then the smaller options.
        """
        width = 1 + max((len(c) + 1 for c in sets), default=0)
        g = _empty(width)
        g_sorted = sorted_by_abp(g)
        g_on = np.zeros(0, dtype=bool)
        th = self.threshold_bits
        for rank, cuts in enumerate(sets):
            rgs = tuple(ranges_of(cuts))
            new: list[tuple[Front, bool]] = []
            for ruled in (True, False):
                pts = [self.points(rg, ruled, "abp") for rg in rgs]
                if any(not len(p) for p in pts):
                    continue
                sa, sb, sp, sq = self._suffix_minima(pts)
                f = pts[0]
                for j in range(len(rgs)):
                    if j:
                        f = merge(f, pts[j], "abp", th if ruled else None)
                    ok = (f.p + sp[j] < th) if ruled else (f.p + sq[j] >= th)
                    f = f.take(ok)
                    lb = Front(f.a + sa[j], f.b + sb[j], f.p + sp[j], f.idx)
                    f = f.take(~surely_dominated_by(g, lb, g_sorted))
                    if not len(f):
                        break
                if len(f):
                    new.append((f, ruled))
            if not new:
                continue
            parts = [g] + [Front(f.a, f.b, f.p, _tie(rank, f.idx, width)) for f, _ in new]
            on = np.concatenate([g_on] + [np.full(len(f), r) for f, r in new])
            allf = Front(*(np.concatenate([getattr(x, n) for x in parts]) for n in ("a", "b", "p", "idx")))
            m = pareto_mask(allf.a, allf.b, allf.p, allf.idx)
            g, g_on = allf.take(m), on[m]
            g_sorted = sorted_by_abp(g)
        out = []
        for i in range(len(g)):
            cuts = sets[int(g.idx[i, 0])]
            opts = tuple(int(x) for x in g.idx[i, 1:len(cuts) + 2])
            out.append(Choice(cuts, opts, int(g.a[i]), int(g.b[i]), int(g.p[i]), bool(g_on[i])))
        return sorted(out, key=lambda c: (c.energy, c.latency, c.peak_bits, len(c.cuts), c.cuts, c.options))


@dataclass(frozen=True)
class CutSetResult:
    """Per cut set: the best choice per metric."""

    cuts: CutSet
    best: dict[str, Choice]


def _tie(rank: int, idx: np.ndarray, width: int) -> np.ndarray:
    """Tie columns (cut-set rank, options, -1 padding) of a cut set's points."""
    out = np.full((len(idx), width), -1, dtype=np.int64)
    out[:, 0] = rank
    out[:, 1:1 + idx.shape[1]] = idx
    return out


def _empty(k: int) -> Front:
    z = np.zeros(0, dtype=np.int64)
    return Front(z, z, z, np.zeros((0, k), dtype=np.int64))


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


def _largest_first(pool: "Executor", work: list[tuple], done: Callable[[int, tuple], None] | None = None) -> list:
    """`_group_view` of every work item in `pool`, the likely longest submitted first (the total view, then
    more rows), so that the last one to finish is a short one; results in the order of `work`.
    `done(i, result)` is called in the order the items finish."""
    from concurrent.futures import as_completed

    order = sorted(range(len(work)), key=lambda i: (work[i][2] != "total", -len(work[i][1]), i))
    futures = {pool.submit(_group_view, work[i]): i for i in order}
    out: list = [None] * len(work)
    for fut in as_completed(futures):
        i = futures[fut]
        out[i] = fut.result()
        if done is not None:
            done(i, out[i])
    return out


class _PairWatch:
    """Calls `on_pair((hardware, workload), pareto_frame)` once every (group, view) item of that pair is done.

    The frame holds the pair's Pareto rows in (group, view) order, as `Allocation.pareto` would."""

    def __init__(self, work: list[tuple], on_pair: Callable[[tuple, pd.DataFrame], None]):
        self.on_pair = on_pair
        self.pair_of = [(w[0][0], w[0][1]) for w in work]
        self.members: dict[tuple, list[int]] = {}  # a pair's items, in work order
        for i, pair in enumerate(self.pair_of):
            self.members.setdefault(pair, []).append(i)
        self.parts: dict[int, tuple] = {}

    def __call__(self, i: int, part: tuple) -> None:
        self.parts[i] = part
        items = self.members[self.pair_of[i]]
        if all(j in self.parts for j in items):
            rows = [r for j in items for r in self.parts[j][3]]
            self.on_pair(self.pair_of[i], pd.DataFrame(rows, columns=list(PARETO_COLUMNS)))


def allocate(
    ranges: pd.DataFrame,
    cut_max: int,
    threshold_mib: float | Mapping[str, float] = DEFAULT_THRESHOLD_MIB,
    forced: Mapping[tuple, Sequence[CutSet]] | None = None,
    views: Sequence[str] = VIEWS,
    pareto: bool = True,
    jobs: int | None = None,
    executor: "Executor | None" = None,
    on_pair: Callable[[tuple, pd.DataFrame], None] | None = None,
    progress: bool = False,
) -> Allocation:
    """Run the exact Step-3 search on a Step-2 `ranges.csv` table, per group and view.

    `threshold_mib`: the on-chip rule's threshold in MiB, one for all or per hardware name.
    `forced`: per group key, the forced cut sets (one per weight-overflow pass); default inferred.
    `pareto`: also the whole-network Pareto front (exact, but the costly part on large grids).
    `jobs`: processes for large tables (default: the CPUs); the tables do not depend on it.
    `executor`: a process pool to run the (group, view) searches in instead (whatever the table's size).
    `on_pair((hardware, workload), pareto rows)`: called as soon as a hardware × workload's searches are
    all done (Step 3 starts its Pareto figures then, while other pairs are still searched).
    `progress`: a progress bar over the (group, view) searches.
    """
    if "cuts" in ranges.columns:
        ranges = ranges.assign(cuts=ranges["cuts"].fillna("").astype(str))
    s_rows: list[tuple] = []
    r_rows: list[tuple] = []
    b_rows: list[tuple] = []
    p_rows: list[tuple] = []
    work = []
    for key in groups_of(ranges):
        rows = _group_rows(ranges, key)
        th = threshold_mib[str(key[0])] if isinstance(threshold_mib, Mapping) else threshold_mib
        for view in views:
            work.append((key, rows, view, cut_max, th, None if forced is None else forced.get(key), pareto))
    jobs = min(jobs or os.cpu_count() or 1, len(work))
    pair_watch = _PairWatch(work, on_pair) if on_pair is not None else None
    bar = tqdm(total=len(work), desc="step 3 search", unit="group x view", disable=not progress, leave=False)

    def watch(i: int, part: tuple) -> None:
        bar.update()
        if pair_watch is not None:
            pair_watch(i, part)

    if executor is not None and len(work) > 1:
        parts = _largest_first(executor, work, watch)
    elif jobs > 1 and len(ranges) >= PARALLEL_ROWS:  # groups × views are independent: one process per CPU
        from acco.stopping import worker_pool

        with worker_pool(jobs) as pool:
            parts = _largest_first(pool, work, watch)
    else:
        parts = []
        for i, w in enumerate(work):
            parts.append(_group_view(w))
            watch(i, parts[-1])
    bar.close()
    for a, b, c, d in parts:  # in (group, view) order whatever the number of processes
        s_rows += a
        r_rows += b
        b_rows += c
        p_rows += d
    return Allocation(
        pd.DataFrame(s_rows, columns=list(STRATEGY_COLUMNS)),
        pd.DataFrame(r_rows, columns=list(RANGE_PICK_COLUMNS)).astype({"cut_before": "Int64", "cut_after": "Int64"}),
        pd.DataFrame(b_rows, columns=list(STRATEGY_COLUMNS)),
        pd.DataFrame(p_rows, columns=list(PARETO_COLUMNS)),
    )


#: ranges tables at least this long are searched by several processes (smaller ones: not worth starting them)
PARALLEL_ROWS = 20_000


def _group_view(job: tuple) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:
    """The Step-3 search of one group in one view: strategy, range-pick, best and Pareto rows."""
    key, rows, view, cut_max, th, forced_sets, pareto = job
    s_rows: list[tuple] = []
    r_rows: list[tuple] = []
    b_rows: list[tuple] = []
    p_rows: list[tuple] = []
    vt = view_table(rows, view)
    if not vt.ranges:
        return s_rows, r_rows, b_rows, p_rows
    gs = GroupSearch(vt, cut_max, th * MIB_BITS, forced_sets)
    sets = gs.cut_sets()
    results = [gs.run(c) for c in sets]
    for m in METRICS:
        per = [r.best[m] for r in results]
        for c in per:
            s_rows.append(_strategy_row(key, view, m, vt, c, th))
            r_rows += _range_rows(key, view, m, vt, c)
        if per:
            b_rows.append(_strategy_row(key, view, m, vt, min(per, key=lambda x: metric_key(m, x)), th))
    for c in gs.pareto(sets) if pareto else ():
        p_rows.append(key + (view, cut_text(c.cuts), len(c.options), c.energy, c.latency, c.edp, c.peak_bits / MIB_BITS, c.onchip, th, strategy_text(vt, c)))
    return s_rows, r_rows, b_rows, p_rows


def _strategy_row(key: tuple, view: str, metric: str, vt: ViewTable, c: Choice, th: float) -> tuple:
    return key + (
        view, metric, cut_text(c.cuts), len(c.options), c.energy, c.latency, c.edp, c.peak_bits / MIB_BITS, c.onchip, th,
        strategy_text(vt, c),
    )


def _range_rows(key: tuple, view: str, metric: str, vt: ViewTable, c: Choice) -> list[tuple]:
    out = []
    cols = vt.columns()
    for rg, o in zip(ranges_of(c.cuts), c.options):
        ro = vt.ranges[rg]
        j = int(np.nonzero(ro.opt == o)[0][0])
        i = ro.rows[j]
        r = {name: col[i] for name, col in cols.items()}
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
