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

from acco.jit import _jit, available


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


@_jit
def _dominated_merge_nb(ga, gb, gp, xa, xb, xp, xo, out):  # pragma: no cover - compiled
    """out[x] = some g point is <= x in (a, b, p); g sorted by (a, b, p), `xo` = x's order by (a, b, p).

    The two sorted lists are merged (a g point first when their keys are equal) and swept as in
    `dominated_by_earlier`; only g points join the staircase. No sort of g per call.
    """
    ng = ga.shape[0]
    nx = xo.shape[0]
    n = ng + nx
    sb = np.empty(n, dtype=np.int64)
    sp = np.empty(n, dtype=np.int64)
    ins = np.empty(n, dtype=np.bool_)
    who = np.empty(n, dtype=np.int64)
    i = 0
    j = 0
    t = 0
    while j < nx:  # g points after the last x point cannot dominate it
        x = xo[j]
        take_g = False
        if i < ng:
            if ga[i] != xa[x]:
                take_g = ga[i] < xa[x]
            elif gb[i] != xb[x]:
                take_g = gb[i] < xb[x]
            else:
                take_g = gp[i] <= xp[x]
        if take_g:
            sb[t] = gb[i]
            sp[t] = gp[i]
            ins[t] = True
            who[t] = -1
            i += 1
        else:
            sb[t] = xb[x]
            sp[t] = xp[x]
            ins[t] = False
            who[t] = x
            j += 1
        t += 1
    dom = np.empty(t, dtype=np.bool_)
    _sweep_nb(sb[:t], sp[:t], ins[:t], dom)
    for k in range(t):
        if who[k] >= 0:
            out[who[k]] = dom[k]


def dominated_by_sorted(ga: np.ndarray, gb: np.ndarray, gp: np.ndarray, xa: np.ndarray, xb: np.ndarray, xp: np.ndarray) -> np.ndarray:
    """Mask of the points x that a point of g is <= to in all of (a, b, p), g given sorted by (a, b, p) (numba only). Exact."""
    out = np.zeros(len(xa), dtype=np.bool_)
    if len(xa) and len(ga):
        c = np.ascontiguousarray
        xo = np.lexsort((xp, xb, xa))
        _dominated_merge_nb(c(ga, dtype=np.int64), c(gb, dtype=np.int64), c(gp, dtype=np.int64), c(xa, dtype=np.int64),
                            c(xb, dtype=np.int64), c(xp, dtype=np.int64), xo.astype(np.int64), out)
    return out


@_jit
def _gt3(B, P, T, x, y):  # pragma: no cover - compiled
    """(B, P, T) of point x > that of point y, lexicographically."""
    if B[x] != B[y]:
        return B[x] > B[y]
    if P[x] != P[y]:
        return P[x] > P[y]
    return T[x] > T[y]


@_jit
def _sort_run(o, lo, hi, B, P, T, tmp):  # pragma: no cover - compiled
    """Sort o[lo:hi] by (B, P, T): insertion sort in blocks of 16, then bottom-up merges."""
    blk = 16
    for s0 in range(lo, hi, blk):
        s1 = min(s0 + blk, hi)
        for i in range(s0 + 1, s1):
            v = o[i]
            j = i - 1
            while j >= s0 and _gt3(B, P, T, o[j], v):
                o[j + 1] = o[j]
                j -= 1
            o[j + 1] = v
    width = blk
    while width < hi - lo:
        for s0 in range(lo, hi, 2 * width):
            mid = min(s0 + width, hi)
            s1 = min(s0 + 2 * width, hi)
            if mid >= s1 or not _gt3(B, P, T, o[mid - 1], o[mid]):
                continue
            i, j, k = s0, mid, s0
            while i < mid and j < s1:
                if _gt3(B, P, T, o[i], o[j]):
                    tmp[k] = o[j]
                    j += 1
                else:
                    tmp[k] = o[i]
                    i += 1
                k += 1
            while i < mid:
                tmp[k] = o[i]
                i += 1
                k += 1
            while j < s1:
                tmp[k] = o[j]
                j += 1
                k += 1
            for t in range(s0, s1):
                o[t] = tmp[t]
        width *= 2


