"""Step-1 result files: atomic writes, a restricted unpickler, and finding what is done.

A result is written to a temporary file in the same folder and renamed into place, so a reader (or
a rerun after a kill) sees either the whole file or none. Loading admits only the project's result
classes and plain containers: a pickle that would run code is refused, as is a result of another
schema version (rerun Step 1 then).
"""

from __future__ import annotations

import gc
import io
import json
import os
import pickle
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from acco.io.atomic import atomic_write_bytes
from acco.io.checksum import ChecksumError, seal, sealed_digest, unseal
from acco.dse.result import SCHEMA_VERSION, Scenario, ScenarioFailure, ScenarioResult

RESULT_SUFFIX = ".pkl"
FAILURE_SUFFIX = ".failed.json"

#: the only classes a result pickle may contain (besides builtins: tuple, dict, str, int, float, bool, None)
_ALLOWED = {
    ("acco.dse.result", "ScenarioResult"),
    ("acco.dse.result", "Scenario"),
    ("acco.dse.result", "RangeResult"),
    ("acco.dse.result", "KindResult"),
    ("acco.dse.result", "EntryTable"),
    ("acco.dse.sweep", "MapperSettings"),
    ("acco.causal.readings", "Reading"),
    ("acco.causal.readings", "EntryReading"),
    ("acco.reports.baselines", "BaselineRun"),
    ("acco.reports.baselines", "BaselineCost"),
    ("acco.reports.baselines", "FixedCausalPart"),
}
_ALLOWED_BUILTINS = {"tuple", "dict", "list", "frozenset", "set", "int", "float", "str", "bool", "complex"}


class ResultFileError(Exception):
    """A result file that cannot be used (refused class, other schema version, corrupt)."""


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module == "builtins" and name in _ALLOWED_BUILTINS:
            return super().find_class(module, name)
        raise ResultFileError(f"refused to load {module}.{name}: not an ACCO result type")


def result_path(step1: Path, sc: Scenario) -> Path:
    """Where the result of `sc` lives."""
    return step1 / (sc.file_stem + RESULT_SUFFIX)


def failure_path(step1: Path, sc: Scenario) -> Path:
    """Where the failure record of `sc` lives."""
    return step1 / (sc.file_stem + FAILURE_SUFFIX)


def encode_result(res: Any) -> bytes:
    """A result file's contents, or a baseline file's (a `BaselineRun`), sealed with its checksum: a worker
    process encodes, the parent only writes."""
    return seal(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))


def save_encoded(step1: Path, sc: Scenario, data: bytes) -> Path:
    """Store the encoded result of `sc` atomically; a failure record of the same scenario is removed."""
    p = result_path(step1, sc)
    atomic_write_bytes(p, data)
    failure_path(step1, sc).unlink(missing_ok=True)  # another run may remove it at the same time
    return p


def save_result(step1: Path, res: ScenarioResult) -> Path:
    """Store a result atomically; a failure record of the same scenario is removed."""
    return save_encoded(step1, res.scenario, encode_result(res))


