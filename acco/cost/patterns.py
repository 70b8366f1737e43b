"""Per-operand data-movement patterns of one mapping (hardware-unaware part of the cost model).

For every layer operand and memory level this derives, from the spatial and temporal mapping,
the tile sizes held per instance, the partial-sum flags, and for each of the four directions
(tl, fh, fl, th) the amount moved per period, the period, the period count and the
"instantaneous" window. It follows the per-layer model of ACCO's ZigZag (docs/references.md), including its index conventions, so the numbers match the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from acco.mapping.spatial import SpatialMapping
from acco.mapping.temporal import TemporalMapping
from acco.model_versions import DEFAULT_MODEL, ZIGZAG_391, check_model, truncated_pr_extent
from acco.workload.layer import Layer, pr_extent

DIRS = ("tl", "fh", "fl", "th")


@dataclass
class Transfer:
    """One direction at one memory level: elements per period, precision, period, count, window."""

    amount: float = 0.0
    precision: int = 0
    period: int = 0
    count: int = 0
    window: int = 0


@dataclass
class OperandPattern:
    """Everything the energy and latency formulas need for one layer operand."""

    n_mem: int
    unit_count: list[float]  # per arch level: instances (all spatial loops at levels >= a)
    unit_unique: list[float]  # per arch level: instances holding distinct data
    data_elem: list[int]  # per arch level: elements held by one instance
    data_bits: list[int]  # per arch level: bits held by one instance
    effective_bits: list[int]  # per arch level: data_bits // top relevant loops
    transfers: list[dict[str, Transfer]]  # per memory level: direction -> Transfer
    top_r: list[int]
    top_ir: list[int]


def _stationary(layer: Layer, op: str, levels: tuple[tuple[tuple[str, int], ...], ...]) -> list[list[tuple[str, int]]]:
    """Merge the innermost irrelevant loops of each level down to the level below, until stable."""
    ir = set(layer.irrelevant_dims(op))
    cur = [list(lv) for lv in levels]
    while True:
        nxt: list[list[tuple[str, int]]] = [[] for _ in cur]
        for i, loops in enumerate(cur):
            k = 0
            while k < len(loops) and loops[k][0] in ir:
                k += 1
            if i == 0:
                nxt[0].extend(loops)
            else:
                nxt[i - 1].extend(loops[:k])
                nxt[i].extend(loops[k:])
        if nxt == cur:
            return cur
        cur = nxt


def full_pr_extents(layer: Layer) -> dict[str, int]:
    """The layer's input extent (without padding) per pr data dim (IX, IY): ``pr_trunc``'s clip."""
    return {
        r.data_dim: r.extent(layer.size(r.dim_a), layer.size(r.dim_b)) - sum(layer.padding.get(r.data_dim, (0, 0)))
        for r in layer.relations
    }


def _decouple(
    layer: Layer, op: str, levels: list[list[tuple[str, float]]], model: str = DEFAULT_MODEL
) -> list[list[tuple[str, float]]]:
    """Replace each pr loop (e.g. OX, FX feeding IX) by an (IX_r, growth) and an (IX_ir, reuse) loop."""
    rels = layer.pr_relations(op)
    if not rels:
        return levels
    full = full_pr_extents(layer) if model == ZIGZAG_391 else None
    owner = {}
    for r in rels:
        owner[r.dim_a] = r
        owner[r.dim_b] = r
    cum = {r.data_dim: {r.dim_a: 1.0, r.dim_b: 1.0} for r in rels}
    prev = {r.data_dim: (1.0, 1.0) for r in rels}
    out: list[list[tuple[str, float]]] = []
    for loops in levels:
        new: list[tuple[str, float]] = []
        for d, s in loops:
            r = owner.get(d)
            if r is None:
                new.append((d, s))
                continue
            c = cum[r.data_dim]
            c[d] *= s
            a, b = c[r.dim_a], c[r.dim_b]
            if full is None:
                data = pr_extent(r.coef_a, a, r.coef_b, b)  # uncapped float sizes, truncated as the reference does
            else:  # pr_trunc (zigzag-3.9.1)
                data = truncated_pr_extent(r.coef_a, a, r.coef_b, b, full.get(r.data_dim))
            reuse = (a * b) / data
            pd, pr_ = prev[r.data_dim]
            new.append((r.data_dim + "_r", data / pd))
            new.append((r.data_dim + "_ir", reuse / pr_))
            prev[r.data_dim] = (data, reuse)
        out.append(new)
    return out


def _reform_sets(layer: Layer, op: str) -> tuple[set[str], set[str]]:
    """Relevant / irrelevant loop names after pr decoupling (IX_r relevant, IX_ir irrelevant)."""
    r = set(layer.relevant_dims(op))
    ir = set(layer.irrelevant_dims(op))
    if layer.pr_relations(op):
        for rel in layer.relations:
            r.add(rel.data_dim + "_r")
            ir.add(rel.data_dim + "_ir")
    return r, ir


def _prod(xs) -> float:
    return prod(xs) if xs else 1


def mac_stationarity(layer: Layer, op: str, stationary: list[list[tuple[str, int]]]) -> int:
    """Cycles an input stays at the MAC: product of the irrelevant loops at the bottom of its innermost level."""
    ir = set(layer.irrelevant_dims(op))
    n = 1
    for d, s in stationary[0] if stationary else []:
        if d not in ir:
            break
        n *= s
    return n


def build_patterns(
    layer: Layer, spatial: SpatialMapping, temporal: TemporalMapping, model: str = DEFAULT_MODEL
) -> dict[str, OperandPattern]:
    """Derive the per-operand, per-level transfer patterns of one (spatial, temporal) mapping.

    ``model`` (acco.model_versions): ``zigzag-3.9.1`` applies ``pr_trunc`` and ``mac_stationarity``.
    """
    check_model(model)
    ops = layer.operands
    out_op = layer.output_operand
    st = {op: _stationary(layer, op, temporal.levels[op]) for op in ops}
    cycle_cabl = {op: [prod(s for _, s in lp) for lp in st[op]] for op in ops}
    for op in ops:
        for i in range(1, len(cycle_cabl[op])):
            cycle_cabl[op][i] *= cycle_cabl[op][i - 1]
    total_cycle = cycle_cabl[ops[0]][-1]

    # top relevant / irrelevant loop products per arch level (index 0 = MAC level)
    top_r: dict[str, list[int]] = {}
    top_ir: dict[str, list[int]] = {}
    for op in ops:
        rel = set(layer.relevant_dims(op))
        irr = set(layer.irrelevant_dims(op))
        tr = [1] * (len(st[op]) + 1)
        ti = [1] * (len(st[op]) + 1)
        for i, loops in enumerate(st[op]):
            for d, s in reversed(loops):
                if d not in rel:
                    break
                tr[i + 1] *= s
            for d, s in reversed(loops):
                if d not in irr:
                    break
                ti[i + 1] *= s
        top_r[op], top_ir[op] = tr, ti

    pats: dict[str, OperandPattern] = {}
    # psum flags of the output (per memory level, plus a trailing False)
    sm_o = spatial.levels[out_op]
    n_arch_o = len(sm_o)
    tmx_o = [[]] + st[out_op] + [[]]
    c11_o = _decouple(layer, out_op, [list(tmx_o[a]) + list(sm_o[a]) for a in range(n_arch_o)], model)
    _, ir_o = _reform_sets(layer, out_op)
    ir_flag = [any(d in ir_o and s > 1 for d, s in lv) for lv in c11_o]
    psum_l2h = [any(ir_flag[a:]) for a in range(n_arch_o)]
    psum_flag = psum_l2h[1:] + [False]

    for op in ops:
        sm = spatial.levels[op]
        n_arch = len(sm)
        n_mem = n_arch - 1
        tmx = [[]] + st[op] + [[]]
        c11 = _decouple(layer, op, [list(tmx[a]) + list(sm[a]) for a in range(n_arch)], model)
        c12_raw = [[]] + [list(tmx[a + 1]) + list(sm[a]) for a in range(n_arch)]
        c12 = _decouple(layer, op, c12_raw, model)
        r_set, ir_set = _reform_sets(layer, op)
        sm_dec = _decouple(layer, op, [list(x) for x in sm], model)

        unroll_r = [_prod([s for d, s in lv if d in r_set]) for lv in sm_dec]
        unroll_t = [_prod([s for _, s in lv]) for lv in sm_dec]
        unit_count = [round(_prod(unroll_t[a:])) for a in range(n_arch)]
        unit_unique = [_prod(unroll_r[a:]) for a in range(n_arch)]
        boost = [int(unit_unique[a] / unit_unique[a + 1]) for a in range(n_arch - 1)] + [1]

        r2 = [_prod([s for d, s in c12[a] if d in r_set]) for a in range(n_arch)]
        r_cabl2 = [round(_prod(r2[: a + 1])) for a in range(n_arch)]
        ir1 = [_prod([s for d, s in c11[a] if d in ir_set]) for a in range(n_arch)]

        if op == out_op:
            prec = [layer.precision["O"] if psum_flag[a] else layer.precision["O_final"] for a in range(n_arch)]
        else:
            prec = [layer.precision[op]] * n_arch
        data_elem = [round(r_cabl2[a]) for a in range(n_arch)]
        data_bits = [data_elem[a] * prec[a] for a in range(n_arch)]
        eff_bits = [data_bits[a] // top_r[op][a] for a in range(n_arch)]

        cyc = [1] + cycle_cabl[op]
        transfers: list[dict[str, Transfer]] = []
        if op == out_op:
            o_size = layer.operand_size(op)
            caal = [_prod(ir1[a:n_arch]) for a in range(n_arch)] + [1, 1]
        for m in range(n_mem):
            t = {d: Transfer() for d in DIRS}
            low_amount = data_elem[m] * boost[m]
            high_amount = data_elem[m + 1]
            if op != out_op:
                p = layer.precision[op]
                t["tl"] = Transfer(low_amount, p, cyc[m], total_cycle // cyc[m])
                if m == 0 and model == ZIGZAG_391:  # mac_stationarity: one read per stationary run
                    stat = mac_stationarity(layer, op, st[op])
                    t["tl"] = Transfer(low_amount, p, stat, total_cycle // stat)
                t["fh"] = Transfer(high_amount, p, cyc[m + 1], total_cycle // cyc[m + 1])
            else:
                psum_low = o_size * (caal[m + 1] - 1) != 0
                psum_high = o_size * (caal[m + 2] - 1) != 0
                p_o, p_f = layer.precision["O"], layer.precision["O_final"]
                fl_p = p_o if psum_low else p_f
                tl_p = p_o if psum_low else 0
                fh_p = p_o if psum_high else 0
                th_p = p_o if psum_high else p_f
                t["fl"] = Transfer(low_amount, fl_p, cyc[m], total_cycle // cyc[m])
                t["th"] = Transfer(high_amount, th_p, cyc[m + 1], total_cycle // cyc[m + 1])
                if psum_flag[m]:
                    t["tl"] = Transfer(low_amount, tl_p, cyc[m], total_cycle // cyc[m])
                else:
                    t["tl"] = Transfer(0, tl_p, 0, 0)
                if psum_flag[m + 1]:
                    t["fh"] = Transfer(high_amount, fh_p, cyc[m + 1], total_cycle // cyc[m + 1])
                else:
                    t["fh"] = Transfer(0, fh_p, 0, 0)
            for d in ("tl", "fl"):
                t[d].window = t[d].period // top_ir[op][m]
            for d in ("th", "fh"):
                t[d].window = t[d].period // top_ir[op][m + 1]
            transfers.append(t)
        # traffic between the top memory and the outside world is not modelled
        transfers[-1]["th"] = Transfer()
        transfers[-1]["fh"] = Transfer()
        pats[op] = OperandPattern(
            n_mem=n_mem,
            unit_count=unit_count,
            unit_unique=unit_unique,
            data_elem=data_elem,
            data_bits=data_bits,
            effective_bits=eff_bits,
            transfers=transfers,
            top_r=top_r[op],
            top_ir=top_ir[op],
        )
    return pats


def total_cycles(layer: Layer, temporal: TemporalMapping) -> int:
    """Product of all temporal loops (the same for every operand)."""
    op = layer.operands[0]
    return prod(s for lv in temporal.levels[op] for _, s in lv)
