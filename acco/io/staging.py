"""Outputs replaced as a whole: a step writes a staging folder and swaps it in when complete.

`staged_folder(OUT/step2)` yields a fresh hidden folder beside the final one; when the block ends
without an exception the old folder is renamed aside, the staging folder takes its name and the old
one is removed, so nothing from an earlier run stays beside the new outputs. On an exception (an
error, Ctrl-C) the staging folder is removed and the old outputs stay untouched.

Temporaries of killed runs (staging folders, folders renamed aside, `.tmp` files of atomic writes)
are removed at the start of a step by `remove_stale`: a name carries the writer's process id, and a
temporary whose process is gone (or, without a process id, older than `STALE_SECONDS`) is stale.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from acco.io.atomic import _UMASK

#: age after which a temporary without a process id in its name counts as stale
STALE_SECONDS = 600.0
_PID = re.compile(r"\.(?:staging|old)-(\d+)-|\.(\d+)-[^.]*\.tmp$")


def pid_alive(pid: int) -> bool:
    """True when a process `pid` exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _stale(p: Path, now: float) -> bool:
    m = _PID.search(p.name)
    if m:
        pid = int(m.group(1) or m.group(2))
        return pid != os.getpid() and not pid_alive(pid)
    try:
        return now - p.lstat().st_mtime > STALE_SECONDS
    except OSError:
        return False


def remove_stale(folder: str | os.PathLike[str], recursive: bool = True) -> tuple[int, int]:
    """Remove the temporaries of killed runs under `folder`; return (files or folders removed, bytes freed).

    A final folder that a killed swap left renamed aside (`.NAME.old-*` with no `NAME`) is put back."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0, 0
    now = time.time()
    n = freed = 0
    for p in sorted(folder.glob(".*.old-*")) + sorted(folder.glob(".*.staging-*")):
        if not p.is_dir() or not _stale(p, now):
            continue
        final = folder / p.name[1:].split(".old-")[0]
        if ".old-" in p.name and not final.exists():
            os.replace(p, final)  # the swap was killed between its two renames: the old outputs come back
            continue
        freed += _size(p)
        shutil.rmtree(p, ignore_errors=True)
        n += 1
    for p in (folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")):
        try:
            if p.is_file() and _stale(p, now):
                size = p.stat().st_size
                p.unlink()
                n += 1
                freed += size
        except OSError:
            continue
    return n, freed


def _size(d: Path) -> int:
    total = 0
    for f in d.rglob("*"):
        try:
            total += f.stat().st_size if f.is_file() else 0
        except OSError:
            pass
    return total


@contextmanager
def staged_folder(final: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh staging folder beside `final`, swapped in for `final` when the block completes
    (removed, `final` untouched, when it raises)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final.parent, recursive=False)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-{os.getpid()}-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, final)


def swap_in(new: Path, final: Path) -> None:
    """Put folder `new` in place of `final` (the old one renamed aside, then removed)."""
    os.chmod(new, 0o777 & ~_UMASK)  # mkdtemp's 0700 -> the mode any folder of this user gets
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["STALE_SECONDS", "pid_alive", "remove_stale", "staged_folder", "swap_in"]
