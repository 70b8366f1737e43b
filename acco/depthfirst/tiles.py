"""Tile enumeration, cache-level harmonisation across tiles, and tile types with their counts.

Tiles are visited row by row (y outer, x inner), the leftover tile first in each axis. A first
pass fixes what must agree between tiles (spec defines.md §3.1): the H-cache a tile writes is the
one its right neighbour reads, the V-cache level is common to all rows, the weight level is the
highest over all tiles. The second pass gives every tile its key (DeFiNES' `run_for_tilesize`
arguments); equal keys form one tile type that is costed once and counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from acco.depthfirst.caching import TileCaching, determine_caching
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import StackGraph, tile_grid
from acco.hardware.models import Accelerator


@dataclass(frozen=True)
class TileType:
    """Everything that decides one tile's cost (the reference's memoisation key)."""

    tile_x: int
    tile_y: int
    weights_from_top: bool
    make_h: str | None
    use_h: str | None
    h_write: tuple
    h_read: tuple
    make_v: str | None
    use_v: str | None
    v_write: tuple
    v_read: tuple


@dataclass(frozen=True)
class TilePlan:
    """The tile types of one stack with their counts (first-seen order), per-row counts and levels."""

    types: tuple[TileType, ...]
    counts: tuple[int, ...]
    row_counts: tuple[tuple[int, ...], ...]  # per row of tiles: count of every type in that row
    w_ml: str | None
    v_read_level: str | None  # the V level the reference compares cache reads against (§9.4)
    cachings: dict

    def total_tiles(self) -> int:
        """Number of tiles in the stack."""
        return sum(self.counts)


def _order_index(acc: Accelerator) -> dict[str, int]:
    return {lv.name: i for i, lv in enumerate(acc.levels)}


def plan_tiles(g: StackGraph, acc: Accelerator, cfg: DfConfig) -> TilePlan:
    """Enumerate the tiles of a stack, harmonise cache levels, and group the tiles into types."""
    out = g.nodes[g.output_id]
    total_x, total_y = out.loop_sizes.get("OX", 1), out.loop_sizes.get("OY", 1)
    widths = tile_grid(total_x, cfg.tile_x, cfg.leftover_first)
    heights = tile_grid(total_y, cfg.tile_y, cfg.leftover_first)
    xs = [sum(widths[:i]) for i in range(len(widths))]
    ys = [sum(heights[:i]) for i in range(len(heights))]
    mode_h, mode_v = cfg.horizontal_caching, cfg.vertical_caching and cfg.horizontal_caching
    order = _order_index(acc)
    memo: dict[tuple, TileCaching] = {}

    def det(tx: int, ty: int, fx: bool, fy: bool) -> TileCaching:
        k = (tx, ty, fx, fy)
        if k not in memo:
            memo[k] = determine_caching(g, acc, cfg, tx, ty, fx, fy)
        return memo[k]

    hinfo: dict[tuple[int, int], list] = {}
    vinfo: dict[tuple[int, int], tuple] = {}
    highest_v: str | None = None
    highest_w: str | None = None
    last_v: str | None = None
    for yi, (y0, ty) in enumerate(zip(ys, heights)):
        prev_x = None
        for xi, (x0, tx) in enumerate(zip(xs, widths)):
            c = det(tx, ty, x0 == 0, y0 == 0)
            last_v = c.v_ml
            last_col = xi == len(xs) - 1
            last_row = yi == len(ys) - 1
            if mode_h:
                hinfo[(x0, y0)] = [None if last_col else c.h_ml, () if last_col else c.h_write, c.h_read]
                if x0 != 0:
                    prev = hinfo[(prev_x, y0)][0]  # type: ignore[index]
                    if prev != c.h_ml:
                        if cfg.harmonise_as_reference or (prev is None or order[c.h_ml] > order[prev]):  # type: ignore[index]
                            hinfo[(prev_x, y0)][0] = c.h_ml  # type: ignore[index]
            else:
                hinfo[(x0, y0)] = [None, (), ()]
            if mode_v:
                if highest_v is None:
                    highest_v = c.v_ml
                elif highest_v != c.v_ml:
                    if cfg.harmonise_as_reference or order[c.v_ml] > order[highest_v]:  # type: ignore[index]
                        highest_v = c.v_ml
                        for k, v in vinfo.items():
                            if v[0] is not None:
                                vinfo[k] = (highest_v,) + v[1:]
                vinfo[(x0, y0)] = (None, (), c.v_read) if last_row else (highest_v, c.v_write, c.v_read)
            else:
                vinfo[(x0, y0)] = (None, (), ())
            if c.w_ml is not None and (highest_w is None or order[c.w_ml] > order[highest_w]):
                highest_w = c.w_ml
            prev_x = x0

    types: list[TileType] = []
    counts: Counter = Counter()
    rows: list[Counter] = []
    wft = True
    prev_y = None
    for y0, ty in zip(ys, heights):
        row: Counter = Counter()
        prev_x = None
        for x0, tx in zip(xs, widths):
            make_h, hw, hr = hinfo[(x0, y0)]
            make_v, vw, vr = vinfo[(x0, y0)]
            use_h = hinfo[(prev_x, y0)][0] if x0 else None  # type: ignore[index]
            use_v = vinfo[(x0, prev_y)][0] if y0 else None
            t = TileType(tx, ty, wft, make_h, use_h, tuple(hw), tuple(hr), make_v, use_v, tuple(vw), tuple(vr))
            if t not in counts:
                types.append(t)
            counts[t] += 1
            row[t] += 1
            wft = False
            prev_x = x0
        rows.append(row)
        prev_y = y0
    return TilePlan(
        tuple(types),
        tuple(counts[t] for t in types),
        tuple(tuple(r[t] for t in types) for r in rows),
        highest_w,
        last_v if cfg.v_read_uses_last_tile_level else None,
        memo,
    )
