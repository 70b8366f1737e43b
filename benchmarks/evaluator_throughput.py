"""Throughput of the cost model (allocation + energy + latency per loop ordering), three ways.

Prints mapping evaluations per second per core (CPU time of this process) for: the scalar model
(one ordering at a time, Python objects), the numpy batch evaluator and the compiled kernel
(acco/cost/kernel.py) per batch size (orderings in the reference enumeration order, as LOMA visits
them), the kernel asked for energy only, and the compiled exhaustive LOMA scan (enumeration
included), with the speed-ups. Each figure is the mean over at least --seconds of CPU time. The first run compiles the kernel (numba caches it in acco/cost/__pycache__).
Run: .venv/bin/python benchmarks/evaluator_throughput.py [--lpf-limit 8] [--seconds 1]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np

from acco.cost import evaluate
from acco.cost.batch import BatchEvaluator
from acco.cost.kernel import CompiledEvaluator
from acco.cost.model import MappingDoesNotFit
from acco.io import load_hardware, load_workload
from acco.mapping import spatial_mapping_for
from acco.search import DoesNotFit, allocate, lpf_list, multiset_permutations, temporal_loop_sizes

ROOT = Path(__file__).resolve().parents[1]


def _rate(fn, seconds: float) -> float:
    """CPU seconds per call of fn, measured over at least `seconds`."""
    fn()
    t0, k = time.process_time(), 0
    while time.process_time() - t0 < seconds:
        fn()
        k += 1
    return (time.process_time() - t0) / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hardware", default=str(ROOT / "inputs/hardware/Meta_prototype_DF.yaml"))
    ap.add_argument("--workload", default=str(ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"))
    ap.add_argument("--layer", type=int, default=4)
    ap.add_argument("--lpf-limit", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    acc = load_hardware(args.hardware)
    layer = load_workload(args.workload).layer(args.layer)
    sm = spatial_mapping_for(layer, acc)
    lpfs = lpf_list(temporal_loop_sizes(layer, sm), args.lpf_limit)
    ev = BatchEvaluator(layer, acc, sm, lpfs)
    codes = np.array(list(itertools.islice(multiset_permutations([ev.code_of[x] for x in lpfs]), 16384)), dtype=np.int64)
    print(f"layer {layer.id} of {Path(args.workload).stem} on {acc.name}: {len(lpfs)} loops (lpf {args.lpf_limit}), "
          f"{os.cpu_count()} cores, numpy {np.__version__}")
    orders = [[ev.codes[c] for c in row] for row in codes[:50]]

    def scalar() -> None:
        for o in orders:
            try:
                evaluate(layer, acc, allocate(layer, acc, sm, o), sm)
            except (DoesNotFit, MappingDoesNotFit):
                pass

    t_scalar = _rate(scalar, args.seconds) / len(orders)
    print(f"{'scalar':>8}: {t_scalar * 1e3:8.3f} ms/ordering  {1 / t_scalar:>12,.0f} evals/s/core")
    ce = CompiledEvaluator(ev)
    ce.evaluate(codes[:2])  # compile (or load the cached machine code)
    for n in (1, 64, 1024, 4096, 16384):
        if n > len(codes):
            break
        batch = codes[:n]
        t = _rate(lambda: ev.evaluate(batch), args.seconds)
        tc = _rate(lambda: ce.evaluate(batch), args.seconds)
        print(f"{'N=' + str(n):>8}: numpy {t * 1e3:8.2f} ms/batch {n / t:>10,.0f} evals/s/core | "
              f"compiled {tc * 1e3:8.3f} ms/batch {n / tc:>10,.0f} evals/s/core "
              f"({t / tc:,.1f}x numpy, {t_scalar * n / tc:,.0f}x scalar)")
    items = [ev.code_of[x] for x in lpfs]
    batch = codes[:4096]
    te = _rate(lambda: ce.evaluate(batch, "energy"), args.seconds)
    print(f"{'energy':>8}: compiled, energy only (what SALSA's energy search asks) {te * 1e3:8.3f} ms/batch of "
          f"{len(batch)} {len(batch) / te:>10,.0f} evals/s/core")
    visited = ce.scan(items, "energy")[2]
    ts = _rate(lambda: ce.scan(items, "energy"), args.seconds)
    print(f"compiled LOMA scan (energy): {visited:,} orderings in {ts * 1e3:.1f} ms CPU = "
          f"{visited / ts:,.0f} evals/s/core (enumeration and the first-strictly-best choice included)")

if __name__ == "__main__":
    main()
