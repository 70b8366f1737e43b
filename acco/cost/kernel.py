"""Compiled cost model: the batch evaluator's arithmetic, one ordering at a time, in machine code (numba).

`BatchEvaluator` (numpy) spends ~10 ms of fixed overhead per batch on ~1,500 array operations,
which dominates the small batches of real searches (a few hundred orderings per LOMA search, 64
per SALSA step). Here the same quantities are computed per ordering in a compiled loop: the
allocation (cut positions per operand and memory level), stationarity merge-down, transfer
patterns, energy, capacity and double-buffer flags and the port-combined latency. Every
floating-point expression is evaluated in the numpy evaluator's order, so the results are equal
bit for bit (tests compare every ordering); the numpy evaluator stays the reference.

`CompiledEvaluator.scan` enumerates the distinct orderings (Williams' prefix-shift order, as
`multiset_permutations`) inside the compiled code and keeps the first strictly best one, so an
exhaustive LOMA search never materialises its orderings in Python.

Per ordering, the prefix quantities (loop-size products, per-dim extents, iteration counts above
each position and, for an integer spatial mapping, every operand's tile size at every arch level
and position) live in tables that are updated only from the first to the last position where the
ordering differs from the previous one: consecutive orderings of the prefix-shift enumeration
differ in their first ~3 positions. The allocator reads its tile sizes from these tables, and a
level shared by two operands is decided by prefix minima instead of trying every pair. The row
loop is compiled without numba's runtime (no reference counting of array views) and the kernel
without numba's negative-index fix-up (`_indices_as_given`: it never indexes from the end).

numba is a dependency because this path is 10-100x faster than numpy on real search sizes
(benchmarks/evaluator_throughput.py); without it (or with ACCO_EVALUATOR=numpy) the numpy
evaluator is used and the results are the same.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from math import gcd

import numpy as np

from acco.cost.batch import BatchCosts, BatchEvaluator
from acco.jit import _NUMBA, _jit, available, numba  # noqa: F401  (kernel.available: used by acco.search)

_BIG = np.iinfo(np.int64).max // 4
_TL, _FH, _FL, _TH = 0, 1, 2, 3
_DIRS = ("tl", "fh", "fl", "th")


@contextmanager
def _indices_as_given():
    """While numba compiles the kernel, array indices are used as they are: numba otherwise adds a
    negative-index fix-up (`i < 0 ? i + dim : i`) to every signed index of every array access, which
    cost ~20 % of the kernel's time (benchmarks/evaluator_throughput.py: LOMA scan 0.80 -> 0.99 M
    orderings/s/core). The kernel never indexes from the end (tests/test_kernel.py runs it with
    numba's bounds checking, which rejects negative indices). This swaps one numba function for the
    duration of the call (compilation happens inside the first call; numba's cache then keeps the
    machine code); if numba no longer has it, the kernel is compiled as before, only slower."""
    try:
        mod = importlib.import_module("numba.np.arrayobj")
    except ImportError:  # pragma: no cover - no numba: nothing is compiled
        mod = None
    fix = getattr(mod, "fix_integer_index", None)
    if fix is None:
        yield
        return
    from numba.core import types

    def as_given(context, builder, idxty, idx, size):
        return context.cast(builder, idx, idxty, types.intp if idxty.signed else types.uintp)

    mod.fix_integer_index = as_given
    try:
        yield
    finally:
        mod.fix_integer_index = fix


def _jit_no_rt(fn):
    """Compiled without numba's runtime: no reference counting of the arrays it indexes (atomic counter
    updates on every array view and inlined call were a third of the kernel's time). Such a function
    must not allocate."""
    return numba.njit(cache=True, nogil=True, _nrt=False)(fn) if _NUMBA else fn


def _inline(fn):
    """Small helpers are inlined into their callers (a call passing arrays costs reference counting)."""
    return numba.njit(cache=True, nogil=True, inline="always")(fn) if _NUMBA else fn


# ---------------------------------------------------------------------------------------------
# compiled parts
# ---------------------------------------------------------------------------------------------


@_inline
def _pr_extent(g_a, a, g_b, b):
    """`_pr_extent_arr` for one value pair (sa/g and sb/g precomputed), truncated."""
    v = a * b - max(0.0, b - g_a) * (a - g_b)
    return np.trunc(v)


@_jit_no_rt
def _muw_union(A, PD, ACT, ix, k, total, pa, pp, ordr, U, Kk):
    """`BatchEvaluator._muw_union` for one ordering and one port (activities ix[0:k])."""
    full = False
    for t in range(k):
        j = ix[t]
        if ACT[j]:
            a = np.int64(A[j])
            p = np.int64(PD[j])
            if A[j] == PD[j]:
                full = True
        else:
            a = np.int64(0)
            p = np.int64(1)
        if p <= 0:
            p = np.int64(1)
        pa[t] = a
        pp[t] = p
        ordr[t] = t
    # stable insertion sort by period
    for t in range(1, k):
        x = ordr[t]
        s = t - 1
        while s >= 0 and pp[ordr[s]] > pp[x]:
            ordr[s + 1] = ordr[s]
            s -= 1
        ordr[s + 1] = x
    for j in range(k):
        aj = pa[ordr[j]]
        pj = pp[ordr[j]]
        # K[j] = H(j - 1, a_j)
        if j == 0:
            Kk[j] = 0
        else:
            Kk[j] = _cover(j - 1, aj, pa, pp, ordr, U, Kk)
        if j == 0:
            U[j] = aj - Kk[j]
        else:
            U[j] = aj + (pj // pp[ordr[j - 1]]) * U[j - 1] - Kk[j]
    if full:
        return float(total)
    return float(U[k - 1] * (total // pp[ordr[k - 1]]))


@_inline
def _cover(j, y, pa, pp, ordr, U, Kk):
    """Covered cycles in [0, y) by the (sorted) activities 0..j, periodic with p_j."""
    res = np.int64(0)
    while True:
        pj = pp[ordr[j]]
        aj = pa[ordr[j]]
        x = y % pj
        res += (y // pj) * U[j]
        if j == 0:
            res += min(aj, x)
            return res
        if x <= aj:
            res += x
            return res
        res += aj - Kk[j]
        y = x
        j -= 1


@_jit_no_rt
def _eval_rows(rows, nrows, cuts_out, valid_o, energy_o, lat2_o, lat0_o, tb, w, objective, best_v, best_row, best_cuts,
               stats):
    """Allocate and cost the orderings rows[0:nrows]. One call per chunk of orderings: a call passing the
    ~100 table arrays costs microseconds, as much as costing an ordering.

    objective < 0: valid, energy, latency2, latency0 of every row into the output arrays and its cut
    positions into cuts_out[r, K, M]; -2: energy only (latencies NaN), -3: latencies only (energy NaN). objective 0/1/2 (energy/latency/EDP): a search; keeps the first
    strictly best row in best_v/best_row/best_cuts and counts the rows that fit in stats[1]; costs
    that cannot change the choice are skipped (an ordering that does not fit; with energy as the
    objective, the latency of an ordering whose energy is not below the best so far)."""
    (n, D, K, o, total, code_dim, code_size, rel_dim, irr_dim, reld, nreld, prs, npr, prec, prec_o, prec_of,
     n_mem, lvl_ops, lvl_nops, lvl_cap, lvl_top, anyfrac, same_int, cum, frac, fac, nfac, cum_i, frac_i, fac_i, nfac_i, seqpat,
     seqpat_i, uc, boost, ir_from, boost_i, ir_from_i, inst, other, grp_op, grp_idx, grp_n, grp_allnz, grp_of,
     port_act, port_n, shp, ins, n_ins, out_lat, mac_energy, intmode, touch, e_bw, inv_size) = tb
    (S, DI, P, C, bits_l, cutc, b_tmp, seqc, merged, Fv, Fv_i, top_r, top_ir, elems, cyc, T, T_i, db,
     effs, indiv, eff, real, allowed, Ra, Aa, PDa, ACTa, pa, pp, ordr, Ua, Ka, idx_buf, level_no, okn, odo, Qs, cnt,
     fsz, prow, SZ, c0s, free_t, pmv, pmi) = w
    # what _patterns reads, as two short tuples (numba inlines a call of few arguments only)
    ptb = (n, K, o, reld, nreld, prs, npr, prec, prec_o, prec_of, n_mem)
    pw = (S, DI, P, C, irr_dim, rel_dim, seqc, merged, top_r, top_ir, elems, cyc, effs, Qs, cnt, SZ, intmode)
    for ri in range(nrows):
        row = rows[ri]
        out_cuts = cuts_out[ri]
        M = out_cuts.shape[1]
        # per-position tables, updated only where this row differs from the previous one: if rows differ
        # at positions f..l only, the loops at f..l are the same multiset, so every prefix quantity at
        # j <= f or j > l (P, Qs, C, tile sizes) is unchanged (consecutive LOMA orderings are prefix
        # shifts: most differ in their first few positions)
        if ri == 0:
            f, l = 0, n - 1
        else:
            f = 0
            while f < n and row[f] == prow[f]:
                f += 1
            l = n - 1
            while l > f and row[l] == prow[l]:
                l -= 1
        if f < n:
            for j in range(f, l + 1):
                S[j] = code_size[row[j]]
                DI[j] = code_dim[row[j]]
                prow[j] = row[j]
            jlo, jhi = f + 1, l
            if ri == 0:
                jlo, jhi = 0, n
                P[0] = 1
                Qs[n] = 1
                for d in range(D):
                    C[d, 0] = 1
                jlo = 1
            for j in range(jlo, jhi + 1):
                P[j] = P[j - 1] * S[j - 1]
                for d in range(D):
                    C[d, j] = C[d, j - 1] * (S[j - 1] if DI[j - 1] == d else 1)
            for j in range(min(jhi, n - 1), jlo - 2, -1):  # Qs[j] = total // P[j], as a suffix product
                Qs[j] = Qs[j + 1] * S[j]
            if intmode:  # tile elements of every operand and arch level at every position (exact integers)
                if ri == 0:
                    for q in range(K):
                        for a in range(n_mem[q] + 1):
                            SZ[q, a, 0] = np.int64(_size_int(q, a, 0, nreld, reld, npr, prs, cum, C))
                # read: arch level 0 at position 0 only, the top arch level at position n only (its
                # operands take every loop), the others anywhere
                for j in range(jlo, jhi + 1):
                    dprev = DI[j - 1]
                    for q in range(K):
                        a_hi = n_mem[q]
                        if not touch[q, dprev]:  # the loop below j leaves q's tile as it was
                            for a in range(1, a_hi):
                                SZ[q, a, j] = SZ[q, a, j - 1]
                        elif npr[q] == 0:  # a relevant loop multiplies the tile by its size
                            sp = S[j - 1]
                            for a in range(1, a_hi):
                                SZ[q, a, j] = SZ[q, a, j - 1] * sp
                        else:
                            for a in range(1, a_hi):
                                SZ[q, a, j] = np.int64(_size_int(q, a, j, nreld, reld, npr, prs, cum, C))
                if ri == 0:  # (position n is the same for every ordering)
                    for q in range(K):
                        SZ[q, n_mem[q], n] = np.int64(_size_int(q, n_mem[q], n, nreld, reld, npr, prs, cum, C))
        last_ir_o = n - 1  # the last position whose loop is irrelevant to the output, else -1
        while last_ir_o >= 0 and not irr_dim[o, DI[last_ir_o]]:
            last_ir_o -= 1

        valid = True
        # ---------- memory allocation ----------
        for q in range(K):
            cutc[q] = 0
        for q in range(K):
            level_no[q] = 0
        if intmode:
            # tile sizes from the position tables; each operand's fitting positions are c0..c0+okn-1
            # (sizes never shrink as loops are added), b_tmp[t, position] their bits
            for L in range(lvl_nops.shape[0]):
                nops = lvl_nops[L]
                if nops == 0:
                    continue
                cap = lvl_cap[L]
                fixed = np.int64(0)
                nfree = 0
                for t in range(nops):
                    q = lvl_ops[L, t]
                    a_sp = level_no[q] + 1
                    c0 = cutc[q]
                    c0s[t] = c0
                    if q == o:
                        pr_ = prec_o if last_ir_o >= c0 else prec_of
                    else:
                        pr_ = prec[q]
                    if lvl_top[L, t]:  # takes every loop, or the ordering does not fit
                        b_n = SZ[q, a_sp, n] * pr_
                        if b_n > cap:
                            valid = False
                            break
                        fixed += b_n
                        idx_buf[t] = n
                    else:
                        if SZ[q, a_sp, n] * pr_ <= cap:  # every position fits (the last is the largest)
                            k = n + 1 - c0
                        else:
                            k = 0
                            while SZ[q, a_sp, c0 + k] * pr_ <= cap:  # (position n does not fit)
                                k += 1
                        for j in range(c0, c0 + k):
                            b_tmp[t, j] = SZ[q, a_sp, j] * pr_
                        if k == 0:  # not even the loops allocated so far fit
                            valid = False
                            break
                        okn[t] = k
                        free_t[nfree] = t
                        nfree += 1
                if not valid:
                    break
                # the free operands: the combination of minimum summed score (bits x the iterations above)
                # whose summed bits fit, ties to the last combination (last operand fastest)
                best = np.int64(_BIG)
                anyok = False
                if nfree == 0:
                    anyok = fixed <= cap
                    best = np.int64(0)
                elif nfree == 1 and npr[lvl_ops[L, free_t[0]]] == 0:
                    # an operand without a pr pair: a loop relevant to it multiplies its tile by the loop
                    # size and divides the iterations above by it, an irrelevant one divides the latter
                    # only, so the score never rises with the position: the last that fits wins
                    t1 = free_t[0]
                    k = okn[t1] - 1
                    while k >= 0 and fixed + b_tmp[t1, c0s[t1] + k] > cap:
                        k -= 1
                    if k >= 0:
                        best = Qs[c0s[t1] + k] * b_tmp[t1, c0s[t1] + k]
                        idx_buf[t1] = c0s[t1] + k
                        anyok = True
                elif nfree == 1:
                    t1 = free_t[0]
                    for k in range(okn[t1]):
                        b = b_tmp[t1, c0s[t1] + k]
                        if fixed + b > cap:
                            break
                        ts = Qs[c0s[t1] + k] * b
                        if ts <= best:
                            best = ts
                            idx_buf[t1] = c0s[t1] + k
                            anyok = True
                elif nfree == 2:
                    # per position of the first, the second's fitting positions are a prefix of its list:
                    # its best there is a prefix minimum (ties to the last)
                    t1 = free_t[0]
                    t2 = free_t[1]
                    c1 = c0s[t1]
                    c2 = c0s[t2]
                    mono2 = npr[lvl_ops[L, t2]] == 0  # (then the prefix minimum is at the prefix's end, see above)
                    if not mono2:
                        for k in range(okn[t2]):
                            ts = Qs[c2 + k] * b_tmp[t2, c2 + k]
                            if k == 0 or ts <= pmv[k - 1]:
                                pmv[k] = ts
                                pmi[k] = k
                            else:
                                pmv[k] = pmv[k - 1]
                                pmi[k] = pmi[k - 1]
                    k2 = okn[t2] - 1
                    for k in range(okn[t1]):
                        b1 = b_tmp[t1, c1 + k]
                        rem = cap - fixed - b1
                        while k2 >= 0 and b_tmp[t2, c2 + k2] > rem:
                            k2 -= 1
                        if k2 < 0:
                            break
                        if mono2:
                            s2 = Qs[c2 + k2] * b_tmp[t2, c2 + k2]
                            i2 = k2
                        else:
                            s2 = pmv[k2]
                            i2 = pmi[k2]
                        ts = Qs[c1 + k] * b1 + s2
                        if ts <= best:
                            best = ts
                            idx_buf[t1] = c1 + k
                            idx_buf[t2] = c2 + i2
                            anyok = True
                else:
                    for u in range(nfree):  # (the list of fitting positions _best_combination takes)
                        for k in range(okn[free_t[u]]):
                            bits_l[free_t[u], k] = c0s[free_t[u]] + k
                    best = _best_combination(nfree, free_t, okn, bits_l, b_tmp, fixed, cap, Qs, odo, idx_buf)
                    anyok = True
                anyok = anyok and best < _BIG
                if not anyok:  # nothing fits: the level takes no loops
                    for t in range(nops):
                        idx_buf[t] = c0s[t]
                if not _take_cuts(L, nops, lvl_ops, lvl_top, idx_buf, cutc, out_cuts, level_no, n):
                    valid = False
                    break
        else:
            for L in range(lvl_nops.shape[0]):
                nops = lvl_nops[L]
                if nops == 0:
                    continue
                cap = lvl_cap[L]
                for t in range(nops):
                    q = lvl_ops[L, t]
                    a_sp = level_no[q] + 1  # spatial products of arch level a_sp (cum index)
                    nb = level_no[q] + 1  # bounds: [0] + cuts so far
                    c0 = cutc[q]
                    if q == o:
                        pr_ = prec_o if last_ir_o >= c0 else prec_of
                    else:
                        pr_ = prec[q]
                    if lvl_top[L, t] and not anyfrac[q]:
                        # a top operand takes every loop or the ordering does not fit; as tile sizes never
                        # shrink when loops are added, its size over all n loops decides
                        b_n = np.int64(_size_int(q, a_sp, n, nreld, reld, npr, prs, cum, C)) * pr_
                        if b_n <= cap:
                            b_tmp[t, n] = b_n
                            bits_l[t, 0] = n
                            okn[t] = 1
                            continue
                    # only positions at or above the current cut are read (below it: an invalid ordering's
                    # placeholder; the ordering is then already invalid)
                    for j in range(c0):
                        b_tmp[t, j] = 0
                    if anyfrac[q]:
                        for d in range(D):
                            if frac[q, d]:
                                _frac_sizes(q, d, n, nb, fac, nfac, DI, S, out_cuts, fsz)
                    for j in range(c0, n + 1):
                        res = 1.0
                        if anyfrac[q]:
                            for r in range(nreld[q]):
                                d = reld[q, r]
                                res = res * (fsz[d, j] if frac[q, d] else np.ceil(cum[q, a_sp, d] * C[d, j]))
                            for r in range(npr[q]):
                                da = np.int64(prs[q, r, 1])
                                dbb = np.int64(prs[q, r, 3])
                                va = fsz[da, j] if frac[q, da] else np.ceil(cum[q, a_sp, da] * C[da, j])
                                vb = fsz[dbb, j] if frac[q, dbb] else np.ceil(cum[q, a_sp, dbb] * C[dbb, j])
                                res = res * _pr_extent(prs[q, r, 0], va, prs[q, r, 2], vb)
                        else:
                            res = _size_int(q, a_sp, j, nreld, reld, npr, prs, cum, C)
                        b_tmp[t, j] = np.int64(res) * pr_
                        if b_tmp[t, j] > cap and not anyfrac[q]:
                            # tile sizes never shrink as loops are added (ceil of growing products, and a pr
                            # extent grows with both its sizes): no later position fits either
                            for jj in range(j + 1, n + 1):
                                b_tmp[t, jj] = _BIG
                            break
                    if not (b_tmp[t, c0] <= cap):
                        valid = False
                    # the positions that fit, from the current cut up (bits_l holds them as a list)
                    okn[t] = 0
                    for j in range(c0, n + 1):
                        if b_tmp[t, j] <= cap:
                            bits_l[t, okn[t]] = j
                            okn[t] += 1
                # top operands take all that fits (one choice: the last fitting position; if none, the
                # ordering is invalid); the others: every combination, last operand fastest, minimum summed
                # score (words x the iterations above), ties to the last combination
                fixed = np.int64(0)
                nfree = 0
                empty = False
                for t in range(nops):
                    if lvl_top[L, t]:
                        sel = bits_l[t, okn[t] - 1] if okn[t] > 0 else 0
                        if sel != n:
                            valid = False
                        idx_buf[t] = sel
                        fixed += min(b_tmp[t, sel], _BIG // 8)
                    else:
                        free_t[nfree] = t
                        nfree += 1
                        if okn[t] == 0:
                            empty = True
                anyok = True
                if nfree > 0:
                    best = np.int64(_BIG)
                    anyok = not empty
                    if not empty:
                        best = _best_combination(nfree, free_t, okn, bits_l, b_tmp, fixed, cap, Qs, odo, idx_buf)
                    anyok = anyok and best < _BIG
                    for t in range(nops):
                        if not lvl_top[L, t] and not anyok:
                            idx_buf[t] = cutc[lvl_ops[L, t]]
                else:
                    anyok = fixed <= cap
                for t in range(nops):
                    q = lvl_ops[L, t]
                    if lvl_top[L, t] and not anyok:
                        idx_buf[t] = cutc[q]
                if not _take_cuts(L, nops, lvl_ops, lvl_top, idx_buf, cutc, out_cuts, level_no, n):
                    valid = False
        if not valid:
            if objective < 0:  # no costs for an ordering that does not fit
                valid_o[ri] = False
                energy_o[ri] = 0.0
                lat2_o[ri] = 0.0
                lat0_o[ri] = 0.0
            continue

        # ---------- stationarity merge-down ----------
        for q in range(K):
            # each cut moves up past the loops irrelevant to q: to the next relevant position, else n
            for m in range(n_mem[q] - 1):
                x = min(out_cuts[q, m], n)
                while x < n and irr_dim[q, DI[x]]:
                    x += 1
                merged[q, m] = x
            merged[q, n_mem[q] - 1] = n

        # ---------- patterns, energy (fractional) and capacity ----------
        # an energy-only pass builds no transfer table: it is built below when a latency is needed
        want_e = objective != 1 and objective != -3  # a latency search needs no energy
        lazy_t = objective == 0 or objective == -2
        mem_energy = _patterns(ptb, pw, last_ir_o, cum, fac, nfac, seqpat, boost, ir_from, Fv, T, not lazy_t,
                               want_e, e_bw, uc, inst)
        energy = mem_energy + mac_energy if want_e else 0.0

        # capacity: every operand's tile, and the tiles of operands sharing a memory, must fit
        _fractions(effs, 0, inv_size, inst, n_mem, indiv)
        for q in range(K):
            for m in range(n_mem[q]):
                if not (indiv[q, m] <= 1):
                    valid = False
        for g in range(grp_n.shape[0]):
            if grp_allnz[g] and not (_group_sum(g, indiv, grp_n, grp_op, grp_idx) <= 1):
                valid = False
        if objective >= 0:
            if not valid:
                continue
            stats[1] += 1
            if objective == 0 and not (energy < best_v[0]):
                continue  # not the first strictly best whatever its latency
        elif objective == -2:
            valid_o[ri] = valid
            energy_o[ri] = energy
            lat2_o[ri] = np.nan
            lat0_o[ri] = np.nan
            continue
        if lazy_t:  # the transfer table and effective tile sizes, for the latency
            _patterns(ptb, pw, last_ir_o, cum, fac, nfac, seqpat, boost, ir_from, Fv, T, True, False, e_bw, uc, inst)

        # double buffering: effective sizes (the tile without the innermost relevant loops), shared per memory
        _fractions(effs, 1, inv_size, inst, n_mem, eff)
        # eff_shared (reuse `real`-sized scratch: db holds flags, Ra holds eff_shared)
        for q in range(K):
            for m in range(n_mem[q]):
                Ra[q * M + m] = eff[q, m]
        for g in range(grp_n.shape[0]):
            ue = _group_sum(g, eff, grp_n, grp_op, grp_idx)
            for t in range(grp_n[g]):
                q = grp_op[g, t]
                if q >= 0:
                    Ra[q * M + grp_idx[g, t]] = ue
        for q in range(K):
            db[q, 0] = False
            for m in range(n_mem[q]):
                es = Ra[q * M + m]
                first = es <= 0.5
                second = (not first) and (eff[q, m] <= 1 - es)
                db[q, m + 1] = first or second
                g = grp_of[q, m]
                if g >= 0 and second:
                    for t in range(grp_n[g]):
                        q2 = grp_op[g, t]
                        if q2 >= 0:
                            Ra[q2 * M + grp_idx[g, t]] = Ra[q2 * M + grp_idx[g, t]] + eff[q, m]

        # ---------- latency (integer spatial mapping) ----------
        if not same_int:
            _patterns(ptb, pw, last_ir_o, cum_i, fac_i, nfac_i, seqpat_i, boost_i, ir_from_i, Fv_i, T_i, True, False,
                      e_bw, uc, inst)
            Tl = T_i
        else:
            Tl = T  # the spatial mapping is integer: the latency patterns are the energy patterns
        for q in range(K):
            for m in range(n_mem[q]):
                for dd in range(4):
                    amount = Tl[q, m, dd, 0]
                    pr_ = Tl[q, m, dd, 1]
                    bw = inst[q, m, 1] if (dd == _TL or dd == _TH) else inst[q, m, 2]
                    real[q, m, dd] = np.ceil(amount * pr_ / bw)
                    own = db[q, m] if (dd == _TL or dd == _FL) else db[q, m + 1]
                    allowed[q, m, dd] = Tl[q, m, dd, 2] if own else Tl[q, m, dd, 4]
        ss_comb = 0.0
        for pi in range(port_n.shape[0]):
            k = port_n[pi]
            if k == 0:
                continue
            n_act = 0
            single = 0.0
            pos_ = 0.0
            muw = 0.0
            for t in range(k):
                q = port_act[pi, t, 0]
                m = port_act[pi, t, 1]
                dd = port_act[pi, t, 2]
                PC = Tl[q, m, dd, 3]
                if PC != 0:  # active; the union takes the active transfers only (inactive ones add nothing)
                    R = real[q, m, dd]
                    A = float(allowed[q, m, dd])
                    Aa[n_act] = A
                    PDa[n_act] = float(Tl[q, m, dd, 2])
                    ACTa[n_act] = True
                    idx_buf[n_act] = n_act
                    n_act += 1
                    ssi = (R - A) * (PC - 1)
                    single = single + ssi
                    muw = muw + A * (PC - 1)
                    if ssi > 0:
                        pos_ = pos_ + ssi
            if n_act > 1:
                union = _muw_union(Aa, PDa, ACTa, idx_buf, n_act, total, pa, pp, ordr, Ua, Ka)
                multi = pos_ + max(0.0, single - pos_ + muw - union)
                port_ss = single if n_act == 1 else multi
            else:
                port_ss = single
            ss_comb = max(ss_comb, 0.0 if n_act == 0 else port_ss)

        # input loading and output off-loading
        ind0 = 0.0
        half0 = 0.0
        sh0 = 0.0
        ind1 = 0.0
        half1 = 0.0
        sh1 = 0.0
        for t in range(n_ins):
            q = ins[t]
            ind_ = 0.0
            half_ = 0.0
            sh_ = 0.0
            for m in range(n_mem[q] - 1):
                longest = max(real[q, m, _FH], real[q, m + 1, _TL])
                s1 = shp[q, m, _FH]
                s2 = shp[q, m + 1, _TL]
                if s1 and s2:
                    sh_ = sh_ + longest
                elif (not s1) and (not s2):
                    ind_ = ind_ + longest
                else:
                    half_ = longest
            if t == 0:
                ind0, half0, sh0 = ind_, half_, sh_
            else:
                ind1, half1, sh1 = ind_, half_, sh_
        if n_ins == 1:
            loading = ind0
        else:
            p1 = sh0 + max(sh1 + half1 + ind1, half0 + ind0)
            p2 = sh1 + max(sh0 + half0 + ind0, half1 + ind1)
            loading = min(p1, p2)
        n_o = n_mem[o]
        offloading = 0.0
        if n_o >= 2:
            offloading = max(real[o, n_o - 2, _TH], real[o, n_o - 1, _FL])
            for m in range(n_o - 3, -1, -1):
                offloading = offloading + out_lat[m + 1]
        lat0 = total + ss_comb
        lat2 = lat0 + loading + offloading
        if objective < 0:
            valid_o[ri] = valid
            energy_o[ri] = np.nan if objective == -3 else energy
            lat2_o[ri] = lat2
            lat0_o[ri] = lat0
            continue
        if objective == 0:
            x = energy
        elif objective == 1:
            x = lat2
        else:
            x = energy * lat2
        if x < best_v[0]:
            best_v[0] = x
            for j in range(n):  # element copies: a slice copy would need numba's runtime
                best_row[j] = row[j]
            for q in range(K):
                for m in range(M):
                    best_cuts[q, m] = out_cuts[q, m]
    return 0


@_inline
def _fractions(effs, k, inv_size, inst, n_mem, out):
    """out[q, m] = the tile's bits (effs[q, k]: 0 all, 1 effective) over memory m's size; power-of-two
    sizes through their exact reciprocal (inv_size, else 0)."""
    for q in range(out.shape[0]):
        for m in range(n_mem[q]):
            inv = inv_size[q, m]
            out[q, m] = effs[q, k, m + 1] * inv if inv > 0 else effs[q, k, m + 1] / inst[q, m, 0]


@_inline
def _group_sum(g, frac, grp_n, grp_op, grp_idx):
    """Sum of the fractions of the operands sharing memory group g, in member order."""
    s = 0.0
    for t in range(grp_n[g]):
        q = grp_op[g, t]
        if q >= 0:
            s = s + frac[q, grp_idx[g, t]]
    return s


@_inline
def _take_cuts(L, nops, lvl_ops, lvl_top, idx_buf, cutc, out_cuts, level_no, n):
    """Level L's operands take the loops up to their chosen positions (idx_buf); False if an operand
    at its top memory is left with loops unallocated (the ordering does not fit)."""
    ok = True
    for t in range(nops):
        q = lvl_ops[L, t]
        cutc[q] = idx_buf[t]
        out_cuts[q, level_no[q]] = cutc[q]
        level_no[q] += 1
        if lvl_top[L, t] and cutc[q] != n:
            ok = False
    return ok


@_inline
def _best_combination(nfree, free_t, okn, bits_l, b_tmp, fixed, cap, Qs, odo, idx_buf):
    """Every combination of the free operands' fitting positions (bits_l[t, 0:okn[t]], last operand
    fastest): the one of minimum summed score (bits x the iterations above) whose summed bits, with
    `fixed`, fit `cap`, ties to the last; its positions into idx_buf. Returns its score (_BIG: none fits)."""
    best = np.int64(_BIG)
    for u in range(nfree):
        odo[u] = 0
    while True:
        tbits = fixed
        ts = np.int64(0)
        for u in range(nfree):
            t = free_t[u]
            j = bits_l[t, odo[u]]
            tbits += b_tmp[t, j]
            ts += Qs[j] * b_tmp[t, j]
        if tbits <= cap and ts <= best:
            best = ts
            for u in range(nfree):
                idx_buf[free_t[u]] = bits_l[free_t[u], odo[u]]
        u = nfree - 1
        while u >= 0:
            odo[u] += 1
            if odo[u] < okn[free_t[u]]:
                break
            odo[u] = 0
            u -= 1
        if u < 0:
            return best


@_inline
def _size_int(q, a_sp, j, nreld, reld, npr, prs, cum, C):
    """Elements of operand q's tile over the first j loops with the spatial unrolling up to arch level
    a_sp, when none of q's dims is unrolled fractionally (as a float: ceil of each dim's size)."""
    res = 1.0
    for r in range(nreld[q]):
        d = reld[q, r]
        res = res * np.ceil(cum[q, a_sp, d] * C[d, j])
    for r in range(npr[q]):
        da = np.int64(prs[q, r, 1])
        dbb = np.int64(prs[q, r, 3])
        va = np.ceil(cum[q, a_sp, da] * C[da, j])
        vb = np.ceil(cum[q, a_sp, dbb] * C[dbb, j])
        res = res * _pr_extent(prs[q, r, 0], va, prs[q, r, 2], vb)
    return res


@_inline
def _elems_at(q, a, at, reld, nreld, prs, npr, seqpat, seqc, cum, C):
    """Elements of operand q's tile at arch level a whose loops end at position `at` (pr dims with a
    fractional unrolling from `seqc`, in the scalar model's multiplication order), rounded."""
    v = 1.0
    for r in range(nreld[q]):
        d = reld[q, r]
        v = v * (seqc[d, a] if seqpat[q, d] else cum[q, a, d] * C[d, at])
    for r in range(npr[q]):
        da = np.int64(prs[q, r, 1])
        dbb = np.int64(prs[q, r, 3])
        va = seqc[da, a] if seqpat[q, da] else cum[q, a, da] * C[da, at]
        vb = seqc[dbb, a] if seqpat[q, dbb] else cum[q, a, dbb] * C[dbb, at]
        v = v * _pr_extent(prs[q, r, 0], va, prs[q, r, 2], vb)
    return np.int64(np.rint(v))


