"""Read ZigZag 3.x (zigzag-dse 3.9.1) YAML inputs into ACCO's frozen models.

Three ZigZag files are understood (docs/inputs.md, "ZigZag 3.x files"):

* a hardware file (``name``, ``memories`` as a mapping name -> spec with a list of ``ports``,
  ``operational_array`` with ``dimensions``/``sizes`` lists) -> `Accelerator`;
* a workload file (a top-level list of layers with ``operator_type``, ``loop_dims``/``loop_sizes``
  lists, ``operand_source`` ...) together with a mapping file (a list of entries named ``default``,
  an operator type or a layer name) -> `Workload`.

ZigZag's semantics are followed where ACCO's model can express them: memories listed bottom-up,
per-port bandwidths folded into one read and one write word width per memory, an operand whose
source is its own layer is constant, the mapping entry of a layer is the one named after the
layer, else after its operator type, else ``default``; unrollings of dimensions the layer does not
have are dropped. Everything else that is malformed or beyond ACCO's model is one located
`InputError` (file, field path, expectation).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence, TypeVar

from acco.frozendict import FrozenDict
from acco.hardware.models import (
    DIRECTIONS,
    MEMORY_OPERANDS,
    PORT_KINDS,
    Accelerator,
    MemoryInstance,
    MemoryLevel,
    OperationalArray,
    Port,
)
from acco.errors import InputError
from acco.io.errors import show
from acco.io.workload import check_layer_size, parse_equation, parse_relation
from acco.io.yamlfile import Field, LineDict, LineList, one_of, read_yaml
from acco.workload.layer import InputNode, Layer, Relation
from acco.workload.network import Workload, is_acyclic

__all__ = [
    "is_zigzag_hardware",
    "is_zigzag_workload",
    "load_zigzag_hardware",
    "load_zigzag_workload",
    "read_zigzag_yaml",
    "zigzag_temporal_orderings",
]


# ======================================================================================
# YAML reading: as ZigZag's yaml.safe_load, a repeated key silently keeps its last value
# (ZigZag's own tpu_like.yaml lists `ports` twice in one memory), but with line numbers.
# ======================================================================================
def read_zigzag_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a ZigZag YAML file safely, keeping line numbers; repeated keys keep their last value, as in ZigZag."""
    return read_yaml(path, allow_duplicate_keys=True)


# ======================================================================================
# Format detectors (on already-parsed YAML data)
# ======================================================================================
def is_zigzag_hardware(data: Any) -> bool:
    """True if parsed YAML looks like a ZigZag hardware file (memories as a name -> spec mapping, array sizes list)."""
    if not isinstance(data, dict):
        return False
    oa = data.get("operational_array")
    if isinstance(oa, dict):
        if "sizes" in oa or isinstance(oa.get("dimensions"), list):
            return True
        if isinstance(oa.get("dimensions"), dict):
            return False  # ACCO's array ({D1: 32, ...}): an ACCO file, even with wrongly nested memories
    return isinstance(data.get("memories"), dict)


def is_zigzag_workload(data: Any) -> bool:
    """True if parsed YAML looks like a ZigZag workload file (a top-level list of layers with operator_type/loop_dims)."""
    if not isinstance(data, list) or not data:
        return False
    return any(isinstance(e, dict) and ("operator_type" in e or "loop_dims" in e) for e in data)


# ======================================================================================
# Hardware
# ======================================================================================
HW_REQUIRED = ("name", "memories", "operational_array")
HW_OPTIONAL = ("dataflows",)
ARRAY_REQUIRED = ("dimensions", "sizes", "unit_energy", "unit_area")
ARRAY_OPTIONAL = ("input_precision", "systolic_dimensions", "is_imc", "imc_type", "adc_resolution",
                  "bit_serial_precision")
MEMORY_REQUIRED = ("size", "r_cost", "w_cost", "area", "latency", "operands", "ports", "served_dimensions")
MEMORY_OPTIONAL = ("mem_type", "auto_cost_extraction", "force_double_buffering")
PORT_REQUIRED = ("name", "type", "bandwidth_min", "bandwidth_max", "allocation")

ARRAY_DIM_RE = re.compile(r"^D[0-9]+$")
ALLOCATION_RE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*,\s*([A-Za-z]+)\s*$")
_READS = ("read", "read_write")
_WRITES = ("write", "read_write")
_ALLOCATION_EXPECTED = "an allocation 'MEMOP, DIR' like 'I2, tl' (MEMOP I1, I2, O; DIR tl, fh, fl, th)"

_HW_DESCRIBE = {
    "name": "a non-empty name",
    "memories": "a mapping memory name -> memory spec, listed bottom-up",
    "operational_array": "a mapping with dimensions, sizes, unit_energy and unit_area",
    "dimensions": "a list of array dimensions like [D1, D2]",
    "sizes": "a list of positive array dimension sizes, one per dimension",
    "unit_energy": "a non-negative number (pJ per MAC)",
    "unit_area": "a non-negative number",
    "size": "a positive integer (bits)",
    "r_cost": "a non-negative number (pJ per read of a bandwidth_max-wide word)",
    "w_cost": "a non-negative number (pJ per write of a bandwidth_max-wide word)",
    "area": "a non-negative number",
    "latency": "a non-negative integer (cycles)",
    "operands": f"a non-empty list of memory operands ({one_of(MEMORY_OPERANDS)})",
    "ports": "a non-empty list of ports {name, type, bandwidth_min, bandwidth_max, allocation}",
    "served_dimensions": "a list of array dimensions (e.g. [D1, D2], or [] for one instance per MAC)",
    "type": f"a port type ({' | '.join(PORT_KINDS)})",
    "bandwidth_min": "a positive integer (bits/cycle, access granularity)",
    "bandwidth_max": "a positive integer (bits/cycle, word width)",
    "allocation": "a list of allocations like ['I2, tl', 'I2, fh']",
}


