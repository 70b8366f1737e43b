"""The compiled Pareto loops of Step 3 against their plain definitions, on random integer points.

`staircase`: of points sorted by a, those no earlier point dominates in (b, peak) — checked against
the Python staircase and a quadratic brute force. `dominated_by_earlier`: points a `g` point is <= to
in all three — checked against brute force. Ties (equal values) are frequent by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from acco.cost.kernel import available
from acco.reports.allocate import pareto_mask, surely_dominated_by, Front
from acco.reports.staircase import dominated_by_earlier, staircase, staircase_py


def _points(rng: np.random.Generator, n: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(rng.integers(0, hi, n).astype(np.int64) for _ in range(3))  # type: ignore[return-value]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", range(20))
def test_staircase_matches_python_and_brute_force(seed: int, compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not compiled:
        monkeypatch.setenv("ACCO_EVALUATOR", "numpy")
    rng = np.random.default_rng(seed)
    a, b, p = _points(rng, int(rng.integers(1, 400)), int(rng.integers(2, 50)))
    order = np.lexsort([p, b, a])
    sb, sp = b[order], p[order]
    got = staircase(sb, sp)
    assert got.tolist() == staircase_py(sb.tolist(), sp.tolist())
    earlier = np.tri(len(sb), k=-1, dtype=bool)
    brute = ~(((sb[None, :] <= sb[:, None]) & (sp[None, :] <= sp[:, None])) & earlier).any(axis=1)
    assert got.tolist() == brute.tolist()


@pytest.mark.parametrize("seed", range(20))
def test_pareto_mask_is_the_set_of_non_dominated_points(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 300))
    a, b, p = _points(rng, n, int(rng.integers(2, 30)))
    tie = np.arange(n, dtype=np.int64)
    keep = pareto_mask(a, b, p, tie)
    le = (a[None, :] <= a[:, None]) & (b[None, :] <= b[:, None]) & (p[None, :] <= p[:, None])
    lt = le & ((a[None, :] < a[:, None]) | (b[None, :] < b[:, None]) | (p[None, :] < p[:, None]) | (tie[None, :] < tie[:, None]))
    assert keep.tolist() == (~lt.any(axis=1)).tolist()


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", range(20))
def test_dominated_by_earlier_is_exact(seed: int, compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not compiled:
        monkeypatch.setenv("ACCO_EVALUATOR", "numpy")  # the Python loop
    rng = np.random.default_rng(200 + seed)
    hi = int(rng.integers(2, 40))
    g = Front(*_points(rng, int(rng.integers(1, 200)), hi), np.zeros((0, 0)))
    x = Front(*_points(rng, int(rng.integers(1, 200)), hi), np.zeros((0, 0)))
    a = np.concatenate([g.a, x.a])
    b = np.concatenate([g.b, x.b])
    p = np.concatenate([g.p, x.p])
    is_g = np.arange(len(a)) < len(g.a)
    order = np.lexsort([~is_g, p, b, a])
    dom = dominated_by_earlier(b[order], p[order], is_g[order])
    got = np.zeros(len(x.a), dtype=bool)
    got[order[~is_g[order]] - len(g.a)] = dom[~is_g[order]]
    if compiled and available():
        assert got.tolist() == surely_dominated_by(g, x).tolist()
    brute = ((g.a[None, :] <= x.a[:, None]) & (g.b[None, :] <= x.b[:, None]) & (g.p[None, :] <= x.p[:, None])).any(axis=1)
    assert got.tolist() == brute.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_order_is_numpy_lexsort(seed: int) -> None:
    """`_order` (one sort by a, then a lexsort of the points sharing an a) equals np.lexsort of
    (a, b, p, tie columns), equal keys in index order, with few or many ties and 1-2 tie columns."""
    from acco.reports.allocate import _order

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    span = [3, 50, 10**9][seed % 3]  # many, some, almost no ties in a
    a = rng.integers(0, span, n)
    b = rng.integers(0, 4, n)
    p = rng.integers(0, 4, n)
    tie = rng.integers(0, 3, (n, 1 + seed % 2))
    keys = [tie[:, j] for j in range(tie.shape[1] - 1, -1, -1)] + [p, b, a]
    assert np.array_equal(_order(a, b, p, tie), np.lexsort(keys))
    assert np.array_equal(_order(a, b, p, tie[:, 0]), np.lexsort([tie[:, 0], p, b, a]))


@pytest.mark.parametrize("dims", ["abp", "ab", "ap", "a"])
@pytest.mark.parametrize("seed", range(8))
def test_compiled_merge_equals_the_numpy_merge(seed: int, dims: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`merge` in machine code (sums, order, filter in one pass) keeps the same sums, in the same
    order, with the same option tuples as the numpy version — with many, some or no ties, with and
    without a peak limit, and sizes up to 1,500 x 40 sums (runs of equal a longer than 16 included)."""
    from acco.reports.allocate import merge

    rng = np.random.default_rng(300 + seed)
    span = [3, 40, 10**9][seed % 3]
    n, m = int(rng.integers(1, 1500)), int(rng.integers(1, 40))

    def front(k: int, cols: int) -> Front:
        idx = np.unique(rng.integers(0, 50, (k * 3, cols)), axis=0)[:k]  # distinct option tuples, shuffled
        idx = idx[rng.permutation(len(idx))]
        a, b, p = (rng.integers(0, span, len(idx)).astype(np.int64) for _ in range(3))
        return Front(a, b, p, idx.astype(np.int64))

    f, x = front(n, 2), front(m, 1)
    limit = None if seed % 2 else float(np.median(f.p) + np.median(x.p)) + 0.5
    got = merge(f, x, dims, limit)
    monkeypatch.setenv("ACCO_EVALUATOR", "numpy")
    ref = merge(f, x, dims, limit)
    for name in ("a", "b", "p", "idx"):
        assert np.array_equal(getattr(got, name), getattr(ref, name)), name
    assert len(ref) >= 1 or limit is not None
