"""`python -m acco stack HW WL --tile X Y --caching H V [--cuts a,b] [--layer-by-layer] [--causal ...] [--json]`.

Prints, per stack range, the energy, latency (sum of latency_total1, the paper's metric), peak
on-chip activation bits (including caches), weight bits and the tile types with their counts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from acco.errors import InputError

EXIT_OK = 0


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "t", "yes", "y", "on"):
        return True
    if t in ("0", "false", "f", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false (or 1/0), got {text!r}")


def _pos(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _cuts(text: str) -> tuple[int, ...]:
    if not text.strip():
        return ()
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer ids, got {text!r}") from None


def add_stack_parser(sub: Any) -> None:
    """Register the `stack` subcommand on an argparse subparsers object."""
    p = sub.add_parser(
        "stack",
        help="depth-first (layer-fused) cost of a network",
        description="DeFiNES-style depth-first model: per stack the energy (pJ), latency (cycles, sum of "
        "latency_total1), peak on-chip activation bits, weight bits and the tile types with counts.",
    )
    p.add_argument("hardware", metavar="HW.yaml")
    p.add_argument("workload", metavar="WL.yaml")
    p.add_argument("--tile", nargs=2, type=_pos, required=True, metavar=("X", "Y"), help="output tile of each stack's last layer")
    p.add_argument("--caching", nargs=2, type=_bool, default=(True, True), metavar=("H", "V"),
                   help="horizontal / vertical overlap caching (default true true = fully cached)")
    p.add_argument("--cuts", type=_cuts, default=(), metavar="A,B", help="explicit stack cuts: cut after these layer ids")
    p.add_argument("--no-auto-cuts", action="store_true", help="do not add weight-overflow cuts")
    p.add_argument("--reverse-greedy", action="store_true", help="weight-overflow cuts packed from the last layer backwards")
    p.add_argument("--layer-by-layer", action="store_true", help="one layer per stack (layer-by-layer schedule)")
    p.add_argument("--clip-tile", action="store_true", help="clip the tile to a stack output smaller than it instead of failing")
    p.add_argument("--lpf-limit", type=_pos, default=6, metavar="N", help="LOMA loop-prime-factor limit (default 6)")
    p.add_argument("--opt", choices=["energy", "latency", "edp"], default="energy", help="mapper objective (default energy)")
    from acco.cli import add_model_argument

    add_model_argument(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    from acco.causal.cli import add_causal_args

    add_causal_args(p)
    p.set_defaults(func=cmd_stack)


def _fmt_bits(b: int) -> str:
    return f"{b} b ({b / 8 / 1024:.1f} KiB)"


def stack_summary(s: Any) -> dict:
    """Plain-data view of one StackCost."""
    first = s.layer_ids[0] if s.layer_ids else None
    return {
        "layers": list(s.layer_ids),
        "range": f"{first}..{s.layer_ids[-1]}" if s.layer_ids else "",
        "tile": [s.tile_x, s.tile_y],
        "mode": s.mode,
        "energy_pJ": s.energy,
        "latency_cycles": s.latency,
        "latency_total2_cycles": s.latency2,
        "macs": s.macs,
        "peak_activation_bits": s.peak_activation_bits,
        "weight_bits": s.weight_bits,
        "weight_level": s.w_level,
        "tile_types": [
            {
                "tile": [t.tile.tile_x, t.tile.tile_y],
                "count": t.count,
                "weights_from_dram": t.tile.weights_from_top,
                "h_cache": [t.tile.use_h, t.tile.make_h],
                "v_cache": [t.tile.use_v, t.tile.make_v],
                "energy_pJ": t.energy,
                "latency_cycles": t.latency,
            }
            for t in s.tile_types
        ],
    }


def cmd_stack(args: argparse.Namespace) -> int:
    """Run the depth-first model on a network and print per-stack totals."""
    from acco.depthfirst.combine import count_tile_types, run_network
    from acco.depthfirst.config import DfConfig
    from acco.io import load_hardware, load_workload
    from acco.search import LomaConfig

    acc = load_hardware(args.hardware)
    wl = load_workload(args.workload)
    try:
        cfg = DfConfig(
            args.tile[0], args.tile[1], args.caching[0], args.caching[1], cuts=args.cuts,
            weight_overflow_cuts=not args.no_auto_cuts, reverse_greedy=args.reverse_greedy,
            layer_by_layer=args.layer_by_layer, clip_tile_to_output=args.clip_tile,
            mapper=LomaConfig(args.lpf_limit, args.opt, args.model),
        )
    except ValueError as e:
        raise InputError("command line", "--tile", "positive integers", str(e)) from None
    if getattr(args, "causal", False):
        from acco.causal.cli import cmd_causal

        return cmd_causal(args, acc, wl, cfg)
    if getattr(args, "cache_log", None) or getattr(args, "footprint_only", False):
        raise InputError("command line", "--cache-log", "--causal (cache logs and footprint-only runs are causal-mode options)", "no --causal")
    progress = None
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=count_tile_types(wl, acc, cfg), unit="tile type", desc="costing", leave=False)
        progress = bar.update
    try:
        net = run_network(wl, acc, cfg, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    stacks = [stack_summary(s) for s in net.stacks]
    if args.json:
        print(json.dumps({"hardware": acc.name, "workload": wl.name, "mode": cfg.mode_name, "tile": list(args.tile),
                          "energy_pJ": net.energy, "latency_cycles": net.latency, "stacks": stacks}, indent=2))
        return EXIT_OK
    print(f"{wl.name} on {acc.name}: tile {args.tile[0]}x{args.tile[1]}, {cfg.mode_name}"
          + (", layer by layer" if cfg.layer_by_layer else ""))
    for s in stacks:
        print(f"  stack {s['range']:>8}  energy {s['energy_pJ'] / 1e9:10.4f} mJ  latency {s['latency_cycles'] / 1e6:10.3f} M cycles"
              f"  peak act {_fmt_bits(s['peak_activation_bits'])}  weights {_fmt_bits(s['weight_bits'])} in {s['weight_level']}")
        for t in s["tile_types"]:
            print(f"      tile {t['tile'][0]}x{t['tile'][1]} x{t['count']:<8} {t['energy_pJ'] / 1e6:10.4f} uJ  "
                  f"{t['latency_cycles']:>12.0f} cc" + ("  (weights from DRAM)" if t["weights_from_dram"] else ""))
    print(f"  total        energy {net.energy / 1e9:10.4f} mJ  latency {net.latency / 1e6:10.3f} M cycles")
    return EXIT_OK
