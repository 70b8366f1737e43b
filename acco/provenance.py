"""Provenance of the pipeline's outputs: what a table or figure set was made from, checked at every step.

Step 1 keeps, per sweep, a manifest under `OUT/step1/manifests/<sweep name>.json`; Step 2 writes
`OUT/step2/provenance.json` and Step 3 `OUT/step3/provenance.json` beside their outputs (never
inside a CSV, so the tables keep their bytes). A record holds the sweep (name, path, sha256), every
input file's sha256 (keyed by its path from the project folder, so the working folder does not
matter), a digest of the sweep's scenarios (their result file names, which carry every setting and
the input contents) and, from Step 2 on, a digest over the Step-1 results read and how many
scenarios had none.

Before reading, Step 2 compares the sweep's Step-1 manifest with the current files and Step 3 the
Step-2 record; a mismatch or a partial input is refused with one message naming what differs and
the command to run (`ProvenanceError`, exit status 2, outputs untouched).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path
from typing import Any, Iterable

from acco.dse.scenarios import file_sha256, iter_stems
from acco.dse.sweep import Sweep

FORMAT = "acco-provenance-1"
#: file name of a Step-2 or Step-3 record
PROVENANCE_FILE = "provenance.json"
#: Step 1's per-sweep manifests, under OUT/step1/
MANIFEST_DIR = "manifests"

STEP1 = "DfStackCutAndXform_mp_misc.py"
STEP2 = "explore_pickle_compile_readings.py"
STEP3 = "explore_pickle_hierarchy_cache_allocation.py"


class ProvenanceError(Exception):
    """Outputs of an earlier step that do not match the current inputs, or are partial: what differs, what to run."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def command(script: str, sweep: Sweep, out: str | os.PathLike[str], *extra: str) -> str:
    """The shell command running `script` on this sweep and output folder (quoted as needed)."""
    return " ".join(shlex.quote(a) for a in ("python", script, "--sweep", sweep.path, "--out", str(out), *extra))


def _project(sweep: Sweep) -> Path:
    return Path(sweep.project).resolve()


def _label(sweep: Sweep, path: str) -> str:
    """An input's key: its path from the project folder when inside it, else its absolute path."""
    p = Path(path).resolve()
    try:
        return p.relative_to(_project(sweep)).as_posix()
    except ValueError:
        return p.as_posix()


def input_paths(sweep: Sweep) -> list[str]:
    """Every hardware and workload file of the sweep, once each, in sweep order."""
    paths = list(sweep.hardware) + [sweep.workload_path(h, w) for h in sweep.hardware for w in sweep.workloads]
    return list(dict.fromkeys(paths))


def sweep_record(sweep: Sweep, scenarios: Iterable[Any] | None = None) -> dict[str, Any]:
    """What the outputs of `sweep` are made from: the sweep file, the input files, the scenarios."""
    stems = iter_stems(sweep) if scenarios is None else (sc.file_stem for sc in scenarios)
    h, count = hashlib.sha256(), 0
    for stem in stems:  # streamed: the digest of "\n".join(stems), memory flat in the sweep's size
        h.update(f"\n{stem}".encode() if count else stem.encode())
        count += 1
    return {
        "format": FORMAT,
        "sweep": {"name": sweep.name, "path": _label(sweep, sweep.path), "sha256": file_sha256(sweep.path)},
        "inputs": {_label(sweep, p): file_sha256(p) for p in input_paths(sweep)},
        "scenarios": {"count": count, "digest": h.hexdigest()},
    }


def write_record(path: Path, doc: dict[str, Any]) -> None:
    """Write a record (atomically, keys sorted)."""
    from acco.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or None when absent or unreadable."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None


def stamp_step2(folder: Path, record: dict[str, Any], count: int, digest: str = "", missing: int = 0, failed: int = 0) -> Path:
    """Write the Step-2 record of tables in `folder` made from `record` (`sweep_record`): `count` results
    read (their checksums' digest `digest`), `missing` scenarios without a usable result, `failed` failed."""
    doc = dict(record, step=2, results={"count": count, "digest": digest, "missing": missing, "failed": failed},
               tables=sorted(p.name for p in Path(folder).glob("*.csv")))
    write_record(Path(folder) / PROVENANCE_FILE, doc)
    return Path(folder) / PROVENANCE_FILE


