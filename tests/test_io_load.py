"""Valid inputs load into the frozen models with the expected contents; every file under inputs/ loads."""

from __future__ import annotations

from pathlib import Path

from acco.frozendict import FrozenDict
from acco.hardware.models import MEMORY_OPERANDS, Accelerator
from acco.io import check_spatial_mapping, load_hardware, load_temporal_mapping, load_workload
from acco.io.workload import parse_relation
from acco.mapping.spatial import spatial_mapping_for
from acco.io.yamlfile import Field
from acco.workload.layer import InputNode, Layer, Relation

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
HW_DIR = ROOT / "inputs" / "hardware"
WL_DIR = ROOT / "inputs" / "workloads"

#: array sizes of the original ACCO accelerators (as printed by running the original code)
KNOWN_MACS = {
    "Meta_prototype_DF": 1024,
    "Edge_TPU_like_DF": 1024,
    "Tesla_NPU_like_DF": 1024,
    "TPU_like_DF": 1024,
    "Ascend_like_DF": 1024,
}
#: memory chains of Meta_prototype_DF per memory operand, innermost first (same dump)
META_CHAINS = {
    "I1": ["sram_64KB", "sram_1MB_A", "dram"],
    "I2": ["rf_1B", "sram_32KB", "sram_1MB_W", "dram"],
    "O": ["rf_2B", "sram_64KB", "sram_1MB_A", "dram"],
}


# ---- the tiny fixtures --------------------------------------------------------------------------
def test_tiny_hardware() -> None:
    acc = load_hardware(DATA / "tiny_hw.yaml")
    assert acc.name == "tiny_hw"
    assert acc.array.dimensions == FrozenDict({"D1": 2, "D2": 2})
    assert acc.array.total_units == 4
    assert [lv.name for lv in acc.levels] == ["reg_W", "reg_I", "reg_O", "dram"]
    assert [lv.index for lv in acc.levels] == [0, 1, 2, 3]
    assert [lv.name for lv in acc.chain("I2")] == ["reg_W", "dram"]
    assert [lv.name for lv in acc.chain("O")] == ["reg_O", "dram"]
    dram = acc.level_by_name("dram")
    assert dram.served_dimensions == frozenset({"D1", "D2"})
    assert acc.instance_count(dram) == 1
    assert acc.instance_count(acc.level_by_name("reg_I")) == 4
    assert dram.operands == ("I1", "I2", "O")
    assert dram.instance.r_bw_min == 8 and dram.instance.r_bw == 64
    reg = acc.level_by_name("reg_W").instance
    assert reg.r_bw_min == reg.r_bw == 8  # default = r_bw
    assert reg.latency == 1 and reg.area == 0.0
    assert [(p.name, p.kind) for p in acc.level_by_name("reg_O").instance.ports] == [
        ("r_port_1", "read"),
        ("r_port_2", "read"),
        ("w_port_1", "write"),
        ("w_port_2", "write"),
    ]
    assert acc.level_by_name("reg_O").port_allocation["O"]["fl"] == "w_port_2"
    assert isinstance(dram.port_allocation, FrozenDict) and isinstance(dram.port_allocation["O"], FrozenDict)
    assert isinstance(dram.instance.r_cost, float)
    assert hash(acc) == hash(load_hardware(DATA / "tiny_hw.yaml"))  # frozen and hashable


def test_tiny_workload() -> None:
    wl = load_workload(DATA / "tiny_wl.yaml")
    assert wl.name == "tiny_wl"
    assert [n.id for n in wl.nodes] == [-1, 0, 1, 2]
    assert [lay.id for lay in wl.layers] == [0, 1, 2]
    inp = wl.node(-1)
    assert isinstance(inp, InputNode)
    assert inp.precision == 8 and inp.memory_operand_links == FrozenDict({"O": "I1"})
    assert inp.size_bits == 2 * 10 * 10 * 8

    conv = wl.layer(0)
    assert conv.name == "conv0" and conv.type == "conv"
    assert conv.operands == ("O", "W", "I")
    assert conv.operand_dims["W"] == ("K", "C", "FY", "FX")
    assert conv.operand_dims["I"] == ("B", "C", "IX", "IY")
    assert conv.relations == (Relation("IX", "OX", 1, "FX", 1), Relation("IY", "OY", 1, "FY", 1))
    assert list(conv.loop_sizes) == ["B", "K", "C", "OY", "OX", "FY", "FX"]  # file order kept
    assert conv.precision == FrozenDict({"O": 16, "O_final": 8, "W": 8, "I": 8})
    assert conv.operand_source == FrozenDict({"I": -1})
    assert conv.constant_operands == ("W",)
    assert conv.source_dimension_mapping["I"] == FrozenDict({"IX": "OX", "IY": "OY", "C": "K"})
    assert conv.spatial_mapping == (("D1", "K", 2), ("D2", "C", 2))
    assert conv.memory_operand_links == FrozenDict({"O": "O", "W": "I2", "I": "I1"})
    assert conv.padding == FrozenDict({"IX": (0, 0), "IY": (0, 0)})
    assert conv.operand_size("I") == 2 * 10 * 10  # IX = 8 + 3 - 1
    assert conv.total_macs == 4 * 2 * 8 * 8 * 3 * 3

    conv1 = wl.layer(1)
    assert conv1.relations[0] == Relation("IX", "OX", 1, "FX", 1)  # 'ix=ox+fx': coefficients default to 1
    assert conv1.padding == FrozenDict()
    assert conv1.name == "conv1x1"

    add = wl.layer(2)
    assert add.operands == ("O", "X", "Y")
    assert add.constant_operands == ()
    assert add.relations == ()
    assert add.operand_source == FrozenDict({"X": 0, "Y": 1})
    assert add.memory_operand_links == FrozenDict({"O": "O", "X": "I1", "Y": "I1"})

    assert sorted(wl.graph.edges) == [(-1, 0), (0, 1), (0, 2), (1, 2)]
    assert hash(wl) == hash(load_workload(DATA / "tiny_wl.yaml"))


