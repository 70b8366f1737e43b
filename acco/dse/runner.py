"""Step 1: run a sweep's scenarios in parallel, store each result as it finishes, never lose work.

Finished scenarios (a current result file exists) are skipped unless `force`. Every result is
written atomically by the parent process as soon as its worker returns it; a scenario that raises
is recorded as a failure file (parameters, message, traceback) and the sweep goes on. A manifest
records the tool version, the sweep, the input files' hashes and the seed.

Scenarios run in chunks of neighbours (same inputs, tile height and caching mode; `plan_chunks`):
a worker runs a whole chunk, so the geometry memoised on the sub-stacks and the mapper searches
of one scenario serve the next. Mapper searches are also kept in a cache folder (`mapper_cache_dir`:
OUT/.mapper-cache by default, `ACCO_MAPPER_CACHE=DIR|off`), shared by the workers and later runs:
a worker merges the folder's shards before each chunk and adds its new searches as a shard after it.
Results do not depend on any of this (same bytes with the cache on or off, any number of jobs).
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from itertools import chain
from typing import Any, Callable, Iterable, Iterator, Sequence

from tqdm import tqdm

from acco import __version__
from acco.dse.result import Scenario, ScenarioFailure, ScenarioResult
from acco.dse.scenarios import clipped_duplicates, count_scenarios, file_sha256, group_key, iter_scenarios, run_scenario
from acco.dse.store import (
    baseline_path, encode_result, file_intact, is_done, load_result_bytes, result_files, result_path, save_encoded, save_failure,
    save_result,
)
from acco.io.atomic import atomic_write_bytes
from acco.io.staging import remove_stale
from acco.stopping import worker_pool
from acco.dse.sweep import Sweep, hardware_name, workload_name
from acco.search.memo import DEFAULT_CACHE, compact_dir

#: environment variable choosing the mapper-cache folder (a path, or `off`)
CACHE_ENV = "ACCO_MAPPER_CACHE"


@dataclass
class RunSummary:
    """What a Step-1 run did."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: mapper look-ups answered from a cache (memory or folder) / searched, over all workers
    mapper_hits: int = 0
    mapper_misses: int = 0
    #: the mapper-cache folder used (None = off)
    mapper_cache: str | None = None
    #: hardware × workload baseline files computed in this run, and the baselines that raised (Step 3 retries them)
    baselines_done: int = 0
    baseline_errors: list[str] = field(default_factory=list)
    #: result files found damaged (checksum mismatch) and therefore computed again
    damaged: int = 0
    #: scenarios whose tile clips to the same tile as another's (`scenarios.clipped_duplicates`): served
    #: with that scenario's result (counted in `done`) instead of being computed again
    clipped: int = 0

    @property
    def mapper_hit_rate(self) -> float:
        n = self.mapper_hits + self.mapper_misses
        return self.mapper_hits / n if n else 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def safe_run(sc: Scenario) -> ScenarioResult | ScenarioFailure:
    """Run one scenario in a worker; an exception becomes a ScenarioFailure (the sweep goes on)."""
    t0 = time.perf_counter()
    try:
        return run_scenario(sc)
    except Exception as e:  # noqa: BLE001 - recorded with its traceback, reported at the end
        return ScenarioFailure(sc, _message(e), traceback.format_exc(), time.perf_counter() - t0)


def _message(e: Exception) -> str:
    """What a failure says: an input error's own message, else the exception's type and text."""
    return str(getattr(e, "message", None) or f"{type(e).__name__}: {e}")


def mapper_cache_dir(out: str | os.PathLike[str], setting: str | None = None) -> Path | None:
    """The mapper-cache folder: `setting` (a path or "off"), else $ACCO_MAPPER_CACHE, else OUT/.mapper-cache."""
    if setting is None:
        setting = os.environ.get(CACHE_ENV) or None
    if setting is None:
        return Path(out) / ".mapper-cache"
    if setting.strip().lower() == "off":
        return None
    return Path(setting)


@dataclass
class ChunkResult:
    """What a worker returns for one chunk: the results in order, and its mapper-cache counts.

    A result comes pickled (`bytes`, the result file's contents) when the worker was asked to
    `encode`: the parent then writes it as is instead of unpickling and pickling it again.
    """

    results: list[ScenarioResult | ScenarioFailure | bytes]
    hits: int
    misses: int


#: garbage-collection thresholds of a pool worker: a scenario allocates millions of short-lived
#: objects and few reference cycles (an evicted group's memos are emptied, see `scenarios._GroupCache`),
#: so young collections can be rarer; full ones are what cost (every object of the mapper cache)
WORKER_GC_THRESHOLDS = (50_000, 20, 20)
#: a cache-folder load adding at least this many entries moves the heap out of the collector's
#: sight (`gc.freeze`: the mapper cache is never garbage) after one full collection
FREEZE_AFTER_LOAD = 5_000

