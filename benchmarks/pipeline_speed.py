"""Pipeline speed (issue 7): seconds per configuration, Step-1 sweep wall time, scenarios/s, peak RSS, mapper-cache hits.

    .venv/bin/python benchmarks/pipeline_speed.py                      # reduced grid (72 scenarios), --jobs 2
    .venv/bin/python benchmarks/pipeline_speed.py --sweep inputs/sweeps/paper.yaml --jobs 2   # the paper grid

1. One whole-network configuration (the issue's example: Meta_prototype_DF, stftCNN-1x, tile 4x4, fully
   cached, cut_max 0, LOMA lpf 6): CPU seconds with a cold mapper cache (a new, empty one; fresh
   sub-stacks) and with a warm one (the same cache; fresh sub-stacks again), inputs already parsed.
2. The sweep's Step 1 into a temporary folder, twice: with an empty mapper-cache folder (cold) and
   again with `--force` on the same folder (warm): wall seconds, scenarios per second, searches
   and the share of mapper look-ups answered from the cache (the cold run also computes the baselines
   Step 3 compares with); then Steps 2 and 3 as a user runs them, and Step 3 without figures (wall seconds).
3. Peak resident memory of this process and of its largest worker (getrusage).
4. Start-up per command (`--commands`): CPU seconds of `python -m acco --help`, `validate` (a hardware
   file, the sweep) and `layer` (Meta_prototype_DF, fsrcnn layer 0, LOMA lpf 6), each a fresh process.

`--against DIR` (another checkout, e.g. `main`'s) runs Step 1 of the same sweep with that code too, each
as a fresh process with an empty mapper-cache folder (cold), and prints wall and CPU seconds (the
process and its workers) side by side with their ratio: CPU seconds compare fairly on a busy machine,
where wall seconds do not. The other checkout runs with this interpreter (its own code first on the path).

Prints numbers only; nothing is asserted (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REDUCED = """\
# reduced paper grid for benchmarks/pipeline_speed.py
name: speed_reduced
hardware: [{root}/inputs/hardware/Meta_prototype_DF.yaml]
workloads: [{root}/inputs/workloads/Meta_prototype/seldnet_oxoy_M.yaml, {root}/inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml]
tile_x: [4, 64, 512]
tile_y: [4, 16]
caching: [[true, true], [true, false], [false, false]]
cut_max: 3
targets: [energy, latency]
mapper: {engine: loma, lpf_limit: 6}
seed: 0
"""


def configuration_seconds() -> tuple[float, float, int]:
    """(cold CPU s, warm CPU s, searches) of the issue's example configuration."""
    from acco.dse.result import Scenario
    from acco.dse.scenarios import _inputs, _substacks, run_scenario
    from acco.dse.sweep import MapperSettings
    from acco.search.memo import MappingCache

    hw = str(ROOT / "inputs/hardware/Meta_prototype_DF.yaml")
    wl = str(ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml")
    sc = Scenario("Meta_prototype_DF", hw, "stftCNN_fixed_unrolling_oxoy_025_1x", wl, "energy", 4, 4, True, True,
                  (), -1, 1, 0, MapperSettings(engine="loma", lpf_limit=6), 0)
    _inputs(hw, wl)  # parsing is not part of a configuration
    cache = MappingCache()
    _substacks.cache_clear()
    t0 = time.process_time()
    run_scenario(sc, cache)
    cold = time.process_time() - t0
    _substacks.cache_clear()
    t0 = time.process_time()
    run_scenario(sc, cache)
    warm = time.process_time() - t0
    return cold, warm, cache.misses


def _step(script: str, sweep: Path, out: Path, *extra: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(ROOT / script), "--sweep", str(sweep), "--out", str(out), *extra],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{script} failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0, r.stdout


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its reaped workers, stdout) of one command run to completion."""
    c0, t0 = _children_cpu(), time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if r.returncode not in (0, 1):  # 1 = some scenarios failed: still timed
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return wall, cpu, r.stdout


def step1_process(root: Path, sweep: Path, jobs: int, tmp: Path, label: str) -> tuple[float, float]:
    """Step 1 of `sweep` with the code under `root`, cold (fresh output and mapper-cache folders): (wall, CPU)."""
    out = tmp / f"out-{label}"
    cmd = [sys.executable, str(root / "DfStackCutAndXform_mp_misc.py"), "--sweep", str(sweep), "--out", str(out),
           "--jobs", str(jobs), "--mapper-cache", str(tmp / f"cache-{label}")]
    wall, cpu, _ = _timed(cmd, root)
    return wall, cpu


def command_startup(sweep: Path) -> None:
    """CPU seconds of single ACCO commands, each a fresh process (start-up included)."""
    hw = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
    wl = ROOT / "inputs/workloads/Meta_prototype/fsrcnn.yaml"
    py = [sys.executable, "-m", "acco"]
    for name, args in (("--help", ["--help"]), ("validate HW", ["validate", str(hw)]), ("validate SWEEP", ["validate", str(sweep)]),
                       ("layer (LOMA lpf 6)", ["layer", str(hw), str(wl), "--layer", "0"])):
        runs = [_timed(py + args, ROOT) for _ in range(3)]
        print(f"command {name:<20} {min(c for _, c, _ in runs):6.2f} s CPU, {min(w for w, _, _ in runs):6.2f} s wall (best of 3)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", default=None, help="sweep file (default: a reduced paper grid of 72 scenarios)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default=None, help="output folder (default: a temporary one, removed afterwards)")
    p.add_argument("--no-warm", action="store_true", help="skip the second (warm-cache) Step-1 run")
    p.add_argument("--no-steps23", action="store_true", help="skip Steps 2 and 3")
    p.add_argument("--against", metavar="DIR", default=None,
                   help="another checkout (e.g. main's): Step 1 cold with both codes, as processes, with ratios")
    p.add_argument("--commands", action="store_true", help="also time single commands' start-up (fresh processes)")
    args = p.parse_args(argv)

    if args.against:
        with tempfile.TemporaryDirectory() as tmp:
            sweep_file = Path(args.sweep).resolve() if args.sweep else Path(tmp) / "speed_reduced.yaml"
            if not args.sweep:
                sweep_file.write_text(REDUCED.replace("{root}", str(ROOT)))
            other = Path(args.against).resolve()
            theirs = step1_process(other, sweep_file, args.jobs, Path(tmp), "theirs")
            ours = step1_process(ROOT, sweep_file, args.jobs, Path(tmp), "ours")
            print(f"step 1 cold, --jobs {args.jobs}, as a process: {other}: {theirs[0]:.1f} s wall, {theirs[1]:.1f} s CPU; "
                  f"this checkout: {ours[0]:.1f} s wall, {ours[1]:.1f} s CPU; "
                  f"ratio {theirs[0] / ours[0]:.2f}x wall, {theirs[1] / ours[1]:.2f}x CPU")
        if args.commands:
            command_startup(Path(args.sweep).resolve() if args.sweep else ROOT / "inputs/sweeps/default.yaml")
        return 0
    if args.commands:
        command_startup(Path(args.sweep).resolve() if args.sweep else ROOT / "inputs/sweeps/default.yaml")

    t0 = time.process_time()
    from acco.cost import kernel

    if kernel.available():  # one-off per process, not per configuration: numba import + compiled kernel load
        from acco.io import load_hardware, load_workload
        from acco.search import LomaConfig, loma

        loma(load_workload(ROOT / "inputs/workloads/Meta_prototype/fsrcnn.yaml").layers[0],
             load_hardware(ROOT / "inputs/hardware/Meta_prototype_DF.yaml"), LomaConfig(lpf_limit=2))
    print(f"one-off start-up per process (numba import, compiled cost kernel load/compile): {time.process_time() - t0:.2f} s CPU")
    cold, warm, searches = configuration_seconds()
    print("configuration Meta_prototype_DF / stftCNN-1x / 4x4 / fully cached / cut_max 0 / lpf 6:")
    print(f"  cold mapper cache  {cold:7.3f} s CPU ({searches} searches)")
    print(f"  warm mapper cache  {warm:7.3f} s CPU")

    from acco.dse.runner import run_sweep
    from acco.dse.sweep import load_sweep

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "out"
        if args.sweep:
            sweep_file = Path(args.sweep).resolve()
        else:
            sweep_file = Path(tmp) / "speed_reduced.yaml"
            sweep_file.write_text(REDUCED.replace("{root}", str(ROOT)))
        sweep = load_sweep(str(sweep_file))
        cache_dir = str(Path(tmp) / "mapper-cache")
        runs = [("cold", False)] + ([] if args.no_warm else [("warm", True)])
        for label, force in runs:
            c0 = _children_cpu() + time.process_time()
            s = run_sweep(sweep, out, jobs=args.jobs, force=force, progress=False, mapper_cache=cache_dir)
            cpu = _children_cpu() + time.process_time() - c0
            rate = s.done / s.seconds if s.seconds else 0.0
            print(f"step 1 ({label} mapper cache, --jobs {args.jobs}): {s.done} scenarios in {s.seconds:.1f} s wall, {cpu:.1f} s CPU, "
                  f"{rate:.2f} scenarios/s, {s.mapper_misses} searches, hit rate {s.mapper_hit_rate:.1%}"
                  + (f", baselines of {s.baselines_done} hardware x workload pairs" if s.baselines_done else "")
                  + (f", {len(s.failed)} failed" if s.failed else ""))
        if not args.no_steps23:
            t2, _ = _step("explore_pickle_compile_readings.py", sweep_file, out, "--quiet")
            print(f"step 2: {t2:.1f} s wall")
            t3, _ = _step("explore_pickle_hierarchy_cache_allocation.py", sweep_file, out)
            print(f"step 3 as a user runs it (search, tables, baselines stored by Step 1, figures): {t3:.1f} s wall")
            print(f"steps 2-3 as a user runs them: {t2 + t3:.1f} s wall")
            t3s, _ = _step("explore_pickle_hierarchy_cache_allocation.py", sweep_file, out, "--no-plots")
            print(f"step 3 without figures (--no-plots): {t3s:.1f} s wall; steps 2-3 so: {t2 + t3s:.1f} s wall")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MiB, largest child process {kids:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
