"""Step 1: run a sweep's scenarios in parallel, store each result as it finishes, never lose work.

Finished scenarios (a current result file exists) are skipped unless `force`. Every result is
written atomically by the parent process as soon as its worker returns it; a scenario that raises
is recorded as a failure file (parameters, message, traceback) and the sweep goes on. A manifest
records the tool version, the sweep, the input files' hashes and the seed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from tqdm import tqdm

from acco import __version__
from acco.dse.result import Scenario, ScenarioFailure, ScenarioResult
from acco.dse.scenarios import expand, file_sha256, run_scenario
from acco.dse.store import is_done, save_failure, save_result
from acco.io.atomic import atomic_write_bytes
from acco.dse.sweep import Sweep


@dataclass
class RunSummary:
    """What a Step-1 run did."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def safe_run(sc: Scenario) -> ScenarioResult | ScenarioFailure:
    """Run one scenario in a worker; an exception becomes a ScenarioFailure (the sweep goes on)."""
    t0 = time.perf_counter()
    try:
        return run_scenario(sc)
    except Exception as e:  # noqa: BLE001 - recorded with its traceback, reported at the end
        msg = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        return ScenarioFailure(sc, str(msg), traceback.format_exc(), time.perf_counter() - t0)


def write_manifest(step1: Path, sweep: Sweep, scenarios: list[Scenario]) -> None:
    """Record version, sweep (path, hash, text), input hashes and seed next to the results."""
    import numpy

    inputs = sorted({s.hardware_path for s in scenarios} | {s.workload_path for s in scenarios})
    doc = {
        "acco_version": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sweep": {"path": sweep.path, "name": sweep.name, "sha256": file_sha256(sweep.path), "text": Path(sweep.path).read_text()},
        "inputs_sha256": {p: file_sha256(p) for p in inputs},
        "seed": sweep.seed,
        "mapper": {"engine": sweep.mapper.engine, "lpf_limit": sweep.mapper.lpf_limit,
                   "iterations": sweep.mapper.iterations, "chains": sweep.mapper.chains},
        "scenarios": len(scenarios),
    }
    atomic_write_bytes(step1 / "manifest.json", (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())


def _store(step1: Path, r: ScenarioResult | ScenarioFailure, summary: RunSummary) -> None:
    if isinstance(r, ScenarioFailure):
        save_failure(step1, r)
        summary.failed.append(f"{r.scenario.id}: {r.message}")
    else:
        save_result(step1, r)
        summary.done += 1


def run_sweep(
    sweep: Sweep,
    out: str | os.PathLike[str],
    jobs: int = 1,
    force: bool = False,
    executor: str = "process",
    scheduler: str | None = None,
    progress: bool = True,
    submit: Callable[..., Any] | None = None,
) -> RunSummary:
    """Run every scenario of `sweep` not yet done into `out/step1/`; return what happened."""
    t0 = time.perf_counter()
    step1 = Path(out) / "step1"
    step1.mkdir(parents=True, exist_ok=True)
    scenarios = expand(sweep)
    write_manifest(step1, sweep, scenarios)
    todo = [s for s in scenarios if force or not is_done(step1, s)]
    summary = RunSummary(total=len(scenarios), skipped=len(scenarios) - len(todo))
    bar = tqdm(total=len(todo), desc="step 1", unit="scenario", disable=not progress, file=sys.stderr)
    try:
        if not todo:
            pass
        elif executor == "dask":
            _run_dask(todo, step1, scheduler, summary, bar)
        elif jobs <= 1:
            for sc in todo:
                _store(step1, safe_run(sc), summary)
                bar.update(1)
        else:
            _run_pool(todo, step1, jobs, summary, bar)
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_pool(todo: list[Scenario], step1: Path, jobs: int, summary: RunSummary, bar: tqdm) -> None:
    """A process pool with a bounded queue; results are stored as they complete."""
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        pending: set[Future] = set()
        it: Iterable[Scenario] = iter(todo)
        for sc in it:
            pending.add(ex.submit(safe_run, sc))
            if len(pending) >= 4 * jobs:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                _store(step1, fut.result(), summary)
                bar.update(1)
            for sc in it:
                pending.add(ex.submit(safe_run, sc))
                if len(pending) >= 4 * jobs:
                    break


def _run_dask(todo: list[Scenario], step1: Path, scheduler: str | None, summary: RunSummary, bar: tqdm) -> None:
    """Submit the scenarios to an existing Dask distributed cluster (optional extra `distributed`)."""
    try:
        from distributed import Client, as_completed
    except ImportError as e:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("--executor dask needs the optional package 'distributed' (pip install distributed)") from e
    if not scheduler:
        raise RuntimeError("--executor dask needs --scheduler ADDRESS of a running Dask scheduler")
    with Client(scheduler) as client:
        futures = client.map(safe_run, todo, pure=False)
        for fut in as_completed(futures):
            _store(step1, fut.result(), summary)
            bar.update(1)


__all__ = ["RunSummary", "run_sweep", "safe_run", "write_manifest"]
