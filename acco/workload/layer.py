"""A layer is a perfectly nested loop nest with operands indexed by loop dims.

Partially relevant (pr) operand dims such as IX are defined by relations
``IX = stride*OX + dilation*FX``; their size is the number of distinct index values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property, lru_cache
from math import ceil, gcd, prod
from typing import Any, Mapping

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


@lru_cache(maxsize=1 << 16, typed=True)
def pr_extent(sa: int, a: int, sb: int, b: int) -> int:
    """Distinct values of sa*x + sb*y for x < a, y < b (the ZigZag formula, exact for unit gcd; memoised)."""
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
    # The operand structure (which dims index which operand, the pr relations) is computed once
    # per layer and kept in `_struct` (it depends on the loop dims, not on their sizes, so
    # `with_loop_sizes` hands it on to the resized copies the depth-first model makes by the
    # thousand).

    @cached_property
    def _struct(self) -> "_Struct":
        return _Struct(self)

    def __getstate__(self) -> dict[str, Any]:
        return {f: self.__dict__[f] for f in _LAYER_FIELDS}

    def with_loop_sizes(self, loop_sizes: FrozenDict[str, int]) -> "Layer":
        """A copy with other loop sizes for the same loop dims (what `dataclasses.replace` gives, faster)."""
        new = object.__new__(Layer)
        d = new.__dict__
        src = self.__dict__
        for f in _LAYER_FIELDS:
            d[f] = src[f]
        d["loop_sizes"] = loop_sizes
        st = src.get("_struct")
        if st is not None and loop_sizes.keys() == self.loop_sizes.keys():
            d["_struct"] = st
        return new

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
        return self._struct.pr

    def size(self, dim: str) -> int:
        return self.loop_sizes.get(dim, 1)

    def relevant_dims(self, op: str) -> tuple[str, ...]:
        """Loop dims that index operand `op` directly (pr-related loop dims excluded for pr operands)."""
        return self._struct.relevant[op]

    def pr_relations(self, op: str) -> tuple[Relation, ...]:
        """Relations defining pr dims of operand `op` (empty if `op` has none)."""
        return self._struct.pr_relations[op]

    def irrelevant_dims(self, op: str) -> tuple[str, ...]:
        """Loop dims (size > 1) that do not change `op`'s data; pr loops are neither r nor ir."""
        skip = self._struct.not_irrelevant[op]
        return tuple(d for d, s in self.loop_sizes.items() if s > 1 and d not in skip)

    def tensor_size(self, op: str, sizes: Mapping[str, float]) -> int:
        """Elements of `op` spanned by the loop sizes `sizes` (missing dims count 1; fractions ceiled)."""
        n = 1
        get = sizes.get
        for d in self._struct.relevant[op]:
            v = get(d)
            if v is not None:
                n *= ceil(v)
        for r in self._struct.pr_relations[op]:
            a, b = get(r.dim_a), get(r.dim_b)
            n *= pr_extent(r.coef_a, 1 if a is None else ceil(a), r.coef_b, 1 if b is None else ceil(b))
        return n

    def operand_size(self, op: str) -> int:
        """Elements of the whole operand tensor."""
        return self.tensor_size(op, self.loop_sizes)


class _Struct:
    """Per-layer operand structure: pr dims, relevant / pr dims per operand (pure functions of the layer's dims)."""

    __slots__ = ("pr", "relevant", "pr_relations", "not_irrelevant", "tensor_dims", "stride_dims")

    def __init__(self, layer: Layer) -> None:
        pr = FrozenDict((r.data_dim, r) for r in layer.relations)
        self.pr = pr
        self.relevant: dict[str, tuple[str, ...]] = {}
        self.pr_relations: dict[str, tuple[Relation, ...]] = {}
        self.not_irrelevant: dict[str, frozenset[str]] = {}
        #: per operand, its dims in order: (dim, relation or None), loop dims the layer lacks left out
        self.tensor_dims: dict[str, tuple[tuple[str, Relation | None], ...]] = {}
        #: (op, output dim) -> (input dim following it, stride), filled on demand
        self.stride_dims: dict[tuple[str, str], tuple[str, int]] = {}
        loops = layer.loop_sizes
        all_pr_loops = {r.dim_a for r in layer.relations} | {r.dim_b for r in layer.relations} | set(pr)
        for op, dims in layer.operand_dims.items():
            if any(d in pr for d in dims):
                rel = tuple(d for d in dims if d not in all_pr_loops and d in loops)
            else:
                rel = tuple(d for d in dims if d in loops)
            prs = tuple(pr[d] for d in dims if d in pr)
            self.relevant[op] = rel
            self.pr_relations[op] = prs
            self.not_irrelevant[op] = frozenset(rel) | {r.dim_a for r in prs} | {r.dim_b for r in prs}
            self.tensor_dims[op] = tuple((d, pr[d]) if d in pr else (d, None) for d in dims if d in pr or d in loops)


_LAYER_FIELDS = tuple(f.name for f in fields(Layer))


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

    def __getstate__(self) -> dict[str, Any]:
        return {f: self.__dict__[f] for f in _INPUT_FIELDS}


_INPUT_FIELDS = tuple(f.name for f in fields(InputNode))
