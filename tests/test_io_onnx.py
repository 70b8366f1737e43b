"""ONNX import (acco/io/onnx.py, `python -m acco import-onnx`): small models built with onnx.helper,
ZigZag's resnet18.onnx against ZigZag's hand-written resnet18.yaml, and SELDnet rebuilt as ONNX
against inputs/workloads/Meta_prototype/seldnet_oxoy_M.yaml."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest
import yaml

# onnx is pinned in requirements.lock (installed by ./test.sh): a missing onnx fails, never skips
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from acco.cli import main  # noqa: E402
from acco.io import InputError, load_workload  # noqa: E402
from acco.io.onnx import (  # noqa: E402
    OnnxNotInstalled,
    Precision,
    import_onnx,
    load_mapping,
)
from acco.io.zigzag import select_mapping_entry  # noqa: E402  (the importer's entry choice)
from acco.workload.layer import Layer, Relation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
MAPPING = DATA / "onnx_meta_prototype_like.yaml"  # ZigZag's mapping for its meta_prototype hardware
OUR_MAPPING = DATA / "onnx_mapping.yaml"
SELDNET_YAML = ROOT / "inputs" / "workloads" / "Meta_prototype" / "seldnet_oxoy_M.yaml"


# ---- building small models ----------------------------------------------------------------------
class Net:
    """A tiny builder over onnx.helper: nodes, zero-valued initializers, one graph input."""

    def __init__(self, in_shape: Sequence[int], in_name: str = "x") -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.in_shape = list(in_shape)
        self.in_name = in_name
        self.last = in_name
        self.n = 0

    def _tmp(self, op: str) -> str:
        self.n += 1
        return f"{op.lower()}_{self.n}"

    def const(self, shape: Sequence[int], value: Any = None, dtype: Any = np.float32) -> str:
        name = self._tmp("c")
        arr = np.zeros(shape, dtype=dtype) if value is None else np.asarray(value, dtype=dtype)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op: str, inputs: Sequence[str], name: str | None = None, **attrs: Any) -> str:
        out = self._tmp(op)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=name or out, **attrs))
        self.last = out
        return out

    def conv(self, x: str, k: int, c: int, kernel: Sequence[int], group: int = 1, name: str | None = None,
             **attrs: Any) -> str:
        w = self.const([k, c // group, *kernel])
        b = self.const([k])
        return self.op("Conv", [x, w, b], name=name, kernel_shape=list(kernel), group=group, **attrs)

    def model(self, check: bool = True) -> Any:
        """The model; with `check`, its output typed by shape inference and the ONNX checker run."""
        out = self.last
        graph = helper.make_graph(
            self.nodes, "net",
            [helper.make_tensor_value_info(self.in_name, TensorProto.FLOAT, self.in_shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
            self.inits,
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        if check:
            shape = inferred_shapes(m)[out]
            m.graph.output[0].CopyFrom(helper.make_tensor_value_info(out, TensorProto.FLOAT, shape))
            onnx.checker.check_model(m, full_check=True)
        return m


def inferred_shapes(model: Any) -> dict[str, list[int]]:
    """Tensor shapes by ONNX's own shape inference (the independent check of our sizes)."""
    m = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    infos = list(m.graph.value_info) + list(m.graph.output)
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in infos
            if v.type.tensor_type.HasField("shape")}


def rel(text: str) -> Relation:
    """'ix=2*ox+1*fx' -> Relation."""
    lhs, rhs = text.split("=")
    (ca, da), (cb, db) = (t.split("*") for t in rhs.split("+"))
    return Relation(lhs.upper(), da.upper(), int(ca), db.upper(), int(cb))


def imp(model: Any, time_axis: str = "H", mapping: Path = MAPPING, **kw: Any):
    return import_onnx(model, mapping, time_axis=time_axis, source="test.onnx", **kw)