def _hw_desc(key: str) -> str:
    return _HW_DESCRIBE.get(key, "a value") + " (required field)"


def load_zigzag_hardware(path: str | os.PathLike[str]) -> Accelerator:
    """Read a ZigZag 3.x hardware YAML file into a validated Accelerator (InputError on the first problem)."""
    return _accelerator(Field.root(path, read_zigzag_yaml(path)))


@dataclass
class _Mem:
    """One memory as read, before the hierarchy checks."""

    name: str
    field: Field
    size: int
    r_cost: float
    w_cost: float
    area: float
    latency: int
    operands: list[str]
    ports: list[tuple[str, str, int, int, Field]]  # name, kind, bw_min, bw_max, field
    allocation: dict[str, dict[str, str]]
    served: frozenset[str]


def _accelerator(doc: Field) -> Accelerator:
    doc.mapping("a ZigZag hardware description (a mapping with name, memories, operational_array)",
                HW_REQUIRED, HW_OPTIONAL, _hw_desc)
    name_f = doc.child("name")
    name = name_f.text(_HW_DESCRIBE["name"])
    array = _array(doc.child("operational_array"))
    _dataflows(doc.child("dataflows"), array)
    mems_f = doc.child("memories").mapping(_HW_DESCRIBE["memories"])
    if not mems_f.value:
        raise mems_f.error(_HW_DESCRIBE["memories"], "an empty mapping")
    mems = [_memory(mname, mf, array) for mname, mf in mems_f.items()]
    _check_chains(mems_f, mems)
    levels = tuple(_level(m, i) for i, m in enumerate(mems))
    return Accelerator(name=name, array=array, levels=levels)


def _array(f: Field) -> OperationalArray:
    f.mapping(_HW_DESCRIBE["operational_array"], ARRAY_REQUIRED, ARRAY_OPTIONAL, _hw_desc)
    imc = f.child("is_imc")
    if not imc.missing and imc.value is not False:
        raise imc.error("false (in-memory-compute arrays are not supported by ACCO)")
    for key, neutral in (("imc_type", None), ("adc_resolution", 0), ("bit_serial_precision", None)):
        kf = f.child(key)
        if not kf.missing and kf.value != neutral:
            raise kf.error(f"{show(neutral)} or no {key} (in-memory-compute arrays are not supported by ACCO)")
    ip = f.child("input_precision")
    if not ip.missing and ip.value is not None:
        ip.seq("a list of two integers [activation bits, weight bits]")
        if len(ip.value) != 2:
            raise ip.error("a list of two integers [activation bits, weight bits]")
        for e in ip.elements():
            e.nonneg_int("a non-negative integer (bits)")
    dims_f = f.child("dimensions").seq(_HW_DESCRIBE["dimensions"], min_len=1)
    sizes_f = f.child("sizes").seq(_HW_DESCRIBE["sizes"], min_len=1)
    names: list[str] = []
    for df in dims_f.elements():
        if not isinstance(df.value, str) or not ARRAY_DIM_RE.match(df.value):
            raise df.error("an array dimension named D<n> (D1, D2, ...)")
        if df.value in names:
            raise df.error("each array dimension listed once", f"{df.value!r} twice")
        names.append(df.value)
    if len(sizes_f.value) != len(names):
        raise sizes_f.error(f"one size per dimension ({len(names)}: {one_of(names)})", f"{len(sizes_f.value)} sizes")
    dims = {d: sf.pos_int(f"a positive integer (size of array dimension {d})")
            for d, sf in zip(names, sizes_f.elements())}
    sys_f = f.child("systolic_dimensions")
    systolic: list[str] = []
    if not sys_f.missing and sys_f.value is not None:
        sys_f.seq("a list of array dimensions")
        for sf in sys_f.elements():
            if not isinstance(sf.value, str) or sf.value not in dims:
                raise sf.error(f"a dimension of the operational array ({one_of(names)})")
            systolic.append(sf.value)
    unit_energy = f.child("unit_energy").nonneg_number(_HW_DESCRIBE["unit_energy"])
    unit_area = f.child("unit_area").nonneg_number(_HW_DESCRIBE["unit_area"])
    return OperationalArray(dimensions=FrozenDict(dims), unit_energy=unit_energy, unit_area=unit_area,
                            systolic_dimensions=tuple(systolic))


def _dataflows(f: Field, array: OperationalArray) -> None:
    """`dataflows` (a hardware-side spatial mapping used by Stream) is checked for shape and otherwise ignored."""
    if f.missing or f.value is None:
        return
    f.mapping("a mapping array dimension -> list of 'DIM, factor' strings")
    for oa, of in f.items():
        if oa not in array.dimensions:
            raise f.key_field(oa).error(f"a dimension of the operational array ({one_of(list(array.dimensions))})")
        of.seq("a list of 'DIM, factor' strings like 'K, 32'")
        for e in of.elements():
            _unrolling(e)


