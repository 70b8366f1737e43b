"""ZigZag 3.x (zigzag-dse 3.9.1) input files read into ACCO's models (acco/io/zigzag.py)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from acco.cost import evaluate
from acco.io import InputError, load_hardware, load_temporal_mapping, load_workload, read_yaml
import acco.io.zigzag as zz
from acco.io.yamlfile import Field
from acco.io.zigzag import (
    is_zigzag_hardware,
    is_zigzag_workload,
    load_zigzag_hardware,
    load_zigzag_workload,
    read_zigzag_yaml,
    zigzag_temporal_orderings,
)
from acco.workload.layer import Relation
from conftest import DATA, INPUTS

ZZ = DATA / "zigzag_examples"
HW = {name: ZZ / "hardware" / f"{name}.yaml"
      for name in ("ascend_like", "edge_tpu_like", "meta_prototype", "tesla_npu_like", "tpu_like")}
#: each hardware's own mapping file (they pair by name)
MAPPING = {
    "ascend_like": ZZ / "mapping" / "ascend_like.yaml",
    "edge_tpu_like": ZZ / "mapping" / "edge_tpu_like.yaml",
    "meta_prototype": ZZ / "mapping" / "meta_prototype_like.yaml",
    "tesla_npu_like": ZZ / "mapping" / "tesla_npu_like.yaml",
    "tpu_like": ZZ / "mapping" / "tpu_like.yaml",
}
CONV = ZZ / "workload" / "conv_k64_c64_56x56_3x3.yaml"
RESNET = ZZ / "workload" / "resnet18.yaml"
GEMM = ZZ / "workload" / "gemm_layer.yaml"


# ---- loading the shipped examples ---------------------------------------------------------
@pytest.mark.parametrize("name", sorted(HW))
def test_every_zigzag_hardware_loads(name):
    acc = load_zigzag_hardware(HW[name])
    units = {"ascend_like": 1024, "edge_tpu_like": 1024, "meta_prototype": 1024, "tesla_npu_like": 4096,
             "tpu_like": 1024}
    assert acc.array.total_units == units[name]
    assert [lv.index for lv in acc.levels] == list(range(len(acc.levels)))
    for op in ("I1", "I2", "O"):
        assert acc.chain(op)[-1].name == "dram"
    assert acc.level_by_name("dram").instance.r_bw == 64


def test_tpu_like_equals_the_hand_translation():
    """Memory sizes, bandwidths, costs, operands, ports, served dims: the same as tests/data/zigzag_tpu_like.yaml."""
    acc = load_zigzag_hardware(HW["tpu_like"])
    ref = load_hardware(DATA / "zigzag_tpu_like.yaml")
    assert acc.name == "tpu_like"
    # ZigZag 3.9.1's file declares its systolic dims (only the zigzag-3.9.1 latency uses them); the rest is equal
    assert acc.array.systolic_dimensions == ("D1", "D2")
    assert dataclasses.replace(acc.array, systolic_dimensions=()) == ref.array
    assert acc.levels == ref.levels
    sram = acc.level_by_name("sram_2MB").instance
    assert (sram.r_bw, sram.w_bw, sram.r_bw_min, sram.w_bw_min) == (2048, 2048, 64, 64)
    # the file lists `ports` twice for sram_2MB; as in ZigZag the second list is used
    assert [p.name for p in sram.ports] == ["r_port_1", "w_port_1"]


def test_served_dimensions_as_zigzag():
    """ascend_like's DRAM serves only D1, D2 of a 4-D array, so it is replicated over D3 x D4 (as in ZigZag)."""
    acc = load_zigzag_hardware(HW["ascend_like"])
    assert acc.instance_count(acc.level_by_name("dram")) == 4
    assert acc.instance_count(acc.level_by_name("rf_1B")) == 16 * 16
    npu = load_zigzag_hardware(HW["tesla_npu_like"])
    assert npu.level_by_name("rf_4B").served_dimensions == frozenset()
    assert npu.instance_count(npu.level_by_name("rf_4B")) == 32 * 32 * 4