# ---- convolutions ---------------------------------------------------------------------------------
def test_plain_conv_loop_sizes_relations_and_sources() -> None:
    n = Net([1, 3, 32, 48])
    out = n.conv("x", 8, 3, [3, 3])
    m = n.model()
    r = imp(m)
    (inp,) = [x for x in r.workload.nodes if x.type == "input"]
    assert inp.id == -1 and dict(inp.loop_sizes) == {"B": 1, "K": 3, "OY": 32, "OX": 48}
    (layer,) = r.workload.layers
    assert layer.type == "conv" and layer.id == 0
    assert layer.equation == "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy]"
    assert dict(layer.loop_sizes) == {"B": 1, "K": 8, "C": 3, "OY": 30, "OX": 46, "FY": 3, "FX": 3}
    assert inferred_shapes(m)[out] == [1, 8, 30, 46]  # ONNX shape inference: 32-3+1, 48-3+1
    assert layer.relations == (rel("ix=1*ox+1*fx"), rel("iy=1*oy+1*fy"))
    assert dict(layer.operand_source) == {"I": -1} and layer.constant_operands == ("W",)
    assert dict(layer.precision) == {"O": 16, "O_final": 8, "W": 8, "I": 8}
    assert layer.source_dimension_mapping["I"] == {"IX": "OX", "IY": "OY", "C": "K"}
    assert layer.spatial_mapping == (("D1", "K", 32), ("D2", "C", 2), ("D3", "OX", 4), ("D4", "OY", 4))
    assert dict(layer.memory_operand_links) == {"O": "O", "W": "I2", "I": "I1"}
    assert dict(layer.padding) == {}


@pytest.mark.parametrize("time_axis", ["H", "W"])
def test_strided_dilated_padded_conv_follows_the_time_axis(time_axis: str) -> None:
    # every per-axis attribute differs between H and W, so a swapped axis cannot pass
    n = Net([1, 4, 20, 30])
    mid = n.conv("x", 16, 4, [3, 5], strides=[1, 2], dilations=[2, 1], pads=[1, 2, 1, 0])
    m = n.model()
    (layer,) = imp(m, time_axis).workload.layers
    _, k, h, w = inferred_shapes(m)[mid]
    assert k == 16
    if time_axis == "H":  # H is time: Y
        assert dict(layer.loop_sizes) == {"B": 1, "K": 16, "C": 4, "OY": h, "OX": w, "FY": 3, "FX": 5}
        assert layer.relations == (rel("ix=2*ox+1*fx"), rel("iy=1*oy+2*fy"))
        assert dict(layer.padding) == {"IX": (2, 0), "IY": (1, 1)}
    else:
        assert dict(layer.loop_sizes) == {"B": 1, "K": 16, "C": 4, "OY": w, "OX": h, "FY": 5, "FX": 3}
        assert layer.relations == (rel("ix=1*ox+2*fx"), rel("iy=2*oy+1*fy"))
        assert dict(layer.padding) == {"IX": (1, 1), "IY": (2, 0)}
    assert (h, w) == (18, 14)