def manifest_path(step1: Path, sweep: Sweep) -> Path:
    """Step 1's manifest of this sweep (one per sweep name: several sweeps may share a folder)."""
    return step1 / MANIFEST_DIR / f"{sweep.name}.json"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from record `old` to `new`, one phrase each ([] when the scenarios are the same)."""
    if old.get("scenarios") == new.get("scenarios"):
        return []
    out: list[str] = []
    os_, ns = old.get("sweep", {}), new.get("sweep", {})
    if os_.get("name") != ns.get("name"):
        out.append(f"made from sweep '{os_.get('name')}' ({os_.get('path')}), not '{ns.get('name')}' ({ns.get('path')})")
    elif os_.get("sha256") != ns.get("sha256"):
        out.append(f"sweep {ns.get('path')} edited")
    oi, ni = old.get("inputs", {}), new.get("inputs", {})
    # an input is the same file when its key matches, else when its file name is unique to both (a moved folder)
    by_name = {Path(k).name: k for k in oi}
    if len(by_name) != len(oi):
        by_name = {}
    matched = {k: (k if k in oi else by_name.get(Path(k).name)) for k in ni}
    out += [f"{k} edited" for k, o in matched.items() if o is not None and oi[o] != ni[k]]
    if os_.get("name") == ns.get("name"):
        out += [f"{k} added" for k, o in matched.items() if o is None]
        out += [f"{k} removed" for k in oi if k not in set(matched.values())]
    return out or ["the sweep's scenarios differ"]


def check_step1(sweep: Sweep, out: str | os.PathLike[str], record: dict[str, Any], missing: int, total: int) -> None:
    """Refuse Step 2 when Step 1's results are of other inputs: `missing` of the `total` scenarios have no
    result (nor failure record) and the sweep's Step-1 manifest differs from `record` (or no result at all)."""
    if missing == 0:
        return
    step1 = Path(out) / "step1"
    old = read_record(manifest_path(step1, sweep))
    run1 = command(STEP1, sweep, out)
    if old is not None:
        diff = differences(old, record)
        if diff:
            raise ProvenanceError(
                f"{'; '.join(diff)} since Step 1 ran this sweep in {step1}/ ({missing} of {total} scenarios have no "
                f"result): run Step 1 again, then Step 2: {run1} && {command(STEP2, sweep, out)}"
            )
    if missing == total:
        raise ProvenanceError(
            f"no Step-1 result of sweep '{sweep.name}' in {step1}/ (Step 1 has not run it with these inputs): "
            f"run {run1}, then Step 2"
        )


def check_step2(sweep: Sweep, out: str | os.PathLike[str], allow_partial: bool = False) -> dict[str, Any]:
    """The Step-2 record of OUT/step2/ after checking it against the current sweep and input files.

    Raises ProvenanceError when the tables were made from another sweep or other inputs, have no
    record, or are partial (unless `allow_partial`)."""
    step2 = Path(out) / "step2"
    rec = read_record(step2 / PROVENANCE_FILE)
    redo = f"{command(STEP1, sweep, out)} && {command(STEP2, sweep, out)}"
    if rec is None:
        raise ProvenanceError(
            f"{step2}/ has no provenance record ({PROVENANCE_FILE}: made by an older ACCO, or Step 2 has not run): "
            f"run Step 2: {command(STEP2, sweep, out)}"
        )
    diff = differences(rec, sweep_record(sweep))
    if diff:
        raise ProvenanceError(f"the tables in {step2}/ do not match the current inputs: {'; '.join(diff)}. Run: {redo}")
    missing = int(rec.get("results", {}).get("missing", 0))
    if missing and not allow_partial:
        raise ProvenanceError(
            f"the tables in {step2}/ are partial: {missing} of {rec['scenarios']['count']} scenarios have no result "
            f"(see {step2}/missing.csv). Complete them ({redo}) or pass --allow-partial to use what is there"
        )
    return rec


__all__ = ["MANIFEST_DIR", "PROVENANCE_FILE", "ProvenanceError", "check_step1", "check_step2", "command", "differences",
           "input_paths", "manifest_path", "read_record", "stamp_step2", "sweep_record", "write_record"]