def _memory(name: str, m: Field, array: OperationalArray) -> _Mem:
    if not name.strip():
        raise m.error("a non-empty memory name", repr(name))
    m.mapping(f"a memory spec (a mapping with {', '.join(MEMORY_REQUIRED)})")
    ace = m.child("auto_cost_extraction")
    if not ace.missing and ace.value is not False:
        raise ace.error("false (CACTI cost extraction is not supported: give r_cost, w_cost and area)")
    for key in ("mem_type",):
        kf = m.child(key)
        if not kf.missing:
            kf.text("a memory type name (only used by CACTI; ignored)")
    fdb = m.child("force_double_buffering")
    if not fdb.missing and not isinstance(fdb.value, bool):
        raise fdb.error("true or false")
    for key in ("r_cost", "w_cost", "area"):  # ZigZag: nullable, but required without CACTI
        if key in m.value and m.value[key] is None:
            raise m.child(key).error(_hw_desc(key))
    m.mapping("a memory spec", MEMORY_REQUIRED, MEMORY_OPTIONAL, _hw_desc)
    size = m.child("size").pos_int(_HW_DESCRIBE["size"])
    r_cost = m.child("r_cost").nonneg_number(_HW_DESCRIBE["r_cost"])
    w_cost = m.child("w_cost").nonneg_number(_HW_DESCRIBE["w_cost"])
    area = m.child("area").nonneg_number(_HW_DESCRIBE["area"])
    latency = m.child("latency").nonneg_int(_HW_DESCRIBE["latency"])

    ops_f = m.child("operands").seq(_HW_DESCRIBE["operands"], min_len=1)
    operands: list[str] = []
    for of in ops_f.elements():
        if of.value not in MEMORY_OPERANDS:
            got = f"unknown memory operand {of.value!r}" if isinstance(of.value, str) else show(of.value)
            raise of.error(f"a memory operand ({one_of(MEMORY_OPERANDS)})", got)
        if of.value in operands:
            raise of.error("each memory operand listed once", f"{of.value!r} twice")
        operands.append(of.value)

    ports_f = m.child("ports").seq(_HW_DESCRIBE["ports"], min_len=1)
    ports: list[tuple[str, str, int, int, Field]] = []
    allocation: dict[str, dict[str, str]] = {op: {} for op in operands}
    where: dict[tuple[str, str], str] = {}
    for pf in ports_f.elements():
        pf.mapping("a port {name, type, bandwidth_min, bandwidth_max, allocation}", PORT_REQUIRED, (), _hw_desc)
        pname = pf.child("name").text("a non-empty port name (e.g. r_port_1)")
        if any(p[0] == pname for p in ports):
            raise pf.child("name").error("a port name not used before in this memory", repr(pname))
        kind_f = pf.child("type")
        if kind_f.value not in PORT_KINDS:
            raise kind_f.error(_HW_DESCRIBE["type"])
        kind = kind_f.value
        bw_min = pf.child("bandwidth_min").pos_int(_HW_DESCRIBE["bandwidth_min"])
        bw_max_f = pf.child("bandwidth_max")
        bw_max = bw_max_f.pos_int(_HW_DESCRIBE["bandwidth_max"])
        if bw_min > bw_max:
            raise pf.child("bandwidth_min").error(f"at most bandwidth_max ({bw_max})", str(bw_min))
        alloc_f = pf.child("allocation").seq(_HW_DESCRIBE["allocation"])
        for af in alloc_f.elements():
            op, direction = _allocation(af, operands)
            if direction in ("tl", "th") and kind not in _READS:
                raise af.error(f"a read direction (tl, th) only on a read or read_write port; "
                               f"{pname!r} is a {kind} port", repr(af.value))
            if direction in ("fh", "fl") and kind not in _WRITES:
                raise af.error(f"a write direction (fh, fl) only on a write or read_write port; "
                               f"{pname!r} is a {kind} port", repr(af.value))
            if (op, direction) in where:
                raise af.error(f"each (operand, direction) on one port only ({op}, {direction} is already "
                               f"on {where[(op, direction)]!r})", repr(af.value))
            where[(op, direction)] = pname
            allocation[op][direction] = pname
        ports.append((pname, kind, bw_min, bw_max, pf))

    sd_f = m.child("served_dimensions").seq(_HW_DESCRIBE["served_dimensions"])
    served: list[str] = []
    for df in sd_f.elements():
        if not isinstance(df.value, str) or df.value not in array.dimensions:
            raise df.error(f"a dimension of the operational array ({one_of(list(array.dimensions))})")
        if df.value in served:
            raise df.error("each dimension listed once", f"{df.value!r} twice")
        served.append(df.value)
    return _Mem(name, m, size, r_cost, w_cost, area, latency, operands, ports, allocation, frozenset(served))


def _allocation(af: Field, operands: list[str]) -> tuple[str, str]:
    if not isinstance(af.value, str):
        raise af.error(_ALLOCATION_EXPECTED)
    mt = ALLOCATION_RE.match(af.value)
    if not mt:
        raise af.error(_ALLOCATION_EXPECTED)
    op, direction = mt.group(1), mt.group(2)
    if op not in MEMORY_OPERANDS:
        raise af.error(_ALLOCATION_EXPECTED, f"{af.value!r} (unknown memory operand {op!r})")
    if direction not in DIRECTIONS:
        raise af.error(_ALLOCATION_EXPECTED, f"{af.value!r} (unknown direction {direction!r})")
    if op not in operands:
        raise af.error(f"an allocation of an operand stored in this memory ({one_of(operands)})",
                       f"{af.value!r} ({op} is not in operands)")
    return op, direction