@_jit
def _merge_fill_nb(fa, fb, fp, fr, pa, pb, pp, pr, fo, limit, use_limit):  # pragma: no cover - compiled
    """The sums (front point i + range point j) with peak < `limit` (all without `use_limit`): a, b, peak,
    tie = fr[i]·m + pr[j] and flat index i·m + j, range point by range point over the front in `fo`
    order (by a: the a column is then m sorted runs, which a stable sort merges quickly)."""
    n = fa.shape[0]
    m = pa.shape[0]
    N = n * m
    A = np.empty(N, dtype=np.int64)
    B = np.empty(N, dtype=np.int64)
    P = np.empty(N, dtype=np.int64)
    T = np.empty(N, dtype=np.int64)
    S = np.empty(N, dtype=np.int64)
    k = 0
    for j in range(m):
        for t in range(n):
            i = fo[t]
            p = fp[i] + pp[j]
            if use_limit and not p < limit:
                continue
            A[k] = fa[i] + pa[j]
            B[k] = fb[i] + pb[j]
            P[k] = p
            T[k] = fr[i] * m + pr[j]
            S[k] = i * m + j
            k += 1
    return A[:k], B[:k], P[:k], T[:k], S[:k]


@_jit
def _merge_select_nb(A, B, P, T, S, o, dims):  # pragma: no cover - compiled
    """The flat indices (ascending) of the non-dominated sums, `o` = the sums ordered by a.

    Sums sharing an a are ordered by (b, peak, tie) — ties are distinct, so the order is total and
    equals `allocate._order`'s — and filtered as `allocate.pareto_mask` does for `dims`
    (0 = "abp", 1 = "ab", 2 = "ap", 3 = "a").
    """
    k = A.shape[0]
    if k == 0:
        return np.empty(0, dtype=np.int64)
    tmp = np.empty(k, dtype=np.int64)  # `o` is reordered in place
    r = 0
    while r < k:
        e = r + 1
        while e < k and A[o[e]] == A[o[r]]:
            e += 1
        if e - r > 1:
            _sort_run(o, r, e, B, P, T, tmp)
        r = e
    keep = np.zeros(k, dtype=np.bool_)
    if dims == 3:
        keep[0] = True
    elif dims == 0:
        sb = np.empty(k, dtype=np.int64)
        sp = np.empty(k, dtype=np.int64)
        for t in range(k):
            sb[t] = B[o[t]]
            sp[t] = P[o[t]]
        dom = np.empty(k, dtype=np.bool_)
        _sweep_nb(sb, sp, np.ones(k, dtype=np.bool_), dom)
        for t in range(k):
            keep[t] = not dom[t]
    else:
        V = B if dims == 1 else P
        best = np.iinfo(np.int64).max
        for t in range(k):
            v = V[o[t]]
            if v < best:
                keep[t] = True
                best = v
    out = np.empty(k, dtype=np.int64)
    c = 0
    for t in range(k):
        if keep[t]:
            out[c] = S[o[t]]
            c += 1
    return np.sort(out[:c])


_DIMS = {"abp": 0, "ab": 1, "ap": 2, "a": 3}


def merge_keep(fa: np.ndarray, fb: np.ndarray, fp: np.ndarray, fr: np.ndarray, pa: np.ndarray, pb: np.ndarray, pp: np.ndarray,
               pr: np.ndarray, limit: float | None, dims: str) -> np.ndarray:
    """Compiled `allocate.merge` selection: flat indices i·m + j (ascending) of the non-dominated sums of
    front point i and range point j, ties ordered by fr[i]·m + pr[j] (numba only)."""
    c = np.ascontiguousarray
    fa = c(fa, dtype=np.int64)
    fo = np.argsort(fa, kind="stable")
    A, B, P, T, S = _merge_fill_nb(fa, c(fb, dtype=np.int64), c(fp, dtype=np.int64), c(fr, dtype=np.int64), c(pa, dtype=np.int64),
                                   c(pb, dtype=np.int64), c(pp, dtype=np.int64), c(pr, dtype=np.int64), fo,
                                   float(limit) if limit is not None else 0.0, limit is not None)
    # numpy's stable sort (timsort) merges the m sorted runs of a in O(N log m)
    return _merge_select_nb(A, B, P, T, S, np.argsort(A, kind="stable"), _DIMS[dims])


def warm_up() -> None:
    """Compile (or load from numba's cache) the compiled loop."""
    if available():
        staircase(np.array([1, 2, 3], dtype=np.int64), np.array([3, 1, 2], dtype=np.int64))
        dominated_by_earlier(np.array([1, 2], dtype=np.int64), np.array([1, 2], dtype=np.int64), np.array([True, False]))
        x = np.array([1, 2], dtype=np.int64)
        merge_keep(x, x, x, x, x, x, x, x, 3.5, "abp")
        dominated_by_sorted(x, x, x, x, x, x)


__all__ = ["dominated_by_earlier", "dominated_by_sorted", "merge_keep", "staircase", "staircase_py", "warm_up"]