_in_worker = False


def worker_init() -> None:
    """Set-up of a Step-1 pool worker process (garbage-collection thresholds)."""
    global _in_worker
    _in_worker = True
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


def run_chunk(
    chunk: list[Scenario],
    cache_dir: str | None = None,
    on_result: Callable[[ScenarioResult | ScenarioFailure], None] | None = None,
    encode: bool = False,
) -> ChunkResult:
    """Run a chunk of scenarios in this process (a worker), sharing the folder's mapper searches.

    `on_result` (in-process runs) receives every result as soon as it is done instead of the
    returned list; `encode` returns every result pickled (as `save_result` writes it). The folder
    is best effort: one that cannot be read or written only costs searches.
    """
    cache = DEFAULT_CACHE
    if cache_dir is not None:
        try:
            added = cache.load_dir(cache_dir)
        except OSError:
            added = 0
        if _in_worker and added >= FREEZE_AFTER_LOAD:
            gc.collect()
            gc.freeze()
    h0, m0 = cache.hits, cache.misses
    results: list[ScenarioResult | ScenarioFailure | bytes] = []
    for sc in chunk:
        r = safe_run(sc)
        if on_result is not None:
            on_result(r)
        elif encode and isinstance(r, ScenarioResult):
            results.append(encode_result(r))
        else:
            results.append(r)
    if cache_dir is not None:
        try:
            cache.save_shard(cache_dir)
        except OSError:
            pass
    return ChunkResult(results, cache.hits - h0, cache.misses - m0)


@dataclass(frozen=True)
class BaselineJob:
    """The baselines of one hardware × workload (`acco.reports.baselines`), computed in Step 1 and stored for Step 3."""

    hardware_path: str
    workload_path: str
    settings: Any  # acco.reports.baselines.BaselineSettings
    path: Path

    @property
    def label(self) -> str:
        return f"{hardware_name(self.hardware_path)} / {workload_name(self.workload_path)}"


def baseline_jobs(sweep: Sweep, step1: Path, scenarios: Iterable[Scenario] | None = None, force: bool = False) -> list[BaselineJob]:
    """A job per hardware × workload of the sweep with scenarios whose baseline file is missing (all with `force`);
    `scenarios` None: the sweep's (its hardware × workloads when it has any, nothing expanded)."""
    from acco.reports.baselines import BaselineSettings

    settings = BaselineSettings.from_sweep(sweep)
    if scenarios is None:
        pairs = dict.fromkeys((h, sweep.workload_path(h, w)) for h in sweep.hardware for w in sweep.workloads) \
            if count_scenarios(sweep) else {}
    else:
        pairs = dict.fromkeys((s.hardware_path, s.workload_path) for s in scenarios)
    jobs = [BaselineJob(h, w, settings, baseline_path(step1, h, w, settings)) for h, w in pairs]
    return [j for j in jobs if force or not file_intact(j.path)]


def run_baseline_job(job: BaselineJob) -> tuple[bytes | None, str, int, int]:
    """Compute one job's baselines in this process, with the process's mapper memo.

    The mapper-cache folder is left alone: the baselines search mostly the original (non-causal)
    network, which no scenario shares, and loading the folder of a large sweep costs more than they
    do. Returns (encoded `BaselineRun` or None, error message, mapper hits, mapper misses): a
    baseline that raises is reported, not fatal (Step 3 computes it again and shows the error then).
    """
    from acco.reports.baselines import compute_baselines

    cache = DEFAULT_CACHE
    h0, m0 = cache.hits, cache.misses
    try:
        data, err = encode_result(compute_baselines(job.hardware_path, job.workload_path, job.settings)), ""
    except Exception as e:  # noqa: BLE001 - see above
        data, err = None, _message(e)
    return data, err, cache.hits - h0, cache.misses - m0


def _store_baselines(job: BaselineJob, out: tuple[bytes | None, str, int, int], summary: RunSummary) -> None:
    data, err, hits, misses = out
    if data is None:
        summary.baseline_errors.append(f"{job.label}: {err}")
    else:
        atomic_write_bytes(job.path, data)
        summary.baselines_done += 1
    summary.mapper_hits += hits
    summary.mapper_misses += misses


