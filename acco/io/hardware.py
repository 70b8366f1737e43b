"""Load and validate a hardware YAML file (docs/inputs.md) into a frozen `Accelerator`."""

from __future__ import annotations

import os
import re

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
from acco.io.errors import show
from acco.io.yamlfile import Field, one_of, read_yaml

TOP_FIELDS = ("name", "operational_array", "memories")
#: where a sweep finds this hardware's workloads by name (inputs/workloads/<family>/; default: the name without _DF)
TOP_OPTIONAL = ("workload_family",)
ARRAY_REQUIRED = ("dimensions", "unit_energy")
ARRAY_OPTIONAL = ("unit_area",)
MEMORY_REQUIRED = (
    "name",
    "size",
    "r_bw",
    "w_bw",
    "r_cost",
    "w_cost",
    "operands",
    "ports",
    "port_allocation",
    "served_dimensions",
)
MEMORY_OPTIONAL = ("r_bw_min", "w_bw_min", "area", "latency")

ARRAY_DIM_RE = re.compile(r"^D[0-9]+$")
#: which port kinds may carry each direction (tl/th read out of the memory, fh/fl write into it)
_DIRECTION_KINDS = {
    "tl": ("read", "read_write"),
    "th": ("read", "read_write"),
    "fh": ("write", "read_write"),
    "fl": ("write", "read_write"),
}

_DESCRIBE = {
    "name": "a non-empty name",
    "operational_array": "a mapping with dimensions, unit_energy and unit_area (optional)",
    "memories": "a non-empty list of memories, listed bottom-up",
    "dimensions": "a mapping of array dimensions to sizes, e.g. {D1: 32, D2: 2}",
    "unit_energy": "a non-negative number (pJ per MAC)",
    "unit_area": "a non-negative number",
    "size": "a positive integer (bits)",
    "r_bw": "a positive integer (bits/cycle)",
    "w_bw": "a positive integer (bits/cycle)",
    "r_bw_min": "a positive integer (bits/cycle)",
    "w_bw_min": "a positive integer (bits/cycle)",
    "r_cost": "a non-negative number (pJ per read access)",
    "w_cost": "a non-negative number (pJ per write access)",
    "area": "a non-negative number",
    "latency": "a non-negative integer (cycles)",
    "operands": f"a non-empty list of memory operands ({one_of(MEMORY_OPERANDS)})",
    "ports": f"a mapping of port names to kinds ({' | '.join(PORT_KINDS)})",
    "port_allocation": "a mapping memory operand -> direction -> port",
    "served_dimensions": "a list of array dimensions (or 'all')",
}


def load_hardware(path: str | os.PathLike[str]) -> Accelerator:
    """Read a hardware YAML file and return the validated Accelerator (InputError on the first problem)."""
    return accelerator_from_yaml(Field.root(path, read_yaml(path)))


def accelerator_from_yaml(doc: Field) -> Accelerator:
    """Validate an already-parsed hardware document and build the Accelerator."""
    doc.mapping("a hardware description (a mapping with name, operational_array, memories)", TOP_FIELDS, TOP_OPTIONAL, _desc)
    name = doc.child("name").text(_DESCRIBE["name"])
    if not doc.child("workload_family").missing:
        doc.child("workload_family").text("a workload family (a folder name under inputs/workloads/)")
    array = _array(doc.child("operational_array"))
    mems = doc.child("memories").seq(_DESCRIBE["memories"], min_len=1)
    levels: list[MemoryLevel] = []
    seen: dict[str, int] = {}
    for i, m in enumerate(mems.elements()):
        level = _memory(m, i, array)
        if level.name in seen:
            raise m.child("name").error(
                "a memory name not used before", f"{level.name!r} (already memories[{seen[level.name]}])"
            )
        seen[level.name] = i
        levels.append(level)
    _check_chains(mems, levels)
    return Accelerator(name=name, array=array, levels=tuple(levels))


def _desc(key: str) -> str:
    return _DESCRIBE.get(key, "a value") + " (required field)"


