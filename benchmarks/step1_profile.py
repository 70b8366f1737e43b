"""Profile of Step 1's work outside the mapper search (issue 7): warm mapper cache, representative chunks.

    .venv/bin/python benchmarks/step1_profile.py                 # profile, top 30 by own time
    .venv/bin/python benchmarks/step1_profile.py --top 40 --sort cumulative
    .venv/bin/python benchmarks/step1_profile.py --no-profile    # CPU seconds only (repeat: --repeat 3)
    .venv/bin/python benchmarks/step1_profile.py --cold          # every mapper search done in the measured pass

Picks one Step-1 chunk (the scenarios a worker runs in a row: same inputs, tile height and caching
mode, every tile width and both targets) per (hardware, workload) of `inputs/sweeps/paper.yaml`,
rotating the tile height and caching mode so that narrow and tall tiles, all three caching modes and
all three hardware/workload files are covered. A first pass fills a mapper cache (kept in
`--cache-file`, default /tmp/acco_step1_profile.cache, so later runs start warm); the measured pass
runs the chunks again as a worker does (fresh sub-stacks per chunk, i.e. cold geometry, warm
mapper cache) and reports CPU seconds per scenario, with a cProfile summary. `--cold` skips the
warm-up and measures with an empty mapper cache instead (the searches, their set-up and the scalar
cost of each pick included), as a worker meets a new tile type.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: (tile_y, (H, V)) per (hardware, workload), rotated so that every mode and a spread of heights appear
PICKS = [(1, (True, True)), (4, (True, False)), (16, (False, False)), (2, (True, True)), (64, (True, False)),
         (8, (False, False)), (32, (True, True)), (1, (True, False)), (4, (False, False))]


def chunks_of(sweep_path: str) -> list:
    from acco.dse.runner import plan_chunks
    from acco.dse.scenarios import expand
    from acco.dse.sweep import load_sweep

    scs = expand(load_sweep(sweep_path))
    chunks = plan_chunks(scs, 1)
    pairs: dict[tuple, list] = {}
    for c in chunks:
        pairs.setdefault((c[0].hardware, c[0].workload), []).append(c)
    out = []
    for i, (_, cs) in enumerate(sorted(pairs.items())):
        ty, hv = PICKS[i % len(PICKS)]
        pick = [c for c in cs if c[0].tile_y == ty and (c[0].h_cache, c[0].v_cache) == hv]
        out.append(pick[0] if pick else cs[0])
    return out


def run_chunks(chunks: list, cache) -> float:
    from acco.dse import scenarios

    t0 = time.process_time()
    for c in chunks:
        scenarios._substacks.cache_clear()
        for sc in c:
            scenarios.run_scenario(sc, cache)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", default=str(ROOT / "inputs/sweeps/paper.yaml"))
    p.add_argument("--cache-file", default="/tmp/acco_step1_profile.cache")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sort", default="tottime")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--cold", action="store_true", help="measure with an empty mapper cache (no warm-up pass)")
    args = p.parse_args(argv)

    from acco.dse import scenarios
    from acco.search.memo import MappingCache

    chunks = chunks_of(args.sweep)
    n = sum(len(c) for c in chunks)
    try:
        cache = MappingCache() if args.cold else MappingCache.load(args.cache_file)
    except Exception:  # noqa: BLE001 - an unusable file only costs the warm-up
        cache = MappingCache()
    for c in chunks:  # parse inputs outside the measurement
        scenarios._inputs(c[0].hardware_path, c[0].workload_path)
    from acco.cost import kernel

    if kernel.available():  # load the compiled kernel outside the measurement
        kernel.warm_up()
    m0 = cache.misses
    t = 0.0 if args.cold else run_chunks(chunks, cache)  # warm-up pass: fills the mapper cache
    if cache.misses > m0:
        cache.save(args.cache_file)
        print(f"warm-up pass: {t:.1f} s CPU, {cache.misses - m0} searches (cache saved to {args.cache_file})")
    print(f"{len(chunks)} chunks, {n} scenarios: " + ", ".join(f"{c[0].hardware[:4]}/{c[0].workload[-12:]}/ty{c[0].tile_y}/"
                                                               f"{'T' if c[0].h_cache else 'F'}{'T' if c[0].v_cache else 'F'}" for c in chunks))
    for _ in range(args.repeat):
        if args.cold:
            cache = MappingCache()
        m0 = cache.misses
        if args.no_profile:
            t = run_chunks(chunks, cache)
        else:
            prof = cProfile.Profile()
            prof.enable()
            t = run_chunks(chunks, cache)
            prof.disable()
        print(f"{'cold' if args.cold else 'warm'} mapper cache: {t:.2f} s CPU for {n} scenarios = {t / n * 1000:.1f} ms CPU per scenario "
              f"({cache.misses - m0} searches)")
    if not args.no_profile:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(args.sort).print_stats(args.top)
        print(s.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
