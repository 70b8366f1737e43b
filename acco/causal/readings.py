"""Step-2 readings of a costed sub-stack: energy, latency and the DRAM off-load / reload deltas.

For a set of tiles (a tile row, or all tiles) the original's Step 2 (`extract_substack_readings`,
spec acco.md §1.2) walks the sub-stack's entries in topological order, each layer preceded by its
data-copy layer, and gives eight integers per entry. Besides the cost (energy, `latency_total2`)
it measures what a sub-stack boundary costs when the feature map goes through DRAM, so that Step 3
can drop it when all sub-stacks fit on chip together:

* **off-load** (the range's last layer, when it is not the network's last): the output's read out
  of the level below DRAM plus its write into DRAM; latency = the layer's off-loading cycles minus
  every lower level pair's (the reference subtracts pairs 0 and 1 of its 4-level output chain);
* **reload** (the copy layer of a sub-stack input that starts mid-network, only when every tile's
  input is copied out of DRAM): the first hop of each copy action, DRAM read + write below it.

Each entry's sums (cost × tile count over the tile types) are truncated to int, as the original does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from acco.depthfirst.datacopy import hops
from acco.hardware.models import Accelerator

READING_FIELDS = (
    "energy", "latency", "offload_energy", "offload_latency", "reload_energy", "reload_latency",
    "offload_bytes", "reload_bytes",
)


@dataclass(frozen=True)
class Reading:
    """The eight Step-2 integers of one entry (or of a whole range, summed), plus the MAC energy."""

    energy: int = 0
    latency: int = 0
    offload_energy: int = 0
    offload_latency: int = 0
    reload_energy: int = 0
    reload_latency: int = 0
    offload_bytes: int = 0
    reload_bytes: int = 0

    def __add__(self, other: "Reading") -> "Reading":
        return Reading(*(getattr(self, f) + getattr(other, f) for f in READING_FIELDS))


@dataclass(frozen=True)
class EntryReading:
    """One entry of a sub-stack (a layer or the data-copy layer before it) for one set of tiles."""

    node_id: int
    entry: str  # "layer" | "copy"
    reading: Reading
    mac_energy: float = 0.0
    #: energy (pJ) per memory level name, summed over operands (layers only)
    level_energy: tuple[tuple[str, float], ...] = ()


def _offload(cost: Any, acc: Accelerator, count: int) -> tuple[float, float, float]:
    """(energy, latency, bits) of one layer tile's output off-load to DRAM, times `count`."""
    o = "O"
    acc_o = cost.accesses[o]
    names = cost.level_names[o]
    if len(acc_o) < 2:
        return 0.0, 0.0, 0.0
    gb = acc.level_by_name(names[-2])
    dram = acc.level_by_name(names[-1])
    read_high = acc_o[-2].th * gb.instance.r_cost * count
    write_low = acc_o[-1].fl * dram.instance.w_cost * count
    lat = (cost.offloading - sum(cost.offload_pairs[:-1])) * count
    bits = write_low / dram.instance.w_cost * dram.instance.w_bw if dram.instance.w_cost else 0.0
    return read_high + write_low, lat, bits


def _reload(acc: Accelerator, actions: Sequence[Any], count: int) -> tuple[float, float, float]:
    """(energy, latency, bits) of the first hop of every input copy action, times `count`."""
    e = lat = bits = 0.0
    for a in actions:
        hs = hops(acc, a)
        if not hs:
            continue
        h = hs[0]
        top = acc.level_by_name(h.send)
        e += (h.send_energy + h.recv_energy) * count
        lat += h.cycles * count
        bits += h.send_energy * count / top.instance.r_cost * top.instance.r_bw if top.instance.r_cost else 0.0
    return e, lat, bits


def _level_energies(cost: Any, memo: dict[int, tuple[Any, tuple[tuple[str, float], ...]]] | None) -> tuple[tuple[str, float], ...]:
    """(level name, energy) of a layer cost, operand by operand, level by level (memoised by object)."""
    if memo is not None:
        hit = memo.get(id(cost))
        if hit is not None and hit[0] is cost:
            return hit[1]
    flat = tuple((name, e) for op, es in cost.energy_per_level.items() for name, e in zip(cost.level_names[op], es))
    if memo is not None:
        memo[id(cost)] = (cost, flat)
    return flat


def entry_readings(
    stack: Any, counts: Sequence[int], acc: Accelerator, cut_before: int | None, cut_after: int | None,
    network_last: int, memo: dict | None = None,
) -> tuple[EntryReading, ...]:
    """Step-2 readings of every entry of a costed sub-stack (`StackCost`) for tiles `counts` per type.

    `memo` (a dict the caller keeps while it reads one stack several times) saves re-flattening
    the per-level energies of each layer cost.
    """
    types = [(c, t) for c, t in zip(counts, stack.tile_types) if c]
    if not stack.tile_types:
        return ()
    out: list[EntryReading] = []
    first = stack.tile_types[0].layers
    n = len(first)
    for i in range(n):
        node_id = first[i].node_id
        is_input = first[i].cost is None
        # the data-copy layer before the node
        ce = cl = 0.0
        re = rl = rb = 0.0
        reload = is_input and cut_before is not None and all(
            lt.o_top != acc.chain(lt.copy.actions[0].src_op)[-1].name if lt.copy.actions else False
            for lt in (t.layers[i] for _, t in types)
        )
        for c, t in types:
            lt = t.layers[i]
            ce += lt.copy.energy * c
            cl += lt.copy.latency * c
            if reload:
                e, lat, b = _reload(acc, lt.copy.actions, c)
                re += e
                rl += lat
                rb += b
        out.append(EntryReading(node_id, "copy", Reading(int(ce), int(cl), 0, 0, int(re), int(rl), 0, int(rb / 8))))
        if is_input:
            continue
        le = ll = me = 0.0
        oe = ol = ob = 0.0
        levels: dict[str, float] = {}
        offload = cut_after is not None and node_id == cut_after and node_id != network_last
        for c, t in types:
            cost = t.layers[i].cost
            le += cost.energy_total * c
            ll += cost.latency_total2 * c
            me += cost.mac_energy * c
            for name, e in _level_energies(cost, memo):
                levels[name] = levels.get(name, 0.0) + e * c
            if offload:
                e, lat, b = _offload(cost, acc, c)
                oe += e
                ol += lat
                ob += b
        out.append(EntryReading(
            node_id, "layer", Reading(int(le), int(ll), int(oe), int(ol), 0, 0, int(ob / 8), 0), me,
            tuple(levels.items()),
        ))
    return tuple(out)


def total(entries: Sequence[EntryReading]) -> Reading:
    """The range's readings: the entries' integers added up."""
    sums = [0] * len(READING_FIELDS)
    for e in entries:
        r = e.reading
        sums[0] += r.energy
        sums[1] += r.latency
        sums[2] += r.offload_energy
        sums[3] += r.offload_latency
        sums[4] += r.reload_energy
        sums[5] += r.reload_latency
        sums[6] += r.offload_bytes
        sums[7] += r.reload_bytes
    return Reading(*sums)


__all__ = ["READING_FIELDS", "Reading", "EntryReading", "entry_readings", "total"]