def _array(f: Field) -> OperationalArray:
    f.mapping(_DESCRIBE["operational_array"], ARRAY_REQUIRED, ARRAY_OPTIONAL, _desc)
    dims_f = f.child("dimensions").mapping(_DESCRIBE["dimensions"])
    if not dims_f.value:
        raise dims_f.error(_DESCRIBE["dimensions"], "an empty mapping")
    dims: dict[str, int] = {}
    for d, df in dims_f.items():
        if not ARRAY_DIM_RE.match(d):
            raise dims_f.key_field(d).error("an array dimension named D<n> (D1, D2, ...)", repr(d))
        dims[d] = df.pos_int("a positive integer (array dimension size)")
    unit_energy = f.child("unit_energy").nonneg_number(_DESCRIBE["unit_energy"])
    ua = f.child("unit_area")
    unit_area = 0.0 if ua.missing else ua.nonneg_number(_DESCRIBE["unit_area"])
    return OperationalArray(dimensions=FrozenDict(dims), unit_energy=unit_energy, unit_area=unit_area)


def _memory(m: Field, index: int, array: OperationalArray) -> MemoryLevel:
    m.mapping("a memory (a mapping with name, size, r_bw, ...)", MEMORY_REQUIRED, MEMORY_OPTIONAL, _desc)
    name = m.child("name").text(_DESCRIBE["name"])
    size = m.child("size").pos_int(_DESCRIBE["size"])
    r_bw = m.child("r_bw").pos_int(_DESCRIBE["r_bw"])
    w_bw = m.child("w_bw").pos_int(_DESCRIBE["w_bw"])
    r_bw_min = _min_bw(m.child("r_bw_min"), "r_bw_min", r_bw, "r_bw")
    w_bw_min = _min_bw(m.child("w_bw_min"), "w_bw_min", w_bw, "w_bw")
    r_cost = m.child("r_cost").nonneg_number(_DESCRIBE["r_cost"])
    w_cost = m.child("w_cost").nonneg_number(_DESCRIBE["w_cost"])
    area_f = m.child("area")
    area = 0.0 if area_f.missing else area_f.nonneg_number(_DESCRIBE["area"])
    lat_f = m.child("latency")
    latency = 1 if lat_f.missing else lat_f.nonneg_int(_DESCRIBE["latency"])

    ops_f = m.child("operands").seq(_DESCRIBE["operands"], min_len=1)
    operands: list[str] = []
    for of in ops_f.elements():
        if of.value not in MEMORY_OPERANDS:
            got = f"unknown memory operand {of.value!r}" if isinstance(of.value, str) else show(of.value)
            raise of.error(f"a memory operand ({one_of(MEMORY_OPERANDS)})", got)
        if of.value in operands:
            raise of.error("each memory operand listed once", f"{of.value!r} twice")
        operands.append(of.value)

    ports_f = m.child("ports").mapping(_DESCRIBE["ports"])
    if not ports_f.value:
        raise ports_f.error(_DESCRIBE["ports"], "an empty mapping")
    ports: list[Port] = []
    kinds: dict[str, str] = {}
    for pname, pf in ports_f.items():
        if pf.value not in PORT_KINDS:
            raise pf.error(f"a port kind ({' | '.join(PORT_KINDS)})")
        ports.append(Port(name=pname, kind=pf.value))
        kinds[pname] = pf.value

    alloc_f = m.child("port_allocation").mapping(_DESCRIBE["port_allocation"])
    allocation: dict[str, FrozenDict[str, str]] = {}
    for op, of in alloc_f.items():
        if op not in MEMORY_OPERANDS:
            raise alloc_f.key_field(op).error(
                f"a memory operand ({one_of(MEMORY_OPERANDS)})", f"unknown memory operand {op!r}"
            )
        if op not in operands:
            raise alloc_f.key_field(op).error(
                f"an operand stored in this memory ({one_of(operands)})", f"{op!r}, not in operands"
            )
        of.mapping(f"a mapping direction -> port for {op} (directions {one_of(DIRECTIONS)})")
        dirs: dict[str, str] = {}
        for direction, df in of.items():
            if direction not in DIRECTIONS:
                raise of.key_field(direction).error(
                    f"a direction ({one_of(DIRECTIONS)})", f"unknown direction {direction!r}"
                )
            if not isinstance(df.value, str) or df.value not in kinds:
                raise df.error(f"a port declared in ports ({one_of(list(kinds))})")
            kind = kinds[df.value]
            if kind not in _DIRECTION_KINDS[direction]:
                can = "read" if direction in ("tl", "th") else "write"
                raise df.error(
                    f"a port that can {can} for direction {direction} ({' or '.join(_DIRECTION_KINDS[direction])})",
                    f"{df.value!r} (a {kind} port)",
                )
            dirs[direction] = df.value
        allocation[op] = FrozenDict(dirs)
    for op in operands:
        if op not in allocation:
            raise alloc_f.child(op).error(f"a port allocation for {op} (it is in operands)")

    sd_f = m.child("served_dimensions")
    all_dims = tuple(array.dimensions)
    if sd_f.value == "all":
        served = frozenset(all_dims)
    else:
        sd_f.seq(_DESCRIBE["served_dimensions"])
        served_list: list[str] = []
        for df in sd_f.elements():
            if df.value not in all_dims:
                raise df.error(f"a dimension of the operational array ({one_of(all_dims)})")
            if df.value in served_list:
                raise df.error("each dimension listed once", f"{df.value!r} twice")
            served_list.append(df.value)
        served = frozenset(served_list)

    instance = MemoryInstance(
        name=name,
        size=size,
        r_bw=r_bw,
        w_bw=w_bw,
        r_bw_min=r_bw_min,
        w_bw_min=w_bw_min,
        r_cost=r_cost,
        w_cost=w_cost,
        area=area,
        latency=latency,
        ports=tuple(ports),
    )
    return MemoryLevel(
        instance=instance,
        operands=tuple(operands),
        port_allocation=FrozenDict(allocation),
        served_dimensions=served,
        index=index,
    )


