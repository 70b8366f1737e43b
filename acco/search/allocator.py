"""LOMA's memory allocator: place the loops of one ordering bottom-up into each operand's memories.

At every memory level (visited in hardware-file order, i.e. bottom-up per operand) each operand
stored there may take a prefix of its still unallocated loops; the combination of prefixes that
fits the capacity and minimises the traffic to the level above (remaining iterations x tile bits)
wins, ties going to the later combination (so more loops are allocated). At an operand's top
level everything left is taken. When no combination fits, nothing is allocated at that level, not
even for an operand whose top level it is, so that ordering does not fit (ACCO's
`find_best_loop_combination` keeps `[0, ...]`). This follows ACCO's LOMA allocator (docs/references.md).
"""

from __future__ import annotations

from math import ceil, prod

from acco.cost.patterns import full_pr_extents
from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator
from acco.mapping.spatial import SpatialMapping
from acco.mapping.temporal import TemporalMapping
from acco.model_versions import DEFAULT_MODEL, ZIGZAG_391, check_model, tile_elements_391
from acco.workload.layer import Layer


class DoesNotFit(Exception):
    """The ordering (or even the spatial tile) does not fit the memory hierarchy."""


def _tile_bits(
    layer: Layer, op: str, loops: list[tuple[str, float]], precision: int, full: dict[str, int] | None = None
) -> float:
    """Bits of `op`'s tile spanned by `loops`; `full` given (zigzag-3.9.1): ZigZag 3.9.1's tile size."""
    sizes: dict[str, float] = {}
    for d, s in loops:
        sizes[d] = sizes.get(d, 1) * s
    if full is not None:
        return tile_elements_391(layer, op, sizes, full) * precision
    return layer.tensor_size(op, {d: ceil(v) for d, v in sizes.items()}) * precision


def allocate(
    layer: Layer,
    acc: Accelerator,
    spatial: SpatialMapping,
    ordering: list[tuple[str, int]] | tuple,
    model: str = DEFAULT_MODEL,
) -> TemporalMapping:
    """Allocate one loop ordering (innermost first) to the memory levels; DoesNotFit if impossible.

    ``zigzag-3.9.1`` (``alloc_precision``): O is stored at psum precision while an unallocated temporal
    loop or a spatial loop above the level is irrelevant to it (acco-2022: temporal loops only).
    """
    check_model(model)
    full = full_pr_extents(layer) if model == ZIGZAG_391 else None
    mem_to_layer = {m: o for o, m in layer.memory_operand_links.items()}
    ir_out = set(layer.irrelevant_dims(layer.output_operand))
    unalloc = {op: list(ordering) for op in layer.operands}
    alloc: dict[str, list[tuple[str, float]]] = {op: list(spatial.levels[op][0]) for op in layer.operands}
    level_no = {op: 0 for op in layer.operands}
    result: dict[str, list[tuple[tuple[str, int], ...]]] = {op: [] for op in layer.operands}
    tops = {op: acc.top_level(layer.memory_operand_links[op]) for op in layer.operands}

    for lv in acc.levels:
        ops = [mem_to_layer[mo] for mo in lv.operands if mo in mem_to_layer]
        if not ops:
            continue
        cap = lv.instance.size
        sizes: dict[str, list[int]] = {}
        for op in ops:
            if op == layer.output_operand:
                psum = any(d in ir_out for d, _ in unalloc[op])
                if model == ZIGZAG_391:  # alloc_precision: spatial loops above this level count too
                    psum = psum or any(d in ir_out for lvl in spatial.levels[op][level_no[op] + 1 :] for d, _ in lvl)
                prec = layer.precision["O"] if psum else layer.precision["O_final"]
            else:
                prec = layer.precision[op]
            s: list[int] = []
            for i in range(len(unalloc[op]) + 1):
                b = _tile_bits(layer, op, alloc[op] + unalloc[op][:i], prec, full)
                if b > cap:
                    if i == 0:
                        raise DoesNotFit(f"{op} tile of {b} bits exceeds {lv.name} ({cap} bits)")
                    break
                s.append(b)
            sizes[op] = s
        offset = {op: 0 for op in ops}
        accesses: dict[str, list[float]] = {}
        for op in ops:
            if lv is tops[op] or lv == tops[op]:
                offset[op] = len(sizes[op]) - 1
                sizes[op] = [sizes[op][-1]]
                accesses[op] = [0]
            else:
                accesses[op] = [prod(s for _, s in unalloc[op][i:]) * b for i, b in enumerate(sizes[op])]
        counts = [len(sizes[op]) for op in ops]
        best = None
        best_acc = float("inf")
        for idx in _combinations(counts):
            if sum(sizes[op][k] for op, k in zip(ops, idx)) > cap:
                continue
            a = sum(accesses[op][k] for op, k in zip(ops, idx))
            if a <= best_acc:
                best_acc, best = a, idx
        if best is None:
            # reference behaviour: no combination fits, so nothing is allocated here, not even at an
            # operand's top level (its loops then remain and the ordering does not fit)
            best = tuple(0 for _ in ops)
            offset = {op: 0 for op in ops}
        for op, k in zip(ops, best):
            n = k + offset[op]
            taken = unalloc[op][:n]
            del unalloc[op][:n]
            alloc[op] += taken
            result[op].append(tuple((d, int(s)) for d, s in taken))
            level_no[op] += 1
            alloc[op] += list(spatial.levels[op][level_no[op]])
            if (lv is tops[op] or lv == tops[op]) and unalloc[op]:
                raise DoesNotFit(f"top memory of {op} cannot hold the remaining loops")
    return TemporalMapping(FrozenDict((op, tuple(result[op])) for op in layer.operands))


def _combinations(counts: list[int]):
    """All index tuples, the last operand varying fastest (the reference enumeration order)."""
    total = prod(counts)
    for i in range(total):
        idx = []
        for j, c in enumerate(counts):
            idx.append((i // prod(counts[j + 1 :])) % c)
        yield tuple(idx)