@_inline
def _frac_sizes(q, d, n, nb, fac, nfac, DI, S, cuts, out):
    """Size of operand q's fractionally unrolled dim d over the first j loops, for every j, at the
    allocation of its level nb - 1: out[d, j] = ceil of the running product, multiplied in the scalar
    allocator's order (spatial factors where their level's loops start, then each temporal loop)."""
    c = 1.0
    for jj in range(n + 1):
        for a in range(nb):
            b = 0 if a == 0 else cuts[q, a - 1]
            if b == jj:
                for x in range(nfac[q, a, d]):
                    c = c * fac[q, a, d, x]
        out[d, jj] = np.ceil(c)
        if jj < n:
            c = c * (float(S[jj]) if DI[jj] == d else 1.0)


@_inline
def _patterns(ptb, pw, last_ir_o, cum, fac, nfac, seqpat, boost, ir_from, Fv, T, want_t, want_e, e_bw, uc, inst):
    """`BatchEvaluator._patterns` for one ordering: fills effs[q, 0 (bits), arch level], with `want_t` also
    effs[q, 1 (effective bits)] and T[q, m, dir, (amount, prec, period, count, window)], and with `want_e` returns the
    memories' energy (pJ; else 0). `ptb`, `pw`: the tables and workspace it reads (built once per call
    of `_eval_rows`); the spatial-mapping variant comes as arguments."""
    n, K, o, reld, nreld, prs, npr, prec, prec_o, prec_of, n_mem = ptb
    S, DI, P, C, irr_dim, rel_dim, seqc, merged, top_r, top_ir, elems, cyc, effs, Qs, cnt, SZ, use_sz = pw
    mem_energy = 0.0
    n_arch_o = n_mem[o] + 1
    for a in range(n_arch_o):
        if a < n_arch_o - 1:
            aa = a + 1
            tpos = merged[o, aa - 2] if aa >= 2 else 0
            Fv[a] = (last_ir_o >= tpos) or ir_from[aa]
        else:
            Fv[a] = False
    for q in range(K):
        nm = n_mem[q]
        n_arch = nm + 1
        top_r[0] = 1
        top_ir[0] = 1  # top_ir holds the windows: top_ir[a] = cyc[a] // (irrelevant loops just below)
        for i in range(nm if want_t else 0):  # (read with the transfer table only)
            lo = merged[q, i - 1] if i >= 1 else 0
            hi = merged[q, i]
            # the run of loops relevant to q just below hi (not below lo): their product, P[hi] // P[st]
            r = np.int64(1)
            x = hi - 1
            while x >= lo and rel_dim[q, DI[x]]:
                r *= S[x]
                x -= 1
            top_r[i + 1] = r
            # the run of irrelevant loops just below hi starts at st: the window cyc // (P[hi] // P[st]) is P[st]
            x = hi - 1
            while x >= lo and irr_dim[q, DI[x]]:
                x -= 1
            top_ir[i + 1] = P[x + 1]
        # sizes of pr dims with a fractional unrolling, in the scalar model's multiplication order
        for d in range(0 if use_sz else seqpat.shape[1]):
            if not seqpat[q, d]:
                continue
            c = 1.0
            seqc[d, 0] = 1.0
            for j in range(n + 1):
                for a in range(nm):
                    if merged[q, a] == j:
                        for x in range(nfac[q, a, d]):
                            c = c * fac[q, a, d, x]
                        seqc[d, a + 1] = c
                if j < n:
                    c = c * (float(S[j]) if DI[j] == d else 1.0)
        for a in range(n_arch):
            at = merged[q, a - 1] if a >= 1 else 0
            if use_sz:  # integer spatial mapping: the position tables hold these sizes exactly
                elems[a] = SZ[q, a, at]
            else:
                elems[a] = _elems_at(q, a, at, reld, nreld, prs, npr, seqpat, seqc, cum, C)
            if q == o:
                pa = prec_o if Fv[a] else prec_of
            else:
                pa = prec[q]
            bits = elems[a] * pa
            effs[q, 0, a] = bits
            ca = merged[q, a - 1] if a >= 1 else 0
            cnt[a] = Qs[ca]  # total // cyc[a]
            if want_t:
                effs[q, 1, a] = bits if top_r[a] == 1 else bits // top_r[a]
                cyc[a] = P[ca]
        if want_e:  # per memory: the words of each direction (zero where T holds zeros) x their costs
            for m in range(nm):
                low = elems[m] * boost[q, m]
                high = elems[m + 1]
                top = m == nm - 1
                if q != o:
                    p = prec[q]
                    a_tl = _accd(q, m, _TL, low, p, cnt[m], e_bw, uc)
                    a_fh = 0.0 if top else _accd(q, m, _FH, high, p, cnt[m + 1], e_bw, uc)
                    a_fl = 0.0
                    a_th = 0.0
                else:
                    a_fl = _accd(q, m, _FL, low, prec_o if Fv[m] else prec_of, cnt[m], e_bw, uc)
                    a_th = 0.0 if top else _accd(q, m, _TH, high, prec_o if Fv[m + 1] else prec_of, cnt[m + 1], e_bw, uc)
                    a_tl = _accd(q, m, _TL, low, prec_o, cnt[m], e_bw, uc) if Fv[m] else 0.0
                    a_fh = _accd(q, m, _FH, high, prec_o, cnt[m + 1], e_bw, uc) if (Fv[m + 1] and not top) else 0.0
                mem_energy = mem_energy + ((a_tl + a_th) * inst[q, m, 5] + (a_fh + a_fl) * inst[q, m, 6])
        if not want_t:
            continue
        for m in range(nm):
            low = elems[m] * boost[q, m]
            high = elems[m + 1]
            if q != o:
                p = prec[q]
                _set(T, q, m, _TL, low, p, cyc[m], cnt[m], top_ir[m])
                _set(T, q, m, _FH, high, p, cyc[m + 1], cnt[m + 1], top_ir[m + 1])
                _set(T, q, m, _FL, 0, 0, 0, 0, 0)
                _set(T, q, m, _TH, 0, 0, 0, 0, 0)
            else:
                fl_p = prec_o if Fv[m] else prec_of
                th_p = prec_o if Fv[m + 1] else prec_of
                _set(T, q, m, _FL, low, fl_p, cyc[m], cnt[m], top_ir[m])
                _set(T, q, m, _TH, high, th_p, cyc[m + 1], cnt[m + 1], top_ir[m + 1])
                if Fv[m]:
                    _set(T, q, m, _TL, low, prec_o, cyc[m], cnt[m], top_ir[m])
                else:
                    _set(T, q, m, _TL, 0, 0, 0, 0, 0)
                if Fv[m + 1]:
                    _set(T, q, m, _FH, high, prec_o, cyc[m + 1], cnt[m + 1], top_ir[m + 1])
                else:
                    _set(T, q, m, _FH, 0, 0, 0, 0, 0)
        if nm > 0:
            _set(T, q, nm - 1, _TH, 0, 0, 0, 0, 0)
            _set(T, q, nm - 1, _FH, 0, 0, 0, 0, 0)
    return mem_energy


