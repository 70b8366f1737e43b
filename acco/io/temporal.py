"""Load and validate a temporal-mapping YAML file for one layer on one accelerator.

The file maps each layer operand to a list (one entry per memory level of that
operand's chain, innermost first) of ``[DIM, size]`` loops, innermost first.
"""

from __future__ import annotations

import os
from math import prod

from acco.frozendict import FrozenDict
from acco.hardware.models import Accelerator
from acco.io.yamlfile import Field, one_of, read_yaml
from acco.mapping.spatial import limit_unrolling
from acco.mapping.temporal import TemporalMapping
from acco.workload.layer import Layer


def load_temporal_mapping(path: str | os.PathLike[str], layer: Layer, accelerator: Accelerator) -> TemporalMapping:
    """Read a temporal mapping for `layer` on `accelerator`; InputError if operands, levels or loops do not fit."""
    return temporal_mapping_from_yaml(Field.root(path, read_yaml(path)), layer, accelerator)


def temporal_mapping_from_yaml(doc: Field, layer: Layer, accelerator: Accelerator) -> TemporalMapping:
    """Validate an already-parsed temporal mapping document against the layer and the accelerator."""
    ops = layer.operands
    doc.mapping(f"a temporal mapping: a mapping layer operand ({one_of(ops)}) -> list of memory levels")
    for op in doc.value:
        if op not in ops:
            raise doc.key_field(op).error(f"an operand of layer {layer.id} ({one_of(ops)})", f"unknown operand {op!r}")
    # the unrolling as the cost model applies it: limited to the array and layer sizes
    su: dict[str, float] = {}
    for _oa, dim, size in limit_unrolling(layer, accelerator):
        su[dim] = su.get(dim, 1.0) * size
    temporal = {d: round(s / su.get(d, 1.0)) for d, s in layer.loop_sizes.items()}
    result: dict[str, tuple[tuple[tuple[str, int], ...], ...]] = {}
    for op in ops:
        of = doc.child(op)
        chain = accelerator.chain(layer.memory_operand_links[op])
        names = one_of([lv.name for lv in chain])
        levels_what = f"a list of {len(chain)} memory levels ({names}), innermost first, each a list of [DIM, size]"
        if of.missing:
            raise of.error(levels_what + " (required)")
        of.seq(levels_what)
        if len(of.value) != len(chain):
            raise of.error(levels_what, f"{len(of.value)} levels")
        levels: list[tuple[tuple[str, int], ...]] = []
        for lf in of.elements():
            lf.seq("a list of loops [DIM, size], innermost first")
            loops: list[tuple[str, int]] = []
            for pf in lf.elements():
                pair = "a loop [DIM, size] with a positive integer size"
                pf.seq(pair)
                if len(pf.value) != 2:
                    raise pf.error(pair)
                df, sf = pf.elements()
                if not isinstance(df.value, str) or df.value not in layer.loop_sizes:
                    raise df.error(f"a loop dimension of layer {layer.id} ({one_of(list(layer.loop_sizes))})")
                loops.append((df.value, sf.pos_int("a positive integer loop size")))
            levels.append(tuple(loops))
        for d, want in temporal.items():
            got = prod(s for lv in levels for dd, s in lv if dd == d)
            if got != want:
                size = layer.loop_sizes[d]
                why = f"ceil({size} / spatial {su[d]:g})" if d in su else f"the loop size {size}"
                raise of.error(
                    f"loops over {d} whose sizes multiply to the temporal size {want} (= {why})",
                    f"a product of {got}",
                )
        result[op] = tuple(levels)
    return TemporalMapping(FrozenDict(result))
