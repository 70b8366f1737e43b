"""Where a sweep's hardware and workload names point (one rule, wherever the sweep file lives).

* The **project folder** of a sweep is the nearest folder at or above the sweep file that holds an
  `inputs/` folder; when none does, the current working folder (if it holds `inputs/`).
* A hardware **name** is `<project>/inputs/hardware/<name>.yaml`; a workload **name** is
  `<project>/inputs/workloads/<family>/<name>.yaml`, where the family is the hardware file's
  `workload_family` key, else the hardware's name without a trailing `_DF`.
* A **path** (it contains `/` or ends in `.yaml`/`.yml`) is absolute, or relative to the project folder.

Every lookup error names the file it looked for and how to fix the entry (docs/pipeline.md).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from acco.errors import InputError
from acco.io.yamlfile import Field, read_yaml

INPUTS = "inputs"
FAMILY_KEY = "workload_family"


def project_folder(sweep_path: str | os.PathLike[str]) -> Path:
    """The project folder of a sweep (see the module docstring); InputError when there is none."""
    start = Path(sweep_path).resolve().parent
    for d in (start, *start.parents):
        if (d / INPUTS).is_dir():
            return d
    cwd = Path.cwd()
    if (cwd / INPUTS).is_dir():
        return cwd
    raise InputError(str(sweep_path), "", f"a sweep inside a project (a folder above it holding {INPUTS}/) "
                     f"or run from a folder holding {INPUTS}/", f"no {INPUTS}/ folder above {start} nor in {cwd}")


def is_path(text: str) -> bool:
    """True when a sweep entry is a file path rather than a name."""
    return "/" in text or text.endswith((".yaml", ".yml"))


def rel(project: str | os.PathLike[str], text: str) -> str:
    """A sweep path: absolute as is, else relative to the project folder (returned relative to the cwd)."""
    p = Path(text)
    return str(p) if p.is_absolute() else os.path.relpath(Path(project) / p)


def hardware_path(project: str | os.PathLike[str], text: str) -> str:
    """The file of a hardware entry (name or path)."""
    return rel(project, text) if is_path(text) else os.path.relpath(Path(project) / INPUTS / "hardware" / f"{text}.yaml")


def default_family(hw_path: str) -> str:
    """Today's rule: the hardware's file stem without a trailing `_DF` (`Meta_prototype_DF` -> `Meta_prototype`)."""
    stem = Path(hw_path).stem
    return stem[: -len("_DF")] if stem.endswith("_DF") else stem


def workload_family(hw_path: str) -> str:
    """The workload family of a hardware file: its `workload_family` key, else `default_family`."""
    try:
        stamp = os.stat(hw_path).st_mtime_ns
    except OSError:
        return default_family(hw_path)
    return _family(hw_path, stamp)


@functools.lru_cache(maxsize=256)
def _family(hw_path: str, stamp: int) -> str:
    """`workload_family` for one version of the file (read once per modification time)."""
    try:
        data = read_yaml(hw_path)
    except InputError:
        return default_family(hw_path)
    if isinstance(data, dict) and FAMILY_KEY in data:
        return Field.root(hw_path, data).child(FAMILY_KEY).text("a workload family (a folder name under inputs/workloads/)")
    return default_family(hw_path)


def workload_path(project: str | os.PathLike[str], hw_path: str, text: str) -> str:
    """The workload file of a workload entry for the hardware at `hw_path` (name -> family folder, or a path)."""
    if is_path(text):
        return rel(project, text)
    return os.path.relpath(Path(project) / INPUTS / "workloads" / workload_family(hw_path) / f"{text}.yaml")


def hardware_hint(project: str | os.PathLike[str], text: str) -> str:
    """What to do when a hardware entry finds no file: the names that exist, or how paths resolve."""
    if is_path(text):
        return f"relative paths start at the project folder {os.path.relpath(project)}/; give an absolute path or fix it"
    names = sorted(p.stem for p in (Path(project) / INPUTS / "hardware").glob("*.yaml"))
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return f"known hardware: {shown or 'none'}; or give a path to a hardware file"


def workload_hint(project: str | os.PathLike[str], hw_path: str, text: str) -> str:
    """What to do when a workload entry finds no file for a hardware: where it exists, and the two fixes."""
    if is_path(text):
        return f"relative paths start at the project folder {os.path.relpath(project)}/; give an absolute path or fix it"
    fam = workload_family(hw_path)
    stem = Path(hw_path).stem
    # the family sharing the longest prefix with the hardware's name first (Meta_halfA_DF -> Meta_prototype)
    have = sorted((p.parent.name for p in (Path(project) / INPUTS / "workloads").glob(f"*/{text}.yaml")),
                  key=lambda f: (-len(os.path.commonprefix([f, stem])), f))
    where = f"it exists for families {', '.join(sorted(have))}" if have else "no workload family has it"
    return (f"the family folder '{fam}' comes from the hardware's '{FAMILY_KEY}' key, else its name without _DF; "
            f"{where}: add e.g. '{FAMILY_KEY}: {have[0] if have else 'FAMILY'}' to {hw_path}, "
            f"or give the workload as a path")


__all__ = ["FAMILY_KEY", "default_family", "hardware_hint", "hardware_path", "is_path", "project_folder", "rel",
           "workload_family", "workload_hint", "workload_path"]
