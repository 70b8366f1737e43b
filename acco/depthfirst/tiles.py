"""Tile enumeration, cache-level harmonisation across tiles, and tile types with their counts.

Tiles are visited row by row (y outer, x inner), the leftover tile first in each axis. A first
pass fixes what must agree between tiles (docs/depthfirst.md): the H-cache a tile writes is the
one its right neighbour reads, the V-cache level is common to all rows, the weight level is the
highest over all tiles. The second pass gives every tile its key (DeFiNES' `run_for_tilesize`
arguments); equal keys form one tile type that is costed once and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from acco.depthfirst.caching import TileCaching, determine_caching
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import StackGraph, memoised, tile_grid
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
    """Enumerate the tiles of a stack, harmonise cache levels, and group the tiles into types.

    Rows of tiles with the same height, first-row flag and last-row flag are identical, so each
    distinct row is worked out once (and each distinct pair of consecutive rows typed once); the
    result is the same as visiting every tile, in the same first-seen order.
    """
    out = g.nodes[g.output_id]
    total_x, total_y = out.loop_sizes.get("OX", 1), out.loop_sizes.get("OY", 1)
    widths = tile_grid(total_x, cfg.tile_x, cfg.leftover_first)
    heights = tile_grid(total_y, cfg.tile_y, cfg.leftover_first)
    xs = [sum(widths[:i]) for i in range(len(widths))]
    ys = [sum(heights[:i]) for i in range(len(heights))]
    mode_h, mode_v = cfg.horizontal_caching, cfg.vertical_caching and cfg.horizontal_caching
    order = _order_index(acc)
    memo: dict[tuple, TileCaching] = {}
    # a tile class's caching depends on the caching flags, not on the tile size asked for: shared
    # by the plans of every tile width and mapper on this graph (memoised on it)
    flags = replace(cfg, tile_x=1, tile_y=1, mapper=None)

    def det(tx: int, ty: int, fx: bool, fy: bool) -> TileCaching:
        k = (tx, ty, fx, fy)
        r = memo.get(k)
        if r is None:
            r = memo[k] = memoised(g, ("caching", acc, flags) + k, lambda: determine_caching(g, acc, cfg, tx, ty, fx, fy))
        return r

    n_cols = len(xs)
    row_sig = [(ty, yi == 0, yi == len(ys) - 1) for yi, ty in enumerate(heights)]
    # first pass, per distinct row: the caching of every tile, H levels harmonised along the row
    rows_info: dict[tuple, tuple[list, list, list]] = {}
    for sig in dict.fromkeys(row_sig):
        ty, fy, last_row = sig
        cs = [det(tx, ty, x0 == 0, fy) for x0, tx in zip(xs, widths)]
        h: list[list] = []
        for xi, c in enumerate(cs):
            last_col = xi == n_cols - 1
            if mode_h:
                h.append([None if last_col else c.h_ml, () if last_col else c.h_write, c.h_read])
                if xi:
                    prev = h[xi - 1][0]
                    if prev != c.h_ml:
                        if cfg.harmonise_as_reference or (prev is None or order[c.h_ml] > order[prev]):  # type: ignore[index]
                            h[xi - 1][0] = c.h_ml
            else:
                h.append([None, (), ()])
        rows_info[sig] = (cs, h, [])
    # the V level: the reference moves every V entry to each new differing level, so all end at the
    # last tile's level; the corrected model keeps the highest level of any tile
    highest_v: str | None = None
    if mode_v:
        if cfg.harmonise_as_reference:
            highest_v = rows_info[row_sig[-1]][0][-1].v_ml
        else:
            for sig in dict.fromkeys(row_sig):
                for c in rows_info[sig][0]:
                    if highest_v is None or order[c.v_ml] > order[highest_v]:  # type: ignore[index]
                        highest_v = c.v_ml
    highest_w: str | None = None
    for sig in dict.fromkeys(row_sig):
        for c in rows_info[sig][0]:
            if c.w_ml is not None and (highest_w is None or order[c.w_ml] > order[highest_w]):
                highest_w = c.w_ml
    last_v = rows_info[row_sig[-1]][0][-1].v_ml
    for (ty, fy, last_row), (cs, _, v) in rows_info.items():
        for c in cs:
            if not mode_v:
                v.append((None, (), ()))
            else:
                v.append((None, (), c.v_read) if last_row else (highest_v, c.v_write, c.v_read))

    # second pass: group tiles into types; a row's types depend on it, the row before and whether
    # it holds the first tile (weights from the top), so each such pattern is typed once
    types: list[TileType] = []
    index: dict[tuple, int] = {}
    counts: list[int] = []
    row_pks: list[tuple] = []
    patterns: dict[tuple, tuple[tuple[int, int], ...]] = {}
    wft = True
    prev_sig: tuple | None = None
    for yi, sig in enumerate(row_sig):
        pk = (prev_sig, sig, wft)
        pat = patterns.get(pk)
        if pat is None:
            _, h, v = rows_info[sig]
            v_prev = rows_info[prev_sig][2] if prev_sig is not None else None
            row: dict[int, int] = {}
            last: tuple | None = None
            i = -1
            for xi, tx in enumerate(widths):
                make_h, hw, hr = h[xi]
                make_v, vw, vr = v[xi]
                use_h = h[xi - 1][0] if xi else None
                use_v = v_prev[xi][0] if yi else None  # type: ignore[index]
                # a column equal to the one before is the same type (runs of equal columns: mostly the same objects)
                same = (tx, wft, make_h, use_h, hw, hr, make_v, use_v, vw, vr)
                if same != last:
                    t = TileType(tx, sig[0], wft, make_h, use_h, tuple(hw), tuple(hr), make_v, use_v, tuple(vw), tuple(vr))
                    i = index.get(t)  # type: ignore[arg-type]
                    if i is None:
                        i = index[t] = len(types)  # type: ignore[index]
                        types.append(t)
                        counts.append(0)
                    last = same
                row[i] = row.get(i, 0) + 1
                wft = False
            pat = patterns[pk] = tuple(row.items())
        for i, n in pat:
            counts[i] += n
        row_pks.append(pk)
        wft = False
        prev_sig = sig
    per_pattern: dict[tuple, tuple[int, ...]] = {}
    for pk, pat in patterns.items():
        r = dict(pat)
        per_pattern[pk] = tuple(r.get(i, 0) for i in range(len(types)))
    return TilePlan(
        tuple(types),
        tuple(counts),
        tuple(per_pattern[pk] for pk in row_pks),
        highest_w,
        last_v if cfg.v_read_uses_last_tile_level else None,
        memo,
    )