def _min_bw(f: Field, key: str, bw: int, bw_name: str) -> int:
    if f.missing:
        return bw
    v = f.pos_int(_DESCRIBE[key])
    if v > bw:
        raise f.error(f"an access granularity of at most {bw_name} ({bw})")
    return v


def _check_chains(mems: Field, levels: list[MemoryLevel]) -> None:
    """Every memory operand stored somewhere, one common top memory, and the ports each chain needs."""
    for op in MEMORY_OPERANDS:
        if not any(op in lv.operands for lv in levels):
            raise mems.error(
                f"every memory operand ({one_of(MEMORY_OPERANDS)}) stored in at least one memory",
                f"no memory stores {op}",
            )
    tops = {op: [lv for lv in levels if op in lv.operands][-1] for op in MEMORY_OPERANDS}
    first_op = MEMORY_OPERANDS[0]
    for op in MEMORY_OPERANDS[1:]:
        if tops[op].name != tops[first_op].name:
            ref = tops[first_op]
            bad = tops[op]
            higher, lower = (bad, ref) if bad.index > ref.index else (ref, bad)
            lower_op = op if lower is bad else first_op
            raise _mem(mems, higher.index).child("operands").error(
                f"the same top memory for every operand ({first_op} ends at {ref.name!r})",
                f"{op} ends at {bad.name!r}; add {lower_op} to the top memory {higher.name!r}",
            )
    for op in MEMORY_OPERANDS:
        chain = [lv for lv in levels if op in lv.operands]
        for j, lv in enumerate(chain):
            top = j == len(chain) - 1
            need = ["tl"] + ([] if top else ["fh"])
            if op == "O":
                need += ["fl"] + ([] if top else ["th"])
            have = lv.port_allocation[op]
            for d in need:
                if d not in have:
                    where = "the top memory" if top else f"level {j} of the {op} chain"
                    raise _mem(mems, lv.index).child("port_allocation").child(op).error(
                        f"a port for direction {d} ({where} needs {', '.join(need)})",
                        f"only {', '.join(have) or 'no directions'}",
                    )


def _mem(mems: Field, index: int) -> Field:
    return list(mems.elements())[index]
