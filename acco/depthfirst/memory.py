"""Memory-hierarchy helpers for depth-first scheduling: level look-ups and truncated accelerators.

A layer-tile sees only part of the hierarchy: every level above the chosen top level of an operand
is removed for that operand (the level stays for the operands still using it; a level nobody
uses any more disappears), as DeFiNES does with `remove_operator_top_level`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator, MemoryLevel


def level_index(acc: Accelerator, mem_op: str, name: str) -> int:
    """Position of level `name` in the chain of `mem_op` (0 = innermost)."""
    for i, lv in enumerate(acc.chain(mem_op)):
        if lv.name == name:
            return i
    raise KeyError(f"{name} does not hold {mem_op}")


def is_unrolled(acc: Accelerator, level: MemoryLevel) -> bool:
    """True if the level is physically replicated over array dims (unroll count > 1)."""
    return acc.instance_count(level) != 1


def prefix_until(acc: Accelerator, mem_op: str, name: str) -> tuple[MemoryLevel, ...]:
    """Levels of `mem_op` from the innermost up to and including `name`."""
    chain = acc.chain(mem_op)
    return chain[: level_index(acc, mem_op, name) + 1]


def truncate(acc: Accelerator, tops: Mapping[str, str]) -> Accelerator:
    """The accelerator with, per memory operand in `tops`, every level above the named top removed.

    Memoised per accelerator object (the same truncation is asked for by every tile of a stack).
    """
    k = ("truncate", frozenset(tops.items()))
    r = acc.memo.get(k)
    if r is None:
        r = acc.memo[k] = _truncate(acc, tops)
    return r


def _truncate(acc: Accelerator, tops: Mapping[str, str]) -> Accelerator:
    drop: dict[str, set[str]] = {}
    for mem_op, top in tops.items():
        chain = acc.chain(mem_op)
        i = level_index(acc, mem_op, top)
        for lv in chain[i + 1 :]:
            drop.setdefault(lv.name, set()).add(mem_op)
    if not drop:
        return acc
    levels = []
    for lv in acc.levels:
        gone = drop.get(lv.name)
        if not gone:
            levels.append(lv)
            continue
        ops = tuple(o for o in lv.operands if o not in gone)
        if not ops:
            continue
        pa = FrozenDict((o, v) for o, v in lv.port_allocation.items() if o not in gone)
        levels.append(replace(lv, operands=ops, port_allocation=pa))
    return replace(acc, levels=tuple(levels))


def with_second_input_on_i1(acc: Accelerator) -> Accelerator:
    """For element-wise layers with two activation inputs: I2 is replaced by a copy of the I1 hierarchy."""
    r = acc.memo.get("second_input_on_i1")
    if r is None:
        r = acc.memo["second_input_on_i1"] = _with_second_input_on_i1(acc)
    return r


def _with_second_input_on_i1(acc: Accelerator) -> Accelerator:
    levels = []
    for lv in acc.levels:
        ops = tuple(o for o in lv.operands if o != "I2")
        pa = {o: v for o, v in lv.port_allocation.items() if o != "I2"}
        if "I1" in ops:
            ops = ops + ("I2",)
            pa["I2"] = lv.port_allocation["I1"]
        if not ops:
            continue
        levels.append(replace(lv, operands=ops, port_allocation=FrozenDict(pa)))
    return replace(acc, levels=tuple(levels))