def plan_chunks(todo: list[Scenario], jobs: int = 1) -> list[list[Scenario]]:
    """Chunks of scenarios that share work (`group_key` and caching mode), in first-seen order.

    With several workers, the largest chunks are halved until there are at least 3 per worker,
    so that a small sweep still keeps every worker busy.
    """
    groups: dict[tuple, list[Scenario]] = {}
    for sc in todo:
        groups.setdefault(group_key(sc) + (sc.h_cache, sc.v_cache), []).append(sc)
    chunks = list(groups.values())
    want = 3 * jobs if jobs > 1 else 1
    while chunks and len(chunks) < want:
        i = max(range(len(chunks)), key=lambda j: len(chunks[j]))
        big = chunks[i]
        if len(big) < 2:
            break
        half = (len(big) + 1) // 2
        chunks[i : i + 1] = [big[:half], big[half:]]
    return chunks


def write_manifest(step1: Path, sweep: Sweep, scenarios: Iterable[Scenario] | None = None) -> Path:
    """Record what this sweep's results are made from (`acco.provenance.sweep_record`: sweep, input hashes,
    scenarios) and the version, seed and mapper, in `step1/manifests/<sweep name>.json` (one per sweep:
    sweeps sharing a folder keep their own; Step 2 checks it)."""
    import numpy

    from acco.provenance import manifest_path, sweep_record, write_record

    doc = sweep_record(sweep, scenarios)
    doc.update({
        "acco_version": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sweep_text": Path(sweep.path).read_text(),
        "seed": sweep.seed,
        "mapper": {"engine": sweep.mapper.engine, "lpf_limit": sweep.mapper.lpf_limit,
                   "iterations": sweep.mapper.iterations, "chains": sweep.mapper.chains},
        "model": sweep.mapper.model,
        "spatial": {"mode": sweep.mapper.spatial, "top": sweep.mapper.spatial_top,
                    "hint": {oa: list(dims) for oa, dims in sweep.mapper.spatial_hint}},
    })
    p = manifest_path(step1, sweep)
    write_record(p, doc)
    (step1 / "manifest.json").unlink(missing_ok=True)  # the single manifest of earlier versions described the last sweep only
    return p


Dups = dict[Scenario, list[Scenario]]


def _store(step1: Path, r: ScenarioResult | ScenarioFailure, summary: RunSummary, dups: Dups | None = None,
           bar: tqdm | None = None) -> None:
    if isinstance(r, ScenarioFailure):
        save_failure(step1, r)
        summary.failed.append(f"{r.scenario.id}: {r.message}")
    else:
        save_result(step1, r)
        summary.done += 1
    if dups:
        _store_duplicates(step1, r, dups.pop(r.scenario, ()), summary, bar)


def _store_duplicates(step1: Path, r: ScenarioResult | ScenarioFailure, same: Sequence[Scenario], summary: RunSummary,
                      bar: tqdm | None) -> None:
    """Store the result (or failure) of a computed scenario for each scenario clipping to the same tile, under its own
    scenario (its own file, name and fields; everything else as computed, `seconds` the computation's)."""
    for sc in same:
        if isinstance(r, ScenarioFailure):
            save_failure(step1, replace(r, scenario=sc))
            summary.failed.append(f"{sc.id}: {r.message}")
        else:
            save_result(step1, replace(r, scenario=sc))
            summary.done += 1
        summary.clipped += 1
        if bar is not None:
            bar.update(1)


