"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader, or a rerun after a kill, sees either the whole new file or the old one, never half.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file to write `path` in pieces: a temporary file in the same folder, fsynced and renamed
    onto `path` when the block ends without an exception (removed otherwise); mode as by umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)  # pid: see staging.remove_stale
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder, fsync and rename (mode as by umask)."""
    with atomic_writer(path) as f:
        f.write(data)


__all__ = ["atomic_write_bytes", "atomic_writer"]
