"""Import an ONNX model as an ACCO workload (docs/inputs.md, "Importing an ONNX model").

The importer walks the ONNX graph in its (topological) node order and turns every operator
that owns a loop nest into one layer of our workload format:

- ``Conv`` -> ``conv`` (``group == 1``), ``dwconv`` (one output channel per input channel,
  ``group == C``) or a grouped ``conv`` with a ``G`` loop (any other ``group``); strides,
  dilations, pads (and ``auto_pad``) become the dimension relations and ``padding``;
- ``MaxPool`` / ``AveragePool`` / ``GlobalAveragePool`` / ``GlobalMaxPool`` -> ``pool``;
- ``Gemm`` / ``MatMul`` with a constant weight -> ``fc`` (written as a conv with OX = OY = 1;
  after a ``Flatten`` of a C x H x W tensor the kernel covers the whole H x W);
- ``Add`` (or ``Sum``) of two activations -> ``add``.

Element-wise operators with one activation input (Relu, BatchNormalization, Clip, Sigmoid,
bias ``Add``/``Mul`` with a constant, ...) and shape-only operators that keep the loop nest
(``Flatten``/``Reshape``/``Squeeze``/``Unsqueeze``/``Identity``/``Dropout``) are folded away:
their output stands for their input's producer. Anything else raises an `InputError` naming
the node and its operator type.

Axes: ONNX activations are ``N x C x H x W`` (``N x C x L`` for 1-D convolutions, ``N x F``
for fully connected ones). ``time_axis`` says which spatial axis is time; time becomes our
``Y`` (OY/IY/FY), the other spatial axis ``X``. A 1-D model's only spatial axis is time.

Spatial unrolling and memory-operand links come from a mapping file in ZigZag's mapping
YAML format (a list of entries, each with a ``name``: ``default``, a layer (node) name or an
operator type), see `load_mapping`; a node's entry is chosen as for ZigZag workloads
(`acco.io.zigzag.select_mapping_entry`: node name, ONNX operator type, our layer type, ZigZag's
operator type, then ``default``).

The optional ``onnx`` package is imported lazily; without it `import_onnx` raises
`OnnxNotInstalled` saying ``pip install .[onnx]``.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml

from acco.errors import InputError
from acco.hardware.models import MEMORY_OPERANDS
from acco.io.errors import show
from acco.io.workload import workload_from_yaml
from acco.io.yamlfile import Field, one_of, read_yaml
from acco.io.zigzag import select_mapping_entry
from acco.workload.network import Workload

if TYPE_CHECKING:  # pragma: no cover - typing only
    import onnx

TIME_AXES = ("H", "W")
"""Allowed values of ``time_axis``: the ONNX spatial axis (of N x C x H x W) that is time (our Y)."""

EQ_CONV = "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy]"
EQ_GROUPED_CONV = "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][ix][iy]"
EQ_DWCONV = "O[b][g][oy][ox]+=W[g][fy][fx]*I[b][g][ix][iy]"
EQ_POOL = "O[b][g][oy][ox]+=W[fx][fy]*I[b][g][ix][iy]"
EQ_ADD = "O[b][g][oy][ox]=X[b][g][oy][ox]+Y[b][g][oy][ox]"

#: element-wise operators folded away when they have exactly one activation input
#: (every other input, if any, is a constant: scale, bias, slope, clip bounds, zero point ...)
ELEMENTWISE_OPS = frozenset(
    {
        "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "ThresholdedRelu",
        "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign", "Mish", "Swish",
        "Clip", "BatchNormalization", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Erf",
        "Floor", "Ceil", "Round", "Sign", "Cast", "QuantizeLinear", "DequantizeLinear",
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum",
    }
)
#: operators that pass their input through unchanged (as far as the loop nests are concerned)
IDENTITY_OPS = frozenset({"Identity", "Dropout"})
#: operators that only re-shape; folded when the loop nest stays the same (else an error)
RESHAPE_OPS = frozenset({"Flatten", "Reshape", "Squeeze", "Unsqueeze"})
#: operators that become layers
LAYER_OPS = frozenset(
    {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Add", "Sum"}
)
SUPPORTED_TEXT = (
    "an operator ACCO can import (Conv, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, "
    "Gemm, MatMul, Add; element-wise ops such as Relu, BatchNormalization, Clip, Sigmoid; "
    "Flatten/Reshape/Squeeze/Unsqueeze that keep the loop nest; see docs/inputs.md)"
)

#: ZigZag's operator-type names for our layer types (its mapping files have e.g. a `Pooling` entry)
_ZIGZAG_TYPE = {"pool": "Pooling", "add": "Add", "conv": "Conv", "dwconv": "Conv", "fc": "Gemm"}
#: layer operands per layer type, in the order our workload files list memory_operand_links
_LINK_ORDER = {
    "conv": ("O", "W", "I"),
    "dwconv": ("O", "W", "I"),
    "fc": ("O", "W", "I"),
    "pool": ("O", "I", "W"),
    "add": ("O", "X", "Y"),
}


class OnnxNotInstalled(ImportError):
    """The optional `onnx` package is missing (install the extra: ``pip install .[onnx]``)."""


def require_onnx() -> Any:
    """Import and return the `onnx` module, or raise `OnnxNotInstalled` with the install command."""
    try:
        import onnx  # noqa: PLC0415 - optional dependency, imported on use
        import onnx.numpy_helper  # noqa: F401,PLC0415
        import onnx.shape_inference  # noqa: F401,PLC0415
    except ImportError as e:
        raise OnnxNotInstalled(
            "importing ONNX models needs the optional package 'onnx': "
            "pip install .[onnx]  (from the ACCO checkout; or: pip install onnx)"
        ) from e
    return onnx


# ======================================================================================
# Parameters and result
# ======================================================================================
@dataclass(frozen=True)
class Precision:
    """Operand precisions (bits) written into every imported layer.

    `partial_sum` is the output precision ``O`` while accumulating, `output` the final one
    (``O_final``); pool layers get weight precision 0 (no weights), as in our workloads.
    """

    activation: int = 8
    weight: int = 8
    partial_sum: int = 16
    output: int = 8

    def __post_init__(self) -> None:
        for name in ("activation", "weight", "partial_sum", "output"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"precision {name} must be a non-negative integer (bits), got {v!r}")


@dataclass(frozen=True)
class MappingEntry:
    """One entry of a ZigZag mapping file: its `name`, the spatial unrolling and the operand links.

    `spatial` holds ``(array dim, layer dim, factor)`` triples; `links` maps layer operands
    (O, W, I, ...) to memory operands (I1, I2, O); `path` locates the entry for error messages.
    """

    name: str
    spatial: tuple[tuple[str, str, int], ...]
    links: Mapping[str, str]
    file: str = ""
    path: str = ""


@dataclass(frozen=True)
class OnnxImport:
    """The result of `import_onnx`: the workload document (our YAML schema), its validated
    `Workload`, and what was folded away (ONNX operator type -> count)."""

    document: dict[str, Any]
    workload: Workload
    folded: Mapping[str, int] = field(default_factory=dict)
    header: tuple[str, ...] = ()

    def to_yaml(self) -> str:
        """The workload as YAML text in the style of inputs/workloads/*/*.yaml (header comment first)."""
        return render_workload_yaml(self.document, self.header)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write `to_yaml()` to `path` (parent directories created); return the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_yaml(), encoding="utf-8")
        return p


# ======================================================================================
# Mapping files (ZigZag's mapping YAML)
# ======================================================================================
_UNROLL_TEXT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*,\s*([0-9]+)\s*$")
_SPATIAL_EXPECTED = (
    "one unrolling per array dimension, as ZigZag writes it ([\"K, 32\"]) or as our workloads do ([K, 32])"
)


def load_mapping(path: str | os.PathLike[str]) -> tuple[MappingEntry, ...]:
    """Read a ZigZag mapping YAML file (a list of entries with `name`, `spatial_mapping`,
    `memory_operand_links`; other keys such as `temporal_ordering` are ignored)."""
    return mapping_from_yaml(Field.root(path, read_yaml(path)))


def mapping_from_yaml(doc: Field) -> tuple[MappingEntry, ...]:
    """Validate an already-parsed mapping document (see `load_mapping`)."""
    doc.seq("a list of mapping entries (each with name, spatial_mapping, memory_operand_links)", min_len=1)
    entries: list[MappingEntry] = []
    seen: set[str] = set()
    for ef in doc.elements():
        ef.mapping("a mapping entry (with name, spatial_mapping, memory_operand_links)")
        nf = ef.child("name")
        if nf.missing:
            raise nf.error("the entry's name: 'default', a layer name or an operator type (required field)")
        name = nf.text("the entry's name: 'default', a layer name or an operator type")
        if name in seen:
            raise nf.error("a unique entry name", f"{name!r} (used by an earlier entry)")
        seen.add(name)
        ef = ef.renamed(f"{doc.path}[name={name}]" if doc.path else f"[name={name}]")
        entries.append(
            MappingEntry(
                name=name,
                spatial=_entry_spatial(ef.child("spatial_mapping")),
                links=_entry_links(ef.child("memory_operand_links")),
                file=doc.file,
                path=ef.path,
            )
        )
    return tuple(entries)


def _entry_spatial(f: Field) -> tuple[tuple[str, str, int], ...]:
    if f.missing or f.value is None:
        return ()
    f.mapping("a mapping array dimension -> unrolling, e.g. {D1: [\"K, 32\"]}")
    out: list[tuple[str, str, int]] = []
    for oa, vf in f.items():
        if not re.match(r"^D[0-9]+$", oa):
            raise f.key_field(oa).error("an array dimension named D<n> (D1, D2, ...)", repr(oa))
        v = vf.value
        pairs: list[tuple[str, int]] = []
        if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and "," not in v[0]:
            if isinstance(v[1], bool) or not isinstance(v[1], int) or v[1] < 1:
                raise vf.error(_SPATIAL_EXPECTED + " with a positive integer factor")
            pairs.append((v[0], v[1]))
        elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            for x in v:
                m = _UNROLL_TEXT.match(x)
                if not m or int(m.group(2)) < 1:
                    raise vf.error(_SPATIAL_EXPECTED + " with a positive integer factor", show(x))
                pairs.append((m.group(1), int(m.group(2))))
        elif isinstance(v, str) and _UNROLL_TEXT.match(v):
            m = _UNROLL_TEXT.match(v)
            assert m is not None
            pairs.append((m.group(1), int(m.group(2))))
        else:
            raise vf.error(_SPATIAL_EXPECTED)
        if len(pairs) != 1:
            raise vf.error(
                _SPATIAL_EXPECTED + " (ACCO workloads cannot hold several layer dims on one array dimension)",
                show(v),
            )
        dim, factor = pairs[0]
        out.append((oa, dim.upper(), factor))
    return tuple(out)


def _entry_links(f: Field) -> dict[str, str]:
    what = f"a mapping layer operand -> memory operand ({one_of(MEMORY_OPERANDS)}), e.g. {{O: O, W: I2, I: I1}}"
    if f.missing:
        raise f.error(what + " (required field)")
    f.mapping(what)
    links: dict[str, str] = {}
    for op, of in f.items():
        if of.value not in MEMORY_OPERANDS:
            raise of.error(f"a memory operand ({one_of(MEMORY_OPERANDS)})")
        links[op] = of.value
    return links


def apply_mapping_entry(
    entry: MappingEntry, layer_type: str, loop_sizes: Mapping[str, int], layer_name: str
) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """A layer's `spatial_mapping` and `memory_operand_links` from a mapping entry.

    Spatial: an unrolling of K applies to G in layers that have G but no K (pool, dwconv, add);
    unrollings of dims the layer does not have (or has with size 1) and factors of 1 are dropped;
    factors are kept as written (the cost model limits them to the array and layer sizes).
    Links: taken per layer operand; the two inputs X, Y of an add take the link of I unless
    the entry names them.
    """
    spatial: dict[str, list[Any]] = {}
    for oa, dim, factor in entry.spatial:
        if dim == "K" and "K" not in loop_sizes and "G" in loop_sizes:
            dim = "G"
        if loop_sizes.get(dim, 1) <= 1 or factor <= 1:
            continue
        spatial[oa] = [dim, factor]
    links: dict[str, str] = {}
    for op in _LINK_ORDER[layer_type]:
        mem = entry.links.get(op)
        if mem is None and op in ("X", "Y"):
            mem = entry.links.get("I")
        if mem is None:
            raise InputError(
                entry.file,
                f"{entry.path}.memory_operand_links" if entry.path else "memory_operand_links",
                f"a memory operand for layer operand {op} (needed by {layer_type} layer {layer_name!r})",
                "nothing",
            )
        links[op] = mem
    return spatial, links


# ======================================================================================
# The importer
# ======================================================================================
@dataclass(frozen=True)
class _Act:
    """An activation tensor: its producer (layer or input id) and its shape as (B, C, Y, X).

    `channel` is the producer's output channel dimension (K for conv/fc/input, G for
    pool/dwconv/add); `rank` the ONNX rank; `flat` the (C, Y, X) a Flatten merged into C.
    """

    source: int
    channel: str
    shape: tuple[int, int, int, int]
    rank: int
    flat: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class _Const:
    """A constant tensor (initializer, Constant output, or computed from shapes only)."""

    shape: tuple[int, ...] | None
    value: Any = None  # numpy array when known
    proto: Any = None  # the initializer's TensorProto, converted only when its value is needed


class _Importer:
    """One ONNX graph -> our workload document (see `import_onnx`)."""

    def __init__(
        self,
        onnx_mod: Any,
        model: "onnx.ModelProto",
        file: str,
        entries: Sequence[MappingEntry],
        mapping_file: str,
        time_axis: str,
        precision: Precision,
    ) -> None:
        self.onnx = onnx_mod
        self.model = model
        self.file = file
        self.entries = entries
        self.mapping_file = mapping_file
        self.time_axis = time_axis
        self.p = precision
        self.acts: dict[str, _Act] = {}
        self.consts: dict[str, _Const] = {}
        self.inferred: dict[str, tuple[int, ...]] = {}
        self.layers: list[dict[str, Any]] = []
        self.inputs: list[dict[str, Any]] = []
        self.folded: Counter[str] = Counter()
        self.next_id = 0

    # ---- errors ------------------------------------------------------------------------------
    def node_error(self, i: int, node: Any, expected: str, got: str) -> InputError:
        """An InputError located at ONNX node `i` (its name and operator type in the field)."""
        return InputError(self.file, f"graph.node[{i}] {self._node_name(i, node)!r} ({node.op_type})", expected, got)

    @staticmethod
    def _node_name(i: int, node: Any) -> str:
        return node.name or f"{node.op_type}_{i}"

    # ---- set-up --------------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        """Walk the graph; return the layer list (inputs first) of the workload document."""
        graph = self.model.graph
        self._infer_shapes()
        for init in graph.initializer:
            self.consts[init.name] = _Const(tuple(int(d) for d in init.dims), None, init)
        for vi in graph.input:
            if vi.name in self.consts:
                continue
            self._graph_input(vi)
        for i, node in enumerate(graph.node):
            self._node(i, node)
        return self.inputs + self.layers

    def _infer_shapes(self) -> None:
        """Shapes ONNX's own inference finds (used for Reshape targets computed from Shape ops)."""
        try:
            inferred = self.onnx.shape_inference.infer_shapes(self.model, data_prop=True)
        except Exception:  # noqa: BLE001 - inference is only a fallback; our own shape rules come first
            inferred = self.model
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
            dims = vi.type.tensor_type.shape.dim
            if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                self.inferred[vi.name] = tuple(int(d.dim_value) for d in dims)

    def _init_value(self, init: Any) -> Any:
        if init.data_location == self.onnx.TensorProto.EXTERNAL:
            return None  # loaded without external data: only the dims are known
        try:
            return self.onnx.numpy_helper.to_array(init)
        except Exception:  # noqa: BLE001 - a value we cannot read is simply unknown
            return None

    def _graph_input(self, vi: Any) -> None:
        dims = vi.type.tensor_type.shape.dim
        shape: list[int] = []
        for k, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(int(d.dim_value))
            elif k == 0:
                shape.append(1)  # a symbolic batch size: one sample
            else:
                raise InputError(
                    self.file,
                    f"graph.input {vi.name!r}",
                    "a static input shape (only the batch dimension may be symbolic)",
                    f"dimension {k} is {d.dim_param or 'unknown'!r}",
                )
        if len(shape) not in (2, 3, 4):
            raise InputError(
                self.file,
                f"graph.input {vi.name!r}",
                "an input of rank 2 (N x F), 3 (N x C x L) or 4 (N x C x H x W)",
                f"shape {shape}",
            )
        nid = -1 - len(self.inputs)
        b, c, y, x = self._canon(tuple(shape))
        self.acts[vi.name] = _Act(nid, "K", (b, c, y, x), len(shape))
        self.inputs.append(
            {
                "id": nid,
                "name": vi.name,
                "type": "input",
                "loop_sizes": {"B": b, "K": c, "OY": y, "OX": x},
                "precision": self.p.activation,
                "memory_operand_links": {"O": "I1"},
            }
        )

    # ---- axes ----------------------------------------------------------------------------------
    def _canon(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(B, C, Y, X) of an ONNX activation shape of rank 2, 3 or 4."""
        if len(shape) == 2:
            return (shape[0], shape[1], 1, 1)
        if len(shape) == 3:
            return (shape[0], shape[1], shape[2], 1)
        h, w = shape[2], shape[3]
        return (shape[0], shape[1], h, w) if self.time_axis == "H" else (shape[0], shape[1], w, h)

    def _yx(self, values: Sequence[int], rank: int, default: int) -> tuple[int, int]:
        """Split a per-spatial-axis attribute (kernel, strides, dilations) into its (Y, X) values."""
        if rank == 3:
            return (int(values[0]), default)
        return (int(values[0]), int(values[1])) if self.time_axis == "H" else (int(values[1]), int(values[0]))

    # ---- node dispatch ---------------------------------------------------------------------------
    def _node(self, i: int, node: Any) -> None:
        op = node.op_type
        ins = [n for n in node.input if n]
        act_ins = [n for n in ins if n in self.acts]
        for n in ins:
            if n not in self.acts and n not in self.consts:
                raise self.node_error(
                    i, node, "inputs produced by earlier nodes, initializers or graph inputs",
                    f"input {n!r}, which is none of them (a graph not in topological order, or produced by an "
                    "output ACCO does not track)",
                )
        if node.domain not in ("", "ai.onnx"):
            raise self.node_error(i, node, SUPPORTED_TEXT, f"operator {op!r} of domain {node.domain!r}")
        if op == "Constant":
            self._constant(node)
            return
        if op == "Shape" and act_ins:
            a = self.acts[act_ins[0]]
            shp = self._onnx_shape(a)
            np = self._numpy()
            self.consts[node.output[0]] = _Const((len(shp),), np.array(shp, dtype=np.int64))
            return
        if not act_ins:  # computes on constants only (shape arithmetic, weight pre-processing)
            for out in node.output:
                if out:
                    self.consts[out] = _Const(self.inferred.get(out))
            return
        if op == "Conv":
            self._conv(i, node)
        elif op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
            self._pool(i, node)
        elif op in ("Gemm", "MatMul"):
            self._fc(i, node)
        elif op in ("Add", "Sum") and len(act_ins) == 2 and self._distinct_sources(act_ins):
            self._add(i, node, act_ins)
        elif op in ELEMENTWISE_OPS or op in IDENTITY_OPS:
            self._fold(i, node, act_ins)
        elif op in RESHAPE_OPS:
            self._reshape(i, node, act_ins)
        else:
            raise self.node_error(i, node, SUPPORTED_TEXT, f"unsupported operator {op!r}")

    def _numpy(self) -> Any:
        import numpy  # noqa: PLC0415 - a core dependency; local to keep the module import light

        return numpy

    def _constant(self, node: Any) -> None:
        value = None
        for a in node.attribute:
            if a.name == "value":
                value = self.onnx.numpy_helper.to_array(a.t)
            elif a.name in ("value_int", "value_float"):
                value = self._numpy().array(self.onnx.helper.get_attribute_value(a))
            elif a.name in ("value_ints", "value_floats"):
                value = self._numpy().array(list(self.onnx.helper.get_attribute_value(a)))
        shape = tuple(int(d) for d in value.shape) if value is not None else self.inferred.get(node.output[0])
        self.consts[node.output[0]] = _Const(shape, value)

    def _attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def _distinct_sources(self, names: Sequence[str]) -> bool:
        a, b = (self.acts[n] for n in names)
        return a.source != b.source

    def _onnx_shape(self, a: _Act) -> tuple[int, ...]:
        b, c, y, x = a.shape
        if a.rank == 2:
            return (b, c)
        if a.rank == 3:
            return (b, c, y)
        return (b, c, y, x) if self.time_axis == "H" else (b, c, x, y)

    def _new_id(self) -> int:
        nid = self.next_id
        self.next_id += 1
        return nid

    def _mapping(self, i: int, node: Any, layer_type: str, loops: Mapping[str, int]) -> tuple[dict, dict]:
        name = self._node_name(i, node)
        names = [name, node.op_type, layer_type, _ZIGZAG_TYPE[layer_type]]
        entry = select_mapping_entry(self.entries, names)
        if entry is None:
            raise InputError(
                self.mapping_file,
                "",
                f"an entry named 'default' or one for layer {name!r} (names tried: {', '.join(dict.fromkeys(names))})",
                f"entries {', '.join(e.name for e in self.entries)}",
            )
        return apply_mapping_entry(entry, layer_type, loops, name)

    def _need_4d(self, i: int, node: Any, a: _Act, what: str) -> None:
        if a.flat is not None or a.rank not in (3, 4):
            raise self.node_error(
                i, node, f"{what} over an N x C x H x W (or N x C x L) activation",
                f"an input of shape {list(self._onnx_shape(a)) if a.flat is None else 'flattened ' + str(a.flat)}",
            )

    # ---- geometry --------------------------------------------------------------------------------
    def _window(
        self, i: int, node: Any, a: _Act, kernel: tuple[int, int], attrs: dict[str, Any], ceil_mode: bool = False
    ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], dict[str, list[int]]]:
        """Strides, dilations, output (Y, X) sizes and padding {IX, IY} of a sliding window."""
        rank = a.rank
        n = rank - 2
        strides = self._yx(attrs.get("strides", [1] * n), rank, 1)
        dil = self._yx(attrs.get("dilations", [1] * n), rank, 1)
        _, _, in_y, in_x = a.shape
        sizes = (in_y, in_x)
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
        pads_yx: list[tuple[int, int]] = []
        if auto_pad in ("NOTSET", ""):
            pads = list(attrs.get("pads", [0] * (2 * n)))
            if len(pads) != 2 * n:
                raise self.node_error(i, node, f"{2 * n} pads (begin and end per spatial axis)", f"pads {pads}")
            onnx_pairs = [(int(pads[k]), int(pads[k + n])) for k in range(n)]
            if rank == 3:
                pads_yx = [onnx_pairs[0], (0, 0)]
            else:
                pads_yx = onnx_pairs if self.time_axis == "H" else [onnx_pairs[1], onnx_pairs[0]]
        elif auto_pad == "VALID":
            pads_yx = [(0, 0), (0, 0)]
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            for size, s, d, k in zip(sizes, strides, dil, kernel):
                out = -(-size // s)
                total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                small, big = total // 2, total - total // 2
                pads_yx.append((small, big) if auto_pad == "SAME_UPPER" else (big, small))
        else:
            raise self.node_error(i, node, "auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER", repr(auto_pad))
        outs: list[int] = []
        for size, s, d, k, (pb, pe) in zip(sizes, strides, dil, kernel, pads_yx):
            span = size + pb + pe - d * (k - 1) - 1
            if span < 0 or s < 1 or d < 1 or k < 1:
                raise self.node_error(
                    i, node, "a window that fits the (padded) input",
                    f"input {size}, kernel {k}, dilation {d}, stride {s}, pads {pb}+{pe}",
                )
            outs.append((-(-span // s) if ceil_mode else span // s) + 1)
        padding = {"IX": list(pads_yx[1]), "IY": list(pads_yx[0])}
        return strides, dil, (outs[0], outs[1]), padding

    @staticmethod
    def _relations(strides: tuple[int, int], dil: tuple[int, int]) -> list[str]:
        return [f"ix={strides[1]}*ox+{dil[1]}*fx", f"iy={strides[0]}*oy+{dil[0]}*fy"]

    # ---- layers ------------------------------------------------------------------------------------
    def _conv(self, i: int, node: Any) -> None:
        x_name = node.input[0]
        if x_name not in self.acts:
            raise self.node_error(i, node, "a Conv whose data input is an activation", f"constant {x_name!r}")
        if len(node.input) < 2 or node.input[1] not in self.consts:
            raise self.node_error(
                i, node, "a Conv with constant weights (an initializer)",
                "weights computed from activations" if len(node.input) > 1 else "no weight input",
            )
        a = self.acts[x_name]
        self._need_4d(i, node, a, "a Conv")
        wshape = self.consts[node.input[1]].shape
        if wshape is None or len(wshape) != a.rank:
            raise self.node_error(i, node, f"a weight tensor of rank {a.rank}", f"weight shape {wshape}")
        attrs = self._attrs(node)
        group = int(attrs.get("group", 1))
        m, cg = int(wshape[0]), int(wshape[1])
        kernel_onnx = list(attrs.get("kernel_shape", wshape[2:]))
        kernel = self._yx(kernel_onnx, a.rank, 1)
        b, c, _, _ = a.shape
        if group < 1 or cg * group != c or m % group != 0:
            raise self.node_error(
                i, node, "weights matching the input channels and group (W: M x C/group x kH x kW)",
                f"input channels {c}, group {group}, weight shape {list(wshape)}",
            )
        strides, dil, (oy, ox), padding = self._window(i, node, a, kernel, attrs)
        fy, fx = kernel
        lid = self._new_id()
        name = self._node_name(i, node)
        if group == 1:
            ltype, eq = "conv", EQ_CONV
            loops = {"B": b, "K": m, "C": c, "OY": oy, "OX": ox, "FY": fy, "FX": fx}
            sdm = {"IX": "OX", "IY": "OY", "C": a.channel}
            channel = "K"
        elif group == c and m == c:
            ltype, eq = "dwconv", EQ_DWCONV
            loops = {"B": b, "G": c, "OY": oy, "OX": ox, "FY": fy, "FX": fx}
            sdm = {"IX": "OX", "IY": "OY", "G": a.channel}
            channel = "G"
        else:
            ltype, eq = "conv", EQ_GROUPED_CONV
            loops = {"B": b, "G": group, "K": m // group, "C": cg, "OY": oy, "OX": ox, "FY": fy, "FX": fx}
            sdm = {"IX": "OX", "IY": "OY", "G": a.channel, "C": a.channel}
            channel = "K"
        spatial, links = self._mapping(i, node, ltype, loops)
        layer: dict[str, Any] = {
            "id": lid,
            "name": name,
            "type": ltype,
            "equation": eq,
            "dimension_relations": self._relations(strides, dil),
            "loop_sizes": loops,
            "operand_precision": {"O": self.p.partial_sum, "O_final": self.p.output, "W": self.p.weight,
                                  "I": self.p.activation},
            "operand_source": {"I": a.source},
            "constant_operands": ["W"],
            "operand_source_dimension_mapping": {"I": sdm},
            "spatial_mapping": spatial,
            "memory_operand_links": links,
        }
        if any(v != [0, 0] for v in padding.values()):
            layer["padding"] = padding
        self.layers.append(layer)
        self.acts[node.output[0]] = _Act(lid, channel, (b, m, oy, ox), a.rank)

    def _pool(self, i: int, node: Any) -> None:
        a = self.acts[node.input[0]]
        self._need_4d(i, node, a, f"a {node.op_type}")
        attrs = self._attrs(node)
        b, c, in_y, in_x = a.shape
        if node.op_type.startswith("Global"):
            kernel = (in_y, in_x)
            # the whole plane in one step (stride = kernel), as resnet18_corrected writes its average pool
            attrs = {"strides": list(self._onnx_shape(a)[2:])}
            ceil_mode = False
        else:
            if "kernel_shape" not in attrs:
                raise self.node_error(i, node, "a kernel_shape attribute", "none")
            kernel = self._yx(attrs["kernel_shape"], a.rank, 1)
            ceil_mode = bool(attrs.get("ceil_mode", 0))
        strides, dil, (oy, ox), padding = self._window(i, node, a, kernel, attrs, ceil_mode)
        fy, fx = kernel
        lid = self._new_id()
        loops = {"B": b, "G": c, "OY": oy, "OX": ox, "FX": fx, "FY": fy}
        spatial, links = self._mapping(i, node, "pool", loops)
        layer: dict[str, Any] = {
            "id": lid,
            "name": self._node_name(i, node),
            "type": "pool",
            "equation": EQ_POOL,
            "dimension_relations": self._relations(strides, dil),
            "loop_sizes": loops,
            "operand_precision": {"O": self.p.partial_sum, "O_final": self.p.output, "I": self.p.activation, "W": 0},
            "operand_source": {"I": a.source},
            "constant_operands": ["W"],
            "operand_source_dimension_mapping": {"I": {"IX": "OX", "IY": "OY", "G": a.channel}},
            "spatial_mapping": spatial,
            "memory_operand_links": links,
        }
        if any(v != [0, 0] for v in padding.values()):
            layer["padding"] = padding
        self.layers.append(layer)
        self.acts[node.output[0]] = _Act(lid, "G", (b, c, oy, ox), a.rank)

    def _fc(self, i: int, node: Any) -> None:
        op = node.op_type
        attrs = self._attrs(node)
        if node.input[0] not in self.acts:
            raise self.node_error(i, node, f"a {op} whose first input is an activation", f"constant {node.input[0]!r}")
        if node.input[1] not in self.consts:
            raise self.node_error(
                i, node, f"a {op} with a constant weight matrix (an initializer)", "two activation inputs"
            )
        if op == "Gemm" and int(attrs.get("transA", 0)):
            raise self.node_error(i, node, "a Gemm without transA", "transA = 1")
        a = self.acts[node.input[0]]
        if a.rank != 2:
            raise self.node_error(
                i, node, f"a {op} over an N x F activation (Flatten first)", f"an input of shape {list(self._onnx_shape(a))}"
            )
        wshape = self.consts[node.input[1]].shape
        if wshape is None or len(wshape) != 2:
            raise self.node_error(i, node, "a 2-D weight matrix", f"weight shape {wshape}")
        trans_b = op == "Gemm" and bool(int(attrs.get("transB", 0)))
        f_in, k = (int(wshape[1]), int(wshape[0])) if trans_b else (int(wshape[0]), int(wshape[1]))
        b, features, _, _ = a.shape
        if f_in != features:
            raise self.node_error(
                i, node, f"a weight matrix with {features} input features", f"weight shape {list(wshape)}"
                + (" (transB = 1)" if trans_b else "")
            )
        c, fy, fx = a.flat if a.flat is not None else (features, 1, 1)
        lid = self._new_id()
        loops = {"B": b, "K": k, "C": c, "OY": 1, "OX": 1, "FY": fy, "FX": fx}
        spatial, links = self._mapping(i, node, "fc", loops)
        self.layers.append(
            {
                "id": lid,
                "name": self._node_name(i, node),
                "type": "fc",
                "equation": EQ_CONV,
                "dimension_relations": self._relations((1, 1), (1, 1)),
                "loop_sizes": loops,
                "operand_precision": {"O": self.p.partial_sum, "O_final": self.p.output, "W": self.p.weight,
                                      "I": self.p.activation},
                "operand_source": {"I": a.source},
                "constant_operands": ["W"],
                "operand_source_dimension_mapping": {"I": {"IX": "OX", "IY": "OY", "C": a.channel}},
                "spatial_mapping": spatial,
                "memory_operand_links": links,
            }
        )
        self.acts[node.output[0]] = _Act(lid, "K", (b, k, 1, 1), 2)

    def _add(self, i: int, node: Any, act_ins: Sequence[str]) -> None:
        a, b = sorted((self.acts[n] for n in act_ins), key=lambda t: t.source)  # X: the earlier producer
        if a.shape != b.shape or a.flat != b.flat:
            raise self.node_error(
                i, node, "an Add of two activations of the same shape",
                f"shapes {list(self._onnx_shape(a))} and {list(self._onnx_shape(b))}",
            )
        if any(n not in self.acts for n in node.input if n):
            raise self.node_error(i, node, "an Add of exactly two activations", "a further constant input")
        bsz, c, y, x = a.shape
        lid = self._new_id()
        loops = {"B": bsz, "G": c, "OY": y, "OX": x}
        spatial, links = self._mapping(i, node, "add", loops)
        self.layers.append(
            {
                "id": lid,
                "name": self._node_name(i, node),
                "type": "add",
                "equation": EQ_ADD,
                "dimension_relations": [],
                "loop_sizes": loops,
                "operand_precision": {"O": self.p.partial_sum, "O_final": self.p.output, "X": self.p.activation,
                                      "Y": self.p.activation},
                "operand_source": {"X": a.source, "Y": b.source},
                "constant_operands": [],
                "operand_source_dimension_mapping": {
                    "X": {"OX": "OX", "OY": "OY", "G": a.channel},
                    "Y": {"OX": "OX", "OY": "OY", "G": b.channel},
                },
                "spatial_mapping": spatial,
                "memory_operand_links": links,
            }
        )
        self.acts[node.output[0]] = _Act(lid, "G", a.shape, a.rank, a.flat)

    # ---- folded operators -----------------------------------------------------------------------------
    def _fold(self, i: int, node: Any, act_ins: Sequence[str]) -> None:
        """An element-wise op with one activation input (or all inputs from one producer) passes it through."""
        acts = [self.acts[n] for n in act_ins]
        first = acts[0]
        if any(t.source != first.source or t.shape != first.shape for t in acts[1:]):
            raise self.node_error(
                i, node, "an element-wise operator with one activation input (others constant)",
                f"{len(acts)} activation inputs from different layers",
            )
        out_shape = self.inferred.get(node.output[0])
        if out_shape is not None and tuple(out_shape) != self._onnx_shape(first):
            raise self.node_error(
                i, node, "an element-wise operator that keeps its input's shape",
                f"output shape {list(out_shape)} from input {list(self._onnx_shape(first))} (broadcasting)",
            )
        self.acts[node.output[0]] = first
        self.folded[node.op_type] += 1

    def _reshape(self, i: int, node: Any, act_ins: Sequence[str]) -> None:
        """Flatten/Reshape/Squeeze/Unsqueeze: folded when the loop nest stays the same."""
        a = self.acts[act_ins[0]]
        if node.input[0] != act_ins[0]:
            raise self.node_error(i, node, f"a {node.op_type} of an activation", "a constant data input")
        in_shape = self._onnx_shape(a) if a.flat is None else (a.shape[0], a.shape[1])
        out_shape = self._reshape_target(i, node, in_shape)
        b = in_shape[0]
        if len(out_shape) < 2 or out_shape[0] != b or math.prod(out_shape) != math.prod(in_shape):
            raise self.node_error(
                i, node, f"a {node.op_type} that keeps the batch and element count",
                f"{list(in_shape)} -> {list(out_shape)}",
            )
        if a.flat is None and len(out_shape) == 2 and a.rank in (3, 4) and (a.shape[2], a.shape[3]) != (1, 1):
            # N x C x H x W -> N x CHW: a following fc sees a C x H x W kernel
            _, c, y, x = a.shape
            self.acts[node.output[0]] = _Act(a.source, a.channel, (b, c * y * x, 1, 1), 2, (c, y, x))
        elif len(out_shape) == 2 and a.flat is not None:
            self.acts[node.output[0]] = a
        elif len(out_shape) in (2, 3, 4) and self._canon(tuple(out_shape)) == a.shape and a.flat is None:
            self.acts[node.output[0]] = _Act(a.source, a.channel, a.shape, len(out_shape))
        else:
            raise self.node_error(
                i, node, f"a {node.op_type} that keeps the loop nest (flatten to N x F, or add/drop size-1 axes)",
                f"{list(in_shape)} -> {list(out_shape)} (time axis {self.time_axis})",
            )
        self.folded[node.op_type] += 1

    def _reshape_target(self, i: int, node: Any, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape of a reshaping node: from its attributes / constant inputs, else from inference."""
        op = node.op_type
        attrs = self._attrs(node)
        known = self.inferred.get(node.output[0])
        if op == "Flatten":
            axis = int(attrs.get("axis", 1))
            axis = axis + len(in_shape) if axis < 0 else axis
            return (math.prod(in_shape[:axis]), math.prod(in_shape[axis:]))
        if op == "Reshape":
            target = self._const_ints(node.input[1]) if len(node.input) > 1 else None
            if target is None:
                if known is None:
                    raise self.node_error(
                        i, node, "a Reshape whose target shape is a constant (or inferable)", "an unknown shape"
                    )
                return known
            out = [int(in_shape[k]) if v == 0 and not attrs.get("allowzero", 0) else int(v) for k, v in enumerate(target)]
            if out.count(-1) == 1:
                rest = math.prod(v for v in out if v != -1)
                out[out.index(-1)] = math.prod(in_shape) // rest if rest else 0
            return tuple(out)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1:
            axes = self._const_ints(node.input[1])
            if axes is None:
                if known is None:
                    raise self.node_error(i, node, f"a {op} with constant axes", "axes computed at run time")
                return known
        if op == "Squeeze":
            if axes is None:
                return tuple(v for v in in_shape if v != 1)
            ax = {int(k) % len(in_shape) for k in axes}
            return tuple(v for k, v in enumerate(in_shape) if k not in ax)
        # Unsqueeze
        if axes is None:
            raise self.node_error(i, node, "an Unsqueeze with axes", "none")
        rank = len(in_shape) + len(axes)
        ax = {int(k) % rank for k in axes}
        it = iter(in_shape)
        return tuple(1 if k in ax else next(it) for k in range(rank))

    def _const_ints(self, name: str) -> list[int] | None:
        """The values of a constant integer tensor (Reshape target, Squeeze axes), None when unknown."""
        c = self.consts.get(name)
        if c is None:
            return None
        value = c.value if c.value is not None or c.proto is None else self._init_value(c.proto)
        if value is None:
            return None
        return [int(v) for v in value.reshape(-1).tolist()]


def import_onnx(
    model: str | os.PathLike[str] | "onnx.ModelProto",
    mapping: str | os.PathLike[str] | Sequence[MappingEntry],
    *,
    time_axis: str,
    name: str | None = None,
    precision: Precision = Precision(),
    source: str | None = None,
) -> OnnxImport:
    """Import an ONNX model (a file or a loaded ``onnx.ModelProto``) as an ACCO workload.

    `mapping` is a ZigZag mapping YAML file (or already loaded entries, see `load_mapping`);
    `time_axis` is ``"H"`` or ``"W"``: the ONNX spatial axis that is time (our Y); `name`
    defaults to the model file's stem (or the graph name); `precision` sets the operand bits;
    `source` names the model in error messages and the header when a ModelProto is given.
    The document is validated by the same loader as workload files (`acco.io.load_workload`).
    Raises `InputError` (located in the model or mapping file) and `OnnxNotInstalled`.
    """
    if time_axis not in TIME_AXES:
        raise ValueError(f"time_axis must be one of {', '.join(TIME_AXES)}, got {time_axis!r}")
    onnx_mod = require_onnx()
    if isinstance(model, (str, os.PathLike)):
        file = str(model)
        proto = _load_model(onnx_mod, file)
        default_name = Path(file).stem
    else:
        proto = model
        file = source or (proto.graph.name or "<onnx model>")
        default_name = proto.graph.name or "onnx_model"
    if isinstance(mapping, (str, os.PathLike)):
        mapping_file = str(mapping)
        entries = load_mapping(mapping)
    else:
        entries = tuple(mapping)
        mapping_file = entries[0].file if entries and entries[0].file else "<mapping>"
    wl_name = name or _safe_name(default_name)
    imp = _Importer(onnx_mod, proto, file, entries, mapping_file, time_axis, precision)
    layers = imp.run()
    if not imp.layers:
        raise InputError(file, "graph.node", "at least one Conv, pool, Gemm/MatMul or Add node", "none")
    document: dict[str, Any] = {"name": wl_name, "layers": layers}
    workload = workload_from_yaml(Field.root(file, yaml.safe_load(render_workload_yaml(document))))
    folded = dict(sorted(imp.folded.items()))
    header = (
        f"{wl_name}: imported from {Path(file).name} by `python -m acco import-onnx` (acco/io/onnx.py).",
        f"Spatial mapping and memory operand links: {Path(mapping_file).name} (ZigZag mapping format).",
        f"Time axis: ONNX {time_axis} -> OY/IY/FY; the other spatial axis -> OX/IX/FX.",
        "Folded away (no loop nest of their own): "
        + (", ".join(f"{k} x{v}" for k, v in folded.items()) if folded else "nothing") + ".",
    )
    return OnnxImport(document=document, workload=workload, folded=folded, header=header)


def _load_model(onnx_mod: Any, file: str) -> "onnx.ModelProto":
    p = Path(file)
    if not p.is_file():
        raise InputError(file, "", "an existing ONNX model file", "no such file" if not p.exists() else "not a file")
    try:
        # external weight data is not needed (only shapes are), and may be absent
        return onnx_mod.load(file, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types for a corrupt file
        raise InputError(file, "", "an ONNX model (protobuf)", f"unreadable ({type(e).__name__}: {e})") from None


def _safe_name(text: str) -> str:
    """A workload name from a file stem or graph name (kept as is unless empty)."""
    text = text.strip()
    return text or "onnx_model"


# ======================================================================================
# YAML output in the style of inputs/workloads
# ======================================================================================
def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9, allow_unicode=True)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    elif text.endswith("..."):
        text = text[:-3].rstrip()
    return text


def render_workload_yaml(document: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """A workload document as YAML: a comment header, `name`, then one block per layer with flow values."""
    lines = [f"# {h}" for h in header]
    lines.append(f"name: {_flow(document['name'])}")
    lines.append("layers:")
    for layer in document["layers"]:
        first = True
        for k, v in layer.items():
            lines.append(f"{'  - ' if first else '    '}{k}: {_flow(v)}")
            first = False
    return "\n".join(lines) + "\n"