def run_sweep(
    sweep: Sweep,
    out: str | os.PathLike[str],
    jobs: int = 1,
    force: bool = False,
    executor: str = "process",
    scheduler: str | None = None,
    progress: bool = True,
    submit: Callable[..., Any] | None = None,
    mapper_cache: str | None = None,
    baselines: bool = True,
) -> RunSummary:
    """Run every scenario of `sweep` not yet done into `out/step1/`; return what happened.

    `mapper_cache`: the mapper-cache folder, or "off" (default: $ACCO_MAPPER_CACHE, else OUT/.mapper-cache).
    `baselines`: also compute the baselines Step 3 compares with (one job per hardware × workload,
    stored under `out/step1/_baselines/`, skipped when present).
    """
    t0 = time.perf_counter()
    step1 = Path(out) / "step1"
    step1.mkdir(parents=True, exist_ok=True)
    cdir = mapper_cache_dir(out, mapper_cache)
    for folder in (step1, cdir):  # temporaries of killed runs
        if folder is not None:
            remove_stale(folder)
    write_manifest(step1, sweep)
    summary = RunSummary(total=count_scenarios(sweep), mapper_cache=str(cdir) if cdir else None)
    cache_dir = str(cdir) if cdir else None
    bjobs = baseline_jobs(sweep, step1, None, force) if baselines else []
    present = 0 if force else len(result_files(step1))
    if progress:
        todo = summary.total if not present else None
        print(start_line(summary.total, todo, jobs if executor != "dask" else None, present), file=sys.stderr, flush=True)
    bar = tqdm(total=summary.total, desc="step 1", unit="scenario", disable=not progress, file=sys.stderr)
    dups: Dups = {}
    work = _stream(sweep, step1, force, 1 if executor != "dask" and jobs <= 1 else max(jobs, 2), summary, bar, dups)
    first = next(work, None)
    chunks = chain([first], work) if first is not None else iter(())
    try:
        if first is None and not bjobs:
            pass
        elif executor == "dask":
            chunks = list(chunks)  # type: ignore[assignment]  # Dask maps a list
            _run_dask(chunks, step1, scheduler, summary, bar, cache_dir, bjobs, dups)
        elif jobs <= 1:
            def store(r: ScenarioResult | ScenarioFailure) -> None:
                _store(step1, r, summary, dups, bar)
                bar.update(1)

            for chunk in chunks:
                _store_chunk(step1, run_chunk(chunk, cache_dir, store), summary, bar, dups=dups)
            for job in bjobs:
                _store_baselines(job, run_baseline_job(job), summary)
        else:
            _run_pool(chunks, step1, jobs, summary, bar, cache_dir, bjobs, dups)
    finally:
        bar.close()
    if cache_dir is not None and (summary.done or summary.failed):
        try:
            compact_dir(cache_dir)
        except OSError:
            pass
    summary.seconds = time.perf_counter() - t0
    return summary


#: scenarios read from the sweep at a time (`_batches`): memory stays flat in the sweep's size
BATCH = 20_000


def _batches(scenarios: Iterable[Scenario], size: int | None = None) -> Iterator[list[Scenario]]:
    """Consecutive scenarios, `size` or up to a tile row (`len(sweep.tile_x)`) more at a time, cut only between
    scenarios that differ by more than their tile width, so that a batch holds whole chunks (`plan_chunks`).
    `clipped_duplicates` looks for equivalent tiles within a batch: a group of scenarios differing only by their
    tile (neighbours in `iter_scenarios`) is seen whole when it holds at most `size` scenarios; a larger one
    may have a few equivalent tiles computed once per batch, never a result stored for a scenario it is not
    equivalent to."""
    size = BATCH if size is None else size
    batch: list[Scenario] = []
    last: tuple | None = None
    for sc in scenarios:
        key = (sc.hardware_path, sc.workload_path, sc.target, sc.h_cache, sc.v_cache, sc.initial_dilation, sc.cuts, sc.tile_y)
        if len(batch) >= size and key != last:
            yield batch
            batch = []
        batch.append(sc)
        last = key
    if batch:
        yield batch


def _stream(sweep: Sweep, step1: Path, force: bool, jobs: int, summary: RunSummary, bar: tqdm, dups: Dups) -> Iterator[list[Scenario]]:
    """The chunks to run, made batch by batch as they are asked for: scenarios already done are counted as skipped
    (and damaged ones as such), clipped duplicates go into `dups` (served when the scenario they copy is stored)."""
    for batch in _batches(iter_scenarios(sweep)):
        todo = [s for s in batch if force or not is_done(step1, s)]
        summary.skipped += len(batch) - len(todo)
        bar.update(len(batch) - len(todo))
        if not force:
            summary.damaged += sum(1 for s in todo if result_path(step1, s).exists())
        compute, d = clipped_duplicates(todo)
        dups.update(d)
        yield from plan_chunks(compute, jobs)


#: CPU seconds per scenario for the estimate printed before a run: the paper grid's 3,780 scenarios took
#: 568 s on 2 cores with a cold mapper cache (docs/pipeline.md); a rough guide, tqdm refines it as it runs
CPU_SECONDS_PER_SCENARIO = 0.3


def start_line(total: int, todo: int | None, jobs: int | None, present: int = 0) -> str:
    """What Step 1 says before it starts: the scenario count, what is left, and a rough time estimate.

    `todo` None: not known before the run (scenarios stream; `present` result files are in the folder, those
    of this sweep are skipped as they come): the estimate is for the scenarios beyond `present`."""
    if todo is None:
        todo = max(total - present, 0)
        text = f"step 1: {total:,} scenarios, up to {present:,} already done (result files in the folder), {todo:,} or more to compute"
    else:
        text = f"step 1: {total:,} scenarios, {total - todo:,} already done, {todo:,} to compute"
    if todo and jobs:
        secs = todo * CPU_SECONDS_PER_SCENARIO / jobs
        est = f"{secs / 60:.0f} min" if secs >= 90 else f"{max(secs, 1):.0f} s"
        text += f" on {jobs} processes: roughly {est} (at {CPU_SECONDS_PER_SCENARIO} CPU-s per scenario, the paper grid's rate)"
    return text


