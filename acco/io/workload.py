"""Load and validate a workload YAML file (docs/inputs.md) into a frozen `Workload`.

Also `check_spatial_mapping`, which checks a layer's spatial mapping against a given
accelerator's array (only possible once both files are known).
"""

from __future__ import annotations

import os
import re
from math import prod

from acco.errors import InputError
from acco.frozendict import FrozenDict
from acco.hardware.models import MEMORY_OPERANDS, Accelerator
from acco.io.errors import show
from acco.io.yamlfile import Field, one_of, read_yaml
from acco.workload.layer import InputNode, Layer, Relation
from acco.workload.network import Workload, is_acyclic

TOP_FIELDS = ("name", "layers")
LAYER_TYPES = ("conv", "pool", "add", "fc", "dwconv")
INPUT_TYPE = "input"
INPUT_REQUIRED = ("id", "type", "loop_sizes", "precision", "memory_operand_links")
INPUT_OPTIONAL = ("name",)
LAYER_REQUIRED = (
    "id",
    "type",
    "equation",
    "loop_sizes",
    "operand_precision",
    "spatial_mapping",
    "memory_operand_links",
)
LAYER_OPTIONAL = (
    "name",
    "dimension_relations",
    "operand_source",
    "constant_operands",
    "operand_source_dimension_mapping",
    "padding",
)

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_TERM = rf"({_NAME})((?:\[\s*{_NAME}\s*\])+)"
EQUATION_RE = re.compile(rf"^\s*{_TERM}\s*(\+?=)\s*{_TERM}\s*([*+])\s*{_TERM}\s*$")
_INDEX_RE = re.compile(rf"\[\s*({_NAME})\s*\]")
RELATION_RE = re.compile(
    rf"^\s*({_NAME})\s*=\s*(?:([0-9]+)\s*\*\s*)?({_NAME})\s*\+\s*(?:([0-9]+)\s*\*\s*)?({_NAME})\s*$"
)
DIM_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
ARRAY_DIM_RE = re.compile(r"^D[0-9]+$")

_EQUATION_EXPECTED = (
    "an equation OUT[..]+=A[..]*B[..] or OUT[..]=A[..]+B[..] "
    "(e.g. O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy])"
)
_RELATION_EXPECTED = "a relation of two terms like 'ix=1*ox+1*fx' (positive integer coefficients, optional)"

_DESCRIBE = {
    "name": "a non-empty name",
    "layers": "a non-empty list of layers",
    "id": "an integer layer id",
    "type": f"a layer type ({one_of((INPUT_TYPE,) + LAYER_TYPES)})",
    "equation": _EQUATION_EXPECTED,
    "loop_sizes": "a mapping of loop dimensions to positive integer sizes",
    "precision": "a non-negative integer (bits)",
    "operand_precision": "a mapping operand -> non-negative integer bits, including O_final",
    "spatial_mapping": "a mapping array dimension -> [LOOP_DIM, size], e.g. {D1: [K, 32]}",
    "memory_operand_links": f"a mapping layer operand -> memory operand ({one_of(MEMORY_OPERANDS)})",
}


def load_workload(path: str | os.PathLike[str]) -> Workload:
    """Read a workload YAML file and return the validated Workload (InputError on the first problem)."""
    return workload_from_yaml(Field.root(path, read_yaml(path)))