def _check_chains(mems_f: Field, mems: list[_Mem]) -> None:
    """Every memory operand stored somewhere, one common top memory, and the ports each chain needs."""
    for op in MEMORY_OPERANDS:
        if not any(op in m.operands for m in mems):
            raise mems_f.error(f"every memory operand ({one_of(MEMORY_OPERANDS)}) stored in at least one memory",
                               f"no memory stores {op}")
    tops = {op: [m for m in mems if op in m.operands][-1] for op in MEMORY_OPERANDS}
    first = MEMORY_OPERANDS[0]
    for op in MEMORY_OPERANDS[1:]:
        if tops[op] is not tops[first]:
            ref, bad = tops[first], tops[op]
            hi, lower_op = (bad, first) if mems.index(bad) > mems.index(ref) else (ref, op)
            raise hi.field.child("operands").error(
                f"the same top memory for every operand ({first} ends at {ref.name!r})",
                f"{op} ends at {bad.name!r}; add {lower_op} to the top memory {hi.name!r}",
            )
    for op in MEMORY_OPERANDS:
        chain = [m for m in mems if op in m.operands]
        for j, m in enumerate(chain):
            top = j == len(chain) - 1
            need = ["tl"] + ([] if top else ["fh"])
            if op == "O":
                need += ["fl"] + ([] if top else ["th"])
            for d in need:
                if d not in m.allocation[op]:
                    where = "the top memory" if top else f"level {j} of the {op} chain"
                    have = ", ".join(f"'{op}, {x}'" for x in m.allocation[op]) or "none"
                    raise m.field.child("ports").error(
                        f"an allocation '{op}, {d}' on one of the ports ({where} needs "
                        f"{', '.join(repr(f'{op}, {x}') for x in need)})",
                        f"allocations for {op}: {have}",
                    )


def _level(m: _Mem, index: int) -> MemoryLevel:
    """Fold ZigZag's per-port bandwidths into ACCO's one read and one write word width per memory."""
    used = {p for per in m.allocation.values() for p in per.values()}
    ports = [p for p in m.ports if p[0] in used]  # ZigZag also drops ports that carry nothing

    def width(kinds: tuple[str, ...], what: str) -> tuple[int, int] | None:
        chosen = [p for p in ports if p[1] in kinds]
        if not chosen:
            return None
        ref = chosen[0]
        for p in chosen[1:]:
            if (p[2], p[3]) != (ref[2], ref[3]):
                raise p[4].child("bandwidth_max" if p[3] != ref[3] else "bandwidth_min").error(
                    f"the same bandwidth_min/bandwidth_max on every {what}-capable port of {m.name!r} "
                    f"(ACCO has one {what} word width per memory; {ref[0]!r} has {ref[2]}/{ref[3]})",
                    f"{p[2]}/{p[3]} on {p[0]!r}",
                )
        return ref[2], ref[3]

    r = width(_READS, "read")
    w = width(_WRITES, "write")
    r = r or w
    w = w or r
    assert r is not None and w is not None  # every memory has a tl port (checked by _check_chains)
    instance = MemoryInstance(
        name=m.name,
        size=m.size,
        r_bw=r[1],
        w_bw=w[1],
        r_bw_min=r[0],
        w_bw_min=w[0],
        r_cost=m.r_cost,
        w_cost=m.w_cost,
        area=m.area,
        latency=m.latency,
        ports=tuple(Port(name=p[0], kind=p[1]) for p in ports),
    )
    return MemoryLevel(
        instance=instance,
        operands=tuple(m.operands),
        port_allocation=FrozenDict((op, FrozenDict(m.allocation[op])) for op in m.operands),
        served_dimensions=m.served,
        index=index,
    )


# ======================================================================================
# Mapping file
# ======================================================================================
MAPPING_REQUIRED = ("name",)
MAPPING_OPTIONAL = ("spatial_mapping", "memory_operand_links", "spatial_mapping_hint", "temporal_ordering")
DEFAULT_LINKS = {"O": "O", "I": "I1", "W": "I2"}
UNROLLING_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*,\s*([0-9]+)\s*$")
_UNROLLING_EXPECTED = "an unrolling 'DIM, factor' like 'K, 32' (a positive integer factor)"


@dataclass
class _Entry:
    """One mapping-file entry."""

    name: str
    field: Field
    spatial: list[tuple[str, str, int, Field]]  # (array dim, loop dim, factor, field)
    links: dict[str, str]
    links_field: Field
    ordering: list[tuple[str, int | None]] | None
    #: `spatial_mapping_hint` as (array dim, loop dims) pairs (used by the opt-in spatial search)
    hint: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _unrolling(f: Field) -> tuple[str, int]:
    if not isinstance(f.value, str):
        raise f.error(_UNROLLING_EXPECTED)
    mt = UNROLLING_RE.match(f.value)
    if not mt:
        raise f.error(_UNROLLING_EXPECTED)
    factor = int(mt.group(2))
    if factor <= 0:
        raise f.error(_UNROLLING_EXPECTED, f"{f.value!r} (a zero factor)")
    return mt.group(1).upper(), factor


