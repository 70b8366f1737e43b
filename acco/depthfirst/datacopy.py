"""Data-copy actions between memory levels and the "copy layers" that bundle them (docs/depthfirst.md).

An action moves `bits` from (operand, level) to (operand, level) along the hierarchy: straight up
or down one operand's chain, or, across operands, up to their lowest shared level and down again.
Every hop costs a read at the sender and a write at the receiver, rounded to the port's minimum
granularity; hops are timed one after another. A copy layer runs its actions in parallel except
where they share a physical port (DeFiNES' DataCopyAction / DataCopyLayer).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from acco.hardware.models import Accelerator, MemoryLevel

#: DeFiNES direction names -> ours
_DIR = {"rd_out_to_high": "th", "wr_in_by_low": "fl", "rd_out_to_low": "tl", "wr_in_by_high": "fh"}
_FALLBACK = {"th": "tl", "fl": "fh", "tl": "th", "fh": "fl"}


@dataclass(frozen=True)
class CopyAction:
    """One move of `bits` from (src_op, src level name) to (dst_op, dst level name)."""

    bits: int
    src_op: str
    src: str
    dst_op: str
    dst: str
    tag: str = ""


@dataclass(frozen=True)
class CopyCost:
    """Energy (pJ) and latency (cycles) of a copy layer, with its actions."""

    energy: float
    latency: int
    actions: tuple[CopyAction, ...] = ()

    def __add__(self, other: "CopyCost") -> "CopyCost":
        return CopyCost(self.energy + other.energy, self.latency + other.latency, self.actions + other.actions)


ZERO_COPY = CopyCost(0.0, 0)


def _port(lv: MemoryLevel, mem_op: str, direction: str) -> str:
    pa = lv.port_allocation.get(mem_op, {})
    name = pa.get(direction) or pa.get(_FALLBACK[direction])
    if name is None:
        raise ValueError(f"{lv.name} has no port for {mem_op} {direction}")
    return name


def _port_bw(lv: MemoryLevel, port: str) -> tuple[int, int]:
    """(bw, bw_min) of a physical port: read ports use the read side, write ports the write side, rw the read side."""
    kind = next((p.kind for p in lv.instance.ports if p.name == port), None)
    inst = lv.instance
    if kind == "write":
        return inst.w_bw, inst.w_bw_min
    return inst.r_bw, inst.r_bw_min


def copy_path(acc: Accelerator, a: CopyAction) -> list[tuple[MemoryLevel, str | None, str | None, str | None]]:
    """The hops of an action: (level, op of the out port, out direction, in direction) per memory on the path."""
    c_src = acc.chain(a.src_op)
    c_dst = acc.chain(a.dst_op)
    s_lv = next(i for i, lv in enumerate(c_src) if lv.name == a.src)
    d_lv = next(i for i, lv in enumerate(c_dst) if lv.name == a.dst)
    s_op, d_op = a.src_op, a.dst_op
    src_mem, dst_mem = c_src[s_lv], c_dst[d_lv]
    if s_op != d_op:
        shared = None
        for lv in c_src[s_lv:]:
            if d_op in lv.operands and d_lv <= c_dst.index(lv):
                shared = lv
                break
        if shared is None:
            raise ValueError(f"{a.src_op}@{a.src} and {a.dst_op}@{a.dst} share no memory above")
        if shared.name == src_mem.name:
            s_op, s_lv = d_op, c_dst.index(shared)
        elif shared.name == dst_mem.name:
            d_op, d_lv = s_op, c_src.index(shared)
    # each entry: (memory, (op, out-dir) or None, (op, in-dir) or None)
    path: list[tuple[MemoryLevel, tuple[str, str] | None, tuple[str, str] | None]] = []
    if s_op != d_op:
        end = c_src.index(shared)  # type: ignore[arg-type]
        start = c_dst.index(shared)  # type: ignore[arg-type]
        path.append((src_mem, (s_op, "th"), None))
        for i in range(s_lv + 1, end):
            path.append((c_src[i], (s_op, "th"), (s_op, "fl")))
        path.append((shared, (d_op, "tl"), (s_op, "fl")))  # type: ignore[arg-type]
        for i in range(start - 1, d_lv, -1):
            path.append((c_dst[i], (d_op, "tl"), (d_op, "fh")))
        path.append((dst_mem, None, (d_op, "fh")))
    else:
        chain = acc.chain(s_op)
        if s_lv < d_lv:
            path.append((src_mem, (s_op, "th"), None))
            for i in range(s_lv + 1, d_lv):
                path.append((chain[i], (s_op, "th"), (s_op, "fl")))
            path.append((dst_mem, None, (d_op, "fl")))
        else:
            path.append((src_mem, (s_op, "tl"), None))
            for i in range(s_lv - 1, d_lv, -1):
                path.append((chain[i], (d_op, "tl"), (d_op, "fh")))
            path.append((dst_mem, None, (d_op, "fh")))
    return path  # type: ignore[return-value]


@dataclass(frozen=True)
class Hop:
    """One hop of a copy action: the sender's read and the receiver's write (energies pJ, cycles)."""

    send: str
    send_op: str
    send_dir: str
    send_port: str
    send_energy: float
    recv: str
    recv_op: str
    recv_dir: str
    recv_port: str
    recv_energy: float
    cycles: int


def _hop_plan(acc: Accelerator, a: CopyAction) -> tuple[tuple, ...]:
    """The ports and port widths of every hop of an action's path (they do not depend on its bits).

    Memoised per accelerator object and (src_op, src, dst_op, dst).
    """
    k = ("hop_plan", a.src_op, a.src, a.dst_op, a.dst)
    plan = acc.memo.get(k)
    if plan is not None:
        return plan
    path = copy_path(acc, a)
    out = []
    for idx, (mem, o, _in) in enumerate(path):
        if mem.name == a.dst or o is None:
            break
        recv, _, rin = path[idx + 1]
        sp = _port(mem, o[0], o[1])
        rp = _port(recv, rin[0], rin[1])  # type: ignore[index]
        sbw, sbw_min = _port_bw(mem, sp)
        rbw, rbw_min = _port_bw(recv, rp)
        out.append((mem.name, o[0], o[1], sp, sbw, sbw_min, mem.instance.r_cost,
                    recv.name, rin[0], rin[1], rp, rbw, rbw_min, recv.instance.w_cost))  # type: ignore[index]
    plan = acc.memo[k] = tuple(out)
    return plan


def hops(acc: Accelerator, a: CopyAction) -> list[Hop]:
    """The hops of an action along its path, each costed (the reference's `latency_breakdown` entries)."""
    bits = a.bits
    return [
        Hop(
            send, s_op, s_dir, sp, ceil(bits / sbw_min) * (sbw_min / sbw) * r_cost,
            recv, r_op, r_dir, rp, ceil(bits / rbw_min) * (rbw_min / rbw) * w_cost,
            max(ceil(bits / sbw), ceil(bits / rbw)),
        )
        for send, s_op, s_dir, sp, sbw, sbw_min, r_cost, recv, r_op, r_dir, rp, rbw, rbw_min, w_cost in _hop_plan(acc, a)
    ]


def action_cost(acc: Accelerator, a: CopyAction) -> tuple[float, dict[tuple[str, str], list[tuple[int, int]]]]:
    """(energy, busy intervals per physical port) of one action (the reference's hop timing kept)."""
    energy = 0.0
    busy: dict[tuple[str, str], list[tuple[int, int]]] = {}
    t = 0
    for h in hops(acc, a):
        energy += h.send_energy
        energy += h.recv_energy
        cc = h.cycles
        busy.setdefault((h.send, h.send_port), []).append((t, t + cc))
        key = (h.recv, h.recv_port)
        if key in busy:
            busy[key].append((t, t + cc))  # reference quirk: the timeline does not advance here
        else:
            busy[key] = [(t, t + cc)]
            t += cc
    return energy, busy


def port_latency(intervals: list[tuple[int, int]]) -> int:
    """Busy time of one port: max(latest end, earliest start + sum of interval lengths)."""
    if len(intervals) == 1:
        return intervals[0][1]
    start = min(s for s, _ in intervals)
    end = max(e for _, e in intervals)
    return max(end, start + sum(e - s for s, e in intervals))


def copy_layer(acc: Accelerator, actions: list[CopyAction] | tuple[CopyAction, ...]) -> CopyCost:
    """Energy (sum) and latency (max over ports of their busy time) of actions started together."""
    if not actions:
        return ZERO_COPY
    energy = 0.0
    ports: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for a in actions:
        e, busy = action_cost(acc, a)
        energy += e
        for k, v in busy.items():
            ports.setdefault(k, []).extend(v)
    lat = max((port_latency(v) for v in ports.values()), default=0)
    return CopyCost(energy, lat, tuple(actions))
