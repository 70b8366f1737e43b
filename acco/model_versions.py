"""The two named versions of the per-layer cost model, and the small rules that tell them apart.

``acco-2022`` (the default) is the original ACCO's model (a 2022-era ZigZag): every result of the
project is computed with it. ``zigzag-3.9.1`` is today's ZigZag (zigzag-dse 3.9.1): the same
formulas except for the rules below, each documented with an example in docs/model_versions.md.

Energy rules of ``zigzag-3.9.1`` (the original's behaviour in brackets):

* ``pr_trunc``: the input extent along a partially relevant dim (IX = s*OX + FX) is computed
  from the *truncated* cumulative loop sizes and clipped to the layer's input size (the original
  truncates the result of the fractional formula);
* ``port_cycles``: a transfer to/from the level below bills ceil(bits / bw_min) * bw_min / bw_max
  words per period (the original limits the elements per cycle by the other side's port and
  bills whole cycles);
* ``int_words``: every word count is truncated to an integer (the original keeps fractions);
* ``mac_stationarity``: an input's innermost level is read once per MAC-level stationary run
  (the product of the irrelevant loops at its bottom), not once per cycle;
* ``alloc_precision`` (and ``pr_trunc`` in the allocator's tile sizes): the allocator bills the output at psum precision at a level while an
  unallocated temporal *or a spatial loop above the level* is irrelevant to it (the original
  looks at the unallocated temporal loops only).

Latency: ``zigzag-3.9.1`` uses ZigZag 3.9.1's latency model (``acco.cost.latency391``).
"""

from __future__ import annotations

from math import gcd
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acco.workload.layer import Layer

ACCO_2022 = "acco-2022"
ZIGZAG_391 = "zigzag-3.9.1"
#: the model versions, the default first
MODELS: tuple[str, ...] = (ACCO_2022, ZIGZAG_391)
DEFAULT_MODEL = ACCO_2022


def check_model(model: str) -> str:
    """The model name if it is one of :data:`MODELS`; ValueError naming the choices otherwise."""
    if model not in MODELS:
        raise ValueError(f"unknown cost model {model!r}; choose one of: {', '.join(MODELS)}")
    return model


def truncated_pr_extent(sa: int, a: float, sb: int, b: float, cap: int | None) -> int:
    """``pr_trunc``: extent s_a*a + s_b*b - ... from int()-truncated cumulative sizes, clipped to ``cap``.

    Stride 2 (sa = 2, sb = 1), OX 3.5 and FX 3: int sizes 3 and 3 give 3*3 - (3-2)*(3-1) = 7
    (the original's fractional formula gives int(3.5*3 - 1*2.5) = 8).
    """
    a_i, b_i = int(a), int(b)
    g = gcd(sa, sb)
    size = a_i * b_i - max(0, b_i - sa // g) * (a_i - sb // g)
    return size if cap is None else min(size, cap)


def psum_dims_391(unallocated: list[tuple[str, float]], spatial_above: list[tuple[str, float]], ir_out: set[str]) -> bool:
    """``alloc_precision``: is O still a partial sum, given the unallocated temporal loops and the
    spatial loops above the level? (ZigZag 3.9.1 counts both; the original only the former.)"""
    return any(d in ir_out and s > 1 for d, s in unallocated) or any(d in ir_out and s > 1 for d, s in spatial_above)


def port_words_391(amount: float, precision: int, count: int, max_bw: int, min_bw: int, units: float) -> float:
    """``port_cycles``: ZigZag 3.9.1's words of one transfer before ``int_words``,
    ceil(amount * precision / bw_min) * bw_min / bw_max * count * units (no other-side limit, no whole cycles)."""
    if amount == 0 or precision == 0 or count == 0:
        return 0.0
    return -(-(amount * precision) // min_bw) * (min_bw / max_bw) * count * units


def words_391(amount: float, precision: int, count: int, max_bw: int, min_bw: int, units: float) -> float:
    """``port_cycles`` + ``int_words``: ZigZag 3.9.1's word accesses of one transfer.

    E.g. 392 elements of 8 b into a 1,024-b port with bw_min 64, once on 1 instance:
    int(ceil(3,136 / 64) * 64 / 1,024) = int(3.0625) = 3.
    """
    return float(int(port_words_391(amount, precision, count, max_bw, min_bw, units)))


def tile_elements_391(layer: "Layer", op: str, sizes: dict[str, float], full: dict[str, int]) -> float:
    """The allocator's tile size (elements) under ``pr_trunc``: relevant loop sizes as they are
    (fractional spatial unrollings included), pr extents from truncated sizes clipped to ``full``
    (the layer's extent per input dim). ZigZag 3.9.1's ``calc_tensor_size``; acco-2022 rounds every
    size up. E.g. I of a stride-2 3x3 layer with C 128, OY 3.5, FY 3, OX 1, FX 1: 128 x 7 x 1 = 896."""
    n: float = 1.0
    for d in layer.relevant_dims(op):
        n *= sizes.get(d, 1)
    for r in layer.pr_relations(op):
        n *= truncated_pr_extent(r.coef_a, sizes.get(r.dim_a, 1), r.coef_b, sizes.get(r.dim_b, 1), full.get(r.data_dim))
    return n