@pytest.mark.parametrize("name", sorted(HW))
@pytest.mark.parametrize("workload", [CONV, RESNET, GEMM], ids=lambda p: p.stem)
def test_workloads_load_with_each_hardware_and_its_mapping(name, workload):
    acc = load_zigzag_hardware(HW[name])
    wl = load_zigzag_workload(workload, MAPPING[name], acc)
    assert wl.name == workload.stem
    inputs = [n for n in wl.nodes if n.type == "input"]
    assert [n.id for n in inputs] == [-1]
    for layer in wl.layers:
        assert set(layer.memory_operand_links) == set(layer.operands)
        for oa, dim, size in layer.spatial_mapping:
            assert oa in acc.array.dimensions and dim in layer.loop_sizes and size > 0
    assert len(wl.layers) == {"conv_k64_c64_56x56_3x3": 1, "resnet18": 31, "gemm_layer": 1}[workload.stem]
    # the ACCO graph: every layer's non-constant inputs have a producer
    g = wl.graph
    for layer in wl.layers:
        for op in layer.input_operands:
            assert (op in layer.constant_operands) != (op in layer.operand_source)
            if op in layer.operand_source:
                assert g.has_edge(layer.operand_source[op], layer.id)


def test_default_mapping_file_and_no_accelerator():
    wl = load_zigzag_workload(CONV, ZZ / "mapping" / "default.yaml")
    assert wl.layer(0).spatial_mapping == (("D1", "K", 32), ("D2", "C", 32))


# ---- workload semantics ---------------------------------------------------------------------
def test_resnet18_layer_shapes():
    wl = load_zigzag_workload(RESNET, MAPPING["tpu_like"], load_zigzag_hardware(HW["tpu_like"]))
    conv1 = wl.layer(0)
    assert conv1.name == "example_name_of_layer0" and conv1.type == "conv"
    assert dict(conv1.loop_sizes) == {"B": 1, "K": 64, "C": 3, "OY": 112, "OX": 112, "FY": 7, "FX": 7}
    assert conv1.relations == (Relation("IX", "OX", 2, "FX", 1), Relation("IY", "OY", 2, "FY", 1))
    assert conv1.operands == ("O", "W", "I")
    assert dict(conv1.precision) == {"O": 16, "O_final": 8, "W": 8, "I": 8}
    assert conv1.constant_operands == ("W",) and dict(conv1.operand_source) == {"I": -1}
    assert conv1.operand_size("I") == 3 * 229 * 229  # stride 2: 2*111 + 7

    # the network input: the activation of the first layer (both of its inputs were self-sourced)
    net_in = wl.node(-1)
    assert dict(net_in.loop_sizes) == {"B": 1, "C": 3, "IY": 229, "IX": 229}
    assert net_in.precision == 8 and dict(net_in.memory_operand_links) == {"O": "I1"}

    pool = wl.layer(1)
    assert pool.type == "pool" and pool.name == "Layer1"
    assert dict(pool.loop_sizes) == {"B": 1, "G": 64, "OY": 56, "OX": 56, "FX": 3, "FY": 3}
    assert pool.precision["W"] == 0 and pool.constant_operands == ("W",)
    assert dict(pool.operand_source) == {"I": 0}
    assert dict(pool.source_dimension_mapping["I"]) == {"G": "K", "IY": "OY", "IX": "OX"}

    add = wl.layer(4)
    assert add.type == "add" and add.constant_operands == ()
    assert dict(add.operand_source) == {"W": 1, "I": 3}
    assert add.relations == ()

    conv3_1 = wl.layer(8)
    assert dict(conv3_1.loop_sizes) == {"B": 1, "K": 128, "C": 64, "OY": 28, "OX": 28, "FY": 3, "FX": 3}
    assert conv3_1.relations[0] == Relation("IX", "OX", 2, "FX", 1)
    assert dict(conv3_1.operand_source) == {"I": 7}

    down = wl.layer(10)  # Conv_downsample of layer 7
    assert down.type == "conv" and dict(down.operand_source) == {"I": 7}
    assert set(wl.graph.successors(7)) == {8, 10}

    fc = wl.layer(30)
    assert dict(fc.loop_sizes) == {"B": 1, "K": 1000, "C": 512, "OY": 1, "OX": 1, "FY": 1, "FX": 1}
    assert wl.layer(29).loop_sizes["FX"] == 7


