"""A layer is a perfectly nested loop nest with operands indexed by loop dims.

Partially relevant (pr) operand dims such as IX are defined by relations
``IX = stride*OX + dilation*FX``; their size is the number of distinct index values.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, gcd, prod
from typing import Mapping

from acco.frozendict import FrozenDict


@dataclass(frozen=True)
class Relation:
    """``data_dim = coef_a*dim_a + coef_b*dim_b`` (e.g. IX = 1*OX + 1*FX)."""

    data_dim: str
    dim_a: str
    coef_a: int
    dim_b: str
    coef_b: int

    def extent(self, size_a: int, size_b: int) -> int:
        """Number of distinct values of data_dim for a in [0, size_a), b in [0, size_b)."""
        return pr_extent(self.coef_a, size_a, self.coef_b, size_b)


def pr_extent(sa: int, a: int, sb: int, b: int) -> int:
    """Distinct values of sa*x + sb*y for x < a, y < b (the ZigZag formula, exact for unit gcd)."""
    g = gcd(sa, sb)
    return int(a * b - max(0, b - sa / g) * (a - sb / g))


@dataclass(frozen=True)
class Layer:
    """One computed layer.

    `operand_dims[op]` lists the (upper-case) index dims of each operand in equation
    order; `operands` is (output, *inputs) in equation order, as the reference model
    orders them (e.g. ('O', 'W', 'I')).
    """

    id: int
    name: str
    type: str
    equation: str
    operands: tuple[str, ...]
    operand_dims: FrozenDict[str, tuple[str, ...]]
    relations: tuple[Relation, ...]
    loop_sizes: FrozenDict[str, int]
    precision: FrozenDict[str, int]
    operand_source: FrozenDict[str, int]
    constant_operands: tuple[str, ...]
    source_dimension_mapping: FrozenDict[str, FrozenDict[str, str]]
    spatial_mapping: tuple[tuple[str, str, int], ...]
    memory_operand_links: FrozenDict[str, str]
    padding: FrozenDict[str, tuple[int, int]] = FrozenDict()

    # ---- derived views -------------------------------------------------------------
    @property
    def output_operand(self) -> str:
        return self.operands[0]

    @property
    def input_operands(self) -> tuple[str, ...]:
        return self.operands[1:]

    @property
    def total_macs(self) -> int:
        return prod(self.loop_sizes.values())

    @property
    def pr_dims(self) -> FrozenDict[str, Relation]:
        return FrozenDict((r.data_dim, r) for r in self.relations)

    def size(self, dim: str) -> int:
        return self.loop_sizes.get(dim, 1)

    def relevant_dims(self, op: str) -> tuple[str, ...]:
        """Loop dims that index operand `op` directly (pr-related loop dims excluded for pr operands)."""
        dims = self.operand_dims[op]
        pr = self.pr_dims
        if any(d in pr for d in dims):
            pr_loops = {r.dim_a for r in self.relations} | {r.dim_b for r in self.relations} | set(pr)
            return tuple(d for d in dims if d not in pr_loops and d in self.loop_sizes)
        return tuple(d for d in dims if d in self.loop_sizes)

    def pr_relations(self, op: str) -> tuple[Relation, ...]:
        """Relations defining pr dims of operand `op` (empty if `op` has none)."""
        pr = self.pr_dims
        return tuple(pr[d] for d in self.operand_dims[op] if d in pr)

    def irrelevant_dims(self, op: str) -> tuple[str, ...]:
        """Loop dims (size > 1) that do not change `op`'s data; pr loops are neither r nor ir."""
        rel = set(self.relevant_dims(op))
        prs = self.pr_relations(op)
        pr_loops = {r.dim_a for r in prs} | {r.dim_b for r in prs}
        return tuple(d for d, s in self.loop_sizes.items() if s > 1 and d not in rel and d not in pr_loops)

    def tensor_size(self, op: str, sizes: Mapping[str, float]) -> int:
        """Elements of `op` spanned by the loop sizes `sizes` (missing dims count 1; fractions ceiled)."""
        s = {d: ceil(v) for d, v in sizes.items()}
        n = 1
        for d in self.relevant_dims(op):
            n *= s.get(d, 1)
        for r in self.pr_relations(op):
            n *= r.extent(s.get(r.dim_a, 1), s.get(r.dim_b, 1))
        return n

    def operand_size(self, op: str) -> int:
        """Elements of the whole operand tensor."""
        return self.tensor_size(op, self.loop_sizes)


@dataclass(frozen=True)
class InputNode:
    """The network input (id -1 in the original workloads): a tensor, not a computation."""

    id: int
    loop_sizes: FrozenDict[str, int]
    precision: int
    memory_operand_links: FrozenDict[str, str]
    name: str = "input"
    type: str = "input"

    @property
    def size_bits(self) -> int:
        return prod(self.loop_sizes.values()) * self.precision
