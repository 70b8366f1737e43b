"""ZigZag 3.9.1's latency model (cost model version ``zigzag-3.9.1``, `acco.model_versions`).

Ideal cycles and the combined stall/slack are the original's (`acco.cost.model.stall_slack`). What
differs from ``acco-2022``:

* **loading during computation**: on every port, a transfer that happens once (period count 1) may
  use the port's spare bandwidth during the computation, ``(bw - Σ average bandwidth of the port's
  other transfers) / bw × (temporal cycles + stall)`` cycles in all, given to the longest such
  transfers first, each down to at least one tile of its operand's innermost arch level
  (``ceil(bits / bw)``). Only the remaining cycles are on/off-loading;
* **off-loading in series**: the output's level pairs add up (the original adds the top pair and the
  middle memories' latencies);
* **systolic drain**: along each systolic array dimension the last results need one cycle per unit
  to leave the array, ``Σ (unrolling - 1)``.
"""

from __future__ import annotations

from math import ceil

from acco.cost.model import combine_onloading, port_transfers, stall_slack, transfer_cycles
from acco.cost.patterns import OperandPattern
from acco.hardware.models import Accelerator
from acco.mapping.spatial import SpatialMapping
from acco.workload.layer import Layer


def reduce_ordered(cycles: list[float], floors: list[float], surplus: float) -> list[float]:
    """Lower the largest `cycles` first (ties: the earlier one) towards their `floors`, by `surplus` in all.

    E.g. cycles [4096, 10], floors [1, 1], surplus 4100: [1, 5] (4,095 from the first, 5 from the second).
    """
    out = list(cycles)
    if surplus <= 0:
        return out
    for i in sorted(range(len(out)), key=lambda k: out[k], reverse=True):
        if surplus <= 0:
            break
        cut = min(max(0.0, out[i] - floors[i]), surplus)
        out[i] -= cut
        surplus -= cut
    return out


def _avg_bandwidth(pat: OperandPattern, m: int, d: str) -> int:
    """Average bits/cycle a transfer needs over the computation (int-truncated, as ZigZag 3.9.1 does)."""
    t = pat.transfers[m][d]
    a = m if d in ("tl", "fl") else m + 1  # the arch level whose tile moves
    prec = pat.data_bits[a] // pat.data_elem[a] if pat.data_elem[a] else 0
    return int(t.amount * prec / t.period) if t.period else 0


def _port_bw(level, port_name: str) -> int:
    """Max bandwidth of one port (a read port: the read width, else the write width)."""
    kind = next(p.kind for p in level.instance.ports if p.name == port_name)
    return level.instance.r_bw if kind == "read" else level.instance.w_bw


def latency_391(
    layer: Layer, acc: Accelerator, pats_int: dict[str, OperandPattern], db: dict[str, list[bool]], temporal_cycles: int
) -> tuple[float, float, float, tuple[float, ...]]:
    """(stall/slack, on-loading, off-loading, off-loading per level pair) cycles, ZigZag 3.9.1's model."""
    real, allowed = transfer_cycles(layer, acc, pats_int, db)
    ss_comb = stall_slack(layer, acc, pats_int, real, allowed)
    o = layer.output_operand
    computation = temporal_cycles + ss_comb
    cc: dict[tuple[str, int, str], float] = dict(real)
    for lv, port_name, served in port_transfers(layer, acc):
        once, many = [], []
        for op, m, d in served:
            if op == o and d in ("tl", "fh"):  # partial sums do not flow in the final off-loading
                continue
            count = pats_int[op].transfers[m][d].count
            if count == 1:
                once.append((op, m, d))
            elif count > 1:
                many.append((op, m, d))
        if not once:
            continue
        bw = _port_bw(lv, port_name)
        busy = sum(_avg_bandwidth(pats_int[op], m, d) for op, m, d in many)
        surplus = max(0.0, (bw - busy) / bw * computation)
        floors = [ceil(pats_int[op].data_bits[1] / bw) for op, _, _ in once]
        left = reduce_ordered([real[k] for k in once], floors, surplus)
        for k, c in zip(once, left):
            cc[k] = c
    loading = combine_onloading(layer, pats_int, acc, cc)
    n_o = pats_int[o].n_mem
    pairs = tuple(max(cc[(o, m, "th")], cc[(o, m + 1, "fl")]) for m in range(n_o - 1))
    return ss_comb, loading, sum(pairs), pairs


def systolic_drain(acc: Accelerator, spatial: SpatialMapping) -> int:
    """Cycles for the last results to leave the array: Σ over systolic dims of (unrolling - 1), unrolling rounded up.

    E.g. a 32 x 32 array with both dims systolic and unrolled 32 and 32: 31 + 31 = 62.
    """
    dims = getattr(acc.array, "systolic_dimensions", ())
    total = 0
    for dim in dims:
        u = 1.0
        for a, _d, s in spatial.unrolling:
            if a == dim:
                u *= s
        total += max(ceil(round(u, 9)) - 1, 0)
    return total