def _mapping_entries(doc: Field) -> list[_Entry]:
    doc.seq("a ZigZag mapping: a list of entries named 'default', an operator type or a layer name", min_len=1)
    entries: list[_Entry] = []
    seen: dict[str, int] = {}
    for i, ef in enumerate(doc.elements()):
        ef.mapping("a mapping entry (a mapping with name, spatial_mapping, memory_operand_links, ...)",
                   MAPPING_REQUIRED, MAPPING_OPTIONAL, lambda k: "a non-empty entry name (required field)")
        name = ef.child("name").text("a non-empty entry name ('default', an operator type or a layer name)")
        if name in seen:
            raise ef.child("name").error("an entry name not used before", f"{name!r} (already entry [{seen[name]}])")
        seen[name] = i
        nf = ef.renamed(f"[name={name}]")

        spatial: list[tuple[str, str, int, Field]] = []
        sm_f = nf.child("spatial_mapping")
        if not sm_f.missing and sm_f.value is not None:
            sm_f.mapping("a mapping array dimension -> list of 'DIM, factor' strings, e.g. {D1: ['K, 32']}")
            for oa, of in sm_f.items():
                if not ARRAY_DIM_RE.match(oa):
                    raise sm_f.key_field(oa).error("an array dimension named D<n> (D1, D2, ...)", repr(oa))
                of.seq(f"a list of 'DIM, factor' strings (YAML items like '- K, 32') for {oa}")
                dims_here: list[str] = []
                for uf in of.elements():
                    dim, factor = _unrolling(uf)
                    if dim in dims_here:
                        raise uf.error(f"each loop dimension once per array dimension ({dim} is already on {oa})",
                                       repr(uf.value))
                    dims_here.append(dim)
                    spatial.append((oa, dim, factor, uf))

        hint_f = nf.child("spatial_mapping_hint")  # steers only the opt-in spatial search (acco.search.spatial_search)
        hint: list[tuple[str, tuple[str, ...]]] = []
        if not hint_f.missing and hint_f.value is not None:
            hint_f.mapping("a mapping array dimension -> list of loop dimensions")
            for oa, hf in hint_f.items():
                hf.seq("a list of loop dimensions")
                hint.append((str(oa), tuple(e.text("a loop dimension name").upper() for e in hf.elements())))

        links_f = nf.child("memory_operand_links")
        links = dict(DEFAULT_LINKS)
        if not links_f.missing:
            links_f.mapping(f"a mapping layer operand -> memory operand ({one_of(MEMORY_OPERANDS)})")
            links = {}
            for op, lf in links_f.items():
                if lf.value not in MEMORY_OPERANDS:
                    got = f"unknown memory operand {lf.value!r}" if isinstance(lf.value, str) else show(lf.value)
                    raise lf.error(f"a memory operand ({one_of(MEMORY_OPERANDS)})", got)
                if lf.value in links.values():
                    other = next(k for k, v in links.items() if v == lf.value)
                    raise lf.error("each memory operand linked to one layer operand",
                                   f"{lf.value!r} (already linked to {other})")
                links[op] = lf.value

        ordering: list[tuple[str, int | None]] | None = None
        to_f = nf.child("temporal_ordering")
        if not to_f.missing and to_f.value is not None:
            to_f.seq("a list of loops [DIM, size] (innermost first; size may be '*')")
            ordering = []
            for lf in to_f.elements():
                pair = "a loop [DIM, size] with a positive integer size or '*' (or the marker ['*', '*'])"
                lf.seq(pair)
                if len(lf.value) != 2:
                    raise lf.error(pair)
                df, sf = lf.elements()
                if df.value == "*" and sf.value == "*":
                    ordering.append(("*", None))
                    continue
                dim = df.text("a loop dimension name").upper()
                if sf.value == "*":
                    ordering.append((dim, None))
                else:
                    ordering.append((dim, sf.pos_int("a positive integer loop size (or '*')")))
        entries.append(_Entry(name, nf, spatial, links, links_f, ordering, tuple(hint)))
    return entries


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_E = TypeVar("_E", bound=_Named)


def select_mapping_entry(entries: Sequence[_E], names: Sequence[str]) -> _E | None:
    """ZigZag's choice of a layer's mapping entry: the entry named by the first of `names` that names
    one (tried in order: the layer's name, then its operator type, ...), else the entry named
    'default', else None. Used for ZigZag workloads and for the ONNX importer alike."""
    by_name: dict[str, _E] = {}
    for e in entries:
        by_name.setdefault(e.name, e)
    for key in (*names, "default"):
        if key in by_name:
            return by_name[key]
    return None


def _select(entries: list[_Entry], layer_name: str, op_type: str, mapping_file: str, layer_path: str) -> _Entry:
    """The entry named after the layer, else after its operator type, else 'default' (located error if none)."""
    entry = select_mapping_entry(entries, (layer_name, op_type))
    if entry is not None:
        return entry
    raise InputError(
        mapping_file, "",
        f"an entry named {layer_name!r}, {op_type!r} or 'default' (the mapping of layer {layer_path} "
        "of the workload, looked up in this order)",
        f"only entries {one_of([repr(e.name) for e in entries])}",
    )


# ======================================================================================
# Workload
# ======================================================================================
LAYER_REQUIRED = ("id", "operator_type", "equation", "loop_dims", "loop_sizes", "operand_precision")
LAYER_OPTIONAL = ("name", "dimension_relations", "operand_source", "pr_loop_dims", "pr_loop_sizes", "padding")
#: ZigZag operator types -> ACCO layer types
OPERATOR_TYPES = {
    "Conv": "conv",
    "Conv_downsample": "conv",
    "Gemm": "fc",
    "Add": "add",
    "Max": "add",
    "Pooling": "pool",
    "Pool": "pool",
    "MaxPool": "pool",
    "AveragePool": "pool",
    "GlobalAveragePool": "pool",
}
DIM_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")

_WL_DESCRIBE = {
    "id": "an integer layer id",
    "operator_type": f"an operator type ({one_of(list(OPERATOR_TYPES))})",
    "equation": "an equation like O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
    "loop_dims": "a list of loop dimensions like [B, K, C, OY, OX, FY, FX]",
    "loop_sizes": "a list of positive loop sizes, one per loop dimension",
    "operand_precision": "a mapping operand -> bits, with O and O_final",
}


def _wl_desc(key: str) -> str:
    return _WL_DESCRIBE.get(key, "a value") + " (required field)"


@dataclass
class _Raw:
    """One workload layer as read, before its sources and mapping are resolved."""

    id: int
    field: Field
    name: str
    op_type: str
    equation: str
    operands: tuple[str, ...]
    operand_dims: dict[str, tuple[str, ...]]
    relations: list[Relation]
    loops: dict[str, int]
    precision: dict[str, int]
    sources: dict[str, int]  # only real producers (another layer)
    nowhere: list[str]  # inputs sourced from the layer itself or not at all
    padding: dict[str, tuple[int, int]]
    pr_sizes: dict[str, int] = field(default_factory=dict)