def _store_chunk(step1: Path, c: ChunkResult, summary: RunSummary, bar: tqdm, chunk: list[Scenario] | None = None,
                 dups: Dups | None = None) -> None:
    for i, r in enumerate(c.results):
        if isinstance(r, bytes):  # encoded by the worker: written as is
            sc = chunk[i]  # type: ignore[index]
            p = save_encoded(step1, sc, r)
            summary.done += 1
            if dups and sc in dups:
                _store_duplicates(step1, load_result_bytes(r, p), dups.pop(sc), summary, bar)
        else:
            _store(step1, r, summary, dups, bar)
        bar.update(1)
    summary.mapper_hits += c.hits
    summary.mapper_misses += c.misses


def _run_pool(
    chunks: Iterable[list[Scenario]], step1: Path, jobs: int, summary: RunSummary, bar: tqdm, cache_dir: str | None,
    bjobs: Sequence[BaselineJob] = (), dups: Dups | None = None,
) -> None:
    """A process pool with a bounded queue of work (baseline jobs first: the longest); results are stored as each completes."""
    work = chain(bjobs, chunks)
    with worker_pool(jobs, worker_init) as ex:
        pending: dict[Future, Any] = {}
        it: Iterable[Any] = iter(work)

        def submit() -> None:
            for item in it:
                if isinstance(item, BaselineJob):
                    pending[ex.submit(run_baseline_job, item)] = item
                else:
                    pending[ex.submit(run_chunk, item, cache_dir, None, True)] = item
                if len(pending) >= 2 * jobs:
                    break

        submit()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                item = pending.pop(fut)
                if isinstance(item, BaselineJob):
                    _store_baselines(item, fut.result(), summary)
                else:
                    _store_chunk(step1, fut.result(), summary, bar, item, dups)
            submit()


#: seconds to reach a Dask scheduler, and to wait for its first worker before saying there is none
DASK_CONNECT_SECONDS = 10
DASK_WORKER_NOTE_SECONDS = 5


def _await_worker(client: Any, scheduler: str) -> None:
    """Wait for a worker of the cluster, saying so on stderr when none came within a few seconds."""
    try:
        client.wait_for_workers(1, timeout=DASK_WORKER_NOTE_SECONDS)
    except (TimeoutError, OSError):
        print(f"step 1: no Dask worker connected to {scheduler} after {DASK_WORKER_NOTE_SECONDS} s; waiting for one "
              "(start one with `dask worker ADDRESS`, Ctrl-C to stop)", file=sys.stderr, flush=True)
        client.wait_for_workers(1)


def _run_dask(
    chunks: list[list[Scenario]], step1: Path, scheduler: str | None, summary: RunSummary, bar: tqdm, cache_dir: str | None,
    bjobs: Sequence[BaselineJob] = (), dups: Dups | None = None,
) -> None:
    """Submit the scenarios to an existing Dask distributed cluster (optional extra `distributed`)."""
    from acco.errors import EnvironmentFailure

    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the optional extra
        raise EnvironmentFailure("--executor dask needs the optional package 'distributed' (pip install distributed)") from None
    if not scheduler:
        raise EnvironmentFailure("--executor dask needs --scheduler ADDRESS of a running Dask scheduler")
    try:
        client = Client(scheduler, timeout=f"{DASK_CONNECT_SECONDS}s")
    except (OSError, ValueError) as e:
        raise EnvironmentFailure(f"cannot reach the Dask scheduler at {scheduler} ({type(e).__name__}: {e}); "
                                 "start it or correct --scheduler") from None
    with client:
        if bjobs or chunks:
            _await_worker(client, scheduler)
        bfuts = {client.submit(run_baseline_job, j, pure=False): j for j in bjobs}
        futures = client.map(run_chunk, chunks, [cache_dir] * len(chunks), pure=False) if chunks else []
        for fut in as_completed(list(bfuts) + list(futures)):
            if fut in bfuts:
                _store_baselines(bfuts[fut], fut.result(), summary)
            else:
                _store_chunk(step1, fut.result(), summary, bar, dups=dups)


__all__ = ["BaselineJob", "CACHE_ENV", "ChunkResult", "baseline_jobs", "run_baseline_job", "RunSummary", "mapper_cache_dir", "plan_chunks", "run_chunk", "run_sweep", "safe_run", "write_manifest"]