def save_failure(step1: Path, fail: ScenarioFailure) -> Path:
    """Store a failure record (JSON: parameters, message, traceback) atomically."""
    p = failure_path(step1, fail.scenario)
    sc = fail.scenario
    doc = {
        "scenario_id": sc.id,
        "hardware": sc.hardware_path,
        "workload": sc.workload_path,
        "target": sc.target,
        "tile_x": sc.tile_x,
        "tile_y": sc.tile_y,
        "h_cache": sc.h_cache,
        "v_cache": sc.v_cache,
        "cuts": list(sc.cuts),
        "initial_dilation": sc.initial_dilation,
        "batch": sc.batch,
        "cut_max": sc.cut_max,
        "message": fail.message,
        "traceback": fail.traceback,
        "seconds": round(fail.seconds, 3),
    }
    atomic_write_bytes(p, (json.dumps(doc, indent=1) + "\n").encode())
    return p


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a block that allocates many small acyclic objects
    (loading and formatting results: collections of the whole heap were half of the load time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _unpickle_without_gc(data: bytes) -> Any:
    """The restricted unpickler under `gc_paused` (a result is hundreds of small acyclic objects)."""
    with gc_paused():
        return _Restricted(io.BytesIO(data)).load()


def load_result(path: str | os.PathLike[str]) -> ScenarioResult:
    """Load one result through the restricted unpickler; refuse a damaged file (checksum), other classes
    and other schema versions."""
    return load_result_bytes(Path(path).read_bytes(), path)


def load_result_bytes(data: bytes, path: str | os.PathLike[str]) -> ScenarioResult:
    """`load_result` of a file's bytes already read (`path` names it in messages)."""
    try:
        obj = _unpickle_without_gc(unseal(data, str(path)))
    except ChecksumError as e:
        raise ResultFileError(f"{e}; rerun Step 1 (it recomputes damaged results)") from None
    except ResultFileError as e:
        raise ResultFileError(f"{path}: {e}") from None
    except Exception as e:  # truncated or garbage file
        raise ResultFileError(f"{path}: not a readable ACCO result ({type(e).__name__}: {e}); rerun Step 1") from None
    if not isinstance(obj, ScenarioResult):
        raise ResultFileError(f"{path}: not an ACCO scenario result")
    if obj.schema_version != SCHEMA_VERSION:
        raise ResultFileError(
            f"{path}: result schema version {obj.schema_version}, this ACCO reads {SCHEMA_VERSION}; rerun Step 1 (with --force)"
        )
    return obj


def is_done(step1: Path, sc: Scenario) -> bool:
    """True when the result of exactly this scenario exists and passes its checksum.

    The file name carries every setting and the input files' hash, and files appear only whole
    (atomic rename); a damaged file (checksum mismatch) is not done, so a rerun recomputes it.
    """
    return file_intact(result_path(step1, sc))


def file_intact(path: Path) -> bool:
    """True when `path` exists and its payload matches its checksum (a legacy file without one: exists)."""
    try:
        unseal(path.read_bytes(), str(path))
    except (OSError, ChecksumError):
        return False
    return True


def result_digest(data: bytes) -> str:
    """The checksum naming a result file's content (its stated sha256, or the sha256 of a legacy file)."""
    return sealed_digest(data)


#: Step 1 keeps each hardware × workload's computed baselines here (Step 3 reads them)
BASELINE_DIR = "_baselines"


def baseline_path(step1: Path, hw_path: str, wl_path: str, settings: Any) -> Path:
    """Where the baselines of one hardware × workload under `settings` (a `BaselineSettings`) live.

    The name carries a digest of the input files' bytes and of every setting the baselines depend
    on (tiles, caching modes, targets, mapper, seed; not Step 3's on-chip threshold, applied on
    reading), so a changed input or setting never reads an old file.
    """
    import hashlib

    from acco.dse.scenarios import file_sha256
    from acco.dse.sweep import hardware_name, workload_name

    doc = [SCHEMA_VERSION, file_sha256(hw_path), file_sha256(wl_path), list(settings.tile_x), list(settings.tile_y),
           [list(c) for c in settings.caching], list(settings.targets), repr(settings.mapper), settings.seed]
    digest = hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:16]
    return step1 / BASELINE_DIR / f"{hardware_name(hw_path)}__{workload_name(wl_path)}__{digest}{RESULT_SUFFIX}"


def load_baselines(path: str | os.PathLike[str]) -> Any:
    """The `BaselineRun` stored at `path`, through the restricted unpickler; None when absent or unusable."""
    from acco.reports.baselines import BaselineRun

    try:
        p = Path(path)
        obj = _unpickle_without_gc(unseal(p.read_bytes(), str(p)))
    except Exception:  # noqa: BLE001 - absent, damaged, truncated or refused: the baselines are computed again
        return None
    return obj if isinstance(obj, BaselineRun) else None


def result_files(step1: Path) -> list[Path]:
    """Every scenario result file under a step-1 folder, sorted (not the baseline files of `BASELINE_DIR`)."""
    return sorted(p for p in step1.rglob("*" + RESULT_SUFFIX) if BASELINE_DIR not in p.relative_to(step1).parts)


def iter_failures(step1: Path) -> Iterator[dict]:
    """Failure records under a step-1 folder."""
    for p in sorted(step1.rglob("*" + FAILURE_SUFFIX)):
        try:
            yield json.loads(p.read_text())
        except (OSError, ValueError):
            continue


__all__ = [
    "BASELINE_DIR", "ResultFileError", "baseline_path", "encode_result", "file_intact", "load_result_bytes", "result_digest", "gc_paused", "load_baselines", "result_files", "failure_path", "is_done", "iter_failures", "load_result",
    "result_path", "save_encoded", "save_failure", "save_result",
]