def load_zigzag_workload(
    workload_path: str | os.PathLike[str],
    mapping_path: str | os.PathLike[str],
    accelerator: Accelerator | None = None,
) -> Workload:
    """Read a ZigZag workload YAML plus its mapping YAML into a Workload; with `accelerator`, array dims are checked."""
    workload, _ = _load(workload_path, mapping_path, accelerator)
    return workload


def zigzag_temporal_orderings(
    workload_path: str | os.PathLike[str], mapping_path: str | os.PathLike[str]
) -> dict[int, list[tuple[str, int]]]:
    """Complete user temporal orderings per layer id, as (dim, size) innermost first (constraint-style ones omitted)."""
    _, orderings = _load(workload_path, mapping_path, None)
    return orderings


def zigzag_spatial_hints(
    workload_path: str | os.PathLike[str], mapping_path: str | os.PathLike[str]
) -> dict[int, tuple[tuple[str, tuple[str, ...]], ...]]:
    """The `spatial_mapping_hint` of each layer's mapping entry by layer id (empty: none); for files
    `load_zigzag_workload` has read."""
    wl_doc = Field.root(workload_path, read_zigzag_yaml(workload_path))
    map_doc = Field.root(mapping_path, read_zigzag_yaml(mapping_path))
    entries = _mapping_entries(map_doc)
    items = list(wl_doc.elements())
    ids = {lf.value["id"]: i for i, lf in enumerate(items)}
    out = {}
    for lf in items:
        r = _raw_layer(lf.renamed(f"[id={lf.value['id']}]"), ids)
        out[r.id] = _select(entries, r.name, r.op_type, map_doc.file, r.field.path).hint
    return out


def _load(
    workload_path: str | os.PathLike[str],
    mapping_path: str | os.PathLike[str],
    accelerator: Accelerator | None,
) -> tuple[Workload, dict[int, list[tuple[str, int]]]]:
    wl_doc = Field.root(workload_path, read_zigzag_yaml(workload_path))
    map_doc = Field.root(mapping_path, read_zigzag_yaml(mapping_path))
    return _from_docs(wl_doc, map_doc, accelerator, Path(workload_path).stem)


def _from_docs(
    wl_doc: Field, map_doc: Field, accelerator: Accelerator | None, name: str
) -> tuple[Workload, dict[int, list[tuple[str, int]]]]:
    """Validate parsed workload and mapping documents and build the Workload and the temporal orderings."""
    wl_doc.seq("a ZigZag workload: a non-empty list of layers (each with id, operator_type, equation, ...)",
               min_len=1)
    entries = _mapping_entries(map_doc)
    items = list(wl_doc.elements())

    ids: dict[int, int] = {}
    for i, lf in enumerate(items):
        lf.mapping("a layer (a mapping with id, operator_type, equation, loop_dims, loop_sizes, ...)")
        idf = lf.child("id")
        if idf.missing:
            raise idf.error(_wl_desc("id"))
        lid = idf.integer(_WL_DESCRIBE["id"])
        if lid in ids:
            raise idf.error("a unique layer id", f"{lid} (already used by [{ids[lid]}])")
        ids[lid] = i
    raws = [_raw_layer(lf.renamed(f"[id={lf.value['id']}]"), ids) for lf in items]
    _check_acyclic(raws)
    by_id = {r.id: r for r in raws}

    # network inputs: an input sourced nowhere in a layer that has no producer at all is the activation
    free_id = -1
    input_nodes: list[InputNode] = []
    layers: list[Layer] = []
    orderings: dict[int, list[tuple[str, int]]] = {}
    for r in raws:
        entry = _select(entries, r.name, r.op_type, map_doc.file, r.field.path)
        links = _links(entry, r)
        sources = dict(r.sources)
        constants = list(r.nowhere)
        if r.nowhere and not r.sources:
            act = _activation_operand(r)
            constants.remove(act)
            while free_id in by_id or any(n.id == free_id for n in input_nodes):
                free_id -= 1
            input_nodes.append(InputNode(
                id=free_id,
                loop_sizes=FrozenDict((d, _dim_size(r, d)) for d in r.operand_dims[act]),
                precision=r.precision[act],
                memory_operand_links=FrozenDict({"O": links[act]}),
                name="input" if free_id == -1 else f"input{-free_id}",
            ))
            sources[act] = free_id
        sdm: dict[str, FrozenDict[str, str]] = {}
        for op, src in sources.items():
            if src in by_id:
                prod_r = by_id[src]
                mine, theirs = r.operand_dims[op], prod_r.operand_dims[prod_r.operands[0]]
                if len(mine) == len(theirs):
                    pairs = {a: b for a, b in zip(mine, theirs) if a != b}
                    if pairs:
                        sdm[op] = FrozenDict(pairs)
        spatial = _spatial(entry, r, accelerator)
        layers.append(check_layer_size(Layer(
            id=r.id,
            name=r.name,
            type=OPERATOR_TYPES[r.op_type],
            equation=r.equation,
            operands=r.operands,
            operand_dims=FrozenDict(r.operand_dims),
            relations=tuple(r.relations),
            loop_sizes=FrozenDict(r.loops),
            precision=FrozenDict(r.precision),
            operand_source=FrozenDict((op, sources[op]) for op in r.operands[1:] if op in sources),
            constant_operands=tuple(op for op in r.operands[1:] if op in constants),
            source_dimension_mapping=FrozenDict(sdm),
            spatial_mapping=spatial,
            memory_operand_links=FrozenDict((op, links[op]) for op in r.operands),
            padding=FrozenDict(r.padding),
        ), r.field.child("loop_sizes")))
        if entry.ordering is not None:
            kept = [(d, s) for d, s in entry.ordering if d in r.loops]  # ZigZag drops dims the layer lacks
            complete = [(d, s) for d, s in kept if s is not None]
            if kept and len(complete) == len(kept):
                orderings[r.id] = complete
    return Workload(name=name, nodes=tuple(input_nodes) + tuple(layers)), orderings