def test_relation_parsing() -> None:
    def rel(text: str) -> Relation:
        return parse_relation(Field("f.yaml", "r", text, 1))

    assert rel("ix=2*ox+1*fx") == Relation("IX", "OX", 2, "FX", 1)
    assert rel("iy = oy + 3*fy") == Relation("IY", "OY", 1, "FY", 3)


def test_element_wise_product_equation(tmp_path: Path) -> None:
    text = (DATA / "tiny_wl.yaml").read_text().replace(
        "O[b][g][oy][ox]=X[b][g][oy][ox]+Y[b][g][oy][ox]", "O[b][g][oy][ox]+=X[b][g][oy][ox]*Y[b][g][oy][ox]"
    )
    p = tmp_path / "wl.yaml"
    p.write_text(text)
    assert load_workload(p).layer(2).operands == ("O", "X", "Y")


def test_tiny_spatial_and_temporal_mapping() -> None:
    acc = load_hardware(DATA / "tiny_hw.yaml")
    wl = load_workload(DATA / "tiny_wl.yaml")
    for lay in wl.layers:
        check_spatial_mapping(lay, acc, DATA / "tiny_wl.yaml")
    conv = wl.layer(0)
    sm = spatial_mapping_for(conv, acc)
    assert {d: sm.temporal_size(conv, d) for d in conv.loop_sizes} == {"B": 1, "K": 2, "C": 1, "OY": 8, "OX": 8, "FY": 3, "FX": 3}
    tm = load_temporal_mapping(DATA / "tiny_tm.yaml", conv, acc)
    assert list(tm.levels) == ["O", "W", "I"]
    assert tm["O"] == ((("FY", 3), ("FX", 3)), (("K", 2), ("OY", 8), ("OX", 8)))
    assert tm["W"][0] == ()
    assert tm["I"][1] == (("OY", 4), ("OY", 2), ("OX", 8))


# ---- every real input file ------------------------------------------------------------------------
def _files(directory: Path, pattern: str) -> list[Path]:
    """The YAML files matching `pattern` (the shipped inputs: there must be some)."""
    files = sorted(directory.glob(pattern))
    assert files, f"{directory} holds no {pattern}"
    return files


def _load_all_hardware() -> dict[Path, Accelerator]:
    return {p: load_hardware(p) for p in _files(HW_DIR, "*.yaml")}


def test_every_hardware_file_loads() -> None:
    for path, acc in _load_all_hardware().items():
        assert acc.levels, path
        tops = {acc.top_level(op).name for op in MEMORY_OPERANDS}
        assert len(tops) == 1, path
        if acc.name in KNOWN_MACS:
            assert acc.array.total_units == KNOWN_MACS[acc.name], path
        if acc.name == "Meta_prototype_DF" or path.stem == "Meta_prototype_DF":
            assert acc.array.total_units == 1024
            for op, names in META_CHAINS.items():
                assert [lv.name for lv in acc.chain(op)] == names, (path, op)


def test_every_workload_file_loads() -> None:
    hardware = {p.stem: acc for p, acc in _load_all_hardware().items()}
    for path in _files(WL_DIR, "**/*.yaml"):
        wl = load_workload(path)
        assert wl.layers, path
        for lay in wl.layers:
            assert isinstance(lay, Layer)
            assert set(lay.memory_operand_links) == set(lay.operands), (path, lay.id)
            assert f"{lay.output_operand}_final" in lay.precision
        # the spatial mappings fit the hardware family the workload was written for
        family = path.parent.name
        for hw_name in (family, f"{family}_DF"):
            if hw_name in hardware:
                for lay in wl.layers:
                    check_spatial_mapping(lay, hardware[hw_name], path)
        if "stftCNN" in path.stem and path.stem.endswith("_1x"):
            assert len(wl.layers) == 12, path
            assert "".join("P" if lay.type == "pool" else "C" for lay in wl.layers) == "CCPCCPCCPCCP", path


def test_reference_temporal_mapping_loads() -> None:
    tm = ROOT / "inputs" / "mappings" / "stftCNN_1x_layer4_Meta_prototype_DF.yaml"
    hw = HW_DIR / "Meta_prototype_DF.yaml"
    wl = WL_DIR / "Meta_prototype" / "stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
    mapping = load_temporal_mapping(tm, load_workload(wl).layer(4), load_hardware(hw))
    assert [len(mapping[op]) for op in ("O", "W", "I")] == [4, 4, 3]
    assert mapping["O"][0] == (("C", 16), ("FY", 3), ("FX", 3))