def test_mapping_entry_by_name_then_operator_type_then_default():
    wl = load_zigzag_workload(RESNET, MAPPING["tpu_like"])
    assert wl.layer(0).spatial_mapping == (("D1", "C", 32), ("D2", "K", 32))  # by layer name
    assert wl.layer(1).spatial_mapping == (("D1", "G", 32),)  # Pooling entry; C (not a dim of the layer) dropped
    assert wl.layer(4).spatial_mapping == (("D1", "G", 32),)  # Add entry
    assert wl.layer(2).spatial_mapping == (("D1", "K", 32), ("D2", "C", 32))  # Conv -> default
    assert wl.layer(10).spatial_mapping == (("D1", "K", 32), ("D2", "C", 32))  # Conv_downsample -> default
    gemm = load_zigzag_workload(GEMM, MAPPING["tpu_like"]).layer(0)
    assert gemm.type == "fc" and gemm.operands == ("O", "I", "W")
    assert gemm.spatial_mapping == ()  # K and C are not dims of D0, D1, D2
    assert dict(gemm.memory_operand_links) == {"O": "O", "I": "I1", "W": "I2"}


def test_temporal_orderings():
    orders = zigzag_temporal_orderings(RESNET, MAPPING["tpu_like"])
    assert orders == {0: [("OX", 112), ("OY", 112), ("FX", 7), ("FY", 7), ("K", 2)]}
    assert zigzag_temporal_orderings(CONV, MAPPING["tpu_like"]) == {}


def test_tpu_like_conv_energy_through_the_reader():
    """ZigZag 3.9.1's worked example (docs/references.md) through the ZigZag files: the same layer and the same 68 294 568.736 pJ."""
    acc = load_zigzag_hardware(HW["tpu_like"])
    layer = load_zigzag_workload(CONV, MAPPING["tpu_like"], acc).layer(0)
    ref = load_workload(DATA / "zigzag_conv_k64_c64_56x56.yaml").layer(0)
    for attr in ("operands", "operand_dims", "relations", "loop_sizes", "precision", "spatial_mapping",
                 "memory_operand_links", "constant_operands", "operand_source"):
        assert getattr(layer, attr) == getattr(ref, attr), attr
    c = evaluate(layer, acc, load_temporal_mapping(DATA / "zigzag_tpu_like_tm.yaml", layer, acc))
    assert c.energy_total == pytest.approx(68_294_568.736, rel=1e-9)
    ref_c = evaluate(ref, load_hardware(DATA / "zigzag_tpu_like.yaml"),
                     load_temporal_mapping(DATA / "zigzag_tpu_like_tm.yaml", ref, acc))
    assert c.energy_total == ref_c.energy_total
    assert c.latency_total2 == ref_c.latency_total2


# ---- format detection -------------------------------------------------------------------------
def test_detectors():
    for p in HW.values():
        assert is_zigzag_hardware(read_zigzag_yaml(p))
        assert not is_zigzag_workload(read_zigzag_yaml(p))
    for p in (CONV, RESNET, GEMM):
        assert is_zigzag_workload(read_zigzag_yaml(p))
        assert not is_zigzag_hardware(read_zigzag_yaml(p))
    for p in MAPPING.values():
        assert not is_zigzag_workload(read_zigzag_yaml(p)) and not is_zigzag_hardware(read_zigzag_yaml(p))
    for p in sorted((INPUTS / "hardware").glob("*.yaml")):
        assert not is_zigzag_hardware(read_yaml(p))
    for p in sorted((INPUTS / "workloads").rglob("*.yaml"))[:5]:
        assert not is_zigzag_workload(read_yaml(p)) and not is_zigzag_hardware(read_yaml(p))
    assert not is_zigzag_hardware(None) and not is_zigzag_workload({}) and not is_zigzag_workload([])