def _raw_layer(nf: Field, ids: dict[int, int]) -> _Raw:
    nf.mapping("a layer", LAYER_REQUIRED, LAYER_OPTIONAL, _wl_desc)
    lid: int = nf.value["id"]
    nm = nf.child("name")
    name = f"Layer{lid}" if nm.missing or nm.value is None else nm.text("a non-empty layer name (or null)")
    tf = nf.child("operator_type")
    if not isinstance(tf.value, str) or tf.value not in OPERATOR_TYPES:
        raise tf.error(_WL_DESCRIBE["operator_type"])
    eq_f = nf.child("equation")
    operands, operand_dims = parse_equation(eq_f)
    inputs = operands[1:]

    relations: list[Relation] = []
    rel_f = nf.child("dimension_relations")
    rel_fields: list[Field] = []
    if not rel_f.missing and rel_f.value is not None:
        rel_f.seq("a list of relations like 'ix=1*ox+1*fx'")
        for rf in rel_f.elements():
            rel = parse_relation(rf)
            if any(x.data_dim == rel.data_dim for x in relations):
                raise rf.error("one relation per dimension", f"a second relation for {rel.data_dim}")
            relations.append(rel)
            rel_fields.append(rf)

    dims_f = nf.child("loop_dims").seq(_WL_DESCRIBE["loop_dims"], min_len=1)
    sizes_f = nf.child("loop_sizes").seq(_WL_DESCRIBE["loop_sizes"], min_len=1)
    dims: list[str] = []
    for df in dims_f.elements():
        d = df.text("a loop dimension name (e.g. K, OX)").upper()
        if not DIM_RE.match(d):
            raise df.error("a loop dimension name of letters, digits and _ starting with a letter (e.g. K, OX)")
        if d in dims:
            raise df.error("each loop dimension listed once", f"{df.value!r} twice")
        dims.append(d)
    if len(sizes_f.value) != len(dims):
        raise sizes_f.error(f"one size per loop dimension ({len(dims)}: {one_of(dims)})",
                            f"{len(sizes_f.value)} sizes")
    loops = {d: sf.pos_int(f"a positive integer (size of loop dimension {d})")
             for d, sf in zip(dims, sizes_f.elements())}
    for rel, rf in zip(relations, rel_fields):
        for d in (rel.dim_a, rel.dim_b):
            if d not in loops:
                raise rf.error(f"a relation over loop dimensions of the layer ({one_of(dims)})",
                               f"{rf.value!r} ({d} is not in loop_dims)")
        if rel.data_dim in loops:
            raise rf.error("a relation defining a dimension that is not a loop dimension",
                           f"{rf.value!r} ({rel.data_dim} is in loop_dims)")
    defined = set(loops) | {r.data_dim for r in relations}
    for op in operands:
        for d in operand_dims[op]:
            if d not in defined:
                raise eq_f.error(
                    "every index to be a loop dimension (in loop_dims) or defined by a dimension relation",
                    f"unknown dimension {d.lower()!r} of operand {op} in {eq_f.value!r}",
                )

    out_final = f"{operands[0]}_final"
    keys = operands + (out_final,)
    prec_f = nf.child("operand_precision").mapping(_WL_DESCRIBE["operand_precision"])
    for k in prec_f.value:
        if k not in keys:
            raise prec_f.key_field(k).error(f"a precision for an operand of the equation ({one_of(keys)})",
                                            f"unknown operand {k!r}")
    precision: dict[str, int] = {}
    for k in keys:
        kf = prec_f.child(k)
        if kf.missing:
            what = "the final output precision" if k == out_final else f"the precision of operand {k}"
            raise kf.error(f"a non-negative integer: {what} in bits (required)")
        precision[k] = kf.nonneg_int("a non-negative integer (bits)")

    sources: dict[str, int] = {}
    nowhere: list[str] = []
    s_f = nf.child("operand_source")
    if not s_f.missing and s_f.value is not None:
        s_f.mapping("a mapping input operand -> id of the producing layer (its own id = constant)")
        for op, sf in s_f.items():
            if op not in inputs:
                raise s_f.key_field(op).error(f"an input operand of the layer ({one_of(inputs)})",
                                              f"unknown layer operand {op!r}")
            src = sf.integer("the id of the producing layer (an integer; the layer's own id = constant)")
            if src not in ids:
                raise sf.error(f"the id of a layer in this workload ({_ids_text(ids)})", f"{src} (no such layer)")
            if src != lid:
                sources[op] = src
    nowhere = [op for op in inputs if op not in sources]

    # pr dimensions: padding / pr_loop_sizes (only stored: ACCO's model is a valid-convolution model)
    pr_dims: list[str] = []
    pd_f = nf.child("pr_loop_dims")
    pr_defined = {r.data_dim for r in relations}
    if not pd_f.missing and pd_f.value is not None:
        pd_f.seq("a list of dimensions defined by dimension_relations (e.g. [IX, IY])")
        for df in pd_f.elements():
            d = df.text("a dimension name").upper()
            if d not in pr_defined:
                raise df.error(f"a dimension defined by dimension_relations ({one_of(sorted(pr_defined)) or 'none'})")
            if d in pr_dims:
                raise df.error("each dimension listed once", f"{df.value!r} twice")
            pr_dims.append(d)
    padding: dict[str, tuple[int, int]] = {}
    pad_f = nf.child("padding")
    if not pad_f.missing and pad_f.value is not None:
        if pd_f.missing or pd_f.value is None:
            raise pd_f.error("a list pr_loop_dims naming the dimension of each padding entry (required with padding)")
        pad_f.seq("a list of [before, after] pairs, one per pr_loop_dims entry")
        if len(pad_f.value) != len(pr_dims):
            raise pad_f.error(f"one [before, after] pair per pr_loop_dims entry ({len(pr_dims)})",
                              f"{len(pad_f.value)} pairs")
        for d, pf in zip(pr_dims, pad_f.elements()):
            pair = "a pair [before, after] of non-negative integers"
            pf.seq(pair)
            if len(pf.value) != 2:
                raise pf.error(pair)
            a, b = (e.nonneg_int("a non-negative integer (padding)") for e in pf.elements())
            padding[d] = (a, b)
    pr_sizes: dict[str, int] = {}
    ps_f = nf.child("pr_loop_sizes")
    if not ps_f.missing and ps_f.value is not None:
        if pd_f.missing or pd_f.value is None:
            raise pd_f.error("a list pr_loop_dims naming the dimension of each pr_loop_sizes entry (required)")
        ps_f.seq("a list of positive sizes, one per pr_loop_dims entry")
        if len(ps_f.value) != len(pr_dims):
            raise ps_f.error(f"one size per pr_loop_dims entry ({len(pr_dims)})", f"{len(ps_f.value)} sizes")
        for d, sf in zip(pr_dims, ps_f.elements()):
            pr_sizes[d] = sf.pos_int(f"a positive integer (true size of {d})")
    rels = {r.data_dim: r for r in relations}
    for d in pr_dims:
        rel = rels[d]
        extent = rel.extent(loops[rel.dim_a], loops[rel.dim_b])
        if d in pr_sizes:
            # ZigZag: the given size replaces extent - padding; ACCO keeps the difference as padding
            if pr_sizes[d] < extent and d not in padding:
                padding[d] = (0, extent - pr_sizes[d])
        elif extent - sum(padding.get(d, (0, 0))) <= 0:
            raise pad_f.error(f"a padding of {d} smaller than its extent {extent}", f"{padding[d]}")
    return _Raw(lid, nf, name, tf.value, eq_f.value, operands, dict(operand_dims), relations, loops, precision,
                sources, nowhere, padding, pr_sizes)


