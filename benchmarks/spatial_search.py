"""Benchmark: mapper settings through Step 1 — (a) LOMA fixed unrolling (the default), (b) SALSA kept
never worse than LOMA at the same lpf limit, (c) (b) with the spatial search, (d) (a) with the spatial search.

For each workload of a sweep (default inputs/sweeps/paper_meta.yaml) and each mode, every scenario of
the tile grid and both targets is run in this process (`acco.dse.scenarios.run_scenario`, one
in-memory mapper cache per mode), and the best uncut whole-network range is printed: the lowest
energy (over energy-target scenarios), the lowest latency (latency-target scenarios) and the lowest
EDP (over all scenarios, the edp-target ones included), for the whole sequence ("total") and one stable row ("real-time"), plus each mode's
Step-1 time. Only the range without cuts is compared (cut_max is forced to 0 unless given), so Step
2's cut choice is not part of these numbers.

    .venv/bin/python benchmarks/spatial_search.py --tiles-x 4,16 --tiles-y 1,4 --workloads stftCNN_fixed_unrolling_oxoy_025_1x
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from acco.dse.scenarios import expand, run_scenario  # noqa: E402
from acco.dse.sweep import MapperSettings, load_sweep  # noqa: E402
from acco.search import MappingCache  # noqa: E402


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def best_whole(results: list, kind: str) -> tuple[float, float, float]:
    """(min energy over energy-target scenarios, min latency over latency-target ones, min EDP over all)
    of the uncut range of kind `kind` (total or stable)."""
    e = lat = edp = math.inf
    for r in results:
        whole = next(x for x in r.ranges if x.cut_before is None and x.cut_after is None)
        rd = whole.kind(kind).reading
        if r.scenario.target == "energy":
            e = min(e, rd.energy)
        if r.scenario.target == "latency":
            lat = min(lat, rd.latency)
        edp = min(edp, rd.energy * rd.latency)
    return e, lat, edp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", default=str(REPO / "inputs" / "sweeps" / "paper_meta.yaml"))
    ap.add_argument("--workloads", help="comma-separated subset of the sweep's workloads")
    ap.add_argument("--tiles-x", type=_ints, help="tile_x values (default: the sweep's)")
    ap.add_argument("--tiles-y", type=_ints, help="tile_y values (default: the sweep's)")
    ap.add_argument("--cut-max", type=int, default=0)
    ap.add_argument("--salsa-iterations", type=int, default=100)
    ap.add_argument("--salsa-chains", type=int, default=8)
    ap.add_argument("--spatial-top", type=int, default=4)
    ap.add_argument("--modes", default="a,b,c", help="subset of a,b,c,d (d: LOMA lpf 6 + spatial search)")
    ap.add_argument("--targets", default="energy,latency,edp", help="per-layer mapper targets (default all three)")
    args = ap.parse_args()

    sweep = load_sweep(args.sweep)
    kw: dict = {"cut_max": args.cut_max, "caching": ((True, True),), "targets": tuple(args.targets.split(","))}
    if args.workloads:
        kw["workloads"] = tuple(args.workloads.split(","))
    if args.tiles_x:
        kw["tile_x"] = args.tiles_x
    if args.tiles_y:
        kw["tile_y"] = args.tiles_y
    sweep = replace(sweep, **kw)
    salsa = MapperSettings(engine="salsa", lpf_limit=6, iterations=args.salsa_iterations, chains=args.salsa_chains)
    modes = {
        "a": ("LOMA lpf 6, fixed unrolling", MapperSettings()),
        "b": (f"SALSA {args.salsa_iterations}x{args.salsa_chains} + LOMA lpf 6", salsa),
        "c": (f"(b) + spatial search top {args.spatial_top}", replace(salsa, spatial="search", spatial_top=args.spatial_top)),
        "d": (f"(a) + spatial search top {args.spatial_top}", MapperSettings(spatial="search", spatial_top=args.spatial_top)),
    }
    print(f"sweep {sweep.name}: workloads {', '.join(sweep.workloads)}; tiles {sweep.tile_x} x {sweep.tile_y}; "
          f"targets {', '.join(sweep.targets)}; fully cached; uncut whole network (cut_max {sweep.cut_max})")
    table: dict[tuple[str, str], dict[str, tuple[float, float, float]]] = {}
    for m in args.modes.split(","):
        label, mapper = modes[m]
        cache = MappingCache()
        t0 = time.perf_counter()
        results = [run_scenario(sc, cache) for sc in expand(replace(sweep, mapper=mapper))]
        secs = time.perf_counter() - t0
        print(f"({m}) {label}: {len(results)} scenarios, Step-1 time {secs:.1f} s", flush=True)
        for wl in sweep.workloads:
            rs = [r for r in results if r.scenario.workload == Path(wl).stem or r.scenario.workload == wl]
            table[(m, wl)] = {k: best_whole(rs, k) for k in ("total", "stable")}
    print(f"\n{'workload':<38} {'mode':<4} {'kind':<8} {'energy pJ':>16} {'latency cyc':>14} {'EDP':>12} "
          f"{'dE vs a':>8} {'dL vs a':>8} {'dEDP vs a':>9}")
    for wl in sweep.workloads:
        for m in args.modes.split(","):
            for k in ("total", "stable"):
                e, lat, edp = table[(m, wl)][k]
                a = table.get(("a", wl), {}).get(k)
                rel = [f"{(x / y - 1) * 100:+.2f}%" if a else "" for x, y in zip((e, lat, edp), a or (1, 1, 1))]
                print(f"{wl:<38} {m:<4} {k:<8} {e:>16,.0f} {lat:>14,.0f} {edp:>12.4e} {rel[0]:>8} {rel[1]:>8} {rel[2]:>9}")
    for m in args.modes.split(","):
        if m == "a" or "a" not in args.modes:
            continue
        for k in ("total", "stable"):
            g = math.exp(sum(math.log(table[(m, wl)][k][2] / table[("a", wl)][k][2]) for wl in sweep.workloads)
                         / len(sweep.workloads))
            print(f"geometric-mean EDP ({m}) / (a), {k}: {g:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