@_inline
def _accd(q, m, dd, amount, pr_, count, e_bw, uc):
    """Energy-weighted word accesses of one transfer (`amount` elements of `pr_` bits, `count` times) of
    operand q at memory m in direction dd (the numpy evaluator's expression, in its order)."""
    if amount == 0 or pr_ == 0 or count == 0:
        return 0.0
    # divisions by powers of two are multiplications by their exact reciprocals
    per_cycle = float(amount)
    cycles = 1.0
    if (dd == _TL or dd == _FL) and m > 0:
        # min(other / prec, max_bw / prec) = min(other, max_bw) / prec (division is monotone)
        fp = float(pr_)
        lim = e_bw[q, m, dd, 2] * (1.0 / fp) if (pr_ & (pr_ - 1)) == 0 else e_bw[q, m, dd, 2] / fp
        if lim < per_cycle:  # else amount / amount = 1 cycle
            per_cycle = lim
            pcs = 1.0 if per_cycle == 0 else per_cycle
            cycles = np.ceil(amount / pcs)
    inv = e_bw[q, m, dd, 3]
    words = per_cycle * pr_ * inv if inv > 0 else per_cycle * pr_ / e_bw[q, m, dd, 0]
    return np.ceil(words) * e_bw[q, m, dd, 1] * count * cycles * uc[q, m + 1]


