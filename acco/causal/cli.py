"""`python -m acco stack HW WL --tile X Y --caching H V --causal [--cut-max N] [--cache-log DIR] [--json]`.

Prints, per cut range of the causal network, the warm-up / stable / total energy and latency and the
peak on-chip activation and weight bits; `--cache-log DIR` also writes the original tool's cache logs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from acco.errors import InputError

EXIT_OK = 0


def add_causal_args(p: argparse.ArgumentParser) -> None:
    """Register the causal options on the `stack` subcommand."""
    g = p.add_argument_group("causal (ACCO) mode")
    g.add_argument("--causal", action="store_true", help="apply the causal transform (Y = time) and explore all cut ranges")
    g.add_argument("--cut-max", type=int, default=0, metavar="N",
                   help="extra cuts to enumerate ranges with (default 0 = whole network; 2 gives every contiguous range)")
    g.add_argument("--cache-log", default=None, metavar="DIR", help="write {tx}_{ty}_{H}_{V}_{kind}_cache.log files into DIR")
    g.add_argument("--footprint-only", action="store_true", help="only the footprints (no mapper; fast)")
    g.add_argument("--initial-dilation", type=int, default=-1, metavar="D",
                   help="Y dilation a sub-stack starts with (default -1 = inherited from the whole-network transform)")
    g.add_argument("--batch", type=int, default=1, metavar="B", help="batch of each sub-stack (default 1; -1 = inferred)")


def _range_text(f: Any) -> str:
    return f"{f.cut_before},{f.cut_after}"


def summary(f: Any) -> dict:
    """Plain-data view of one sub-stack result."""
    return {
        "cut_before": f.cut_before,
        "cut_after": f.cut_after,
        "layers": list(f.layer_ids),
        "tile": [f.tile_x, f.tile_y],
        "output_size": list(f.output_size),
        "rows": f.rows,
        "energy_pJ": f.energy,
        "latency_cycles": f.latency,
        "peak_activation_bits": {k: fp.peak_bits for k, fp in f.footprint.items()},
        "weight_bits": {k: fp.weight_bits for k, fp in f.footprint.items()},
    }


def cmd_causal(args: argparse.Namespace, acc: Any, wl: Any, cfg: Any) -> int:
    """Run the causal exploration for one tile and print (or write) the results."""
    from acco.causal.cachelog import write_logs
    from acco.causal.frames import CausalSettings, explore, substacks

    if args.cut_max < 0:
        raise InputError("command line", "--cut-max", "a non-negative integer", str(args.cut_max))
    if args.initial_dilation == 0 or args.initial_dilation < -1:
        raise InputError("command line", "--initial-dilation", "a positive integer or -1 (inherited)", str(args.initial_dilation))
    settings = CausalSettings(
        cut_max=args.cut_max, cuts=tuple(args.cuts), weight_overflow_cuts=not args.no_auto_cuts,
        global_initial_dilation=args.initial_dilation, batch=args.batch,
    )
    costs = not args.footprint_only
    progress = None
    bar = None
    if costs and not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(substacks(wl, settings, acc)), unit="range", desc="costing", leave=False)
    try:
        frames = explore(wl, cfg.tile_x, cfg.tile_y, settings, acc, cfg, costs=costs)
        if bar is not None:
            bar.update(len(frames))
    finally:
        if bar is not None:
            bar.close()
    h, v = cfg.horizontal_caching, cfg.vertical_caching
    if args.cache_log:
        write_logs(args.cache_log, frames, h, v)
    if args.json:
        print(json.dumps({"hardware": acc.name, "workload": wl.name, "mode": cfg.mode_name, "tile": [cfg.tile_x, cfg.tile_y],
                          "causal": True, "ranges": [summary(f) for f in frames]}, indent=2))
        return EXIT_OK
    print(f"{wl.name} on {acc.name}: causal, tile {cfg.tile_x}x{cfg.tile_y}, {cfg.mode_name}, {len(frames)} ranges")
    for f in frames:
        fp = f.footprint
        print(f"  range {_range_text(f):>10} layers {f.layer_ids[0]}..{f.layer_ids[-1]}  out {f.output_size[0]}x{f.output_size[1]}"
              f"  rows {f.rows}  weights {fp['total'].weight_bits} b")
        for k in ("warmup", "stable", "total"):
            cost = ""
            if f.energy:
                cost = f"  energy {f.energy[k]:>14,} pJ  latency {f.latency[k]:>12,} cc"
            print(f"      {k:<7}{cost}  peak act {fp[k].peak_bits:>10} b ({fp[k].peak_bits / 8 / 2**20:.4f} MiB)")
    if args.cache_log:
        print(f"  cache logs written to {args.cache_log}")
    return EXIT_OK
