"""Helpers for the input layer's error messages. `InputError` and `EnvironmentFailure` live in
`acco.errors` (the bottom layer) and are re-exported here for existing imports and pickles."""

from __future__ import annotations

from typing import Any

from acco.errors import EnvironmentFailure, InputError

__all__ = ["EnvironmentFailure", "InputError", "describe_os_error", "show"]


def show(value: Any) -> str:
    """Render a YAML value compactly for an error message (strings quoted, containers abbreviated)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping " + _clip(repr(dict(value)))
    if isinstance(value, (list, tuple)):
        return "a list " + _clip(repr(list(value)))
    return _clip(repr(value))


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_os_error(e: OSError) -> str:
    """One line naming the cause of an operating-system error and the file it concerns."""
    import errno

    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    code = getattr(e, "errno", None)
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return f"disk full{where}: free space or choose another --out"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write{where} ({e.strerror}): choose a writable --out"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"not a folder{where}: --out must name a folder"
    return f"{e.strerror or type(e).__name__}{where}"
