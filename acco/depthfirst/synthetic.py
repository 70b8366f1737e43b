"""Small synthetic workloads (chains of convs, pools, residual adds) for tests and examples.

Each layer is described by a short tuple; full feature-map sizes are derived backwards from the
output size by the depth-first geometry, so only the output size has to be given.
"""

from __future__ import annotations

from typing import Sequence

from acco.depthfirst.geometry import graph_of, with_full_sizes
from acco.io.workload import workload_from_yaml
from acco.io.yamlfile import Field
from acco.workload.network import Workload

CONV = "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy]"
CONV1 = "O[b][k][oy][ox]+=W[k][c]*I[b][c][ox][oy]"
POOL = "O[b][g][oy][ox]+=W[fx][fy]*I[b][g][ix][iy]"
ADD = "O[b][g][oy][ox]=X[b][g][oy][ox]+Y[b][g][oy][ox]"
PREC = {"O": 16, "O_final": 8, "W": 8, "I": 8}


def chain(
    name: str,
    c0: int,
    out_x: int,
    out_y: int,
    layers: Sequence[tuple],
    spatial: dict[str, list] | None = None,
) -> Workload:
    """Build a workload from layer tuples; each layer takes the previous one as input unless given.

    ("conv", K, F, S=1, D=1[, src]), ("conv1", K[, src]), ("pool", F, S[, src]), ("add", src_x, src_y).
    The last layer's output is out_x x out_y; every other size is propagated backwards.
    """
    spatial = spatial or {"D1": ["K", 8], "D2": ["C", 2], "D3": ["OX", 2], "D4": ["OY", 2]}
    entries: list[dict] = [
        {"id": -1, "type": "input", "loop_sizes": {"B": 1, "K": c0, "OY": out_y, "OX": out_x}, "precision": 8,
         "memory_operand_links": {"O": "I1"}}
    ]
    channels = {-1: c0}
    prev = -1
    for i, spec in enumerate(layers):
        kind = spec[0]
        base = {"id": i, "type": kind if kind != "conv1" else "conv"}
        if kind in ("conv", "conv1"):
            k = spec[1]
            if kind == "conv":
                f = spec[2]
                s = spec[3] if len(spec) > 3 else 1
                d = spec[4] if len(spec) > 4 else 1
                src = spec[5] if len(spec) > 5 else prev
            else:
                f, s, d = 1, 1, 1
                src = spec[2] if len(spec) > 2 else prev
            c = channels[src]
            base.update(
                equation=CONV if kind == "conv" else CONV1,
                loop_sizes={"B": 1, "K": k, "C": c, "OY": out_y, "OX": out_x, **({"FY": f, "FX": f} if kind == "conv" else {})},
                operand_precision=dict(PREC),
                operand_source={"I": src},
                constant_operands=["W"],
                operand_source_dimension_mapping={"I": {"IX": "OX", "IY": "OY", "C": "K"} if kind == "conv" else {"OX": "OX", "OY": "OY", "C": "K"}},
                spatial_mapping={a: v for a, v in spatial.items() if v[0] in ("K", "C", "OX", "OY")},
                memory_operand_links={"O": "O", "W": "I2", "I": "I1"},
            )
            if kind == "conv":
                base["dimension_relations"] = [f"ix={s}*ox+{d}*fx", f"iy={s}*oy+{d}*fy"]
            channels[i] = k
        elif kind == "pool":
            f, s = spec[1], spec[2]
            src = spec[3] if len(spec) > 3 else prev
            g = channels[src]
            base.update(
                equation=POOL,
                dimension_relations=[f"ix={s}*ox+1*fx", f"iy={s}*oy+1*fy"],
                loop_sizes={"B": 1, "G": g, "OY": out_y, "OX": out_x, "FX": f, "FY": f},
                operand_precision={"O": 16, "O_final": 8, "I": 8, "W": 0},
                operand_source={"I": src},
                constant_operands=["W"],
                operand_source_dimension_mapping={"I": {"IX": "OX", "IY": "OY", "G": "K"}},
                spatial_mapping={a: (["G", v[1]] if v[0] == "K" else v) for a, v in spatial.items() if v[0] in ("K", "OX", "OY")},
                memory_operand_links={"O": "O", "I": "I1", "W": "I2"},
            )
            channels[i] = g
        elif kind == "add":
            sx, sy = spec[1], spec[2]
            g = channels[sx]
            base.update(
                equation=ADD,
                dimension_relations=[],
                loop_sizes={"B": 1, "G": g, "OY": out_y, "OX": out_x},
                operand_precision={"O": 16, "O_final": 8, "X": 8, "Y": 8},
                operand_source={"X": sx, "Y": sy},
                constant_operands=[],
                operand_source_dimension_mapping={"X": {"OX": "OX", "OY": "OY", "G": "K"}, "Y": {"OX": "OX", "OY": "OY", "G": "K"}},
                spatial_mapping={a: (["G", v[1]] if v[0] == "K" else v) for a, v in spatial.items() if v[0] in ("K", "OX", "OY")},
                memory_operand_links={"O": "O", "X": "I1", "Y": "I1"},
            )
            channels[i] = g
        else:
            raise ValueError(f"unknown synthetic layer kind {kind!r}")
        entries.append(base)
        prev = i
    wl = workload_from_yaml(Field.root(f"<synthetic {name}>", {"name": name, "layers": entries}))
    return resize_workload(wl)


def resize_workload(wl: Workload) -> Workload:
    """The workload with every node's OX/OY recomputed backwards from the output (docs/depthfirst.md)."""
    g = with_full_sizes(graph_of(wl))
    return Workload(wl.name, tuple(g.nodes[n.id] for n in wl.nodes))