@_inline
def _set(T, q, m, dd, amount, p, period, count, window):
    T[q, m, dd, 0] = amount
    T[q, m, dd, 1] = p
    T[q, m, dd, 2] = period
    T[q, m, dd, 3] = count
    T[q, m, dd, 4] = window


@_jit
def _eval_batch(codes, tb, w, valid, energy, lat2, lat0, cuts, mode):
    """Cost every row of `codes` (N, n) into the output arrays (mode: -1 all, -2 energy only, -3 latency only)."""
    unused_row = np.zeros(codes.shape[1], np.int64)
    unused_cuts = np.zeros((cuts.shape[1], cuts.shape[2]), np.int64)
    return _eval_rows(codes, codes.shape[0], cuts, valid, energy, lat2, lat0, tb, w, mode, np.zeros(1), unused_row,
                      unused_cuts, np.zeros(3, np.int64))


@_jit
def _fill_orderings(seq, st, out):
    """Next distinct orderings of the multiset in `seq` (Williams' prefix shift, as `multiset_permutations`)
    into `out`; `st` = (phase 0 start / 1 running / 2 done, cursor i). Returns the number written."""
    n = seq.shape[0]
    k = 0
    while k < out.shape[0]:
        if st[0] == 2:
            break
        if st[0] == 0:
            out[k, :] = seq
            k += 1
            if n <= 1:
                st[0] = 2
            else:
                st[0] = 1
                st[1] = n - 2
            continue
        i = st[1]
        if not (i + 2 < n or seq[i + 1] < seq[0]):
            st[0] = 2
            break
        j = i + 1
        s = j if (j + 1 < n and seq[i] >= seq[j + 1]) else i
        t = s + 1
        v = seq[t]
        smaller = v < seq[0]
        for x in range(t, 0, -1):
            seq[x] = seq[x - 1]
        seq[0] = v
        st[1] = 0 if smaller else i + 1
        out[k, :] = seq
        k += 1
    return k


