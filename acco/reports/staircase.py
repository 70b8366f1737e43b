"""The 3-D Pareto filter's inner loop, compiled: which points (sorted by a) no earlier point dominates in (b, peak).

Step 3 filters millions of (energy, latency, peak) sums; this loop is most of its time in Python.
With numba it runs as machine code (the same decisions, point by point); without numba (or with
ACCO_EVALUATOR=numpy) the Python version is used. Both keep, of points equal in (b, peak), the first.
One sweep serves both uses: the Pareto filter (every point may join the staircase) and the test
against a front found so far (only its points join).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from acco.cost.kernel import _jit, available


def _sweep_py(sb: list, sp: list, insert: list) -> list[bool]:
    """For points sorted by a: is each one <= in (b, p) to an earlier point marked `insert`.

    The earlier inserted points' 2-D minima in (b, p) are kept as a staircase (b rising, p
    falling), so each point costs two bisections; a dominated point is never inserted.
    """
    bs: list = []
    ps: list = []
    dominated = []
    for b, p, ins in zip(sb, sp, insert):
        j = bisect_right(bs, b)
        dom = bool(j) and ps[j - 1] <= p
        dominated.append(dom)
        if ins and not dom:
            k = bisect_left(bs, b)
            e = k
            while e < len(bs) and ps[e] >= p:
                e += 1
            bs[k:e] = [b]
            ps[k:e] = [p]
    return dominated


def staircase_py(sb: list, sp: list) -> list[bool]:
    """For points already sorted by a: is each one not dominated (<= in b and p) by an earlier one."""
    return [not d for d in _sweep_py(sb, sp, [True] * len(sb))]


@_jit
def _sweep_nb(sb, sp, insert, dominated):  # pragma: no cover - compiled (checked against the Python loop in the tests)
    """`_sweep_py` in machine code, into `dominated`."""
    n = sb.shape[0]
    bs = np.empty(n, dtype=np.int64)
    ps = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        b = sb[i]
        p = sp[i]
        j = np.searchsorted(bs[:m], b, side="right")
        dom = j > 0 and ps[j - 1] <= p
        dominated[i] = dom
        if dom or not insert[i]:
            continue
        k = np.searchsorted(bs[:m], b, side="left")
        e = k
        while e < m and ps[e] >= p:
            e += 1
        # replace bs[k:e] by the one point (b, p)
        shift = 1 - (e - k)
        if shift > 0:
            for t in range(m - 1, e - 1, -1):
                bs[t + shift] = bs[t]
                ps[t + shift] = ps[t]
        elif shift < 0:
            for t in range(e, m):
                bs[t + shift] = bs[t]
                ps[t + shift] = ps[t]
        bs[k] = b
        ps[k] = p
        m += shift


def _sweep(sb: np.ndarray, sp: np.ndarray, insert: np.ndarray) -> np.ndarray:
    """`_sweep_py` on arrays (compiled when numba is available)."""
    if not available():
        return np.array(_sweep_py(sb.tolist(), sp.tolist(), insert.tolist()), dtype=bool)
    dominated = np.empty(len(sb), dtype=np.bool_)
    _sweep_nb(np.ascontiguousarray(sb, dtype=np.int64), np.ascontiguousarray(sp, dtype=np.int64),
              np.ascontiguousarray(insert, dtype=np.bool_), dominated)
    return dominated


def dominated_by_earlier(sb: np.ndarray, sp: np.ndarray, is_g: np.ndarray) -> np.ndarray:
    """For points sorted by a (ties: the `is_g` ones first): is a point not of `is_g` <= in (b, p) to an earlier `is_g` one. Exact."""
    return _sweep(sb, sp, is_g) & ~np.asarray(is_g, dtype=bool)


def staircase(sb: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """Boolean mask version of `staircase_py` for int64 arrays (compiled when numba is available)."""
    return ~_sweep(sb, sp, np.ones(len(sb), dtype=bool))


def warm_up() -> None:
    """Compile (or load from numba's cache) the compiled loop."""
    if available():
        staircase(np.array([1, 2, 3], dtype=np.int64), np.array([3, 1, 2], dtype=np.int64))
        dominated_by_earlier(np.array([1, 2], dtype=np.int64), np.array([1, 2], dtype=np.int64), np.array([True, False]))


__all__ = ["dominated_by_earlier", "staircase", "staircase_py", "warm_up"]
