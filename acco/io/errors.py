"""The single error type of the input layer: one located, human-readable complaint per bad file."""

from __future__ import annotations

from typing import Any


class InputError(Exception):
    """A malformed input file: names the file, the field path, what was expected and what was found.

    `field` is a path such as ``memories[3].ports.r_port_1`` or ``layers[id=4].loop_sizes.K``
    (empty for whole-file problems such as a YAML syntax error); `got` is already rendered
    text (or None); `line`/`column` are 1-based positions in the file when known.
    """

    def __init__(
        self,
        file: str,
        field: str,
        expected: str,
        got: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = str(file)
        self.field = field
        self.expected = expected
        self.got = got
        self.line = line
        self.column = column
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one-line text shown to users: ``file: field: expected X, got Y (line N)``."""
        parts = [self.file]
        if self.field:
            parts.append(self.field)
        text = ": ".join(parts) + f": expected {self.expected}"
        if self.got is not None:
            text += f", got {self.got}"
        if self.line is not None:
            text += f" (line {self.line}" + (f", column {self.column}" if self.column is not None else "") + ")"
        return text

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (InputError, (self.file, self.field, self.expected, self.got, self.line, self.column))


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


class EnvironmentFailure(Exception):
    """The environment failed, not the input: disk full, no permission, `--out` not a folder, an
    unreachable Dask scheduler. `message` is the one line shown; exit status ENVIRONMENT."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
