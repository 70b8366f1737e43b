"""Every malformed input becomes one InputError naming file, field path and expectation (no traceback)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from acco.io import (
    InputError,
    check_spatial_mapping,
    load_hardware,
    load_temporal_mapping,
    load_workload,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
TINY_HW = DATA / "tiny_hw.yaml"
TINY_WL = DATA / "tiny_wl.yaml"
TINY_TM = DATA / "tiny_tm.yaml"


# ---- helpers ----------------------------------------------------------------------------
def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _write(tmp_path: Path, data: Any, name: str) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def _raises(load: Callable[[Path], Any], path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load(path)
    return info.value


def hw_error(tmp_path: Path, mutate: Callable[[dict], None]) -> InputError:
    data = copy.deepcopy(_read(TINY_HW))
    mutate(data)
    return _raises(load_hardware, _write(tmp_path, data, "bad_hw.yaml"))


def wl_error(tmp_path: Path, mutate: Callable[[dict], None]) -> InputError:
    data = copy.deepcopy(_read(TINY_WL))
    mutate(data)
    return _raises(load_workload, _write(tmp_path, data, "bad_wl.yaml"))


def tm_error(tmp_path: Path, mutate: Callable[[dict], None], layer_id: int = 0) -> InputError:
    data = copy.deepcopy(_read(TINY_TM))
    mutate(data)
    path = _write(tmp_path, data, "bad_tm.yaml")
    layer = load_workload(TINY_WL).layer(layer_id)
    acc = load_hardware(TINY_HW)
    return _raises(lambda p: load_temporal_mapping(p, layer, acc), path)


def check(err: InputError, file_name: str, field: str, *fragments: str) -> str:
    """The error names the file and the field path, and its text contains every fragment."""
    msg = str(err)
    assert Path(err.file).name == file_name
    assert err.field == field, msg
    assert msg.startswith(f"{err.file}: "), msg
    if field:
        assert f": {field}: expected " in msg, msg
    assert "expected" in msg
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    assert "\n" not in msg
    return msg


def mem(data: dict, name: str) -> dict:
    return next(m for m in data["memories"] if m["name"] == name)


def layer(data: dict, lid: int) -> dict:
    return next(n for n in data["layers"] if n["id"] == lid)


# ---- file level ---------------------------------------------------------------------------
def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("name: x\nmemories:\n  - name: a\n    size: [1, 2\n    r_bw: 8\n")
    err = _raises(load_hardware, p)
    msg = check(err, "broken.yaml", "", "expected valid YAML")
    assert err.line is not None and 4 <= err.line <= 5
    assert f"(line {err.line}" in msg


def test_yaml_bad_indentation_line(tmp_path: Path) -> None:
    p = tmp_path / "indent.yaml"
    p.write_text("name: x\nlayers:\n  - id: 0\n   type: conv\n")
    err = _raises(load_workload, p)
    check(err, "indent.yaml", "", "valid YAML")
    assert err.line == 4


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "dup.yaml"
    text = TINY_HW.read_text().replace("    size: 16\n", "    size: 16\n    size: 32\n", 1)
    p.write_text(text)
    err = _raises(load_hardware, p)
    check(err, "dup.yaml", "", "duplicate key 'size'")
    assert err.line == text.splitlines().index("    size: 32") + 1


def test_file_not_found(tmp_path: Path) -> None:
    err = _raises(load_hardware, tmp_path / "nope.yaml")
    check(err, "nope.yaml", "", "an existing YAML file", "no such file")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    err = _raises(load_workload, tmp_path)
    check(err, tmp_path.name, "", "a YAML file", "a directory")


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    err = _raises(load_hardware, _write(tmp_path, [1, 2, 3], "list.yaml"))
    check(err, "list.yaml", "", "a hardware description", "got a list")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.yaml"
    p.write_text("# nothing here\n")
    err = _raises(load_workload, p)
    check(err, "empty.yaml", "", "a workload description", "got null")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "evil.yaml"
    p.write_text("name: !!python/object/apply:os.system ['true']\nlayers: []\n")
    err = _raises(load_workload, p)
    check(err, "evil.yaml", "", "valid YAML")


# ---- hardware ------------------------------------------------------------------------------
def test_negative_size_message_format(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["memories"][3].__setitem__("size", -5))
    msg = check(err, "bad_hw.yaml", "memories[3].size")
    assert msg.startswith(f"{err.file}: memories[3].size: expected a positive integer (bits), got -5")
    lines = Path(err.file).read_text().splitlines()
    assert lines[err.line - 1].strip() == "size: -5"


def test_zero_size(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["memories"][0].__setitem__("size", 0))
    check(err, "bad_hw.yaml", "memories[0].size", "a positive integer (bits)", "got 0")


def test_size_given_as_text(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["memories"][1].__setitem__("size", "8 bits"))
    check(err, "bad_hw.yaml", "memories[1].size", "a positive integer (bits)", "got '8 bits'")


def test_float_bandwidth(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["memories"][1].__setitem__("r_bw", 8.5))
    check(err, "bad_hw.yaml", "memories[1].r_bw", "a positive integer (bits/cycle)", "got 8.5")


def test_negative_cost(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["memories"][2].__setitem__("w_cost", -1.0))
    check(err, "bad_hw.yaml", "memories[2].w_cost", "a non-negative number (pJ", "got -1.0")


def test_missing_field(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["memories"][2].pop("r_bw"))
    check(err, "bad_hw.yaml", "memories[2].r_bw", "required field", "missing")


def test_misspelled_key_is_an_error(tmp_path: Path) -> None:
    def mutate(d: dict) -> None:
        m = d["memories"][1]
        m["r_costt"] = m.pop("r_cost")

    err = hw_error(tmp_path, mutate)
    check(err, "bad_hw.yaml", "memories[1].r_costt", "unknown field 'r_costt'", "did you mean 'r_cost'")


def test_misspelled_top_level_key(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d.__setitem__("memory", []))
    check(err, "bad_hw.yaml", "memory", "unknown field 'memory'")


def test_unknown_memory_operand(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "dram")["operands"].append("I3"))
    check(err, "bad_hw.yaml", "memories[3].operands[3]", "a memory operand (I1, I2, O)", "'I3'")


def test_unknown_memory_operand_in_allocation(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "dram")["port_allocation"].__setitem__("I3", {"tl": "rw_port_1"}))
    check(err, "bad_hw.yaml", "memories[3].port_allocation.I3", "a memory operand", "unknown memory operand 'I3'")


def test_allocation_for_operand_not_stored(tmp_path: Path) -> None:
    err = hw_error(
        tmp_path,
        lambda d: mem(d, "reg_W")["port_allocation"].__setitem__("I1", {"tl": "r_port_1", "fh": "w_port_1"}),
    )
    check(err, "bad_hw.yaml", "memories[0].port_allocation.I1", "an operand stored in this memory (I2)")


def test_unknown_served_dimension(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_I").__setitem__("served_dimensions", ["D1", "D3"]))
    check(err, "bad_hw.yaml", "memories[1].served_dimensions[1]", "a dimension of the operational array (D1, D2)",
          "got 'D3'")


def test_unknown_port_in_allocation(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_W")["port_allocation"]["I2"].__setitem__("tl", "r_port_9"))
    check(err, "bad_hw.yaml", "memories[0].port_allocation.I2.tl", "a port declared in ports (r_port_1, w_port_1)",
          "'r_port_9'")


def test_read_port_used_for_write_direction(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_O")["port_allocation"]["O"].__setitem__("fl", "r_port_2"))
    check(err, "bad_hw.yaml", "memories[2].port_allocation.O.fl", "a port that can write", "'r_port_2' (a read port)")


def test_write_port_used_for_read_direction(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_I")["port_allocation"]["I1"].__setitem__("tl", "w_port_1"))
    check(err, "bad_hw.yaml", "memories[1].port_allocation.I1.tl", "a port that can read", "(a write port)")


def test_unknown_port_kind(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "dram")["ports"].__setitem__("rw_port_1", "readwrite"))
    check(err, "bad_hw.yaml", "memories[3].ports.rw_port_1", "a port kind (read | write | read_write)",
          "got 'readwrite'")


def test_unknown_direction(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_W")["port_allocation"]["I2"].__setitem__("to_low", "r_port_1"))
    check(err, "bad_hw.yaml", "memories[0].port_allocation.I2.to_low", "a direction (tl, fh, fl, th)")


def test_missing_fh_port_below_top(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_W")["port_allocation"]["I2"].pop("fh"))
    check(err, "bad_hw.yaml", "memories[0].port_allocation.I2", "a port for direction fh", "only tl")


def test_output_memory_needs_fl(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "dram")["port_allocation"]["O"].pop("fl"))
    check(err, "bad_hw.yaml", "memories[3].port_allocation.O", "a port for direction fl", "the top memory")


def test_memory_operand_with_no_memory(tmp_path: Path) -> None:
    def mutate(d: dict) -> None:
        d["memories"] = [m for m in d["memories"] if m["name"] != "reg_W"]
        dram = mem(d, "dram")
        dram["operands"].remove("I2")
        del dram["port_allocation"]["I2"]

    err = hw_error(tmp_path, mutate)
    check(err, "bad_hw.yaml", "memories", "stored in at least one memory", "no memory stores I2")


def test_top_memories_differ(tmp_path: Path) -> None:
    def mutate(d: dict) -> None:
        dram = mem(d, "dram")
        dram["operands"].remove("O")
        del dram["port_allocation"]["O"]

    err = hw_error(tmp_path, mutate)
    check(err, "bad_hw.yaml", "memories[3].operands", "the same top memory for every operand",
          "O ends at 'reg_O'")


def test_duplicate_memory_name(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "reg_I").__setitem__("name", "reg_W"))
    check(err, "bad_hw.yaml", "memories[1].name", "a memory name not used before", "'reg_W'")


def test_bad_array_dimension(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: d["operational_array"]["dimensions"].__setitem__("D2", 0))
    check(err, "bad_hw.yaml", "operational_array.dimensions.D2", "a positive integer", "got 0")


def test_min_bandwidth_above_bandwidth(tmp_path: Path) -> None:
    err = hw_error(tmp_path, lambda d: mem(d, "dram").__setitem__("r_bw_min", 128))
    check(err, "bad_hw.yaml", "memories[3].r_bw_min", "at most r_bw (64)", "got 128")


# ---- workload ------------------------------------------------------------------------------
def test_unknown_layer_operand_in_memory_links(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["memory_operand_links"].__setitem__("Q", "I1"))
    check(err, "bad_wl.yaml", "layers[id=0].memory_operand_links.Q", "an operand of the layer (O, W, I)",
          "unknown layer operand 'Q'")


def test_memory_link_to_nonexistent_memory_operand(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 1)["memory_operand_links"].__setitem__("W", "I3"))
    check(err, "bad_wl.yaml", "layers[id=1].memory_operand_links.W", "a memory operand (I1, I2, O)",
          "unknown memory operand 'I3'")


def test_missing_memory_link(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 2)["memory_operand_links"].pop("Y"))
    check(err, "bad_wl.yaml", "layers[id=2].memory_operand_links.Y", "for layer operand Y (required)")


def test_unknown_dimension_in_equation(tmp_path: Path) -> None:
    err = wl_error(
        tmp_path,
        lambda d: layer(d, 0).__setitem__("equation", "O[b][k][oy][ox]+=W[k][c][fy][fz]*I[b][c][ix][iy]"),
    )
    check(err, "bad_wl.yaml", "layers[id=0].equation", "a loop dimension", "defined by a dimension relation",
          "unknown dimension 'fz' of operand W")


def test_malformed_equation(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 1).__setitem__("equation", "O[b][k] = W[k][c] I[b][c]"))
    check(err, "bad_wl.yaml", "layers[id=1].equation", "an equation OUT[..]+=A[..]*B[..]",
          "got 'O[b][k] = W[k][c] I[b][c]'")


def test_equation_with_repeated_operand(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 2).__setitem__("equation", "O[b][g][oy][ox]=X[b][g][oy][ox]+X[b][g]"))
    check(err, "bad_wl.yaml", "layers[id=2].equation", "three distinct operand names", "X used twice")


def test_malformed_relation(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["dimension_relations"].__setitem__(0, "ix=1*ox+1*fx+1*c"))
    check(err, "bad_wl.yaml", "layers[id=0].dimension_relations[0]", "a relation of two terms like 'ix=1*ox+1*fx'",
          "'ix=1*ox+1*fx+1*c'")


def test_relation_over_unknown_loop(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["dimension_relations"].__setitem__(1, "iy=1*oy+1*fz"))
    check(err, "bad_wl.yaml", "layers[id=0].dimension_relations[1]", "loop dimensions of the layer",
          "FZ is not in loop_sizes")


def test_operand_source_to_nonexistent_layer(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 1)["operand_source"].__setitem__("I", 7))
    check(err, "bad_wl.yaml", "layers[id=1].operand_source.I", "the id of a layer in this workload (-1, 0, 1, 2)",
          "7 (no such layer)")


def test_cycle_in_workload_graph(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["operand_source"].__setitem__("I", 1))
    msg = check(err, "bad_wl.yaml", err.field, "an acyclic layer graph", "cycle")
    assert err.field in ("layers[id=0].operand_source", "layers[id=1].operand_source")
    assert "0 -> 1" in msg or "1 -> 0" in msg


def test_self_loop(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 1)["operand_source"].__setitem__("I", 1))
    check(err, "bad_wl.yaml", "layers[id=1].operand_source", "an acyclic layer graph", "1 -> 1")


def test_duplicate_layer_id(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: d["layers"][3].__setitem__("id", 0))
    check(err, "bad_wl.yaml", "layers[3].id", "a unique layer id", "0 (already used by layers[1])")


def test_non_integer_layer_id(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: d["layers"][2].__setitem__("id", "one"))
    check(err, "bad_wl.yaml", "layers[2].id", "an integer layer id", "got 'one'")


def test_negative_loop_size(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["loop_sizes"].__setitem__("K", -4))
    check(err, "bad_wl.yaml", "layers[id=0].loop_sizes.K", "a positive integer loop size", "got -4")


def test_non_integer_loop_size(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 1)["loop_sizes"].__setitem__("C", 2.5))
    check(err, "bad_wl.yaml", "layers[id=1].loop_sizes.C", "a positive integer loop size", "got 2.5")


def test_missing_o_final_precision(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["operand_precision"].pop("O_final"))
    check(err, "bad_wl.yaml", "layers[id=0].operand_precision.O_final", "final output", "missing")


def test_negative_precision(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 2)["operand_precision"].__setitem__("X", -8))
    check(err, "bad_wl.yaml", "layers[id=2].operand_precision.X", "a non-negative integer (bits)", "got -8")


def test_spatial_mapping_key_not_an_array_dim(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["spatial_mapping"].__setitem__("X1", ["K", 2]))
    check(err, "bad_wl.yaml", "layers[id=0].spatial_mapping.X1", "an array dimension named D<n>", "'X1'")


def test_spatial_mapping_on_dim_the_layer_lacks(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 2)["spatial_mapping"].__setitem__("D1", ["K", 2]))
    check(err, "bad_wl.yaml", "layers[id=2].spatial_mapping.D1[0]", "a loop dimension of the layer (B, G, OY, OX)",
          "'K'")


def test_spatial_mapping_on_array_dim_that_does_not_exist(tmp_path: Path) -> None:
    path = _write(tmp_path, _mutated_wl(lambda d: layer(d, 1)["spatial_mapping"].__setitem__("D3", ["OY", 2])),
                  "wl_d3.yaml")
    wl = load_workload(path)  # D3 is a well-formed array dimension name ...
    acc = load_hardware(TINY_HW)
    with pytest.raises(InputError) as info:  # ... but tiny_hw has only D1, D2
        check_spatial_mapping(wl.layer(1), acc, path)
    check(info.value, "wl_d3.yaml", "layers[id=1].spatial_mapping.D3",
          "a dimension of the operational array of tiny_hw (D1, D2)", "'D3'")


def test_spatial_mapping_larger_than_array_dim(tmp_path: Path) -> None:
    path = _write(tmp_path, _mutated_wl(lambda d: layer(d, 0)["spatial_mapping"].__setitem__("D1", ["K", 4])),
                  "wl_big.yaml")
    wl = load_workload(path)
    with pytest.raises(InputError) as info:
        check_spatial_mapping(wl.layer(0), load_hardware(TINY_HW), path)
    check(info.value, "wl_big.yaml", "layers[id=0].spatial_mapping.D1", "an unrolling of at most 2", "[K, 4]")


def test_unknown_layer_type(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0).__setitem__("type", "convolution"))
    check(err, "bad_wl.yaml", "layers[id=0].type", "a layer type (input, conv, pool, add, fc, dwconv)",
          "'convolution'")


def test_misspelled_layer_key(tmp_path: Path) -> None:
    def mutate(d: dict) -> None:
        lay = layer(d, 1)
        lay["loop_size"] = lay.pop("loop_sizes")

    err = wl_error(tmp_path, mutate)
    check(err, "bad_wl.yaml", "layers[id=1].loop_size", "unknown field 'loop_size'", "did you mean 'loop_sizes'")


def test_non_constant_operand_without_source(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 2)["operand_source"].pop("Y"))
    check(err, "bad_wl.yaml", "layers[id=2].operand_source.Y", "a producing layer id for non-constant operand Y")


def test_missing_operand_source_for_non_constant_input(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 1).pop("operand_source"))
    check(err, "bad_wl.yaml", "layers[id=1].operand_source.I", "a producing layer id for non-constant operand I",
          "missing")


def test_source_dimension_mapping_bad_value(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["operand_source_dimension_mapping"]["I"].__setitem__("C", 3))
    check(err, "bad_wl.yaml", "layers[id=0].operand_source_dimension_mapping.I.C",
          "an upper-case dimension name of the producing layer", "got 3")


def test_source_dimension_mapping_unknown_operand(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["operand_source_dimension_mapping"].__setitem__("Z", {"C": "K"}))
    check(err, "bad_wl.yaml", "layers[id=0].operand_source_dimension_mapping.Z", "an input operand of the layer (W, I)",
          "unknown layer operand 'Z'")


def test_bad_padding(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, 0)["padding"].__setitem__("IY", [1]))
    check(err, "bad_wl.yaml", "layers[id=0].padding.IY", "a pair [before, after]")


def test_input_node_precision(tmp_path: Path) -> None:
    err = wl_error(tmp_path, lambda d: layer(d, -1).__setitem__("precision", "8b"))
    check(err, "bad_wl.yaml", "layers[id=-1].precision", "a non-negative integer (bits)", "'8b'")


def _mutated_wl(mutate: Callable[[dict], None]) -> dict:
    data = copy.deepcopy(_read(TINY_WL))
    mutate(data)
    return data


# ---- temporal mapping -------------------------------------------------------------------------
def test_temporal_mapping_product_mismatch(tmp_path: Path) -> None:
    err = tm_error(tmp_path, lambda d: d["O"][1].__setitem__(1, ["OY", 4]))
    check(err, "bad_tm.yaml", "O", "loops over OY whose sizes multiply to the temporal size 8", "a product of 4")


def test_temporal_mapping_product_uses_spatial_unrolling(tmp_path: Path) -> None:
    # K = 4 unrolled 2x on D1: the temporal K loops must multiply to 2, not 4
    err = tm_error(tmp_path, lambda d: d["W"][1].__setitem__(2, ["K", 4]))
    check(err, "bad_tm.yaml", "W", "temporal size 2 (= ceil(4 / spatial 2))", "a product of 4")


def test_temporal_mapping_wrong_number_of_levels(tmp_path: Path) -> None:
    err = tm_error(tmp_path, lambda d: d["W"].append([]))
    check(err, "bad_tm.yaml", "W", "a list of 2 memory levels (reg_W, dram)", "got 3 levels")


def test_temporal_mapping_unknown_operand(tmp_path: Path) -> None:
    err = tm_error(tmp_path, lambda d: d.__setitem__("X", [[], []]))
    check(err, "bad_tm.yaml", "X", "an operand of layer 0 (O, W, I)", "unknown operand 'X'")


def test_temporal_mapping_missing_operand(tmp_path: Path) -> None:
    err = tm_error(tmp_path, lambda d: d.pop("I"))
    check(err, "bad_tm.yaml", "I", "a list of 2 memory levels (reg_I, dram)", "required", "missing")


def test_temporal_mapping_unknown_dimension(tmp_path: Path) -> None:
    err = tm_error(tmp_path, lambda d: d["O"][0].append(["Q", 1]))
    check(err, "bad_tm.yaml", "O[0][2][0]", "a loop dimension of layer 0", "'Q'")


def test_temporal_mapping_zero_loop(tmp_path: Path) -> None:
    err = tm_error(tmp_path, lambda d: d["I"][0].__setitem__(0, ["FY", 0]))
    check(err, "bad_tm.yaml", "I[0][0][1]", "a positive integer loop size", "got 0")


# ---- CLI ------------------------------------------------------------------------------------------
def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acco", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_validate_good_files() -> None:
    r = _run_cli("validate", str(TINY_HW), str(TINY_WL))
    assert r.returncode == 0, r.stderr
    assert f"OK {TINY_HW}" in r.stdout
    assert f"OK {TINY_WL}" in r.stdout
    assert "Traceback" not in r.stderr


def test_cli_validate_bad_file_exits_2(tmp_path: Path) -> None:
    data = _read(TINY_HW)
    data["memories"][3]["size"] = -5
    bad = _write(tmp_path, data, "cli_bad.yaml")
    r = _run_cli("validate", str(TINY_WL), str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"OK {TINY_WL}" in r.stdout
    assert f"error: {bad}: memories[3].size: expected a positive integer (bits), got -5" in r.stderr


def test_cli_validate_missing_and_syntax_errors(tmp_path: Path) -> None:
    broken = tmp_path / "syntax.yaml"
    broken.write_text("layers: [\n")
    r = _run_cli("validate", str(tmp_path / "missing.yaml"), str(broken))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.count("error: ") == 2
    assert "missing.yaml: expected an existing YAML file" in r.stderr
    assert "syntax.yaml: expected valid YAML" in r.stderr


def test_cli_validate_temporal_mapping_alone() -> None:
    r = _run_cli("validate", str(TINY_TM))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "cannot be validated alone" in r.stderr


def test_cli_validate_unknown_kind(tmp_path: Path) -> None:
    p = _write(tmp_path, {"name": "x"}, "neither.yaml")
    r = _run_cli("validate", str(p))
    assert r.returncode == 2
    assert "expected a hardware file (top-level 'memories') or a workload file (top-level 'layers')" in r.stderr


def test_main_catches_input_error_from_any_subcommand(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import acco.cli as cli

    original = cli.build_parser

    def parser_with_extra_command():  # type: ignore[no-untyped-def]
        parser = original()
        sub = next(a for a in parser._actions if a.dest == "command")
        extra = sub.add_parser("boom")

        def boom(_args):  # type: ignore[no-untyped-def]
            raise InputError("some.yaml", "layers[id=3].loop_sizes.K", "a positive integer loop size", "-1")

        extra.set_defaults(func=boom)
        return parser

    monkeypatch.setattr(cli, "build_parser", parser_with_extra_command)
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: some.yaml: layers[id=3].loop_sizes.K: expected a positive integer loop size, got -1"


# ---- robustness: any corrupted value gives an InputError, never another exception -----------------
def _leaf_paths(x: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(x, dict):
        return [p for k, v in x.items() for p in _leaf_paths(v, path + (k,))] + ([path] if path else [])
    if isinstance(x, list):
        return [p for i, v in enumerate(x) for p in _leaf_paths(v, path + (i,))] + ([path] if path else [])
    return [path]


@pytest.mark.parametrize("source", ["hw", "wl"])
def test_every_corrupted_field_is_an_input_error(source: str) -> None:
    from acco.io.hardware import accelerator_from_yaml
    from acco.io.workload import workload_from_yaml
    from acco.io.yamlfile import Field

    original = _read(TINY_HW if source == "hw" else TINY_WL)
    build = accelerator_from_yaml if source == "hw" else workload_from_yaml
    for path in _leaf_paths(original):
        for junk in (None, "x", -1, 2.5, [], {}, [["K"]]):
            data = copy.deepcopy(original)
            parent = data
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = junk
            try:
                build(Field.root("f.yaml", data))
            except InputError as e:
                assert str(e).startswith("f.yaml: ")
