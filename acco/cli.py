"""Command-line interface: `python -m acco validate FILE...` (more subcommands register in build_parser).

Each subcommand is a function `(args) -> exit code` attached with `set_defaults(func=...)`;
main() turns any InputError into one `error: <message>` line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Callable, Sequence

from acco.errors import InputError
from acco.io.hardware import accelerator_from_yaml
from acco.io.onnx_cli import add_import_onnx_parser
from acco.io.workload import workload_from_yaml
from acco.io.yamlfile import Field, read_yaml

if TYPE_CHECKING:
    from acco.cost import LayerCost

EXIT_OK = 0
EXIT_INPUT_ERROR = 2
#: top-level keys that make a file a sweep (docs/pipeline.md) for `validate`
SWEEP_KEYS = ("tile_x", "tile_y", "workloads")
KINDS_EXPECTED = (
    "a hardware file (top-level 'memories') or a workload file (top-level 'layers'), "
    "or a sweep (top-level 'tile_x', 'tile_y', 'workloads')"
)

Command = Callable[[argparse.Namespace], int]


def validate_file(path: str | os.PathLike[str]) -> str:
    """Check one input file (hardware, workload or sweep, told apart by top-level keys); return a one-line summary."""
    data = read_yaml(path)
    doc = Field.root(path, data)
    if isinstance(data, dict) and "memories" in data:
        acc = accelerator_from_yaml(doc)
        return f"hardware {acc.name}: {acc.array.total_units} MACs, {len(acc.levels)} memories"
    if isinstance(data, dict) and "layers" in data:
        wl = workload_from_yaml(doc)
        return f"workload {wl.name}: {len(wl.layers)} layers"
    if isinstance(data, dict) and any(k in data for k in SWEEP_KEYS):
        from acco.dse.scenarios import count_scenarios
        from acco.dse.sweep import load_sweep

        sweep = load_sweep(path)  # also loads and checks every hardware and workload it names
        return (f"sweep {sweep.name}: {len(sweep.hardware)} hardware x {len(sweep.workloads)} workloads, "
                f"{count_scenarios(sweep)} scenarios")
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        raise doc.error(
            KINDS_EXPECTED,
            "a temporal mapping, which cannot be validated alone: it is checked against a layer and "
            "a hardware (python -m acco layer HW.yaml WL.yaml --layer ID --temporal-mapping FILE)",
        )
    raise doc.error(
        KINDS_EXPECTED,
        "a mapping without any of them" if isinstance(data, dict) else None,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    """`validate FILE...`: print `OK <file>` or the located error for each file; exit 2 if any failed."""
    failed = 0
    for file in args.files:
        try:
            summary = validate_file(file)
        except InputError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
        else:
            print(f"OK {file} ({summary})")
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per command; each sets `func` to its handler."""
    parser = argparse.ArgumentParser(
        prog="python -m acco",
        description="ACCO: causal + depth-first scheduling of spatio-temporal CNNs on edge DNN accelerators.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "validate",
        help="check hardware, workload and sweep YAML files",
        description="Check input files (hardware, workload or sweep, told apart by content; a sweep's "
        "hardware and workload files are checked with it); print one located error per bad file.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="hardware, workload or sweep YAML files")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "layer",
        help="evaluate one layer under a given temporal mapping",
        description="Per-layer cost model: memory word accesses per level, energy (pJ), latency (cycles).",
    )
    p.add_argument("hardware", metavar="HW.yaml")
    p.add_argument("workload", metavar="WL.yaml")
    p.add_argument("--layer", type=int, required=True, metavar="ID", help="layer id in the workload")
    p.add_argument("--temporal-mapping", metavar="FILE",
                   help="evaluate this temporal mapping (docs/inputs.md) instead of searching one")
    p.add_argument("--mapper", choices=["loma", "salsa"], default="loma",
                   help="temporal mapping search: loma (exhaustive over merged loop prime factors) or salsa "
                   "(full factorisation: exhaustive when small, else seeded simulated annealing); default loma")
    p.add_argument("--lpf-limit", type=_positive_int, default=6, metavar="N", help="LOMA loop-prime-factor limit (default 6)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="SALSA random seed (default 0)")
    p.add_argument("--mapping", metavar="MAPPING.yaml",
                   help="ZigZag 3.x mapping file, needed when WL.yaml is a ZigZag workload (HW.yaml may be ZigZag's too)")
    p.add_argument("--opt", choices=["energy", "latency", "edp"], default="energy", help="search objective (default energy)")
    add_spatial_options(p)
    add_model_argument(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_layer)
    add_import_onnx_parser(sub)
    from acco.depthfirst.cli import add_stack_parser
    add_stack_parser(sub)
    from acco.reports.realtime_cli import add_realtime_parser
    add_realtime_parser(sub)
    from acco.pipeline import add_run_parser
    add_run_parser(sub)
    return parser


def add_spatial_options(p: argparse.ArgumentParser) -> None:
    """`--spatial fixed|search`, `--spatial-top N`, `--spatial-hint HINT` (acco.search.spatial_search)."""
    p.add_argument("--spatial", choices=["fixed", "search"], default="fixed",
                   help="spatial unrolling: fixed (the workload's, default) or search (candidates ranked by "
                   "utilisation, the best --spatial-top and the workload's own costed with the temporal mapper)")
    p.add_argument("--spatial-top", type=_positive_int, default=4, metavar="N",
                   help="candidates costed by --spatial search (default 4)")
    p.add_argument("--spatial-hint", metavar="HINT",
                   help="layer dims each array dim may take in --spatial search, e.g. 'D1=K;D2=C,OX' "
                   "(default: the ZigZag mapping file's spatial_mapping_hint of the layer, else none)")


def _spatial_hint(args: argparse.Namespace) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`--spatial-hint`, else the ZigZag mapping file's `spatial_mapping_hint` of the layer, else none;
    checked against the hardware's array dims."""
    from acco.api import load_any_hardware
    from acco.search.spatial_search import check_hint, parse_hint

    try:
        if args.spatial_hint is None and args.mapping:
            from acco.io.zigzag import zigzag_spatial_hints

            try:
                hint = zigzag_spatial_hints(args.workload, args.mapping).get(args.layer, ())
            except InputError:
                hint = ()  # not a ZigZag workload and mapping: search_layer says what is wrong
        else:
            hint = parse_hint(args.spatial_hint or "")
        check_hint(hint, load_any_hardware(args.hardware))
    except ValueError as e:
        raise InputError("--spatial-hint", "", "ARRAYDIM=DIM[,DIM...] separated by ';'", str(e)) from None
    return hint


def add_model_argument(p: argparse.ArgumentParser) -> None:
    """`--model`: the cost-model version (docs/model_versions.md)."""
    from acco.model_versions import DEFAULT_MODEL, MODELS

    p.add_argument("--model", choices=MODELS, default=DEFAULT_MODEL,
                   help=f"cost-model version: {DEFAULT_MODEL} (the original ACCO's, default) or zigzag-3.9.1 "
                   "(today's ZigZag: its energy rules and latency model; docs/model_versions.md)")


def _positive_int(text: str) -> int:
    """argparse type: a positive integer."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _num(x: float) -> str:
    """Word counts are integral in most cases; show fractions only where the model produces them."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def format_layer_cost(cost: "LayerCost") -> str:
    """Human-readable report of one layer evaluation: per-level accesses and energy, then the totals."""
    lines = [f"layer {cost.layer_id}"]
    lines.append(f"  {'operand':<7} {'level':<12} {'rd->low':>14} {'wr<-high':>12} {'wr<-low':>14} {'rd->high':>12} {'energy pJ':>14}")
    for op in cost.accesses:
        for name, a, e in zip(cost.level_names[op], cost.accesses[op], cost.energy_per_level[op]):
            w = [_num(x) for x in (a.tl, a.fh, a.fl, a.th)]
            lines.append(f"  {op:<7} {name:<12} {w[0]:>14} {w[1]:>12} {w[2]:>14} {w[3]:>12} {e:>14,.2f}")
    lines.append(f"  energy total  {cost.energy_total:,.2f} pJ (MAC {cost.mac_energy:,.2f}, memory {cost.mem_energy:,.2f})")
    lines.append(
        f"  latency       {cost.latency_total2:,.0f} cycles = ideal temporal {cost.ideal_temporal_cycle:,} "
        f"+ stall {cost.stall_slack:,.0f} + on-loading {cost.onloading:,.0f} + off-loading {cost.offloading:,.0f}"
    )
    lines.append(
        f"  utilisation   spatial {cost.spatial_utilization:.1%}, overall {cost.mac_utilization:.1%} "
        f"(ideal {cost.ideal_cycle:,} cycles)"
    )
    if cost.temporal_mapping is not None:
        lines.append("  temporal mapping (per memory level, innermost loop first)")
        for op, levels in cost.temporal_mapping.levels.items():
            parts = [" ".join(f"{d}{s}" for d, s in lv) or "-" for lv in levels]
            names = cost.level_names.get(op, ())
            lines.append(f"    {op}: " + " | ".join(f"{n}: {p}" for n, p in zip(names, parts)))
    return "\n".join(lines)


def cmd_layer(args: argparse.Namespace) -> int:
    """`layer HW WL --layer ID --temporal-mapping TM`: evaluate one layer under a given temporal mapping."""
    import json

    from acco.api import evaluate_layer, search_layer
    from acco.cost import MappingDoesNotFit
    from acco.search import LomaConfig, SalsaConfig

    search = None
    if args.temporal_mapping:
        if args.spatial == "search":
            raise InputError("--spatial", "", "no --spatial search with --temporal-mapping (a given mapping is evaluated, "
                             "not searched)", "--spatial search")
        try:
            cost = evaluate_layer(args.hardware, args.workload, args.layer, args.temporal_mapping, args.mapping, args.model)
        except MappingDoesNotFit as e:
            raise InputError(str(args.temporal_mapping), "", "a temporal mapping whose tiles fit every memory", str(e)) from None
    else:
        if args.mapper == "salsa":
            config: LomaConfig | SalsaConfig = SalsaConfig(seed=args.seed, objective=args.opt, model=args.model)
            settings = {"mapper": "salsa", "seed": args.seed, "objective": args.opt}
            label = f"SALSA seed {args.seed}"
        else:
            config = LomaConfig(args.lpf_limit, args.opt, args.model)
            settings = {"mapper": "loma", "lpf_limit": args.lpf_limit, "objective": args.opt}
            label = f"LOMA lpf {args.lpf_limit}"
        if args.model != config.__dataclass_fields__["model"].default:  # the default's output is unchanged
            settings["model"] = args.model
            label += f", model {args.model}"
        if args.spatial == "search":
            from acco.search.spatial_search import SpatialSearchConfig

            hint = _spatial_hint(args)
            config = SpatialSearchConfig(config, args.spatial_top, hint)  # type: ignore[assignment]
            settings = {**settings, "spatial": "search", "spatial_top": args.spatial_top,
                        "spatial_hint": {oa: list(dims) for oa, dims in hint}}
            label += f", spatial search top {args.spatial_top}"
        elif args.spatial_top != 4 or args.spatial_hint:
            raise InputError("--spatial-top/--spatial-hint", "", "--spatial search with them", "--spatial fixed")
        search = search_layer(args.hardware, args.workload, args.layer, config, args.mapping)
        cost = search.cost
    if args.json:
        d = cost.as_dict()
        if search is not None:
            d["search"] = {**settings, "engine": search.engine, "orderings": search.orderings,
                           "valid": search.valid, "seconds": search.seconds}
            if search.spatial is not None:
                d["spatial_unrolling"] = {oa: [dim, u] for oa, dim, u in search.spatial}
        print(json.dumps(d, indent=2))
    else:
        print(format_layer_cost(cost))
        if search is not None and search.spatial is not None:
            from acco.search.spatial_search import format_unrolling

            print(f"  spatial       {format_unrolling(search.spatial)} (chosen by spatial search)")
        if search is not None:
            print(f"  search        {label} ({search.engine}), opt {args.opt}: {search.orderings} orderings "
                  f"costed ({search.valid} fit) in {search.seconds:.2f} s")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; any InputError from any subcommand is printed as `error: <message>` with exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except BrokenPipeError:  # output piped into e.g. `head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