@_jit
def _scan_best(seq, st, buf, tb, w, objective, cuts, best_cuts, best_row, stats, best_v, valid, energy, lat2, lat0):
    """Enumerate the remaining orderings in chunks of len(buf), cost each, keep the first strictly best.

    Stops after `stats[2]` orderings (a progress step) or when done; stats = (visited, valid, limit)."""
    done = 0
    while done < stats[2]:
        k = _fill_orderings(seq, st, buf)
        if k == 0:
            break
        _eval_rows(buf, k, cuts, valid, energy, lat2, lat0, tb, w, objective, best_v, best_row, best_cuts, stats)
        stats[0] += k
        done += k
    return done


# ---------------------------------------------------------------------------------------------
# Python side: tables from a BatchEvaluator
# ---------------------------------------------------------------------------------------------

OBJECTIVES = {"energy": 0, "latency": 1, "edp": 2}


class CompiledEvaluator:
    """Same interface and numbers as `BatchEvaluator.evaluate`, computed by the compiled kernel."""

    def __init__(self, ev: BatchEvaluator) -> None:
        self.ev = ev
        self.n = ev.n
        self.codes, self.code_of = ev.codes, ev.code_of
        self.temporal_mapping = ev.temporal_mapping
        self.encode = ev.encode
        self.tb, self.M, self._ws_dims = self._tables(ev)
        self.w = self._workspace()

    # ---- tables --------------------------------------------------------------------
    @staticmethod
    def _tables(ev: BatchEvaluator) -> tuple:
        layer, acc = ev.layer, ev.acc
        ops, dims, di = list(ev.ops), ev.dims, ev.dim_index
        K, D = len(ops), len(dims)
        qi = {op: q for q, op in enumerate(ops)}
        o = qi[ev.out]
        M = max(ev.n_mem.values())
        A = M + 2  # arch levels (n_mem + 1) plus the one past the top that `cum` reaches
        rel_dim = np.zeros((K, D), np.bool_)
        irr_dim = np.zeros((K, D), np.bool_)
        reld = np.zeros((K, max(D, 1)), np.int64)
        nreld = np.zeros(K, np.int64)
        max_pr = max([len(ev.prs[op]) for op in ops] + [1])
        prs = np.zeros((K, max_pr, 4), np.float64)
        npr = np.zeros(K, np.int64)
        prec = np.zeros(K, np.int64)
        n_mem = np.array([ev.n_mem[op] for op in ops], np.int64)
        for q, op in enumerate(ops):
            for d in ev.rel[op]:
                rel_dim[q, di[d]] = True
            for d in ev.irr[op]:
                if d in di:
                    irr_dim[q, di[d]] = True
            for r, d in enumerate(ev.rel_dims[op]):
                reld[q, r] = di[d]
            nreld[q] = len(ev.rel_dims[op])
            for r, pr in enumerate(ev.prs[op]):
                g = gcd(pr.coef_a, pr.coef_b)
                prs[q, r] = (pr.coef_a / g, di[pr.dim_a], pr.coef_b / g, di[pr.dim_b])
            npr[q] = len(ev.prs[op])
            if op != ev.out:
                prec[q] = _as_int(layer.precision[op], "precision")
        prec_o = _as_int(layer.precision["O"], "precision")
        prec_of = _as_int(layer.precision["O_final"], "precision")
        levels = [(lv, [ev.mem_to_layer[mo] for mo in lv.operands if mo in ev.mem_to_layer]) for lv in acc.levels]
        levels = [(lv, x) for lv, x in levels if x]
        max_ops = max([len(x) for _, x in levels] + [1])
        lvl_ops = np.zeros((len(levels), max_ops), np.int64)
        lvl_nops = np.zeros(len(levels), np.int64)
        lvl_cap = np.zeros(len(levels), np.int64)
        lvl_top = np.zeros((len(levels), max_ops), np.bool_)
        for L, (lv, x) in enumerate(levels):
            lvl_nops[L] = len(x)
            lvl_cap[L] = _as_int(lv.instance.size, "memory size")
            for t, op in enumerate(x):
                lvl_ops[L, t] = qi[op]
                lvl_top[L, t] = lv == ev.chains[op][-1]

        def spatial(sc):
            cum = np.ones((K, A, D), np.float64)
            frac = np.zeros((K, D), np.bool_)
            max_f = max([len(v) for op in ops for lvf in sc.factors[op] for v in lvf.values()] + [1])
            fac = np.ones((K, A, D, max_f), np.float64)
            nfac = np.zeros((K, A, D), np.int64)
            seqpat = np.zeros((K, D), np.bool_)
            boost = np.ones((K, A), np.int64)
            for q, op in enumerate(ops):
                for a, c in enumerate(sc.cum[op]):
                    for d, v in c.items():
                        if d in di:
                            cum[q, a, di[d]] = v
                for d in sc.fractional[op]:
                    frac[q, di[d]] = True
                for a, lvf in enumerate(sc.factors[op]):
                    for d, xs in lvf.items():
                        if d in di:
                            nfac[q, a, di[d]] = len(xs)
                            fac[q, a, di[d], : len(xs)] = xs
                for pr in ev.prs[op]:
                    for d in (pr.dim_a, pr.dim_b):
                        if d in sc.fractional[op]:
                            seqpat[q, di[d]] = True
                for a, b in enumerate(sc.boost[op]):
                    boost[q, a] = b
            ir_from = np.zeros(A + 2, np.bool_)
            ir_from[: len(sc.ir_from)] = sc.ir_from[: A + 2]
            return cum, frac, fac, nfac, seqpat, boost, ir_from

        cum, frac, fac, nfac, seqpat, boost, ir_from = spatial(ev.sc)
        anyfrac = frac.any(axis=1)
        same_int = ev.sc_int is ev.sc
        cum_i, frac_i, fac_i, nfac_i, seqpat_i, boost_i, ir_from_i = spatial(ev.sc_int)
        uc = np.ones((K, A), np.float64)
        inst = np.ones((K, M, 7), np.float64)
        other = np.zeros((K, M, 4), np.float64)
        for q, op in enumerate(ops):
            for a, v in enumerate(ev.sc.unit_count[op]):
                uc[q, a] = v
            chain = ev.chains[op]
            for m, lv in enumerate(chain):
                i = lv.instance
                inst[q, m] = (i.size, i.r_bw, i.w_bw, i.r_bw_min, i.w_bw_min, i.r_cost, i.w_cost)
                if m > 0:
                    ratio = ev.sc.unit_unique[op][m] / ev.sc.unit_unique[op][m + 1]
                    other[q, m, _TL] = chain[m - 1].instance.w_bw * ratio
                    other[q, m, _FL] = chain[m - 1].instance.r_bw * ratio
        # per (operand, memory, direction): min bandwidth, min/max bandwidth, min(other side, max bandwidth),
        # 1 / min bandwidth if that is a power of two (exact) else 0
        e_bw = np.ones((K, M, 4, 4), np.float64)
        for q in range(K):
            for m in range(M):
                for dd in range(4):
                    hi_side = dd in (_TL, _TH)
                    max_bw = inst[q, m, 1] if hi_side else inst[q, m, 2]
                    min_bw = inst[q, m, 3] if hi_side else inst[q, m, 4]
                    pow2 = min_bw >= 1 and min_bw == int(min_bw) and int(min_bw) & (int(min_bw) - 1) == 0
                    e_bw[q, m, dd] = (min_bw, min_bw / max_bw, min(other[q, m, dd], max_bw), 1.0 / min_bw if pow2 else 0.0)
        inv_size = np.zeros((K, M), np.float64)  # 1 / size where the size is a power of two (an exact reciprocal)
        for q in range(K):
            for m in range(n_mem[q]):
                sz = inst[q, m, 0]
                if sz >= 1 and sz == int(sz) and int(sz) & (int(sz) - 1) == 0:
                    inv_size[q, m] = 1.0 / sz
        G = len(ev._groups)
        max_g = max([len(g) for g in ev._groups] + [1])
        grp_op = np.full((max(G, 1), max_g), -1, np.int64)
        grp_idx = np.zeros((max(G, 1), max_g), np.int64)
        grp_n = np.zeros(G, np.int64)
        grp_allnz = np.zeros(max(G, 1), np.bool_)
        grp_of = np.full((K, M), -1, np.int64)
        for g, members in enumerate(ev._groups):
            grp_n[g] = len(members)
            grp_allnz[g] = all(i != 0 for _, i in members)
            for t, (op, i) in enumerate(members):
                grp_idx[g, t] = i
                if op is not None:
                    grp_op[g, t] = qi[op]
                    if grp_of[qi[op], i] < 0:
                        grp_of[qi[op], i] = g
        Pn = len(ev._ports)
        max_act = max([len(a) for a in ev._ports] + [1])
        port_act = np.zeros((max(Pn, 1), max_act, 3), np.int64)
        port_n = np.zeros(Pn, np.int64)
        for p, acts in enumerate(ev._ports):
            port_n[p] = len(acts)
            for t, (op, m, d) in enumerate(acts):
                port_act[p, t] = (qi[op], m, _DIRS.index(d))
        shp = np.zeros((K, M, 4), np.bool_)
        for (op, m, d), f in ev._shared_port.items():
            shp[qi[op], m, _DIRS.index(d)] = f
        ins = np.array([qi[op] for op in layer.input_operands] + [0, 0], np.int64)[:2]
        n_ins = len(layer.input_operands)
        if n_ins not in (1, 2):
            raise ValueError(f"layer {layer.id}: the cost model takes one or two input operands, not {n_ins}")
        # integer spatial mapping: every tile size is an exact product of integers, kept per position
        intmode = bool(same_int and not frac.any() and np.array_equal(cum, np.round(cum)))
        touch = rel_dim.copy()  # dims whose loops change an operand's tile (relevant or in a pr pair)
        for q in range(K):
            for r in range(npr[q]):
                touch[q, int(prs[q, r, 1])] = touch[q, int(prs[q, r, 3])] = True
            for r in range(nreld[q]):
                touch[q, reld[q, r]] = True
        out_lat = np.array([lv.instance.latency for lv in ev.chains[ev.out]], np.float64)
        mac_energy = float(acc.array.unit_energy * layer.total_macs)
        tb = (
            np.int64(ev.n), np.int64(D), np.int64(K), np.int64(o), np.int64(0), ev.code_dim, ev.code_size,
            rel_dim, irr_dim, reld, nreld, prs, npr, prec, np.int64(prec_o), np.int64(prec_of),
            n_mem, lvl_ops, lvl_nops, lvl_cap, lvl_top, anyfrac, same_int, cum, frac, fac, nfac, cum_i, frac_i, fac_i, nfac_i, seqpat,
            seqpat_i, uc, boost, ir_from, boost_i, ir_from_i, inst, other, grp_op, grp_idx, grp_n, grp_allnz, grp_of,
            port_act, port_n, shp, ins, np.int64(n_ins), out_lat, mac_energy, intmode, touch, e_bw, inv_size,
        )
        return tb, M, (K, D, M, A, max_ops, max(max_act, 1))

    def _with_total(self, total: int) -> tuple:
        tb = self.tb
        return tb[:4] + (np.int64(total),) + tb[5:]

    def _workspace(self) -> tuple:
        """Scratch arrays of `_eval_rows`, in the order it unpacks them (also carried between its calls:
        the per-position tables are rebuilt by the first row of every call)."""
        K, D, M, A, max_ops, max_act = self._ws_dims
        n = max(self.n, 1)
        n1 = self.n + 1
        big = max(K * M, max_act, K, 4)
        i8, f8, b1 = np.int64, np.float64, np.bool_
        z = np.zeros
        return (
            z(n, i8), z(n, i8), z(n1, i8), z((D, n1), i8),  # S, DI, P, C
            z((max_ops, n1), i8), z(K, i8), z((max_ops, n1), i8),  # bits_l, cutc, b_tmp
            z((D, A + 1), f8), z((K, M), i8),  # seqc, merged
            z(A + 2, b1), z(A + 2, b1), z(A + 2, i8), z(A + 2, i8), z(A + 2, i8), z(A + 2, i8),  # Fv, Fv_i, top_r, top_ir, elems, cyc
            z((K, M, 4, 5), i8), z((K, M, 4, 5), i8), z((K, M + 1), b1),  # T, T_i, db
            z((K, 2, A + 2), i8), z((K, M), f8), z((K, M), f8), z((K, M, 4), f8), z((K, M, 4), i8),  # effs, indiv, eff, real, allowed
            z(big, f8), z(big, f8), z(big, f8), z(big, b1),  # Ra, Aa, PDa, ACTa
            z(big, i8), z(big, i8), z(big, i8), z(big, i8), z(big, i8), z(big, i8),  # pa, pp, ordr, Ua, Ka, idx_buf
            z(K, i8), z(max_ops, i8), z(max_ops, i8), z(n1, i8), z(A + 2, i8),  # level_no, okn, odo, Qs, cnt
            z((D, n1), f8), z(n, i8), z((K, A, n1), i8),  # fsz, prow, SZ (exact integers)
            z(max_ops, i8), z(max_ops, i8), z(n1, i8), z(n1, i8),  # c0s, free_t, pmv, pmi
        )

    # ---- evaluation ----------------------------------------------------------------
    def evaluate(self, codes: np.ndarray, only: str | None = None) -> BatchCosts:
        """Allocate and cost every row of `codes` (N, n), as `BatchEvaluator.evaluate`; `only="energy"` or
        `"latency"` skips the other metric's arithmetic (its array is NaN): a search needs one of them."""
        codes = np.ascontiguousarray(np.asarray(codes, dtype=np.int64).reshape(-1, self.n))
        N = codes.shape[0]
        total = int(np.prod(self.ev.code_size[codes[0]])) if N and self.n else 1
        valid = np.zeros(N, np.bool_)
        energy, lat2, lat0 = np.zeros(N), np.zeros(N), np.zeros(N)
        cuts = np.zeros((N, len(self.ev.ops), self.M), np.int64)
        mode = {None: -1, "energy": -2, "latency": -3}[only]
        with _indices_as_given():
            _eval_batch(codes, self._with_total(total), self.w, valid, energy, lat2, lat0, cuts, np.int64(mode))
        cut = {op: cuts[:, q, : self.ev.n_mem[op]] for q, op in enumerate(self.ev.ops)}
        return BatchCosts(valid, energy, lat2, lat0, cut)

    def scan(self, items: list[int], objective: str, progress=None, chunk: int = 8192):
        """Exhaustive search over the distinct orderings of the code multiset `items`, in
        `multiset_permutations` order: (codes, cuts) of the first strictly best, visited, valid."""
        seq = np.array(sorted(items, reverse=True), dtype=np.int64)
        total = 1
        for c in items:
            total *= int(self.ev.code_size[c])
        tb = self._with_total(total)
        st = np.zeros(2, np.int64)
        rows = min(chunk, 4096)
        buf = np.zeros((rows, self.n), np.int64)
        K = len(self.ev.ops)
        cuts = np.zeros((rows, K, self.M), np.int64)
        valid, energy, lat2, lat0 = np.zeros(rows, np.bool_), np.zeros(rows), np.zeros(rows), np.zeros(rows)
        best_cuts = np.zeros((K, self.M), np.int64)
        best_row = np.zeros(self.n, np.int64)
        stats = np.array([0, 0, chunk], np.int64)
        best_v = np.array([np.inf])
        while True:
            with _indices_as_given():
                done = _scan_best(seq, st, buf, tb, self.w, OBJECTIVES[objective], cuts, best_cuts, best_row,
                                  stats, best_v, valid, energy, lat2, lat0)
            if progress is not None and done:
                progress.update(done)
            if done < chunk:
                break
        if not np.isfinite(best_v[0]):
            return None, None, int(stats[0]), int(stats[1])
        cuts = {op: best_cuts[q, : self.ev.n_mem[op]].copy() for q, op in enumerate(self.ev.ops)}
        return best_row, cuts, int(stats[0]), int(stats[1])


