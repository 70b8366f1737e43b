"""The 3-D Pareto filter's inner loop, compiled: which points (sorted by a) no earlier point dominates in (b, peak).

Step 3 filters millions of (energy, latency, peak) sums; this loop is most of its time in Python.
With numba it runs as machine code (the same decisions, point by point); without numba (or with
ACCO_EVALUATOR=numpy) the Python version is used. Both keep, of points equal in (b, peak), the first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from acco.cost.kernel import _jit, available


def staircase_py(sb: list, sp: list) -> list[bool]:
    """For points already sorted by a: is each one not dominated (<= in b and p) by an earlier one.

    The earlier survivors' 2-D minima in (b, p) are kept as a staircase (b rising, p falling), so
    each point costs two bisections.
    """
    bs: list = []
    ps: list = []
    keep = []
    for b, p in zip(sb, sp):
        j = bisect_right(bs, b)
        if j and ps[j - 1] <= p:
            keep.append(False)
            continue
        keep.append(True)
        k = bisect_left(bs, b)
        e = k
        while e < len(bs) and ps[e] >= p:
            e += 1
        bs[k:e] = [b]
        ps[k:e] = [p]
    return keep


@_jit
def _staircase_nb(sb, sp, keep):  # pragma: no cover - compiled (checked against staircase_py in the tests)
    n = sb.shape[0]
    bs = np.empty(n, dtype=np.int64)
    ps = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        b = sb[i]
        p = sp[i]
        j = np.searchsorted(bs[:m], b, side="right")
        if j > 0 and ps[j - 1] <= p:
            keep[i] = False
            continue
        keep[i] = True
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


@_jit
def _dominated_nb(sb, sp, is_g, out):  # pragma: no cover - compiled (checked against brute force in the tests)
    n = sb.shape[0]
    bs = np.empty(n, dtype=np.int64)
    ps = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        b = sb[i]
        p = sp[i]
        j = np.searchsorted(bs[:m], b, side="right")
        dom = j > 0 and ps[j - 1] <= p
        if not is_g[i]:
            out[i] = dom
            continue
        out[i] = False
        if dom:
            continue
        k = np.searchsorted(bs[:m], b, side="left")
        e = k
        while e < m and ps[e] >= p:
            e += 1
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


def dominated_by_earlier(sb: np.ndarray, sp: np.ndarray, is_g: np.ndarray) -> np.ndarray:
    """For points sorted by a (ties: the `is_g` ones first): is a point not of `is_g` <= in (b, p) to an earlier `is_g` one.

    Exact (compiled when numba is available, else the same loop in Python).
    """
    out = np.zeros(len(sb), dtype=np.bool_)
    if not available():
        bs: list = []
        ps: list = []
        for i, (b, p, g) in enumerate(zip(sb.tolist(), sp.tolist(), is_g.tolist())):
            j = bisect_right(bs, b)
            dom = bool(j) and ps[j - 1] <= p
            if not g:
                out[i] = dom
            elif not dom:
                k = bisect_left(bs, b)
                e = k
                while e < len(bs) and ps[e] >= p:
                    e += 1
                bs[k:e] = [b]
                ps[k:e] = [p]
        return out
    _dominated_nb(np.ascontiguousarray(sb, dtype=np.int64), np.ascontiguousarray(sp, dtype=np.int64),
                  np.ascontiguousarray(is_g, dtype=np.bool_), out)
    return out


def staircase(sb: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """Boolean mask version of `staircase_py` for int64 arrays (compiled when numba is available)."""
    if available():
        keep = np.empty(len(sb), dtype=np.bool_)
        _staircase_nb(np.ascontiguousarray(sb, dtype=np.int64), np.ascontiguousarray(sp, dtype=np.int64), keep)
        return keep
    return np.array(staircase_py(sb.tolist(), sp.tolist()), dtype=bool)


def warm_up() -> None:
    """Compile (or load from numba's cache) the compiled loop."""
    if available():
        staircase(np.array([1, 2, 3], dtype=np.int64), np.array([3, 1, 2], dtype=np.int64))
        dominated_by_earlier(np.array([1, 2], dtype=np.int64), np.array([1, 2], dtype=np.int64), np.array([True, False]))


__all__ = ["dominated_by_earlier", "staircase", "staircase_py", "warm_up"]