# ---- located errors -------------------------------------------------------------------------
def _write(tmp_path: Path, data: Any, name: str) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def _hw_error(tmp_path: Path, mutate: Callable[[dict], None], base: str = "tpu_like") -> InputError:
    data = copy.deepcopy(yaml.safe_load(HW[base].read_text()))
    mutate(data)
    path = _write(tmp_path, data, "bad_hw.yaml")
    with pytest.raises(InputError) as info:
        load_zigzag_hardware(path)
    assert info.value.file == str(path)
    return info.value


def _port(data: dict, mem: str, i: int) -> dict:
    return data["memories"][mem]["ports"][i]


HW_CASES = [
    ("missing size", lambda d: d["memories"]["rf_128B"].pop("size"), "memories.rf_128B.size", "positive integer"),
    ("negative size", lambda d: d["memories"]["rf_2B"].update(size=-16), "memories.rf_2B.size", "positive integer"),
    ("missing latency", lambda d: d["memories"]["dram"].pop("latency"), "memories.dram.latency", "required"),
    ("null r_cost", lambda d: d["memories"]["dram"].update(r_cost=None), "memories.dram.r_cost", "required"),
    ("misspelled key", lambda d: d["memories"]["dram"].update(sise=1), "memories.dram.sise", "did you mean 'size'"),
    ("unknown operand in allocation", lambda d: _port(d, "rf_128B", 0).update(allocation=["I3, tl"]),
     "memories.rf_128B.ports[0].allocation[0]", "unknown memory operand 'I3'"),
    ("bad allocation string", lambda d: _port(d, "rf_128B", 0).update(allocation=["I2 tl"]),
     "memories.rf_128B.ports[0].allocation[0]", "'I2, tl'"),
    ("unknown direction", lambda d: _port(d, "rf_128B", 0).update(allocation=["I2, to"]),
     "memories.rf_128B.ports[0].allocation[0]", "unknown direction 'to'"),
    ("operand not stored", lambda d: _port(d, "rf_128B", 0).update(allocation=["I1, tl"]),
     "memories.rf_128B.ports[0].allocation[0]", "I1 is not in operands"),
    ("write direction on a read port", lambda d: _port(d, "rf_128B", 0).update(allocation=["I2, fh"]),
     "memories.rf_128B.ports[0].allocation[0]", "write direction"),
    ("direction allocated twice", lambda d: _port(d, "rf_2B", 1).update(allocation=["O, tl"]),
     "memories.rf_2B.ports[1].allocation[0]", "already on 'r_port_1'"),
    ("missing direction", lambda d: _port(d, "rf_2B", 1).update(allocation=[]),
     "memories.rf_2B.ports", "'O, th'"),
    ("bandwidth_min above max", lambda d: _port(d, "rf_2B", 0).update(bandwidth_min=32),
     "memories.rf_2B.ports[0].bandwidth_min", "at most bandwidth_max"),
    ("unequal read widths", lambda d: _port(d, "rf_2B", 1).update(bandwidth_max=32),
     "memories.rf_2B.ports[1].bandwidth_max", "one read word width"),
    ("bad port type", lambda d: _port(d, "dram", 0).update(type="rw"), "memories.dram.ports[0].type", "read_write"),
    ("served dim not in array", lambda d: d["memories"]["dram"].update(served_dimensions=["D1", "D3"]),
     "memories.dram.served_dimensions[1]", "D1, D2"),
    ("sizes mismatch", lambda d: d["operational_array"].update(sizes=[32]), "operational_array.sizes",
     "one size per dimension"),
    ("zero array size", lambda d: d["operational_array"].update(sizes=[32, 0]), "operational_array.sizes[1]",
     "positive integer"),
    ("bad array dimension", lambda d: d["operational_array"].update(dimensions=["D1", "X"]),
     "operational_array.dimensions[1]", "D<n>"),
    ("imc", lambda d: d["operational_array"].update(is_imc=True), "operational_array.is_imc", "not supported"),
    ("cacti", lambda d: d["memories"]["dram"].update(auto_cost_extraction=True),
     "memories.dram.auto_cost_extraction", "CACTI"),
    ("operand never stored", lambda d: d["memories"]["dram"].update(operands=["I1", "O"]),
     "memories.dram.ports[0].allocation[2]", "I2 is not in operands"),
    ("memories as a list", lambda d: d.update(memories=list(d["memories"].values())), "memories", "mapping"),
    ("missing operational_array", lambda d: d.pop("operational_array"), "operational_array", "required"),
]


