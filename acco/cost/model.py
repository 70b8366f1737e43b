"""The per-layer analytical cost model: memory word accesses, energy (pJ) and latency (cycles).

Energy uses the fractional spatial mapping, latency the integer one (ACCO/ZigZag convention).
The latency model is ACCO's (2022-era ZigZag): ideal temporal cycles + combined port stalls +
one-time on-loading + off-loading, see docs/references.md for how it differs from
ZigZag 3.9.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

import numpy as np

from acco.cost.patterns import DIRS, OperandPattern, build_patterns, total_cycles
from acco.hardware.models import Accelerator, MemoryLevel
from acco.mapping.spatial import SpatialMapping, spatial_mapping_for
from acco.mapping.temporal import TemporalMapping
from acco.model_versions import DEFAULT_MODEL, ZIGZAG_391, check_model, words_391
from acco.workload.layer import Layer

INPUT_MEM_OPS = ("I1", "I2")


class MappingDoesNotFit(ValueError):
    """A mapping asks a memory level to hold more than its capacity."""


@dataclass(frozen=True)
class Accesses:
    """Word accesses of one memory level for one operand, per direction."""

    tl: float
    fh: float
    fl: float
    th: float

    @property
    def reads(self) -> float:
        return self.tl + self.th

    @property
    def writes(self) -> float:
        return self.fh + self.fl


@dataclass(frozen=True)
class LayerCost:
    """Result of evaluating one layer under one mapping."""

    layer_id: int
    energy_total: float
    mac_energy: float
    mem_energy: float
    energy_per_level: dict[str, tuple[float, ...]]
    accesses: dict[str, tuple[Accesses, ...]]
    level_names: dict[str, tuple[str, ...]]
    ideal_cycle: int
    ideal_temporal_cycle: int
    stall_slack: float
    onloading: float
    offloading: float
    latency_total0: float
    latency_total1: float
    latency_total2: float
    double_buffer: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    mem_utilization: dict[str, tuple[float, ...]] = field(default_factory=dict)
    temporal_mapping: TemporalMapping | None = None
    #: output off-loading cycles per memory-level pair, lowest pair first (the reference's
    #: `data_offloading_cc_pair_combined[k][0]`); Step 2's DRAM off-load delta needs them
    offload_pairs: tuple[int, ...] = ()
    #: zigzag-3.9.1 only: cycles for the last results to leave a systolic array (in latency_total2)
    systolic_drain: int = 0
    #: the cost-model version that computed this cost (acco.model_versions)
    model: str = DEFAULT_MODEL

    @property
    def latency(self) -> float:
        return self.latency_total2

    @property
    def mac_utilization(self) -> float:
        return self.ideal_cycle / self.latency_total2 if self.latency_total2 else 0.0

    @property
    def spatial_utilization(self) -> float:
        return self.ideal_cycle / self.ideal_temporal_cycle if self.ideal_temporal_cycle else 0.0

    def as_dict(self) -> dict:
        """Plain-data view for JSON output."""
        return {
            "layer": self.layer_id,
            "energy_total_pJ": self.energy_total,
            "mac_energy_pJ": self.mac_energy,
            "mem_energy_pJ": self.mem_energy,
            "latency_cycles": self.latency_total2,
            "latency": {
                "ideal_cycle": self.ideal_cycle,
                "ideal_temporal_cycle": self.ideal_temporal_cycle,
                "stall_slack": self.stall_slack,
                "onloading": self.onloading,
                "offloading": self.offloading,
                "latency_total0": self.latency_total0,
                "latency_total1": self.latency_total1,
                "latency_total2": self.latency_total2,
            },
            "mac_utilization": self.mac_utilization,
            "spatial_utilization": self.spatial_utilization,
            "memory": {
                op: [
                    {
                        "level": name,
                        "energy_pJ": e,
                        "accesses": {"tl": a.tl, "fh": a.fh, "fl": a.fl, "th": a.th},
                    }
                    for name, e, a in zip(self.level_names[op], self.energy_per_level[op], self.accesses[op])
                ]
                for op in self.accesses
            },
            "temporal_mapping": self.temporal_mapping.as_dict() if self.temporal_mapping else None,
            # the default model's output is unchanged; another version says which and its extra term
            **({"model": self.model, "systolic_drain": self.systolic_drain} if self.model != DEFAULT_MODEL else {}),
        }


def _bw(level: MemoryLevel, d: str) -> tuple[int, int]:
    """(max, min) bandwidth of the port side used by direction d (reads: tl/th, writes: fh/fl)."""
    inst = level.instance
    return (inst.r_bw, inst.r_bw_min) if d in ("tl", "th") else (inst.w_bw, inst.w_bw_min)


def word_accesses(
    layer: Layer, acc: Accelerator, pats: dict[str, OperandPattern], model: str = DEFAULT_MODEL
) -> dict[str, tuple[Accesses, ...]]:
    """Word accesses per operand, level and direction (energy path, fractional spatial mapping).

    A transfer of b bits per period costs ceil(b / bw_min) * bw_min / bw_max words per instance;
    transfers towards the level below are also limited by the bandwidth on the other side
    (``zigzag-3.9.1``: no such limit, and whole words, `acco.model_versions.words_391`).
    """
    out: dict[str, tuple[Accesses, ...]] = {}
    for op, pat in pats.items():
        chain = acc.chain(layer.memory_operand_links[op])
        per: list[Accesses] = []
        for m in range(pat.n_mem):
            lv = chain[m]
            vals = {}
            for d in DIRS:
                t = pat.transfers[m][d]
                if t.amount == 0 or t.precision == 0 or t.count == 0:
                    vals[d] = 0.0
                    continue
                max_bw, min_bw = _bw(lv, d)
                if model == ZIGZAG_391:
                    vals[d] = words_391(t.amount, t.precision, t.count, max_bw, min_bw, pat.unit_count[m + 1])
                    continue
                per_cycle = t.amount
                cycles = 1
                if d in ("tl", "fl") and m > 0:
                    below = chain[m - 1].instance
                    other = (below.w_bw if d == "tl" else below.r_bw) * (
                        pat.unit_unique[m] / pat.unit_unique[m + 1]
                    )
                    per_cycle = min(other / t.precision, max_bw / t.precision, t.amount)
                    cycles = ceil(t.amount / per_cycle)
                vals[d] = (
                    ceil(per_cycle * t.precision / min_bw) * (min_bw / max_bw) * t.count * cycles * pat.unit_count[m + 1]
                )
            per.append(Accesses(vals["tl"], vals["fh"], vals["fl"], vals["th"]))
        out[op] = tuple(per)
    return out


def _sharing_groups(layer: Layer, acc: Accelerator) -> list[list[tuple[str | None, int]]]:
    """(layer operand, level index) pairs that share one physical memory, per memory with >1 operand."""
    mem_to_layer = {m: o for o, m in layer.memory_operand_links.items()}
    groups = []
    for lv in acc.levels:
        if len(lv.operands) < 2:
            continue
        groups.append([(mem_to_layer.get(mo), acc.chain(mo).index(lv)) for mo in lv.operands])
    return groups


def utilization(
    layer: Layer, acc: Accelerator, pats: dict[str, OperandPattern], check: bool = True
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[float]], dict[str, list[float]]]:
    """Individual/shared occupancy and effective occupancy of every level; raises if one overflows."""
    indiv, eff = {}, {}
    for op, pat in pats.items():
        chain = acc.chain(layer.memory_operand_links[op])
        indiv[op] = [pat.data_bits[m + 1] / chain[m].instance.size for m in range(pat.n_mem)]
        eff[op] = [pat.effective_bits[m + 1] / chain[m].instance.size for m in range(pat.n_mem)]
        if check:
            for m, u in enumerate(indiv[op]):
                if u > 1:
                    raise MappingDoesNotFit(
                        f"layer {layer.id}: operand {op} needs {pat.data_bits[m + 1]} bits at "
                        f"{chain[m].name} ({chain[m].instance.size} bits)"
                    )
    shared = {op: list(v) for op, v in indiv.items()}
    eff_shared = {op: list(v) for op, v in eff.items()}
    for g in _sharing_groups(layer, acc):
        members = [(op, i) for op, i in g if op is not None and op in pats]
        u = sum(indiv[op][i] for op, i in members)
        ue = sum(eff[op][i] for op, i in members)
        # reference behaviour: the check is skipped when the memory is some operand's innermost level
        if check and all(i != 0 for _, i in g) and u > 1:
            raise MappingDoesNotFit(f"layer {layer.id}: shared memory over-filled ({u:.3f} of capacity) by {members}")
        for op, i in members:
            shared[op][i] = u
            eff_shared[op][i] = ue
    return indiv, shared, eff, eff_shared


def _double_buffer(
    layer: Layer, acc: Accelerator, pats: dict[str, OperandPattern], eff: dict, eff_shared: dict
) -> dict[str, list[bool]]:
    """Per operand and arch level: may this level be refilled during the whole period (double-buffered)?"""
    groups = _sharing_groups(layer, acc)
    flags: dict[str, list[bool]] = {}
    for op in layer.operands:
        f = [False]
        for m in range(pats[op].n_mem):
            if eff_shared[op][m] <= 0.5:
                f.append(True)
            elif eff[op][m] <= 1 - eff_shared[op][m]:
                f.append(True)
                for g in groups:
                    if (op, m) in g:
                        for o2, i2 in g:
                            if o2 is not None and o2 in pats:
                                eff_shared[o2][i2] += eff[op][m]
                        break
            else:
                f.append(False)
        flags[op] = f
    return flags


def _muw_union(acts: list[tuple[int, int, int, int]]) -> int:
    """Union (cycles) of the periodic memory-updating windows of activities (real, allowed, period, count).

    Each activity may update during the first `allowed` cycles of every `period`; the windows are
    laid on one grid as long as the longest period and the covered cycles are counted.
    """
    for _, allowed, period, count in acts:
        if period == allowed:
            return period * count
    max_p = max(a[2] for a in acts)
    max_pc = next(a[3] for a in acts if a[2] == max_p)
    covered = np.zeros(max_p, dtype=bool)
    for _, allowed, period, _ in acts:
        if max_p % period == 0:
            covered.reshape(-1, period)[:, :allowed] = True
        else:  # periods of one loop nest divide each other; keep a general fallback anyway
            for start in range(0, max_p, period):
                covered[start : start + allowed] = True
    return int(covered.sum()) * max_pc


def transfer_cycles(
    layer: Layer, acc: Accelerator, pats_int: dict[str, OperandPattern], db: dict[str, list[bool]]
) -> tuple[dict[tuple[str, int, str], int], dict[tuple[str, int, str], int]]:
    """(real, allowed) cycles per period of every (operand, memory level, direction) transfer."""
    real: dict[tuple[str, int, str], int] = {}
    allowed: dict[tuple[str, int, str], int] = {}
    for op, pat in pats_int.items():
        chain = acc.chain(layer.memory_operand_links[op])
        for m in range(pat.n_mem):
            inst = chain[m].instance
            for d in DIRS:
                t = pat.transfers[m][d]
                bw = inst.r_bw if d in ("tl", "th") else inst.w_bw
                real[(op, m, d)] = ceil(t.amount * t.precision / bw)
                own = db[op][m] if d in ("tl", "fl") else db[op][m + 1]
                allowed[(op, m, d)] = t.period if own else t.window
    return real, allowed


def port_transfers(layer: Layer, acc: Accelerator) -> list[tuple[MemoryLevel, str, list[tuple[str, int, str]]]]:
    """Per physical port (level, port name): the (layer operand, level index, direction) transfers it carries."""
    mem_to_layer = {m: o for o, m in layer.memory_operand_links.items()}
    out = []
    for lv in acc.levels:
        for port in lv.instance.ports:
            served = []
            for mo in lv.operands:
                op = mem_to_layer.get(mo)
                if op is None:
                    continue
                m = acc.chain(mo).index(lv)
                served += [(op, m, d) for d, pname in lv.port_allocation.get(mo, {}).items() if pname == port.name]
            out.append((lv, port.name, served))
    return out


def stall_slack(
    layer: Layer, acc: Accelerator, pats_int: dict[str, OperandPattern], real: dict, allowed: dict
) -> float:
    """Stall / slack combined per physical port; ports work in parallel, so the worst port counts."""
    ss_list = [0.0]
    for _lv, _port, served in port_transfers(layer, acc):
        acts = []
        for op, m, d in served:
            t = pats_int[op].transfers[m][d]
            if t.count == 0:
                continue
            acts.append((real[(op, m, d)], allowed[(op, m, d)], t.period, t.count))
        if len(acts) == 1:
            r, a, _, pc = acts[0]
            ss_list.append((r - a) * (pc - 1))
        elif acts:
            union = _muw_union(acts)
            ss = [(r - a) * (pc - 1) for r, a, _, pc in acts]
            muw = sum(a * (pc - 1) for _, a, _, pc in acts)
            pos = sum(x for x in ss if x > 0)
            neg = sum(x for x in ss if x <= 0)
            ss_list.append(pos + max(0, neg + muw - union))
    return max(ss_list)


def combine_onloading(layer: Layer, pats_int: dict[str, OperandPattern], acc: Accelerator, cc: dict) -> float:
    """On-loading cycles from the per-transfer loading cycles `cc`: per input operand, pairs (level m
    written from high, level m+1 read to low), split by whether their ports are shared by both inputs."""
    mem_to_layer = {m: o for o, m in layer.memory_operand_links.items()}
    shared_port: dict[tuple[str, int, str], bool] = {}
    for lv in acc.levels:
        for port in lv.instance.ports:
            served = [(mo, d) for mo in lv.operands for d, p in lv.port_allocation.get(mo, {}).items() if p == port.name]
            is_shared = len({mo for mo, _ in served if mo in INPUT_MEM_OPS}) > 1
            for mo, d in served:
                op = mem_to_layer.get(mo)
                if op is not None:
                    shared_port[(op, acc.chain(mo).index(lv), d)] = is_shared
    indiv = {op: 0 for op in layer.input_operands}
    half = {op: 0 for op in layer.input_operands}
    shared = {op: 0 for op in layer.input_operands}
    for op in layer.input_operands:
        for m in range(pats_int[op].n_mem - 1):
            e1, e2 = (op, m, "fh"), (op, m + 1, "tl")
            longest = max(cc[e1], cc[e2])
            s1, s2 = shared_port.get(e1, False), shared_port.get(e2, False)
            if s1 and s2:
                shared[op] += longest
            elif not s1 and not s2:
                indiv[op] += longest
            else:
                half[op] = longest  # reference quirk: overwritten, not accumulated
    ins = layer.input_operands
    if len(ins) == 1:
        return indiv[ins[0]]
    a, b = ins[0], ins[1]
    p1 = shared[a] + max(shared[b] + half[b] + indiv[b], half[a] + indiv[a])
    p2 = shared[b] + max(shared[a] + half[a] + indiv[a], half[b] + indiv[b])
    return min(p1, p2)


def latency(
    layer: Layer, acc: Accelerator, pats_int: dict[str, OperandPattern], db: dict[str, list[bool]]
) -> tuple[float, float, float, tuple[int, ...]]:
    """(stall/slack, on-loading, off-loading, off-loading per level pair) cycles with the integer spatial mapping."""
    real, allowed = transfer_cycles(layer, acc, pats_int, db)
    ss_comb = stall_slack(layer, acc, pats_int, real, allowed)
    loading = combine_onloading(layer, pats_int, acc, real)

    # off-loading: the top pair in full; each lower pair adds only its middle memory's latency
    # (the reference's port-sharing test can never be true, so this is what it computes)
    o = layer.output_operand
    chain_o = acc.chain(layer.memory_operand_links[o])
    n_o = pats_int[o].n_mem
    offloading = 0
    pairs = tuple(max(real[(o, m, "th")], real[(o, m + 1, "fl")]) for m in range(n_o - 1))
    if n_o >= 2:
        offloading = max(real[(o, n_o - 2, "th")], real[(o, n_o - 1, "fl")])
        for m in range(n_o - 3, -1, -1):
            offloading += chain_o[m + 1].instance.latency
    return ss_comb, loading, offloading, pairs


def evaluate(
    layer: Layer,
    acc: Accelerator,
    temporal: TemporalMapping,
    spatial: SpatialMapping | None = None,
    model: str = DEFAULT_MODEL,
) -> LayerCost:
    """Cost of one layer under one spatial + temporal mapping (ACCO's per-layer model).

    ``model`` names the cost-model version (`acco.model_versions`: acco-2022, the default, or zigzag-3.9.1).
    """
    check_model(model)
    spatial = spatial or spatial_mapping_for(layer, acc)
    pats = build_patterns(layer, spatial, temporal, model)
    # latency uses the rounded-up spatial mapping; with no fractional unrolling it is this one
    # (zigzag-3.9.1: truncated, as ZigZag 3.9.1's integer mapping)
    pats_int = pats if spatial.is_integer() else build_patterns(layer, spatial.integer(model == ZIGZAG_391), temporal, model)
    acc_words = word_accesses(layer, acc, pats, model)
    indiv, _shared, eff, eff_shared = utilization(layer, acc, pats)
    db = _double_buffer(layer, acc, pats, eff, eff_shared)

    energy_per_level: dict[str, tuple[float, ...]] = {}
    names: dict[str, tuple[str, ...]] = {}
    mem_energy = 0.0
    for op, per in acc_words.items():
        chain = acc.chain(layer.memory_operand_links[op])
        es = []
        for a, lv in zip(per, chain):
            e = a.reads * lv.instance.r_cost + a.writes * lv.instance.w_cost
            es.append(e)
            mem_energy += e
        energy_per_level[op] = tuple(es)
        names[op] = tuple(lv.name for lv in chain[: len(per)])
    mac_energy = acc.array.unit_energy * layer.total_macs

    drain = 0
    if model == ZIGZAG_391:
        from acco.cost.latency391 import latency_391, systolic_drain

        ss, load, off, pairs = latency_391(layer, acc, pats_int, db, total_cycles(layer, temporal))
        drain = systolic_drain(acc, spatial)
    else:
        ss, load, off, pairs = latency(layer, acc, pats_int, db)
    ideal = ceil(layer.total_macs / acc.array.total_units)
    ideal_t = 1
    for lv in temporal.levels[layer.operands[0]]:
        for _, s in lv:
            ideal_t *= s
    l0 = ideal_t + ss
    return LayerCost(
        layer_id=layer.id,
        energy_total=mem_energy + mac_energy,
        mac_energy=mac_energy,
        mem_energy=mem_energy,
        energy_per_level=energy_per_level,
        accesses=acc_words,
        level_names=names,
        ideal_cycle=ideal,
        ideal_temporal_cycle=ideal_t,
        stall_slack=ss,
        onloading=load,
        offloading=off,
        latency_total0=l0,
        latency_total1=l0 + load,
        latency_total2=l0 + load + off + drain,
        double_buffer={op: tuple(v) for op, v in db.items()},
        mem_utilization={op: tuple(v) for op, v in indiv.items()},
        temporal_mapping=temporal,
        offload_pairs=pairs,
        systolic_drain=drain,
        model=model,
    )