def _as_int(v, what: str) -> int:
    """Sizes and precisions are integers in the model; the compiled tables store them as int64."""
    if int(v) != v:
        raise ValueError(f"{what} {v!r} is not an integer")
    return int(v)


def compiled_or_numpy(ev: BatchEvaluator):
    """The compiled evaluator for `ev` when available, else `ev` itself."""
    return CompiledEvaluator(ev) if available() else ev


def warm_up() -> float:
    """Compile the kernel's entry points and Step 3's Pareto loops (or load them from numba's cache); seconds taken.

    Run once by scripts/setup_venv.sh, so that the first pipeline run does not compile in every worker."""
    import time
    from pathlib import Path

    t0 = time.perf_counter()
    if not available():
        return 0.0
    from acco.io import load_hardware, load_workload
    from acco.mapping import spatial_mapping_for
    from acco.search.loma import lpf_list, temporal_loop_sizes

    root = Path(__file__).resolve().parents[2] / "inputs"
    acc = load_hardware(root / "hardware" / "Meta_prototype_DF.yaml")
    layer = load_workload(root / "workloads" / "Meta_prototype" / "fsrcnn.yaml").layers[0]
    sm = spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), 2)
    ce = CompiledEvaluator(BatchEvaluator(layer, acc, sm, lpfs))
    ce.evaluate(ce.encode([lpfs]))
    ce.scan([ce.code_of[x] for x in lpfs], "energy")
    from acco.reports.staircase import warm_up as staircase_warm_up  # Step 3's compiled Pareto loops

    staircase_warm_up()
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(f"compiled cost kernel ready ({warm_up():.1f} s)")