@pytest.mark.parametrize("mutate,field,text", [c[1:] for c in HW_CASES], ids=[c[0] for c in HW_CASES])
def test_hardware_errors(tmp_path, mutate, field, text):
    err = _hw_error(tmp_path, mutate)
    assert err.field == field
    assert text in str(err)


def test_hardware_top_memory_must_be_common(tmp_path):
    def mutate(d: dict) -> None:
        d["memories"]["sram_2MB"]["operands"] = ["I1", "I2", "O"]
        d["memories"]["sram_2MB"]["ports"][0]["allocation"] += ["I2, tl"]
        d["memories"]["sram_2MB"]["ports"][1]["allocation"] += ["I2, fh"]
        d["memories"]["dram"]["operands"] = ["I1", "O"]
        for p in d["memories"]["dram"]["ports"]:
            p["allocation"] = [a for a in p["allocation"] if not a.startswith("I2")]

    err = _hw_error(tmp_path, mutate)
    assert err.field == "memories.dram.operands" and "same top memory" in str(err)


def test_yaml_and_file_errors(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nmemories: [\n")
    with pytest.raises(InputError) as info:
        load_zigzag_hardware(bad)
    assert info.value.expected == "valid YAML" and info.value.line is not None
    with pytest.raises(InputError) as info:
        load_zigzag_hardware(tmp_path / "nope.yaml")
    assert "no such file" in str(info.value)


def _wl_error(tmp_path: Path, mutate_wl: Callable[[list], None] | None = None,
              mutate_map: Callable[[list], None] | None = None, workload: Path = RESNET,
              hw: str | None = None, mapping: Path | None = None) -> InputError:
    wl = yaml.safe_load(workload.read_text())
    mp = yaml.safe_load((mapping or MAPPING["tpu_like"]).read_text())
    if mutate_wl:
        mutate_wl(wl)
    if mutate_map:
        mutate_map(mp)
    wl_path = _write(tmp_path, wl, "wl.yaml")
    map_path = _write(tmp_path, mp, "map.yaml")
    acc = load_zigzag_hardware(HW[hw]) if hw else None
    with pytest.raises(InputError) as info:
        load_zigzag_workload(wl_path, map_path, acc)
    assert info.value.file in (str(wl_path), str(map_path))
    info.value.which = "workload" if info.value.file == str(wl_path) else "mapping"  # type: ignore[attr-defined]
    return info.value


def _layer(wl: list, lid: int) -> dict:
    return next(e for e in wl if e["id"] == lid)


WL_CASES = [
    ("sizes mismatch", lambda w: _layer(w, 2).update(loop_sizes=[1, 64, 64, 56, 56, 3]), "[id=2].loop_sizes",
     "one size per loop dimension"),
    ("zero loop size", lambda w: _layer(w, 2)["loop_sizes"].__setitem__(1, 0), "[id=2].loop_sizes[1]",
     "size of loop dimension K"),
    ("unknown operator", lambda w: _layer(w, 3).update(operator_type="Softmax"), "[id=3].operator_type",
     "Conv"),
    ("unknown source", lambda w: _layer(w, 3)["operand_source"].update(I=99), "[id=3].operand_source.I",
     "no such layer"),
    ("cycle", lambda w: _layer(w, 2)["operand_source"].update(I=3), "[id=3].operand_source", "cycle"),
    ("undefined index", lambda w: _layer(w, 2).update(dimension_relations=["ix=1*ox+1*fx"]), "[id=2].equation",
     "unknown dimension 'iy'"),
    ("bad relation", lambda w: _layer(w, 2).update(dimension_relations=["ix=ox*fx", "iy=1*oy+1*fy"]),
     "[id=2].dimension_relations[0]", "relation"),
    ("missing precision", lambda w: _layer(w, 2)["operand_precision"].pop("W"), "[id=2].operand_precision.W",
     "precision of operand W"),
    ("missing O_final", lambda w: _layer(w, 2)["operand_precision"].pop("O_final"),
     "[id=2].operand_precision.O_final", "final output"),
    ("duplicate id", lambda w: _layer(w, 3).update(id=2), "[3].id", "unique layer id"),
    ("padding without pr dims", lambda w: _layer(w, 2).update(padding=[[1, 1], [1, 1]]), "[id=2].pr_loop_dims",
     "pr_loop_dims"),
    ("pr dim not a relation", lambda w: _layer(w, 2).update(pr_loop_dims=["IX", "K"]), "[id=2].pr_loop_dims[1]",
     "dimension_relations"),
    ("not a list", lambda w: w.clear(), "", "non-empty list of layers"),
]


@pytest.mark.parametrize("mutate,field,text", [c[1:] for c in WL_CASES], ids=[c[0] for c in WL_CASES])
def test_workload_errors(tmp_path, mutate, field, text):
    err = _wl_error(tmp_path, mutate_wl=mutate)
    assert err.which == "workload"
    assert err.field == field
    assert text in str(err)


MAP_CASES = [
    ("no default and no match", lambda m: m.pop(0), "", "an entry named 'Layer2', 'Conv' or 'default'"),
    ("bad unrolling string", lambda m: m[0]["spatial_mapping"].update(D1=["K 32"]), "[name=default].spatial_mapping.D1[0]",
     "'K, 32'"),
    ("flow pair instead of strings", lambda m: m[0]["spatial_mapping"].update(D1=["K", 32]),
     "[name=default].spatial_mapping.D1[0]", "'DIM, factor'"),
    ("zero factor", lambda m: m[0]["spatial_mapping"].update(D1=["K, 0"]), "[name=default].spatial_mapping.D1[0]",
     "zero factor"),
    ("bad array dim", lambda m: m[0]["spatial_mapping"].update(X1=["K, 32"]), "[name=default].spatial_mapping.X1",
     "D<n>"),
    ("bad memory operand", lambda m: m[0]["memory_operand_links"].update(W="I3"),
     "[name=default].memory_operand_links.W", "unknown memory operand 'I3'"),
    ("memory operand twice", lambda m: m[0]["memory_operand_links"].update(W="I1"),
     "[name=default].memory_operand_links.I", "already linked to W"),
    ("missing link", lambda m: m[0]["memory_operand_links"].pop("W"), "[name=default].memory_operand_links",
     "no link for W"),
    ("duplicate entry", lambda m: m.append(copy.deepcopy(m[0])), "[4].name", "not used before"),
    ("bad ordering", lambda m: m[3].update(temporal_ordering=[["OX", 0]]), "[name=example_name_of_layer0]"
     ".temporal_ordering[0][1]", "positive integer"),
    ("unknown entry key", lambda m: m[0].update(spatial_maping={}), "[0].spatial_maping", "did you mean"),
]


@pytest.mark.parametrize("mutate,field,text", [c[1:] for c in MAP_CASES], ids=[c[0] for c in MAP_CASES])
def test_mapping_errors(tmp_path, mutate, field, text):
    err = _wl_error(tmp_path, mutate_map=mutate)
    assert err.which == "mapping"
    assert err.field == field
    assert text in str(err)


def test_mapping_checked_against_the_accelerator(tmp_path):
    # edge_tpu_like's mapping unrolls over D3/D4, which tpu_like (2-D) does not have
    err = _wl_error(tmp_path, workload=CONV, hw="tpu_like", mapping=MAPPING["edge_tpu_like"])
    assert err.which == "mapping" and err.field == "[name=default].spatial_mapping.D3"
    assert "D1, D2" in str(err)
    # a mixed unrolling (two dims on one array dim) must fit the array dim
    err = _wl_error(tmp_path, workload=CONV, hw="tpu_like",
                    mutate_map=lambda m: m[0]["spatial_mapping"].update(D1=["K, 32", "OX, 2"]))
    assert err.field == "[name=default].spatial_mapping.D1" and "fits its size 32" in str(err)


def test_defaults_of_the_format(tmp_path):
    """Mapping entries without memory_operand_links get ZigZag's default; unnamed layers are 'Layer<id>'."""
    mp = [{"name": "default", "spatial_mapping": {"D1": ["D0, 32"], "D2": ["D2, 32"]}}]
    wl = yaml.safe_load(GEMM.read_text())
    del wl[0]["dimension_relations"]
    wl_path, map_path = _write(tmp_path, wl, "gemm.yaml"), _write(tmp_path, mp, "map.yaml")
    layer = load_zigzag_workload(wl_path, map_path).layer(0)
    assert layer.name == "Layer0"
    assert dict(layer.memory_operand_links) == {"O": "O", "I": "I1", "W": "I2"}
    assert layer.spatial_mapping == (("D1", "D0", 32), ("D2", "D2", 32))
    # both inputs self-sourced and no relation: the first input is the activation (ZigZag's rule)
    assert layer.constant_operands == ("W",) and dict(layer.operand_source) == {"I": -1}


def test_padding_and_pr_loop_sizes(tmp_path):
    wl = yaml.safe_load(CONV.read_text())
    wl[0].update(pr_loop_dims=["IX", "IY"], padding=[[1, 1], [0, 0]], pr_loop_sizes=[56, 57])
    wl_path, map_path = _write(tmp_path, wl, "wl.yaml"), MAPPING["tpu_like"]
    w = load_zigzag_workload(wl_path, map_path)
    layer = w.layer(0)
    assert dict(layer.padding) == {"IX": (1, 1), "IY": (0, 0)}
    assert dict(w.node(-1).loop_sizes) == {"B": 1, "C": 64, "IY": 57, "IX": 56}
    wl[0].update(pr_loop_dims=["IY"], padding=None, pr_loop_sizes=[56])
    w = load_zigzag_workload(_write(tmp_path, wl, "wl2.yaml"), map_path)
    assert dict(w.layer(0).padding) == {"IY": (0, 2)}


# ---- robustness: any single-leaf corruption gives an InputError or a clean load -----------------
_BAD_VALUES: list[Any] = [None, -1, 0, 2.5, "x", "I2, tl", [], {}, [1, 2], True]


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        out = [path + (k,) for k in node]
        return out + [p for k, v in node.items() for p in _leaves(v, path + (k,))]
    if isinstance(node, list):
        out = [path + (i,) for i in range(len(node))]
        return out + [p for i, v in enumerate(node) for p in _leaves(v, path + (i,))]
    return []


def _set(node: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _sweep(source: Path, load: Callable[[Field], Any]) -> int:
    """Corrupt every key/item of `source` in turn (parsed once, checked without re-reading files)."""
    base = yaml.safe_load(source.read_text())
    n = 0
    for path in _leaves(base):
        for bad in _BAD_VALUES:
            data = copy.deepcopy(base)
            _set(data, path, bad)
            try:
                load(Field.root("mut.yaml", data))
            except InputError as e:
                assert e.file == "mut.yaml" and e.expected
            n += 1
    return n


def test_mutation_sweep_hardware():
    assert _sweep(HW["tpu_like"], zz._accelerator) > 1000


def test_mutation_sweep_workload_and_mapping():
    acc = load_zigzag_hardware(HW["tpu_like"])
    wl = Field.root(str(RESNET), read_zigzag_yaml(RESNET))
    mp = Field.root(str(MAPPING["tpu_like"]), read_zigzag_yaml(MAPPING["tpu_like"]))
    assert _sweep(CONV, lambda doc: zz._from_docs(doc, mp, acc, "conv")) > 200
    assert _sweep(MAPPING["tpu_like"], lambda doc: zz._from_docs(wl, doc, acc, "resnet18")) > 200
