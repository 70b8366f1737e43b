"""The ported inputs against the original ACCO's own parameter dumps, field by field.

tests/data/original_inputs/ holds what the original tool (KULeuven-MICAS/ACCO 229f6d7) printed of its
hardware models and of its three Meta_prototype workloads (README there). Every number of the five
`_DF` hardware models and of every declared layer must equal ours: numbers are compared exactly
(the derived pJ/bit columns, printed with 4
significant digits, are not used), except the cost per access, which the dump prints with %g (6
significant digits: Tesla's 26.01*7 = 182.07000000000002 pJ appears as 182.07), so ours is formatted
the same way and compared as text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from acco.io import load_hardware, load_workload
from acco.workload.layer import Layer
from conftest import DATA, INPUTS

DUMPS = DATA / "original_inputs"
DF_HARDWARE = ("Meta_prototype_DF", "Edge_TPU_like_DF", "Tesla_NPU_like_DF", "TPU_like_DF", "Ascend_like_DF")
#: the dump's port-allocation words and ours
DIRECTIONS = {"rd_out_to_low": "tl", "wr_in_by_high": "fh", "wr_in_by_low": "fl", "rd_out_to_high": "th"}


def _np_literal(text: str):
    """A Python literal printed with numpy scalars (np.int64(3) -> 3)."""
    return ast.literal_eval(re.sub(r"np\.\w+\(([^()]*)\)", r"\1", text))


def _hw_sections() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    name = None
    for line in (DUMPS / "acco_hw_dump.txt").read_text().splitlines():
        m = re.match(r"## (\S+): ", line)
        if m:
            name = m.group(1)
            out[name] = []
        if name:
            out[name].append(line)
    return out


@pytest.mark.parametrize("name", DF_HARDWARE)
def test_hardware_equals_the_original_dump(name: str) -> None:
    lines = _hw_sections()[name]
    acc = load_hardware(INPUTS / "hardware" / f"{name}.yaml")
    head = re.match(r"## \S+: array dims (\[.*\]) = (\d+) MACs, MAC energy (\S+) pJ", lines[0])
    assert head, lines[0]
    dims = _np_literal(head.group(1))
    assert list(acc.array.dimensions.items()) == [tuple(d) for d in dims]
    assert acc.array.total_units == int(head.group(2))
    assert acc.array.unit_energy == float(head.group(3))
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines if re.match(r"\| \d+ \|", ln)]
    assert [r[1] for r in rows] == [lv.name for lv in acc.levels]
    dim_names = [d for d, _ in dims]
    for r, lv in zip(rows, acc.levels):
        inst = lv.instance
        assert int(r[2]) == inst.size, lv.name
        assert (int(r[4]), int(r[5])) == (inst.r_bw, inst.w_bw), lv.name
        assert (r[6], r[7]) == (f"{inst.r_cost:g}", f"{inst.w_cost:g}"), lv.name  # printed with %g
        kinds = [p.kind for p in inst.ports]
        assert r[10] == f"{kinds.count('read')}/{kinds.count('write')}/{kinds.count('read_write')}", lv.name
        ops = [m.groups() for m in re.finditer(r"(\w+)\(L(\d+)\)", r[11])]
        assert [op for op, _ in ops] == list(lv.operands), lv.name
        for op, level_no in ops:
            assert acc.chain(op).index(lv) == int(level_no), (lv.name, op)
        served = {dim_names[v.index(1)] for v in _np_literal(r[12]) if any(v)}  # (0, 0, 0): no dim
        assert served == set(lv.served_dimensions), lv.name
        assert int(r[13]) == acc.instance_count(lv), lv.name
        assert r[14] == f"{inst.r_bw_min}/{inst.w_bw_min}", lv.name
    chains = {m.group(1): m.group(2).split(" -> ") for ln in lines if (m := re.match(r"   (\w+): (.*)$", ln))}
    assert chains and {op: [lv.name for lv in acc.chain(op)] for op in chains} == chains
    n_ports = 0
    for ln in lines:
        m = re.match(r"   ports (\S+) (\[.*\])$", ln)
        if not m:
            continue
        lv = acc.level_by_name(m.group(1))
        theirs = {(op, DIRECTIONS[d]): port for port, uses in ast.literal_eval(m.group(2)) for op, _, d in uses}
        ours = {(op, d): port for op, by_dir in lv.port_allocation.items() for d, port in by_dir.items() if port}
        assert ours == theirs, lv.name
        n_ports += 1
    assert n_ports == len(acc.levels)


def _wl_declared(name: str) -> dict[int, str]:
    """The `declared:` lines of one workload of the dump, by layer id."""
    out: dict[int, str] = {}
    section = mode = None
    for line in (DUMPS / "acco_wl_dump_main.txt").read_text().splitlines():
        if line.startswith("######## "):
            section = line.split("/workload_")[-1]
            mode = None
        elif not line.startswith(" "):
            mode = line.rstrip(":")
        elif section == name and mode == "declared":
            i, rest = line.strip().split(": ", 1)
            out[int(i)] = rest
    return out


def _fields(rest: str) -> dict[str, object]:
    """`EQ rel=[...] dims={...} prec={...} ...` -> {'eq': EQ, 'rel': [...], ...}."""
    eq, _, tail = rest.partition(" rel=")
    parts = re.split(r" (\w+)=", " rel=" + tail)
    return {"eq": eq, **{k: ast.literal_eval(v) for k, v in zip(parts[1::2], parts[2::2])}}


@pytest.mark.parametrize("name", ["seldnet_oxoy_M", "stftCNN_fixed_unrolling_oxoy_025_1x", "stftCNN_fixed_unrolling_oxoy_025_16x"])
def test_workload_equals_the_original_dump(name: str) -> None:
    declared = _wl_declared(name)
    wl = load_workload(INPUTS / "workloads" / "Meta_prototype" / f"{name}.yaml")
    layers = {lay.id: lay for lay in wl.layers}
    assert sorted(declared) == [-1, *sorted(layers)]
    inp = re.match(r"input dims=(\{.*\}) prec=(\d+)", declared.pop(-1))
    node = next(n for n in wl.nodes if n.type == "input")
    assert dict(node.loop_sizes) == ast.literal_eval(inp.group(1)) and node.precision == int(inp.group(2))
    for i, rest in declared.items():
        f, lay = _fields(rest), layers[i]
        assert isinstance(lay, Layer)
        assert lay.equation == f["eq"], i
        assert [f"{r.data_dim}={r.coef_a}*{r.dim_a}+{r.coef_b}*{r.dim_b}".lower() for r in lay.relations] == f["rel"], i
        assert dict(lay.loop_sizes) == f["dims"], i
        assert dict(lay.precision) == f["prec"], i
        assert {op: list(v) if isinstance(v, tuple) else [v] for op, v in lay.operand_source.items()} == \
            {op: v for op, v in f["src"].items() if v}, i
        assert {op: dict(m) for op, m in lay.source_dimension_mapping.items()} == f["map"], i
        assert list(lay.constant_operands) == f["const"], i
        assert [(dim, (d, s)) for dim, d, s in lay.spatial_mapping] == list(f["SU"].items()), i
        assert dict(lay.memory_operand_links) == f["mem"], i