def workload_from_yaml(doc: Field) -> Workload:
    """Validate an already-parsed workload document and build the Workload."""
    doc.mapping("a workload description (a mapping with name and layers)", TOP_FIELDS, (), _desc)
    name = doc.child("name").text(_DESCRIBE["name"])
    layers_f = doc.child("layers").seq(_DESCRIBE["layers"], min_len=1)
    entries = list(layers_f.elements())

    # pass 1: ids, so that operand_source can be checked against all of them
    ids: dict[int, int] = {}
    for i, lf in enumerate(entries):
        lf.mapping("a layer (a mapping with id, type, ...)")
        idf = lf.child("id")
        if idf.missing:
            raise idf.error(_desc("id"))
        lid = idf.integer(_DESCRIBE["id"])
        if lid in ids:
            raise idf.error("a unique layer id", f"{lid} (already used by layers[{ids[lid]}])")
        ids[lid] = i

    # pass 2: every node
    nodes: list[Layer | InputNode] = []
    for lf in entries:
        lid = lf.value["id"]
        nf = lf.renamed(f"{layers_f.path}[id={lid}]")
        tf = nf.child("type")
        if tf.missing:
            raise tf.error(_desc("type"))
        if tf.value == INPUT_TYPE:
            nodes.append(_input_node(nf, lid))
        elif tf.value in LAYER_TYPES:
            nodes.append(check_layer_size(_layer(nf, lid, tf.value, ids), nf.child("loop_sizes")))
        else:
            raise tf.error(_DESCRIBE["type"])

    _check_acyclic(layers_f, nodes)
    return Workload(name=name, nodes=tuple(nodes))


def _desc(key: str) -> str:
    return _DESCRIBE.get(key, "a value") + " (required field)"


def _input_node(nf: Field, lid: int) -> InputNode:
    nf.mapping("an input node", INPUT_REQUIRED, INPUT_OPTIONAL, _desc)
    name = _opt_name(nf, "input")
    loops = _loop_sizes(nf.child("loop_sizes"))
    precision = nf.child("precision").nonneg_int(_DESCRIBE["precision"])
    if prod(loops.values()) * precision > MAX_COUNT:
        raise nf.child("loop_sizes").error(
            f"an input of at most 2**53 bits ({_COUNT_WHY})",
            f"{' x '.join(str(v) for v in loops.values())} x {precision} bits = {_pow2(prod(loops.values()) * precision)} bits",
        )
    links_f = nf.child("memory_operand_links").mapping(_DESCRIBE["memory_operand_links"])
    links = _links(links_f, ("O",))
    return InputNode(id=lid, loop_sizes=loops, precision=precision, memory_operand_links=links, name=name)


def _opt_name(nf: Field, default: str) -> str:
    f = nf.child("name")
    return default if f.missing else f.text(_DESCRIBE["name"])


def _loop_sizes(f: Field) -> FrozenDict[str, int]:
    f.mapping(_DESCRIBE["loop_sizes"])
    if not f.value:
        raise f.error(_DESCRIBE["loop_sizes"], "an empty mapping")
    sizes: dict[str, int] = {}
    for d, df in f.items():
        if not DIM_RE.match(d):
            raise f.key_field(d).error("an upper-case loop dimension name (e.g. K, OX)", repr(d))
        sizes[d] = df.pos_int("a positive integer loop size")
    return FrozenDict(sizes)


def _links(f: Field, operands: tuple[str, ...]) -> FrozenDict[str, str]:
    for k in f.value:
        if k not in operands:
            raise f.key_field(k).error(f"an operand of the layer ({one_of(operands)})", f"unknown layer operand {k!r}")
    links: dict[str, str] = {}
    for op in operands:
        of = f.child(op)
        if of.missing:
            raise of.error(f"a memory operand ({one_of(MEMORY_OPERANDS)}) for layer operand {op} (required)")
        if of.value not in MEMORY_OPERANDS:
            got = f"unknown memory operand {of.value!r}" if isinstance(of.value, str) else show(of.value)
            raise of.error(f"a memory operand ({one_of(MEMORY_OPERANDS)})", got)
        links[op] = of.value
    return FrozenDict(links)


