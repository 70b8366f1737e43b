"""Writer of the original tool's cache logs: `{tx}_{ty}_{H}_{V}_{warmup|stable|total}_cache.log`.

One line per cut range, in the exploration order, with 8 comma-separated fields (docs/references.md):
``cut_before,cut_after,tile_x,tile_y,peak_f_bits,weight_bits,peak_f_MiB,weight_MiB`` where the MiB
fields are Python float reprs of bits / 8 / 1024 / 1024 and None is written as ``None``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from acco.causal.frames import KINDS, Frames

FILE_KINDS = ("total", "warmup", "stable")  # the original writes them in this order (irrelevant for content)


def log_line(f: Frames, kind: str) -> str:
    """One cache-log line of a sub-stack result for `kind`."""
    fp = f.footprint[kind]
    return (
        f"{f.cut_before},{f.cut_after},{f.tile_x},{f.tile_y},{fp.peak_bits},{fp.weight_bits},"
        f"{fp.peak_bits / 8 / 1024 / 1024},{fp.weight_bits / 8 / 1024 / 1024}"
    )


def log_name(tile_x: int, tile_y: int, h: bool, v: bool, kind: str) -> str:
    """The original's file name for one tile, caching mode and kind."""
    return f"{tile_x}_{tile_y}_{h}_{v}_{kind}_cache.log"


def log_texts(frames: Sequence[Frames], h: bool = True, v: bool = True) -> dict[str, str]:
    """File name -> content of the three logs of one tile (all sub-stacks)."""
    if not frames:
        return {}
    tx, ty = frames[0].tile_x, frames[0].tile_y
    return {log_name(tx, ty, h, v, k): "".join(log_line(f, k) + "\n" for f in frames) for k in KINDS}


def write_logs(directory: str | Path, frames: Sequence[Frames], h: bool = True, v: bool = True) -> list[Path]:
    """Write (overwrite) the three cache logs of one tile into `directory`; returns the paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in log_texts(frames, h, v).items():
        p = d / name
        p.write_text(text)
        paths.append(p)
    return paths