def test_strided_conv_with_same_padding() -> None:
    n = Net([1, 8, 15, 16])
    out = n.conv("x", 8, 8, [3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    m = n.model()
    (layer,) = imp(m).workload.layers
    _, _, h, w = inferred_shapes(m)[out]
    assert (layer.size("OY"), layer.size("OX")) == (h, w) == (8, 8)
    assert layer.relations == (rel("ix=2*ox+1*fx"), rel("iy=2*oy+1*fy"))
    # SAME_UPPER: total padding (8-1)*2+3-15 = 2 on H, 1 on W; the odd one at the end
    assert dict(layer.padding) == {"IX": (0, 1), "IY": (1, 1)}


def test_dilated_conv() -> None:
    n = Net([1, 2, 40, 40])
    out = n.conv("x", 4, 2, [3, 3], dilations=[4, 2])
    m = n.model()
    (layer,) = imp(m).workload.layers
    _, _, h, w = inferred_shapes(m)[out]
    assert (layer.size("OY"), layer.size("OX")) == (h, w) == (32, 36)
    assert layer.relations == (rel("ix=1*ox+2*fx"), rel("iy=1*oy+4*fy"))
    # the input extent the relations span is the input size
    assert layer.relations[0].extent(36, 3) == 40 and layer.relations[1].extent(32, 3) == 40


def test_depthwise_conv_is_dwconv_with_g() -> None:
    n = Net([1, 32, 16, 16])
    a = n.conv("x", 32, 32, [3, 3], pads=[1, 1, 1, 1], name="pw0")  # a normal conv first
    n.conv(a, 32, 32, [3, 3], group=32, strides=[2, 2], pads=[1, 1, 1, 1], name="dw1")
    r = imp(n.model())
    conv, dw = r.workload.layers
    assert dw.type == "dwconv" and dw.name == "dw1"
    assert dw.equation == "O[b][g][oy][ox]+=W[g][fy][fx]*I[b][g][ix][iy]"
    assert dict(dw.loop_sizes) == {"B": 1, "G": 32, "OY": 8, "OX": 8, "FY": 3, "FX": 3}
    assert dw.relations == (rel("ix=2*ox+1*fx"), rel("iy=2*oy+1*fy"))
    assert dict(dw.operand_source) == {"I": conv.id}
    assert dw.source_dimension_mapping["I"] == {"IX": "OX", "IY": "OY", "G": "K"}
    # the default entry's K unrolling goes to G; C does not exist in a dwconv
    assert dw.spatial_mapping == (("D1", "G", 32), ("D3", "OX", 4), ("D4", "OY", 4))
    assert dict(dw.memory_operand_links) == {"O": "O", "W": "I2", "I": "I1"}
    assert dw.operand_size("W") == 32 * 9


def test_grouped_conv_has_g_k_and_c() -> None:
    n = Net([1, 16, 10, 10])
    n.conv("x", 32, 16, [1, 1], group=4)
    (layer,) = imp(n.model()).workload.layers
    assert layer.type == "conv"
    assert layer.equation == "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][ix][iy]"
    assert dict(layer.loop_sizes) == {"B": 1, "G": 4, "K": 8, "C": 4, "OY": 10, "OX": 10, "FY": 1, "FX": 1}
    assert layer.total_macs == 32 * 4 * 100
    assert layer.operand_size("W") == 32 * 4


def test_conv1d_time_is_y() -> None:
    n = Net([1, 8, 100])
    w = n.const([16, 8, 5])
    out = n.op("Conv", ["x", w], kernel_shape=[5], strides=[2], pads=[2, 2])
    m = n.model()
    (layer,) = imp(m, "W").workload.layers  # a 1-D model's only spatial axis is time whatever time_axis says
    assert dict(layer.loop_sizes) == {"B": 1, "K": 16, "C": 8, "OY": inferred_shapes(m)[out][2], "OX": 1,
                                      "FY": 5, "FX": 1}
    assert layer.size("OY") == 50
    assert dict(layer.padding) == {"IX": (0, 0), "IY": (2, 2)}


# ---- pools, fc, add ---------------------------------------------------------------------------------
def test_pools_and_fc_after_flatten() -> None:
    n = Net([2, 8, 12, 18])
    c = n.conv("x", 16, 8, [3, 3], pads=[1, 1, 1, 1])
    c = n.op("Relu", [c])
    mp = n.op("MaxPool", [c], name="mp", kernel_shape=[2, 3], strides=[2, 3])
    ap = n.op("AveragePool", [mp], name="ap", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    fl = n.op("Flatten", [ap], axis=1)
    w = n.const([10, 16 * 6 * 6])
    n.op("Gemm", [fl, w, n.const([10])], name="fc", transB=1)
    m = n.model()
    shapes = inferred_shapes(m)
    r = imp(m)
    conv, pool1, pool2, fc = r.workload.layers
    assert pool1.type == pool2.type == "pool"
    assert pool1.equation == "O[b][g][oy][ox]+=W[fx][fy]*I[b][g][ix][iy]"
    assert dict(pool1.loop_sizes) == {"B": 2, "G": 16, "OY": 6, "OX": 6, "FX": 3, "FY": 2}
    assert shapes[mp] == [2, 16, 6, 6]
    assert pool1.relations == (rel("ix=3*ox+1*fx"), rel("iy=2*oy+1*fy"))
    assert dict(pool1.precision) == {"O": 16, "O_final": 8, "I": 8, "W": 0}
    assert pool1.constant_operands == ("W",) and dict(pool1.operand_source) == {"I": conv.id}
    assert pool1.source_dimension_mapping["I"] == {"IX": "OX", "IY": "OY", "G": "K"}
    # ZigZag's meta_prototype_like mapping has no pool entry: the default's K unrolling goes to G
    assert pool1.spatial_mapping == (("D1", "G", 32), ("D3", "OX", 4), ("D4", "OY", 4))
    assert dict(pool1.memory_operand_links) == {"O": "O", "I": "I1", "W": "I2"}
    assert dict(pool2.loop_sizes) == {"B": 2, "G": 16, "OY": 6, "OX": 6, "FX": 3, "FY": 3}
    assert dict(pool2.padding) == {"IX": (1, 1), "IY": (1, 1)}
    # fc over a flattened 16 x 6 x 6 tensor: a conv whose kernel covers the whole plane
    assert fc.type == "fc" and fc.equation == "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy]"
    assert dict(fc.loop_sizes) == {"B": 2, "K": 10, "C": 16, "OY": 1, "OX": 1, "FY": 6, "FX": 6}
    assert fc.total_macs == 2 * 10 * 16 * 36
    assert fc.operand_size("I") == 2 * 16 * 36
    assert fc.source_dimension_mapping["I"] == {"IX": "OX", "IY": "OY", "C": "G"}
    assert fc.spatial_mapping == (("D1", "K", 32), ("D2", "C", 2))
    assert r.folded == {"Flatten": 1, "Relu": 1}
    # the test mapping has a MaxPool entry (by operator type): G 16 on D1, OX 2 on D3
    r_ours = imp(m, mapping=OUR_MAPPING)
    assert r_ours.workload.layers[1].spatial_mapping == (("D1", "G", 16), ("D3", "OX", 2))
    assert r_ours.workload.layers[2].spatial_mapping == (("D1", "G", 32), ("D3", "OX", 4), ("D4", "OY", 4))


def test_global_pool_flatten_matmul() -> None:
    n = Net([1, 64, 7, 5])
    g = n.op("GlobalAveragePool", ["x"], name="gap")
    f = n.op("Reshape", [g, n.const([2], [1, -1], np.int64)])
    n.op("MatMul", [f, n.const([64, 12])], name="mm")
    pool, fc = imp(n.model()).workload.layers
    assert dict(pool.loop_sizes) == {"B": 1, "G": 64, "OY": 1, "OX": 1, "FX": 5, "FY": 7}
    assert pool.relations == (rel("ix=5*ox+1*fx"), rel("iy=7*oy+1*fy"))  # stride = kernel, as resnet18_corrected
    assert pool.spatial_mapping == (("D1", "G", 32),)
    assert dict(fc.loop_sizes) == {"B": 1, "K": 12, "C": 64, "OY": 1, "OX": 1, "FY": 1, "FX": 1}
    assert dict(fc.operand_source) == {"I": pool.id}


def test_residual_add() -> None:
    n = Net([1, 16, 8, 8])
    a = n.op("Relu", [n.conv("x", 16, 16, [3, 3], pads=[1, 1, 1, 1], name="c1")])
    b = n.op("BatchNormalization", [n.conv(a, 16, 16, [3, 3], pads=[1, 1, 1, 1], name="c2"),
                                    n.const([16]), n.const([16]), n.const([16]), n.const([16], np.ones(16))])
    s = n.op("Add", [b, a], name="res")  # main path first, as PyTorch exports it
    n.op("Relu", [s])
    m = n.model()
    r = imp(m)
    c1, c2, add = r.workload.layers
    assert add.type == "add" and add.name == "res"
    assert add.equation == "O[b][g][oy][ox]=X[b][g][oy][ox]+Y[b][g][oy][ox]"
    assert add.relations == ()
    assert dict(add.loop_sizes) == {"B": 1, "G": 16, "OY": 8, "OX": 8}
    assert dict(add.operand_source) == {"X": c1.id, "Y": c2.id}  # X: the earlier producer (the shortcut)
    assert add.constant_operands == ()
    assert add.source_dimension_mapping["X"] == {"OX": "OX", "OY": "OY", "G": "K"}
    assert dict(add.precision) == {"O": 16, "O_final": 8, "X": 8, "Y": 8}
    assert dict(add.memory_operand_links) == {"O": "O", "X": "I1", "Y": "I1"}
    assert add.spatial_mapping == (("D1", "G", 32),)  # ZigZag's `Add` entry: G 32 (C, OX, OY by 1 dropped)
    g = r.workload.graph
    assert set(g.edges) == {(-1, 0), (0, 1), (0, 2), (1, 2)}
    assert r.folded == {"BatchNormalization": 1, "Relu": 2}


def test_elementwise_ops_and_shape_ops_are_folded() -> None:
    # a 1-D signal in 2-D form (N x C x 1 x T, time on W), squeezed to a Conv1d input and back
    n = Net([1, 4, 1, 16])
    c = n.conv("x", 8, 4, [1, 3])
    c = n.op("Clip", [c, n.const([], 0.0), n.const([], 6.0)])
    c = n.op("Mul", [c, n.const([1, 8, 1, 1])])  # a per-channel scale
    s = n.op("Sigmoid", [c])
    c = n.op("Mul", [c, s])  # swish: x * sigmoid(x), one producer
    c = n.op("Squeeze", [c, n.const([1], [2], np.int64)])  # 1 x 8 x 14
    w = n.const([8, 8, 3])
    c = n.op("Conv", [c, w], kernel_shape=[3])
    c = n.op("Unsqueeze", [c, n.const([1], [2], np.int64)])  # 1 x 8 x 1 x 12
    c = n.op("Identity", [c])
    n.conv(c, 8, 8, [1, 3])
    m = n.model()
    r = imp(m, "W")
    c1, c2, c3 = r.workload.layers
    assert dict(c2.operand_source) == {"I": c1.id} and dict(c3.operand_source) == {"I": c2.id}
    assert [(l.size("OY"), l.size("OX"), l.size("FY"), l.size("FX")) for l in (c1, c2, c3)] == [
        (14, 1, 3, 1), (12, 1, 3, 1), (10, 1, 3, 1)]
    assert r.folded == {"Clip": 1, "Identity": 1, "Mul": 2, "Sigmoid": 1, "Squeeze": 1, "Unsqueeze": 1}
    assert "Clip x1" in r.to_yaml().splitlines()[3]
    # with time on H the squeeze would turn the X axis into time: the loop nest changes
    with pytest.raises(InputError) as e:
        imp(m, "H")
    assert "(Squeeze)" in e.value.field and "[1, 8, 1, 14] -> [1, 8, 14]" in str(e.value)


def test_precision_parameter() -> None:
    n = Net([1, 4, 8, 8])
    c = n.conv("x", 8, 4, [3, 3])
    n.op("MaxPool", [c], kernel_shape=[2, 2], strides=[2, 2])
    r = imp(n.model(), precision=Precision(activation=4, weight=2, partial_sum=12, output=6))
    inp = r.workload.node(-1)
    conv, pool = r.workload.layers
    assert inp.precision == 4
    assert dict(conv.precision) == {"O": 12, "O_final": 6, "W": 2, "I": 4}
    assert dict(pool.precision) == {"O": 12, "O_final": 6, "I": 4, "W": 0}
    with pytest.raises(ValueError):
        Precision(activation=-1)


# ---- mapping files -----------------------------------------------------------------------------------
def test_mapping_entry_by_layer_name_then_operator_type_then_default() -> None:
    entries = load_mapping(OUR_MAPPING)
    assert [e.name for e in entries] == ["default", "MaxPool", "special_conv"]
    assert entries[1].spatial == (("D1", "G", 16), ("D3", "OX", 2))
    assert select_mapping_entry(entries, ["special_conv", "Conv"]).name == "special_conv"
    assert select_mapping_entry(entries, ["mp", "MaxPool"]).name == "MaxPool"
    assert select_mapping_entry(entries, ["c9", "Conv"]).name == "default"
    n = Net([1, 4, 8, 8])
    c = n.conv("x", 8, 4, [3, 3], name="special_conv")
    n.conv(c, 8, 8, [3, 3], name="other_conv")
    special, other = imp(n.model(), mapping=OUR_MAPPING).workload.layers
    assert special.spatial_mapping == (("D1", "OX", 8), ("D2", "K", 4))
    assert dict(special.memory_operand_links) == {"O": "O", "W": "I1", "I": "I2"}
    assert other.spatial_mapping == (("D1", "K", 32), ("D2", "C", 2), ("D3", "OX", 4), ("D4", "OY", 4))


def test_mapping_file_errors_are_located(tmp_path: Path) -> None:
    n = Net([1, 4, 8, 8])
    n.conv("x", 8, 4, [3, 3], name="c0")
    m = n.model()
    bad = tmp_path / "mixed.yaml"
    bad.write_text("- name: default\n  spatial_mapping:\n    D1:\n      - K, 8\n      - C, 4\n"
                   "  memory_operand_links: {O: O, W: I2, I: I1}\n")
    with pytest.raises(InputError) as e:
        imp(m, mapping=bad)
    assert e.value.file == str(bad) and e.value.field == "[name=default].spatial_mapping.D1" and e.value.line == 4
    nodefault = tmp_path / "nodefault.yaml"
    nodefault.write_text("- name: Add\n  spatial_mapping: {D1: [G, 32]}\n  memory_operand_links: {O: O, W: I2, I: I1}\n")
    with pytest.raises(InputError) as e:
        imp(m, mapping=nodefault)
    assert "default" in str(e.value) and "'c0'" in str(e.value)
    nolink = tmp_path / "nolink.yaml"
    nolink.write_text("- name: default\n  spatial_mapping: {D1: [K, 32]}\n  memory_operand_links: {O: O, I: I1}\n")
    with pytest.raises(InputError) as e:
        imp(m, mapping=nolink)
    assert e.value.field == "[name=default].memory_operand_links" and "operand W" in e.value.expected
    badmem = tmp_path / "badmem.yaml"
    badmem.write_text("- name: default\n  spatial_mapping: {D1: [K, 32]}\n  memory_operand_links: {O: O, W: I3, I: I1}\n")
    with pytest.raises(InputError) as e:
        imp(m, mapping=badmem)
    assert e.value.field == "[name=default].memory_operand_links.W" and e.value.line == 3


# ---- errors ------------------------------------------------------------------------------------------
def test_unsupported_operator_names_node_and_type() -> None:
    n = Net([1, 4, 8, 8])
    a = n.conv("x", 8, 4, [1, 1])
    b = n.conv("x", 8, 4, [1, 1])
    n.op("Concat", [a, b], name="merge_branches", axis=1)
    with pytest.raises(InputError) as e:
        imp(n.model(check=False))
    err = e.value
    assert err.file == "test.onnx"
    assert "merge_branches" in err.field and "Concat" in err.field and err.field.startswith("graph.node[2]")
    assert "unsupported operator 'Concat'" in str(err)
    assert "Conv" in err.expected  # says what is supported


def test_loop_nest_changing_reshape_and_activation_products_are_errors() -> None:
    n = Net([1, 4, 8, 8])
    c = n.conv("x", 8, 4, [1, 1])
    n.op("Reshape", [c, n.const([3], [1, 64, 8], np.int64)], name="fold_h")
    with pytest.raises(InputError) as e:
        imp(n.model(check=False))
    assert "'fold_h' (Reshape)" in e.value.field and "[1, 8, 8, 8] -> [1, 64, 8]" in str(e.value)
    n = Net([1, 4, 8, 8])
    a = n.conv("x", 8, 4, [1, 1])
    b = n.conv("x", 8, 4, [1, 1])
    n.op("Mul", [a, b], name="gate")
    with pytest.raises(InputError) as e:
        imp(n.model(check=False))
    assert "'gate' (Mul)" in e.value.field


def test_model_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        import_onnx(tmp_path / "nope.onnx", MAPPING, time_axis="H")
    assert "no such file" in str(e.value)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 not a protobuf \x13\x37" * 10)
    with pytest.raises(InputError) as e:
        import_onnx(junk, MAPPING, time_axis="H")
    assert e.value.file == str(junk) and "ONNX model" in e.value.expected
    with pytest.raises(ValueError):
        import_onnx(junk, MAPPING, time_axis="T")


def test_missing_onnx_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    with pytest.raises(OnnxNotInstalled) as e:
        import_onnx(DATA / "onnx_resnet18.onnx", MAPPING, time_axis="H")
    assert "pip install .[onnx]" in str(e.value)
    rc = main(["import-onnx", str(DATA / "onnx_resnet18.onnx"), "--mapping", str(MAPPING), "--time-axis", "H",
               "-o", str(tmp_path / "x.yaml")])
    assert rc != 0 and "pip install .[onnx]" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()


# ---- ZigZag's resnet18: ONNX vs the hand-written YAML ------------------------------------------------
#: the ONNX (torchvision) ResNet-18 has 1x1 projection shortcuts; ZigZag's resnet18.yaml declares them 3x3
DOWNSAMPLE_IDS = {10, 17, 24}


def test_resnet18_onnx_matches_zigzag_yaml() -> None:
    r = import_onnx(DATA / "onnx_resnet18.onnx", MAPPING, time_axis="H")
    ref = yaml.safe_load((DATA / "onnx_resnet18_zigzag.yaml").read_text())
    layers = r.workload.layers
    assert len(layers) == len(ref) == 31
    kinds = {"Conv": "conv", "Conv_downsample": "conv", "Pooling": "pool", "Add": "add"}
    compared = 0
    for ours, z in zip(layers, ref):
        assert ours.id == z["id"]
        want = "fc" if z["id"] == 30 else kinds[z["operator_type"]]
        assert ours.type == want, ours.id
        zsizes = dict(zip(z["loop_dims"], z["loop_sizes"]))
        sizes = dict(ours.loop_sizes)
        if ours.id in DOWNSAMPLE_IDS:
            assert (sizes["FY"], sizes["FX"], zsizes["FY"], zsizes["FX"]) == (1, 1, 3, 3)
            sizes.update(FY=3, FX=3)
        assert sizes == zsizes, ours.id
        zsrc = {v for v in z["operand_source"].values() if v != z["id"]}  # ZigZag: own id = constant
        assert set(ours.operand_source.values()) == (zsrc if z["id"] else {-1}), ours.id
        zrel = {rel(t) for t in z.get("dimension_relations", [])}
        if ours.id != 29:  # global average pool: ZigZag writes stride 1, we stride 7 (same, OX = OY = 1)
            assert set(ours.relations) == zrel, ours.id
        compared += ours.type in ("conv", "fc")
    assert compared == 21
    assert r.folded == {"Flatten": 1, "Relu": 17}


# ---- SELDnet rebuilt as ONNX vs inputs/workloads/Meta_prototype/seldnet_oxoy_M.yaml ------------------
def seldnet_onnx() -> Any:
    """The CNN part of SELDnet (width M = 128) as PyTorch would export it: N x C x T x F, time on H.

    4 x (3x3 conv, padding 1 -> BatchNorm -> ReLU -> max pool 1x4 over frequency); 64 frames,
    512 frequency bins, 16 input channels (as layer 0 of the hand-written workload declares).
    """
    n = Net([1, 16, 64, 512], "spectrogram")
    x, c = "spectrogram", 16
    for i in range(4):
        y = n.conv(x, 128, c, [3, 3], pads=[1, 1, 1, 1], name=f"conv{i}")
        y = n.op("BatchNormalization", [y, n.const([128]), n.const([128]), n.const([128]),
                                        n.const([128], np.ones(128))])
        y = n.op("Relu", [y])
        x = n.op("MaxPool", [y], name=f"pool{i}", kernel_shape=[1, 4], strides=[1, 4])
        c = 128
    return n.model()


def test_seldnet_onnx_imports_to_the_hand_written_workload() -> None:
    r = import_onnx(seldnet_onnx(), MAPPING, time_axis="H", source="seldnet.onnx")
    ref = load_workload(SELDNET_YAML)
    assert [n.id for n in r.workload.nodes] == [n.id for n in ref.nodes]
    for ours, hand in zip(r.workload.layers, ref.layers):
        assert isinstance(ours, Layer) and isinstance(hand, Layer)
        for f in ("id", "type", "equation", "operands", "operand_dims", "relations", "precision",
                  "operand_source", "constant_operands", "spatial_mapping", "memory_operand_links"):
            assert getattr(ours, f) == getattr(hand, f), (ours.id, f)
        assert list(ours.loop_sizes.items()) == list(hand.loop_sizes.items()), ours.id  # same order too
        # known differences, all in the hand-written file (ported from ACCO as it was):
        if hand.type == "conv":
            assert dict(ours.padding) == {"IX": (1, 1), "IY": (1, 1)} and dict(hand.padding) == {}
        else:
            assert ours.padding == hand.padding
        if hand.type == "conv" and hand.id > 0:  # the source is a pool, whose channel dim is G
            assert ours.source_dimension_mapping["I"] == {"IX": "OX", "IY": "OY", "C": "G"}
            assert hand.source_dimension_mapping["I"] == {"IX": "OX", "IY": "OY", "C": "K"}
        else:
            assert ours.source_dimension_mapping == hand.source_dimension_mapping
    # time (64 frames) is OY; the pools shrink frequency (OX) by 4 each
    assert [l.size("OY") for l in r.workload.layers] == [64] * 8
    assert [l.size("OX") for l in r.workload.layers] == [512, 128, 128, 32, 32, 8, 8, 2]
    # the hand-written input node declares K 3, 224 x 224 (kept from ACCO); the model's is 16 x 64 x 512
    assert dict(r.workload.node(-1).loop_sizes) == {"B": 1, "K": 16, "OY": 64, "OX": 512}


# ---- the command ---------------------------------------------------------------------------------------
def test_cli_writes_a_workload_that_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "seld.onnx"
    onnx.save(seldnet_onnx(), str(model))
    out = tmp_path / "workloads" / "seld_M.yaml"
    rc = main(["import-onnx", str(model), "--mapping", str(MAPPING), "--time-axis", "H", "-o", str(out)])
    assert rc == 0
    assert f"wrote {out}: workload seld_M, 8 layers" in capsys.readouterr().out
    text = out.read_text()
    assert text.startswith("# seld_M: imported from seld.onnx")
    assert main(["validate", str(out)]) == 0
    assert f"OK {out} (workload seld_M: 8 layers)" in capsys.readouterr().out
    wl = load_workload(out)
    assert wl == import_onnx(model, MAPPING, time_axis="H", name="seld_M").workload
    # an existing file is kept unless --force
    assert main(["import-onnx", str(model), "--mapping", str(MAPPING), "--time-axis", "W", "-o", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["import-onnx", str(model), "--mapping", str(MAPPING), "--time-axis", "W", "-o", str(out),
                 "--force", "--name", "seld_T"]) == 0
    swapped = load_workload(out)
    assert swapped.name == "seld_T" and swapped.layers[0].size("OY") == 512 and swapped.layers[0].size("OX") == 64


def test_cli_prints_yaml_and_reports_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = Net([1, 4, 8, 8])
    n.op("LSTM", [n.conv("x", 8, 4, [1, 1])], name="rnn")
    model = tmp_path / "rnn.onnx"
    onnx.save(n.model(check=False), str(model))
    assert main(["import-onnx", str(model), "--mapping", str(MAPPING), "--time-axis", "H"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {model}: graph.node[1] 'rnn' (LSTM): expected an operator ACCO can import")
    ok = tmp_path / "ok.onnx"
    onnx.save(seldnet_onnx(), str(ok))
    assert main(["import-onnx", str(ok), "--mapping", str(MAPPING), "--time-axis", "H", "--act-bits", "4"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["name"] == "ok" and len(doc["layers"]) == 9
    assert doc["layers"][1]["operand_precision"] == {"O": 16, "O_final": 8, "W": 8, "I": 4}