def parse_equation(f: Field) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Parse an equation field into (operands in equation order, upper-case index dims per operand)."""
    text = f.text(_EQUATION_EXPECTED)
    m = EQUATION_RE.match(text)
    if not m:
        raise f.error(_EQUATION_EXPECTED)
    terms = [(m.group(1), m.group(2)), (m.group(4), m.group(5)), (m.group(7), m.group(8))]
    operands: list[str] = []
    dims: dict[str, tuple[str, ...]] = {}
    for op, idx in terms:
        if op in dims:
            raise f.error(_EQUATION_EXPECTED + " with three distinct operand names", f"{text!r} ({op} used twice)")
        operands.append(op)
        dims[op] = tuple(i.upper() for i in _INDEX_RE.findall(idx))
    return tuple(operands), dims


def parse_relation(f: Field) -> Relation:
    """Parse one dimension relation like ``ix=1*ox+1*fx`` into a Relation (coefficients default to 1)."""
    if not isinstance(f.value, str):
        raise f.error(_RELATION_EXPECTED)
    m = RELATION_RE.match(f.value)
    if not m:
        raise f.error(_RELATION_EXPECTED)
    ca = int(m.group(2)) if m.group(2) is not None else 1
    cb = int(m.group(4)) if m.group(4) is not None else 1
    if ca <= 0 or cb <= 0:
        raise f.error(_RELATION_EXPECTED, f"{f.value!r} (a zero coefficient)")
    return Relation(
        data_dim=m.group(1).upper(), dim_a=m.group(3).upper(), coef_a=ca, dim_b=m.group(5).upper(), coef_b=cb
    )


def _layer(nf: Field, lid: int, ltype: str, ids: dict[int, int]) -> Layer:
    nf.mapping("a layer", LAYER_REQUIRED, LAYER_OPTIONAL, _desc)
    name = _opt_name(nf, f"layer_{lid}")
    eq_f = nf.child("equation")
    operands, operand_dims = parse_equation(eq_f)
    inputs = operands[1:]

    # relations
    relations: list[Relation] = []
    rel_f = nf.child("dimension_relations")
    if not rel_f.missing:
        rel_f.seq("a list of relations like 'ix=1*ox+1*fx'")
        for rf in rel_f.elements():
            r = parse_relation(rf)
            if any(x.data_dim == r.data_dim for x in relations):
                raise rf.error("one relation per dimension", f"a second relation for {r.data_dim}")
            relations.append(r)

    loops_f = nf.child("loop_sizes")
    loops = _loop_sizes(loops_f)
    for r, rf in zip(relations, rel_f.elements() if not rel_f.missing else ()):
        for d in (r.dim_a, r.dim_b):
            if d not in loops:
                raise rf.error(f"a relation over loop dimensions of the layer ({one_of(list(loops))})",
                               f"{rf.value!r} ({d} is not in loop_sizes)")
    defined = set(loops) | {r.data_dim for r in relations}
    for op in operands:
        for d in operand_dims[op]:
            if d not in defined:
                raise eq_f.error(
                    "every index to be a loop dimension (in loop_sizes) or defined by a dimension relation",
                    f"unknown dimension {d.lower()!r} of operand {op} in {eq_f.value!r}",
                )

    # precision
    out_final = f"{operands[0]}_final"
    prec_keys = operands + (out_final,)
    prec_f = nf.child("operand_precision").mapping(
        _DESCRIBE["operand_precision"],
        prec_keys,
        (),
        lambda k: "a non-negative integer (bits"
        + ("; required: the precision of the final output)" if k == out_final else f" of operand {k}; required)"),
    )
    precision = {k: prec_f.child(k).nonneg_int("a non-negative integer (bits)") for k in prec_f.value}

    # memory operand links
    links = _links(nf.child("memory_operand_links").mapping(_DESCRIBE["memory_operand_links"]), operands)

    # constant operands
    constants: list[str] = []
    c_f = nf.child("constant_operands")
    if not c_f.missing:
        c_f.seq(f"a list of constant input operands ({one_of(inputs)})")
        for cf in c_f.elements():
            if cf.value not in inputs:
                raise cf.error(f"an input operand of the layer ({one_of(inputs)})")
            if cf.value in constants:
                raise cf.error("each operand listed once", f"{cf.value!r} twice")
            constants.append(cf.value)

    # operand sources
    sources: dict[str, int] = {}
    s_f = nf.child("operand_source")
    if not s_f.missing:
        s_f.mapping("a mapping input operand -> id of the producing layer")
        for op, sf in s_f.items():
            if op not in inputs:
                raise s_f.key_field(op).error(
                    f"an input operand of the layer ({one_of(inputs)})", f"unknown layer operand {op!r}"
                )
            if op in constants:
                raise s_f.key_field(op).error(
                    "a source only for non-constant operands", f"{op!r}, which is in constant_operands"
                )
            src = sf.integer("the id of the producing layer (an integer)")
            if src not in ids:
                raise sf.error(f"the id of a layer in this workload ({_ids_text(ids)})", f"{src} (no such layer)")
            sources[op] = src
    for op in inputs:
        if op not in constants and op not in sources:
            raise s_f.child(op).error(
                f"a producing layer id for non-constant operand {op} (or list {op} in constant_operands)"
            )

    # source dimension mapping
    sdm: dict[str, FrozenDict[str, str]] = {}
    m_f = nf.child("operand_source_dimension_mapping")
    if not m_f.missing:
        m_f.mapping("a mapping input operand -> {operand dim: producer dim}")
        for op, of in m_f.items():
            if op not in inputs:
                raise m_f.key_field(op).error(
                    f"an input operand of the layer ({one_of(inputs)})", f"unknown layer operand {op!r}"
                )
            of.mapping(f"a mapping dimension of {op} -> dimension of its producer")
            inner: dict[str, str] = {}
            for d, df in of.items():
                # Not checked against operand_dims[op]: original ACCO workloads map e.g. G for an
                # input indexed by C (mccnn layer 0); such an entry is simply never looked up.
                if not DIM_RE.match(d):
                    raise of.key_field(d).error(f"an upper-case dimension name of operand {op}", repr(d))
                v = df.text("an upper-case dimension name of the producing layer")
                if not DIM_RE.match(v):
                    raise df.error("an upper-case dimension name of the producing layer")
                inner[d] = v
            sdm[op] = FrozenDict(inner)

    spatial = _spatial_mapping(nf.child("spatial_mapping"), loops)

    # padding
    padding: dict[str, tuple[int, int]] = {}
    p_f = nf.child("padding")
    if not p_f.missing:
        p_f.mapping("a mapping dimension -> [before, after], e.g. {IX: [1, 1]}")
        for d, pf in p_f.items():
            if d not in defined:
                raise p_f.key_field(d).error(
                    f"a dimension of the layer ({one_of(sorted(defined))})", f"unknown dimension {d!r}"
                )
            pf.seq("a pair [before, after] of non-negative integers")
            if len(pf.value) != 2:
                raise pf.error("a pair [before, after] of non-negative integers")
            a, b = (e.nonneg_int("a non-negative integer (padding)") for e in pf.elements())
            padding[d] = (a, b)

    return Layer(
        id=lid,
        name=name,
        type=ltype,
        equation=eq_f.value,
        operands=operands,
        operand_dims=FrozenDict(operand_dims),
        relations=tuple(relations),
        loop_sizes=loops,
        precision=FrozenDict(precision),
        operand_source=FrozenDict(sources),
        constant_operands=tuple(constants),
        source_dimension_mapping=FrozenDict(sdm),
        spatial_mapping=spatial,
        memory_operand_links=links,
        padding=FrozenDict(padding),
    )


def _spatial_mapping(f: Field, loops: FrozenDict[str, int]) -> tuple[tuple[str, str, int], ...]:
    f.mapping(_DESCRIBE["spatial_mapping"])
    out: list[tuple[str, str, int]] = []
    for oa, vf in f.items():
        if not ARRAY_DIM_RE.match(oa):
            raise f.key_field(oa).error("an array dimension named D<n> (D1, D2, ...)", repr(oa))
        pair = "a pair [LOOP_DIM, positive size], e.g. [K, 32]"
        vf.seq(pair)
        if len(vf.value) != 2:
            raise vf.error(pair)
        df, sf = vf.elements()
        if not isinstance(df.value, str):
            raise df.error("a loop dimension name")
        if df.value not in loops:
            raise df.error(f"a loop dimension of the layer ({one_of(list(loops))})", f"{df.value!r}")
        size = sf.pos_int("a positive integer unrolling size")
        out.append((oa, df.value, size))
    return tuple(out)


#: the largest count a layer may reach (MACs x precision x the window growth of its dimension
#: relations): every access and bit count the cost model derives from it then stays exact (float64
#: holds integers up to 2**53; the vectorised model's int64 products stay far below 2**63). Larger
#: layers are refused with a located error instead of being counted wrongly.
MAX_COUNT = 2**53
_COUNT_WHY = "larger counts would not stay exact in the cost model's float64 and int64 arithmetic"


def _pow2(n: int) -> str:
    """A big count with its size in powers of two, e.g. `73786976294838206464 (~2**66)`."""
    return f"{n} (~2**{n.bit_length() - 1})" if n > 2**32 else str(n)


def check_layer_size(layer: Layer, where: Field) -> Layer:
    """Refuse (InputError at `where`) a layer whose counts could exceed 2**53; return it otherwise.

    The bound is MACs x the largest precision x (stride + dilation) of every dimension relation: a
    tile of a windowed operand holds at most (stride + dilation) times the elements of its loops, so
    no tile's bits times its repetitions (the bits moved) can pass it.
    """
    bits = max(layer.precision.values(), default=1) or 1
    growth = prod(r.coef_a + r.coef_b for r in layer.relations)
    macs = layer.total_macs
    if macs * bits * growth > MAX_COUNT:
        loops = " x ".join(f"{d} {v}" for d, v in layer.loop_sizes.items() if v > 1) or "1"
        got = f"{loops} = {_pow2(macs)} MACs x {bits} bits" + (f" x {growth} (window growth)" if growth > 1 else "")
        raise where.error(f"a layer of at most 2**53 MACs x precision bits x window growth ({_COUNT_WHY})", got)
    return layer


def _ids_text(ids: dict[int, int]) -> str:
    shown = sorted(ids)
    return one_of([str(i) for i in shown]) if len(shown) <= 12 else f"{shown[0]} .. {shown[-1]}"


def _check_acyclic(layers_f: Field, nodes: list[Layer | InputNode]) -> None:
    if is_acyclic((n.id for n in nodes), ((src, n.id) for n in nodes if isinstance(n, Layer) for src in n.operand_source.values())):
        return
    import networkx as nx  # only to name the cycle in the error

    g = nx.DiGraph()
    for n in nodes:
        g.add_node(n.id)
        if isinstance(n, Layer):
            for op, src in n.operand_source.items():
                g.add_edge(src, n.id, operand=op)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    consumer = cycle[0][1]
    path = " -> ".join(str(u) for u, _ in cycle) + f" -> {cycle[0][0]}"
    index = next(i for i, n in enumerate(nodes) if n.id == consumer)
    lf = list(layers_f.elements())[index].renamed(f"{layers_f.path}[id={consumer}]")
    raise lf.child("operand_source").error("an acyclic layer graph (operand_source must not loop back)",
                                           f"the cycle {path}")


def check_spatial_mapping(layer: Layer, accelerator: Accelerator, file: str | os.PathLike[str]) -> None:
    """Check a layer's spatial mapping fits the accelerator's array (dims exist, unrolling <= size).

    Only possible once both files are known; the InputError names the workload `file` and the layer.
    """
    dims = accelerator.array.dimensions
    for oa, dim, size in layer.spatial_mapping:
        path = f"layers[id={layer.id}].spatial_mapping.{oa}"
        if oa not in dims:
            raise InputError(
                str(file),
                path,
                f"a dimension of the operational array of {accelerator.name} ({one_of(list(dims))})",
                f"{oa!r} (not in the array)",
            )
        if size > dims[oa]:
            raise InputError(
                str(file),
                path,
                f"an unrolling of at most {dims[oa]} (the size of {oa} in {accelerator.name})",
                f"[{dim}, {size}]",
            )
