"""The errors every layer raises, at the bottom of the package (nothing here imports ACCO):
a malformed input (`InputError`) and a failed environment (`EnvironmentFailure`)."""

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


class EnvironmentFailure(Exception):
    """The environment failed, not the input: disk full, no permission, `--out` not a folder, an
    unreachable Dask scheduler. `message` is the one line shown; exit status ENVIRONMENT."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
