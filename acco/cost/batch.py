"""Vectorised cost model: allocate and cost a whole batch of loop orderings with numpy.

The scalar path (`acco.search.allocator.allocate` + `acco.cost.model.evaluate`) builds Python
objects per ordering (~3 ms each). Here every ordering is one row of an int array of loop codes
and every quantity of the model is a column operation over the batch: prefix products give tile
sizes and periods, cut positions give the memory allocation, and the per-level transfer
patterns, word accesses, energy, double-buffer flags and the port-combined latency follow as
array expressions. The numbers are those of the scalar model (tests compare every ordering);
the scalar model stays the reference and produces the full report of the chosen mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, gcd, prod

import numpy as np

from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator
from acco.mapping.spatial import SpatialMapping
from acco.mapping.temporal import TemporalMapping
from acco.workload.layer import Layer

INPUT_MEM_OPS = ("I1", "I2")
_BIG = np.iinfo(np.int64).max // 4


@dataclass
class BatchCosts:
    """Per ordering of a batch: validity, energy (pJ), latency (cycles) and the allocation cuts."""

    valid: np.ndarray  # bool (N,)
    energy: np.ndarray  # float64 (N,)
    latency: np.ndarray  # float64 (N,) latency_total2
    latency0: np.ndarray  # float64 (N,) ideal temporal cycles + stall
    cuts: dict[str, np.ndarray]  # per layer operand: int (N, n_mem), loops allocated up to each level


@dataclass
class _SpatialConsts:
    """What the patterns need from one spatial mapping (fractional or integer)."""

    per_level: dict[str, list[dict[str, float]]]  # op -> arch level -> dim -> unrolling
    cum: dict[str, list[dict[str, float]]]  # op -> a -> dim -> product over arch levels < a
    unit_count: dict[str, list[float]]
    unit_unique: dict[str, list[float]]
    boost: dict[str, list[int]]
    ir_from: list[bool]  # output operand: an irrelevant spatial loop > 1 at arch level >= a
    factors: dict[str, list[dict[str, list[float]]]]  # op -> arch level -> dim -> unrollings in order
    fractional: dict[str, set[str]]  # op -> dims with a non-integer unrolling (products are order-sensitive)


def _pr_extent_arr(sa: int, a, sb: int, b):
    """Vectorised `pr_extent` (same float expression, truncated like int())."""
    g = gcd(sa, sb)
    v = a * b - np.maximum(0, b - sa / g) * (a - sb / g)
    return np.trunc(v)


#: `BatchEvaluator._spatial_consts` results by (spatial mapping, layer structure); read-only once built
_SPATIAL_MEMO: dict[tuple, _SpatialConsts] = {}
_SPATIAL_MEMO_SIZE = 4096


class BatchEvaluator:
    """Allocates and costs batches of orderings of a fixed loop multiset for one layer on one core.

    `codes` (sorted distinct (dim, size) loops) index the loops; an ordering is a row of codes,
    innermost loop first.
    """

    def __init__(self, layer: Layer, acc: Accelerator, spatial: SpatialMapping, loops: list[tuple[str, int]]) -> None:
        self.layer, self.acc, self.spatial = layer, acc, spatial
        self.codes: list[tuple[str, int]] = sorted(set(loops))
        self.code_of = {c: i for i, c in enumerate(self.codes)}
        self.n = len(loops)
        self.dims: list[str] = list(dict.fromkeys(layer.loop_sizes))
        self.dim_index = {d: i for i, d in enumerate(self.dims)}
        self.code_dim = np.array([self.dim_index[d] for d, _ in self.codes] or [0], dtype=np.int64)
        self.code_size = np.array([s for _, s in self.codes] or [1], dtype=np.int64)
        self.ops = layer.operands
        self.out = layer.output_operand
        self.chains = {op: acc.chain(layer.memory_operand_links[op]) for op in self.ops}
        self.n_mem = {op: len(self.chains[op]) for op in self.ops}
        self.rel = {op: set(layer.relevant_dims(op)) for op in self.ops}
        self.irr = {op: set(layer.irrelevant_dims(op)) for op in self.ops}
        self.prs = {op: layer.pr_relations(op) for op in self.ops}
        self.rel_dims = {op: layer.relevant_dims(op) for op in self.ops}
        self.sc = self._spatial_consts(spatial)
        integer = spatial.integer()
        self.sc_int = self.sc if integer == spatial else self._spatial_consts(integer)
        self.mem_to_layer = {m: o for o, m in layer.memory_operand_links.items()}
        if len(self.mem_to_layer) < len(layer.memory_operand_links):
            raise ValueError(
                f"layer {layer.id}: operands {', '.join(layer.memory_operand_links)} do not link to distinct "
                f"memory operands ({dict(layer.memory_operand_links)}); a per-layer mapping needs one memory "
                "operand per layer operand (the depth-first model re-links such layers)"
            )
        # pure functions of (accelerator, operand links): computed once per accelerator object
        memo_key = ("batch_ports", tuple(sorted(self.mem_to_layer.items())))
        cached = acc.memo.get(memo_key)
        if cached is None:
            groups = []
            for lv in acc.levels:
                if len(lv.operands) >= 2:
                    groups.append([(self.mem_to_layer.get(mo), acc.chain(mo).index(lv)) for mo in lv.operands])
            cached = acc.memo[memo_key] = (groups, self._port_activities(), self._shared_port_flags())
        self._groups, self._ports, self._shared_port = cached

    # ---- static parts -------------------------------------------------------------
    def _spatial_consts(self, sm: SpatialMapping) -> _SpatialConsts:
        """The spatial constants of `sm` for this layer's operand structure (shared by the evaluators of a
        process: a sweep builds one evaluator per search, most with a spatial mapping seen before)."""
        ly = self.layer
        key = (sm, ly.equation, ly.operands, ly.operand_dims, ly.relations, tuple(ly.loop_sizes),
               frozenset(self.irr[self.out]))
        sc = _SPATIAL_MEMO.get(key)
        if sc is None:
            if len(_SPATIAL_MEMO) >= _SPATIAL_MEMO_SIZE:
                _SPATIAL_MEMO.clear()
            sc = _SPATIAL_MEMO[key] = self._compute_spatial_consts(sm)
        return sc

    def _compute_spatial_consts(self, sm: SpatialMapping) -> _SpatialConsts:
        per_level, cum, uc, uu, boost, factors, fractional = {}, {}, {}, {}, {}, {}, {}
        for op in self.ops:
            levels = [dict() for _ in sm.levels[op]]
            factors[op] = [dict() for _ in sm.levels[op]]
            fractional[op] = set()
            for a, lv in enumerate(sm.levels[op]):
                for d, s in lv:
                    levels[a][d] = levels[a].get(d, 1.0) * s
                    factors[op][a].setdefault(d, []).append(s)
                    if s != int(s):
                        fractional[op].add(d)
            per_level[op] = levels
            c = [{}]
            for a in range(len(levels)):
                nxt = dict(c[-1])
                for d, s in levels[a].items():
                    nxt[d] = nxt.get(d, 1.0) * s
                c.append(nxt)
            cum[op] = c
            n_arch = len(levels)
            # unit counts with pr-decoupled spatial loops, as the scalar model does
            from acco.cost.patterns import _decouple, _reform_sets  # the one definition of decoupling

            dec = _decouple(self.layer, op, [list(x) for x in sm.levels[op]])
            r_set, _ = _reform_sets(self.layer, op)
            unroll_r = [prod([s for d, s in lv if d in r_set]) if lv else 1 for lv in dec]
            unroll_t = [prod([s for _, s in lv]) if lv else 1 for lv in dec]
            uc[op] = [round(prod(unroll_t[a:])) for a in range(n_arch)]
            uu[op] = [prod(unroll_r[a:]) for a in range(n_arch)]
            boost[op] = [int(uu[op][a] / uu[op][a + 1]) for a in range(n_arch - 1)] + [1]
        irr_o = self.irr[self.out]
        lv_o = sm.levels[self.out]
        flags = [any(d in irr_o and s > 1 for d, s in lv) for lv in lv_o]
        ir_from = [any(flags[a:]) for a in range(len(lv_o))] + [False, False]
        return _SpatialConsts(per_level, cum, uc, uu, boost, ir_from, factors, fractional)

    def _port_activities(self) -> list[list[tuple[str, int, str]]]:
        """Per physical port: the (operand, level, direction) transfers it carries."""
        ports = []
        for lv in self.acc.levels:
            for port in lv.instance.ports:
                acts = []
                for mo in lv.operands:
                    op = self.mem_to_layer.get(mo)
                    if op is None:
                        continue
                    m = self.acc.chain(mo).index(lv)
                    for d, pname in lv.port_allocation.get(mo, {}).items():
                        if pname == port.name:
                            acts.append((op, m, d))
                ports.append(acts)
        return ports

    def _shared_port_flags(self) -> dict[tuple[str, int, str], bool]:
        flags = {}
        for lv in self.acc.levels:
            for port in lv.instance.ports:
                served = [(mo, d) for mo in lv.operands for d, p in lv.port_allocation.get(mo, {}).items() if p == port.name]
                shared = len({mo for mo, _ in served if mo in INPUT_MEM_OPS}) > 1
                for mo, d in served:
                    op = self.mem_to_layer.get(mo)
                    if op is not None:
                        flags[(op, self.acc.chain(mo).index(lv), d)] = shared
        return flags

    # ---- conversions ----------------------------------------------------------------
    def encode(self, orderings) -> np.ndarray:
        """Orderings given as sequences of (dim, size) → int code array (N, n)."""
        return np.array([[self.code_of[x] for x in o] for o in orderings], dtype=np.int64).reshape(-1, self.n)

    def temporal_mapping(self, codes: np.ndarray, cuts: dict[str, np.ndarray]) -> TemporalMapping:
        """The allocated temporal mapping of one ordering (row) from its cut positions."""
        loops = [self.codes[c] for c in codes]
        out = {}
        for op in self.ops:
            prev, lv = 0, []
            for c in cuts[op]:
                lv.append(tuple((d, int(s)) for d, s in loops[prev:int(c)]))
                prev = int(c)
            out[op] = tuple(lv)
        return TemporalMapping(FrozenDict(out))

    # ---- the batch computation ------------------------------------------------------
    def evaluate(self, codes: np.ndarray, only: str | None = None) -> BatchCosts:
        """Allocate and cost every row of `codes` (N, n). `only` is accepted for the compiled evaluator's
        interface (which skips the metric a search does not need); here both metrics are always computed."""
        codes = np.asarray(codes, dtype=np.int64).reshape(-1, self.n)
        N, n = codes.shape
        rows = np.arange(N)
        S = self.code_size[codes] if n else np.ones((N, 0), dtype=np.int64)
        DI = self.code_dim[codes] if n else np.zeros((N, 0), dtype=np.int64)
        one = np.ones((N, 1), dtype=np.int64)
        P = np.concatenate([one, np.cumprod(S, axis=1)], axis=1)
        total = int(P[0, n]) if N else 1
        C = {}
        for d, i in self.dim_index.items():
            m = DI == i
            if n and m.any():
                C[d] = np.concatenate([one, np.cumprod(np.where(m, S, 1), axis=1)], axis=1)
        pos = np.arange(n)

        def member(dimset: set[str]) -> np.ndarray:
            idx = [self.dim_index[d] for d in dimset if d in self.dim_index]
            return np.isin(DI, idx) if idx else np.zeros((N, n), dtype=bool)

        def next_not(mask: np.ndarray) -> np.ndarray:
            """(N, n+1): first position >= x whose loop is not in mask, else n."""
            a = np.where(~mask, pos, n)
            a = np.minimum.accumulate(a[:, ::-1], axis=1)[:, ::-1] if n else a
            return np.concatenate([a, np.full((N, 1), n)], axis=1)

        def prev_not(mask: np.ndarray) -> np.ndarray:
            """(N, n+1): last position < x whose loop is not in mask, else -1."""
            a = np.where(~mask, pos, -1)
            a = np.maximum.accumulate(a, axis=1) if n else a
            return np.concatenate([np.full((N, 1), -1), a], axis=1)

        irmask = {op: member(self.irr[op]) for op in self.ops}
        relmask = {op: member(self.rel[op]) for op in self.ops}
        ir_o = irmask[self.out]
        last_ir_o = np.where(ir_o, pos, -1).max(axis=1) if n else np.full(N, -1)

        mults: dict[str, np.ndarray] = {}

        def loop_mult(d: str) -> np.ndarray:
            """(N, n) float: the loop size where the loop is of dim d, else 1 (x*1 is exact)."""
            if d not in mults:
                mults[d] = np.where(DI == self.dim_index.get(d, -1), S, 1).astype(float)
            return mults[d]

        def seq_alloc(op: str, d: str, bounds: list[np.ndarray]) -> np.ndarray:
            """(N, n+1) size of dim d over spatial level 0, loops of level 0, spatial level 1, ... multiplied in
            the scalar allocator's order (matters when an unrolling is fractional and the size is ceiled)."""
            f = self.sc.factors[op]
            mult = loop_mult(d)
            cum = np.ones(N)
            out = np.empty((N, n + 1))
            marks = [(b, f[a][d]) for a, b in enumerate(bounds) if d in f[a]]
            for j in range(n + 1):
                for b, xs in marks:
                    hit = b == j
                    if hit.any():
                        for x in xs:
                            cum = np.where(hit, cum * x, cum)
                out[:, j] = cum
                if j < n:
                    cum = cum * mult[:, j]
            return out

        def tile_elems(op: str, spat: dict[str, float], at: np.ndarray | None, seq: dict | None = None) -> np.ndarray:
            """Elements of op's tile for spatial products `spat` and the first `at` (N,) or all (N, n+1) loops."""

            def size(d: str):
                if seq and d in seq:
                    return np.ceil(seq[d])
                base = spat.get(d, 1.0)
                if d in C:
                    v = C[d] if at is None else C[d][rows, at]
                    return np.ceil(base * v)
                return ceil(base)

            res = np.ones((N, n + 1) if at is None else N)
            for d in self.rel_dims[op]:
                res = res * size(d)
            for r in self.prs[op]:
                res = res * _pr_extent_arr(r.coef_a, size(r.dim_a), r.coef_b, size(r.dim_b))
            return res.astype(np.int64)

        # ---------- memory allocation (LOMA's allocator) ----------
        valid = np.ones(N, dtype=bool)
        cut = {op: np.zeros(N, dtype=np.int64) for op in self.ops}
        level_no = {op: 0 for op in self.ops}
        spat = {op: dict(self.sc.cum[op][1]) for op in self.ops}  # spatial loops of arch level 0
        cuts: dict[str, list[np.ndarray]] = {op: [] for op in self.ops}
        col = np.arange(n + 1)[None, :]
        for lv in self.acc.levels:
            ops = [self.mem_to_layer[mo] for mo in lv.operands if mo in self.mem_to_layer]
            if not ops:
                continue
            cap = lv.instance.size
            bits, score, is_top = {}, {}, {}
            for op in ops:
                frac = self.sc.fractional[op]
                bounds = [np.zeros(N, dtype=np.int64)] + cuts[op]
                seq = {d: seq_alloc(op, d, bounds) for d in frac} if frac else None
                el = tile_elems(op, spat[op], None, seq)
                if op == self.out:
                    psum = last_ir_o >= cut[op]
                    prec = np.where(psum, self.layer.precision["O"], self.layer.precision["O_final"])[:, None]
                else:
                    prec = self.layer.precision[op]
                b = el * prec
                ok = (col >= cut[op][:, None]) & (b <= cap)
                valid &= b[rows, cut[op]] <= cap
                is_top[op] = lv == self.chains[op][-1]
                if is_top[op]:
                    # only "take all that fits"; the rest must be empty
                    maxfit = np.where(ok, col, -1).max(axis=1)
                    valid &= maxfit == n
                    sel = np.zeros((N, n + 1), dtype=bool)
                    sel[rows, np.clip(maxfit, 0, n)] = True
                    ok = sel
                    sc = np.zeros((N, n + 1), dtype=np.int64)
                else:
                    sc = (total // P) * b
                bits[op] = np.where(ok, b, _BIG)
                score[op] = np.where(ok, sc, _BIG)
            # top levels take everything that fits (one choice); the others are enumerated together,
            # the last operand varying fastest, minimum summed score, ties to the last combination
            chosen = {}
            fixed_bits = np.zeros(N, dtype=np.int64)
            free = []
            for op in ops:
                if is_top[op]:
                    chosen[op] = np.argmax(bits[op] < _BIG, axis=1)
                    fixed_bits = fixed_bits + np.minimum(bits[op][rows, chosen[op]], _BIG // 8)
                else:
                    free.append(op)
            if free:
                k = len(free)
                tot_bits = fixed_bits.reshape((N,) + (1,) * k)
                tot_score = np.zeros((N,) + (1,) * k, dtype=np.int64)
                for j, op in enumerate(free):
                    sh = [N] + [1] * k
                    sh[j + 1] = n + 1
                    tot_bits = tot_bits + np.minimum(bits[op], _BIG // 8).reshape(sh)
                    tot_score = tot_score + np.minimum(score[op], _BIG // 8).reshape(sh)
                tot_score = np.where(tot_bits <= cap, tot_score, _BIG).reshape(N, -1)
                flat = tot_score.shape[1] - 1 - np.argmin(tot_score[:, ::-1], axis=1)
                anyok = tot_score[rows, flat] < _BIG
                idx = np.unravel_index(flat, (n + 1,) * k)
                for j, op in enumerate(free):
                    chosen[op] = np.where(anyok, idx[j], cut[op])
            else:
                anyok = fixed_bits <= cap
            # no combination fits: nothing is allocated here, not even at a top level (the reference
            # then leaves the top operand's loops unallocated, and the ordering does not fit)
            for op in ops:
                if is_top[op]:
                    chosen[op] = np.where(anyok, chosen[op], cut[op])
            for op in ops:
                cut[op] = chosen[op].astype(np.int64)
                cuts[op].append(cut[op])
                level_no[op] += 1
                spat[op] = dict(self.sc.cum[op][level_no[op] + 1])
                if is_top[op]:
                    valid &= cut[op] == n
        cut_arr = {op: np.stack(cuts[op], axis=1) if cuts[op] else np.zeros((N, 0), np.int64) for op in self.ops}

        # ---------- stationarity merge-down of the allocated levels ----------
        merged: dict[str, list[np.ndarray]] = {}
        for op in self.ops:
            nx = next_not(irmask[op])
            cm = [nx[rows, np.minimum(cut_arr[op][:, m], n)] for m in range(self.n_mem[op] - 1)]
            cm.append(np.full(N, n))
            merged[op] = cm

        ctx = (P, C, S, DI, total, rows, relmask, irmask, prev_not, last_ir_o, N, n)
        pats = self._patterns(self.sc, merged, ctx)
        pats_int = pats if self.sc_int is self.sc else self._patterns(self.sc_int, merged, ctx)

        # ---------- word accesses and energy (fractional spatial mapping) ----------
        mem_energy = np.zeros(N)
        for op in self.ops:
            chain = self.chains[op]
            pat = pats[op]
            for m in range(self.n_mem[op]):
                inst = chain[m].instance
                acc_d = {}
                for d in ("tl", "fh", "fl", "th"):
                    amount, prec, period, count, _ = pat["t"][m][d]
                    max_bw, min_bw = (inst.r_bw, inst.r_bw_min) if d in ("tl", "th") else (inst.w_bw, inst.w_bw_min)
                    zero = (amount == 0) | (prec == 0) | (count == 0)
                    precf = np.where(prec == 0, 1, prec)
                    per_cycle = amount * np.ones(N)
                    cycles = np.ones(N)
                    if d in ("tl", "fl") and m > 0:
                        below = chain[m - 1].instance
                        other = (below.w_bw if d == "tl" else below.r_bw) * (
                            self.sc.unit_unique[op][m] / self.sc.unit_unique[op][m + 1]
                        )
                        per_cycle = np.minimum(np.minimum(other / precf, max_bw / precf), amount)
                        pc_safe = np.where(per_cycle == 0, 1, per_cycle)
                        cycles = np.ceil(amount / pc_safe)
                    v = (
                        np.ceil(per_cycle * prec / min_bw)
                        * (min_bw / max_bw)
                        * count
                        * cycles
                        * self.sc.unit_count[op][m + 1]
                    )
                    acc_d[d] = np.where(zero, 0.0, v)
                e = (acc_d["tl"] + acc_d["th"]) * inst.r_cost + (acc_d["fh"] + acc_d["fl"]) * inst.w_cost
                mem_energy = mem_energy + e
        energy = mem_energy + self.acc.array.unit_energy * self.layer.total_macs

        # ---------- capacity check and double-buffer flags ----------
        indiv, eff = {}, {}
        for op in self.ops:
            chain = self.chains[op]
            indiv[op] = [pats[op]["bits"][m + 1] / chain[m].instance.size for m in range(self.n_mem[op])]
            eff[op] = [pats[op]["eff"][m + 1] / chain[m].instance.size for m in range(self.n_mem[op])]
            for u in indiv[op]:
                valid &= u <= 1
        eff_shared = {op: list(v) for op, v in eff.items()}
        for g in self._groups:
            members = [(op, i) for op, i in g if op is not None]
            u = sum(indiv[op][i] for op, i in members)
            ue = sum(eff[op][i] for op, i in members)
            if all(i != 0 for _, i in g):
                valid &= u <= 1
            for op, i in members:
                eff_shared[op][i] = ue
        db: dict[str, list] = {}
        for op in self.ops:
            f = [np.zeros(N, dtype=bool)]
            for m in range(self.n_mem[op]):
                first = eff_shared[op][m] <= 0.5
                second = ~first & (eff[op][m] <= 1 - eff_shared[op][m])
                f.append(first | second)
                for g in self._groups:
                    if (op, m) in g:
                        for o2, i2 in g:
                            if o2 is not None:
                                eff_shared[o2][i2] = eff_shared[o2][i2] + np.where(second, eff[op][m], 0.0)
                        break
            db[op] = f

        # ---------- latency (integer spatial mapping) ----------
        real, allowed = {}, {}
        for op in self.ops:
            chain = self.chains[op]
            for m in range(self.n_mem[op]):
                inst = chain[m].instance
                for d in ("tl", "fh", "fl", "th"):
                    amount, prec, period, count, window = pats_int[op]["t"][m][d]
                    bw = inst.r_bw if d in ("tl", "th") else inst.w_bw
                    real[(op, m, d)] = np.ceil(amount * prec / bw)
                    own = db[op][m] if d in ("tl", "fl") else db[op][m + 1]
                    allowed[(op, m, d)] = np.where(own, period, window)
        # every (operand, level, direction) transfer is one column; ports gather their columns
        keys = list(real)
        slot = {key: i for i, key in enumerate(keys)}
        ones = np.ones(N)
        R_all = np.stack([real[kk] * ones for kk in keys], axis=1)
        A_all = np.stack([allowed[kk] * ones for kk in keys], axis=1)
        PD_all = np.stack([pats_int[kk[0]]["t"][kk[1]][kk[2]][2] * ones for kk in keys], axis=1)
        PC_all = np.stack([pats_int[kk[0]]["t"][kk[1]][kk[2]][3] * ones for kk in keys], axis=1)
        ACT_all = PC_all != 0
        SS_all = np.where(ACT_all, (R_all - A_all) * (PC_all - 1), 0.0)
        MUW_all = np.where(ACT_all, A_all * (PC_all - 1), 0.0)
        ss_comb = np.zeros(N)
        for acts in self._ports:
            if not acts:
                continue
            ix = [slot[kk] for kk in acts]
            ACT = ACT_all[:, ix]
            ssi = SS_all[:, ix]
            n_act = ACT.sum(axis=1)
            single = ssi.sum(axis=1)
            if len(acts) > 1:
                union = self._muw_union(A_all[:, ix], PD_all[:, ix], ACT, total)
                muw = MUW_all[:, ix].sum(axis=1)
                pos_ = np.where(ssi > 0, ssi, 0.0).sum(axis=1)
                multi = pos_ + np.maximum(0, single - pos_ + muw - union)
                port_ss = np.where(n_act == 1, single, multi)
            else:
                port_ss = single
            ss_comb = np.maximum(ss_comb, np.where(n_act == 0, 0.0, port_ss))

        ins = self.layer.input_operands
        ind = {op: np.zeros(N) for op in ins}
        half = {op: np.zeros(N) for op in ins}
        sh = {op: np.zeros(N) for op in ins}
        for op in ins:
            for m in range(self.n_mem[op] - 1):
                e1, e2 = (op, m, "fh"), (op, m + 1, "tl")
                longest = np.maximum(real[e1], real[e2])
                s1, s2 = self._shared_port.get(e1, False), self._shared_port.get(e2, False)
                if s1 and s2:
                    sh[op] = sh[op] + longest
                elif not s1 and not s2:
                    ind[op] = ind[op] + longest
                else:
                    half[op] = longest * np.ones(N)
        if len(ins) == 1:
            loading = ind[ins[0]]
        else:
            a, b = ins[0], ins[1]
            p1 = sh[a] + np.maximum(sh[b] + half[b] + ind[b], half[a] + ind[a])
            p2 = sh[b] + np.maximum(sh[a] + half[a] + ind[a], half[b] + ind[b])
            loading = np.minimum(p1, p2)
        o = self.out
        n_o = self.n_mem[o]
        offloading = np.zeros(N)
        if n_o >= 2:
            offloading = np.maximum(real[(o, n_o - 2, "th")], real[(o, n_o - 1, "fl")]) * np.ones(N)
            for m in range(n_o - 3, -1, -1):
                offloading = offloading + self.chains[o][m + 1].instance.latency
        lat0 = total + ss_comb
        lat2 = lat0 + loading + offloading
        return BatchCosts(valid, energy, lat2, lat0, cut_arr)

    @staticmethod
    def _muw_union(A: np.ndarray, PD: np.ndarray, ACT: np.ndarray, total: int) -> np.ndarray:
        """Cycles covered by the union of periodic windows [0, A) mod PD of the active activities, over the run.

        Periods are prefix products of one loop nest, so each divides the next larger one. With the
        activities sorted by period, U_j (cover of one period p_j by activities 0..j) is
        a_j + (p_j / p_{j-1}) U_{j-1} - H_{j-1}(a_j), H_j(y) being the cover of [0, y).
        """
        N, k = A.shape
        a = np.where(ACT, A, 0).astype(np.int64)
        p = np.where(ACT, PD, 1).astype(np.int64)
        p = np.where(p <= 0, 1, p)
        full = (ACT & (A == PD)).any(axis=1)
        order = np.argsort(p, axis=1, kind="stable")
        a = np.take_along_axis(a, order, axis=1)
        p = np.take_along_axis(p, order, axis=1)
        U: list[np.ndarray] = []  # U[j]: covered cycles in one period p_j by activities 0..j
        K: list[np.ndarray] = []  # K[j]: cycles in [0, a_j) covered by activities 0..j-1

        def H(j: int, y: np.ndarray) -> np.ndarray:
            """Covered cycles in [0, y) by activities 0..j (periodic with p_j)."""
            if j < 0:
                return np.zeros_like(y)
            pj = p[:, j]
            x = y % pj
            inner = np.where(x <= a[:, j], x, a[:, j] + H(j - 1, x) - K[j]) if j else np.minimum(a[:, 0], x)
            return (y // pj) * U[j] + inner

        for j in range(k):
            K.append(H(j - 1, a[:, j]))
            U.append(a[:, j] + ((p[:, j] // p[:, j - 1]) * U[j - 1] if j else 0) - K[j])
        covered = U[-1] * (total // p[:, -1])
        return np.where(full, total, covered).astype(float)

    def _seq_pattern(self, factors: list, d: str, bounds: list[np.ndarray], S, DI, N: int, n: int) -> list[np.ndarray]:
        """Size of dim d up to each arch level a (loops of levels < a and unrollings of arch levels < a)."""
        mult = np.where(DI == self.dim_index.get(d, -1), S, 1).astype(float)
        cum = np.ones(N)
        snaps = [np.ones(N)] + [np.zeros(N) for _ in bounds]
        for j in range(n + 1):
            for a, b in enumerate(bounds):
                hit = b == j
                if not hit.any():
                    continue
                for x in factors[a].get(d, ()):
                    cum = np.where(hit, cum * x, cum)
                snaps[a + 1] = np.where(hit, cum, snaps[a + 1])
            if j < n:
                cum = cum * mult[:, j]
        return snaps

    def _patterns(self, sc: _SpatialConsts, merged: dict, ctx: tuple) -> dict:
        """Per operand: data bits and effective bits per arch level, and the transfers per memory level."""
        P, C, S, DI, total, rows, relmask, irmask, prev_not, last_ir_o, N, n = ctx
        out = {}
        prec_o, prec_of = self.layer.precision["O"], self.layer.precision["O_final"]

        def cp(op: str, m: int) -> np.ndarray:
            return np.zeros(N, dtype=np.int64) if m < 0 else merged[op][m]

        # output partial-sum flags F[a], a = 0..n_arch-1 (True = partial sums at that level)
        o = self.out
        n_arch_o = self.n_mem[o] + 1

        def G(a: int) -> np.ndarray:
            if a >= n_arch_o:
                return np.zeros(N, dtype=bool)
            tpos = cp(o, a - 2) if a >= 2 else np.zeros(N, dtype=np.int64)
            return (last_ir_o >= tpos) | sc.ir_from[a]

        F = [G(a + 1) for a in range(n_arch_o - 1)] + [np.zeros(N, dtype=bool)]

        for op in self.ops:
            n_mem = self.n_mem[op]
            n_arch = n_mem + 1
            pr_rel = prev_not(relmask[op])
            pr_irr = prev_not(irmask[op])
            top_r = [np.ones(N, dtype=np.int64)]
            top_ir = [np.ones(N, dtype=np.int64)]
            for i in range(n_mem):
                lo, hi = cp(op, i - 1), cp(op, i)
                st = np.maximum(pr_rel[rows, hi] + 1, lo)
                top_r.append(P[rows, hi] // P[rows, st])
                st = np.maximum(pr_irr[rows, hi] + 1, lo)
                top_ir.append(P[rows, hi] // P[rows, st])
            # sizes of pr dims with a fractional unrolling, multiplied in the scalar model's order
            # (loops of level 0, unrolling of arch level 0, loops of level 1, ...) before truncation
            seq: dict[str, list[np.ndarray]] = {}
            for r in self.prs[op]:
                for d in (r.dim_a, r.dim_b):
                    if d in sc.fractional[op]:
                        seq[d] = self._seq_pattern(sc.factors[op], d, [cp(op, a) for a in range(n_mem)], S, DI, N, n)
            elems = []
            for a in range(n_arch):
                at = cp(op, a - 1)
                spat = sc.cum[op][a]

                def cum(d: str):
                    if d in seq:
                        return seq[d][a]
                    base = spat.get(d, 1.0)
                    return base * C[d][rows, at] if d in C else base * np.ones(N)

                v = np.ones(N)
                for d in self.rel_dims[op]:
                    v = v * cum(d)
                for r in self.prs[op]:
                    v = v * _pr_extent_arr(r.coef_a, cum(r.dim_a), r.coef_b, cum(r.dim_b))
                elems.append(np.round(v).astype(np.int64))
            if op == o:
                prec = [np.where(F[a], prec_o, prec_of) for a in range(n_arch)]
            else:
                prec = [np.full(N, self.layer.precision[op])] * n_arch
            bits = [elems[a] * prec[a] for a in range(n_arch)]
            eff = [bits[a] // top_r[a] for a in range(n_arch)]
            cyc = [P[rows, cp(op, m - 1)] for m in range(n_arch)]
            cnt = [total // c for c in cyc]
            boost = sc.boost[op]
            zero = (0, 0, 0, 0, 0)
            t_all = []
            for m in range(n_mem):
                low = elems[m] * boost[m]
                high = elems[m + 1]
                t = {}
                if op != o:
                    p = self.layer.precision[op]
                    t["tl"] = (low, p, cyc[m], cnt[m], cyc[m] // top_ir[m])
                    t["fh"] = (high, p, cyc[m + 1], cnt[m + 1], cyc[m + 1] // top_ir[m + 1])
                    t["fl"] = zero
                    t["th"] = zero
                else:
                    fl_p = np.where(F[m], prec_o, prec_of)
                    th_p = np.where(F[m + 1], prec_o, prec_of)
                    t["fl"] = (low, fl_p, cyc[m], cnt[m], cyc[m] // top_ir[m])
                    t["th"] = (high, th_p, cyc[m + 1], cnt[m + 1], cyc[m + 1] // top_ir[m + 1])
                    fm = F[m]
                    t["tl"] = (
                        np.where(fm, low, 0),
                        np.where(fm, prec_o, 0),
                        np.where(fm, cyc[m], 0),
                        np.where(fm, cnt[m], 0),
                        np.where(fm, cyc[m] // top_ir[m], 0),
                    )
                    fh = F[m + 1]
                    t["fh"] = (
                        np.where(fh, high, 0),
                        np.where(fh, prec_o, 0),
                        np.where(fh, cyc[m + 1], 0),
                        np.where(fh, cnt[m + 1], 0),
                        np.where(fh, cyc[m + 1] // top_ir[m + 1], 0),
                    )
                t_all.append(t)
            if t_all:
                t_all[-1]["th"] = zero
                t_all[-1]["fh"] = zero
            out[op] = {"bits": bits, "eff": eff, "t": t_all}
        return out