def _ids_text(ids: dict[int, int]) -> str:
    shown = sorted(ids)
    return one_of([str(i) for i in shown]) if len(shown) <= 12 else f"{shown[0]} .. {shown[-1]}"


def _check_acyclic(raws: list[_Raw]) -> None:
    if is_acyclic((r.id for r in raws), ((src, r.id) for r in raws for src in r.sources.values())):
        return
    import networkx as nx  # only to name the cycle in the error

    g = nx.DiGraph()
    for r in raws:
        g.add_node(r.id)
        for src in r.sources.values():
            g.add_edge(src, r.id)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    consumer = cycle[0][1]
    path = " -> ".join(str(u) for u, _ in cycle) + f" -> {cycle[0][0]}"
    r = next(x for x in raws if x.id == consumer)
    raise r.field.child("operand_source").error("an acyclic layer graph (operand_source must not loop back)",
                                                f"the cycle {path}")


def _activation_operand(r: _Raw) -> str:
    """ZigZag's choice of the activation among inputs that all come from nowhere (e.g. the first layer)."""
    inputs = r.operands[1:]
    if not r.relations:
        return inputs[0]
    first_pr = r.relations[0].data_dim
    having = [op for op in inputs if first_pr in r.operand_dims[op]]
    return having[-1] if having else inputs[0]


def _dim_size(r: _Raw, d: str) -> int:
    """Size of a tensor dimension: a loop size, or a pr dimension's extent less its padding (ZigZag's rule)."""
    if d in r.loops:
        return r.loops[d]
    rel = next(x for x in r.relations if x.data_dim == d)
    extent = rel.extent(r.loops[rel.dim_a], r.loops[rel.dim_b])
    if d in r.pr_sizes:
        return min(extent, r.pr_sizes[d])
    return extent - sum(r.padding.get(d, (0, 0)))


def _links(entry: _Entry, r: _Raw) -> dict[str, str]:
    for op in r.operands:
        if op not in entry.links:
            where = entry.links_field if not entry.links_field.missing else entry.field
            raise where.error(
                f"memory_operand_links for every operand of layer {r.field.path} ({one_of(r.operands)})",
                f"no link for {op}" if not entry.links_field.missing else f"the default links {DEFAULT_LINKS}",
            )
    return {op: entry.links[op] for op in r.operands}


def _spatial(entry: _Entry, r: _Raw, accelerator: Accelerator | None) -> tuple[tuple[str, str, int], ...]:
    """The entry's unrollings over the layer's own dims (ZigZag drops others); array dims checked if known."""
    out = [(oa, d, s) for oa, d, s, _ in entry.spatial if d in r.loops]
    if accelerator is not None:
        dims = accelerator.array.dimensions
        for oa, d, s, uf in entry.spatial:
            if oa not in dims:
                raise uf.renamed(uf.path.rsplit("[", 1)[0]).error(
                    f"a dimension of the operational array of {accelerator.name} ({one_of(list(dims))})",
                    f"{oa!r} (used for layer {r.field.path})",
                )
        for oa, size in dims.items():
            used = [(d, min(s, size, r.loops[d])) for o, d, s in out if o == oa]
            if math.prod(u for _, u in used) > size:
                f = next(uf for o, d, _, uf in entry.spatial if o == oa)
                raise f.renamed(f.path.rsplit("[", 1)[0]).error(
                    f"unrollings on {oa} whose product fits its size {size} in {accelerator.name}",
                    f"{' * '.join(f'{d} {u}' for d, u in used)} for layer {r.field.path}",
                )
    return tuple(out)

