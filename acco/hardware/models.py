"""Frozen hardware model: one core = operational (MAC) array + memory hierarchy.

A memory *level* is one entry of the hardware file: an instance (size, bandwidth,
costs, ports) placed in the hierarchy for one or more memory operands (I1, I2, O),
physically replicated over the array dimensions it does not serve.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from math import prod
from typing import Any

from acco.frozendict import FrozenDict

MEMORY_OPERANDS: tuple[str, ...] = ("I1", "I2", "O")
#: tl = read out to low, fh = write in by high, fl = write in by low, th = read out to high
DIRECTIONS: tuple[str, ...] = ("tl", "fh", "fl", "th")
PORT_KINDS: tuple[str, ...] = ("read", "write", "read_write")


@dataclass(frozen=True)
class Port:
    """A physical memory port; `kind` is read, write or read_write."""

    name: str
    kind: str


@dataclass(frozen=True)
class MemoryInstance:
    """One physical memory macro (sizes in bits, bandwidths in bits/cycle, costs in pJ per word)."""

    name: str
    size: int
    r_bw: int
    w_bw: int
    r_bw_min: int
    w_bw_min: int
    r_cost: float
    w_cost: float
    area: float = 0.0
    latency: int = 1
    ports: tuple[Port, ...] = ()


@dataclass(frozen=True)
class MemoryLevel:
    """A memory instance placed in the hierarchy.

    `port_allocation[mem_op][direction]` names the port carrying that traffic;
    `served_dimensions` are the array dims over which a single instance is shared.
    `index` is the position in the hardware file (bottom-up order).
    """

    instance: MemoryInstance
    operands: tuple[str, ...]
    port_allocation: FrozenDict[str, FrozenDict[str, str]]
    served_dimensions: frozenset[str]
    index: int

    @property
    def name(self) -> str:
        return self.instance.name


@dataclass(frozen=True)
class OperationalArray:
    """The MAC array: named dimensions with sizes, energy per MAC (pJ)."""

    dimensions: FrozenDict[str, int]
    unit_energy: float
    unit_area: float = 0.0
    #: dims along which data moves one unit per cycle (ZigZag 3.x `systolic_dimensions`; only the
    #: zigzag-3.9.1 cost model uses them: its latency adds the drain along these dims)
    systolic_dimensions: tuple[str, ...] = ()

    @property
    def total_units(self) -> int:
        return prod(self.dimensions.values())


@dataclass(frozen=True)
class Accelerator:
    """A single-core accelerator: operational array + memory levels listed bottom-up."""

    name: str
    array: OperationalArray
    levels: tuple[MemoryLevel, ...]

    # derived views are computed once per (frozen) accelerator object and kept in `memo`
    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Per-object memo of pure functions of this accelerator (chains, truncated copies)."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        return {f.name: self.__dict__[f.name] for f in fields(self)}

    def __hash__(self) -> int:
        h = self.memo.get("hash")
        if h is None:
            h = self.memo["hash"] = hash((self.name, self.array, self.levels))
        return h

    def chain(self, mem_op: str) -> tuple[MemoryLevel, ...]:
        """Memory levels holding `mem_op`, innermost first."""
        k = ("chain", mem_op)
        r = self.memo.get(k)
        if r is None:
            r = self.memo[k] = tuple(lv for lv in self.levels if mem_op in lv.operands)
        return r

    def instance_count(self, level: MemoryLevel) -> int:
        """Physical copies of a level: product of the array dims it does not serve."""
        k = ("count", level.served_dimensions)
        r = self.memo.get(k)
        if r is None:
            r = self.memo[k] = prod(s for d, s in self.array.dimensions.items() if d not in level.served_dimensions)
        return r

    def level_by_name(self, name: str) -> MemoryLevel:
        k = ("level", name)
        r = self.memo.get(k)
        if r is None:
            for lv in self.levels:
                if lv.name == name:
                    r = self.memo[k] = lv
                    break
            else:
                raise KeyError(name)
        return r

    def top_level(self, mem_op: str) -> MemoryLevel:
        return self.chain(mem_op)[-1]
