"""Safe YAML reading that remembers line numbers, and a small typed cursor for located checks.

Every mapping/list read from a file carries the line of each of its entries, so a
check deep inside a loader can raise an `InputError` naming file, field path and line.
Duplicate keys are an error (plain PyYAML silently keeps the last one).
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from acco.errors import InputError
from acco.io.errors import show

#: marker for "no value given" (distinct from an explicit YAML null)
MISSING: Any = object()

#: the largest integer an input file may hold (sizes, loop sizes, tiles, ...): every count built from
#: such numbers stays exact in float64 and far from int64 overflow; 2**80 is a typo, not a memory size
MAX_INT = 2**53


class LineDict(dict):  # type: ignore[type-arg]
    """A dict built from YAML that knows the line of itself, of each key and of each value."""

    line: int | None = None
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]


class LineList(list):  # type: ignore[type-arg]
    """A list built from YAML that knows the line of itself and of each item."""

    line: int | None = None
    item_lines: list[int]


#: libyaml's parser when PyYAML has it (~10x faster on the large workload files), else the Python one
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[misc,valid-type]
    """SafeLoader producing LineDict/LineList and rejecting duplicate or unhashable keys."""

    duplicate_keys_allowed = False


class _LenientLoader(_Loader):
    """The same, but a repeated key keeps its last value (plain PyYAML's rule, which ZigZag files rely on)."""

    duplicate_keys_allowed = True


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    data.value_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
            ) from None
        if key in data and not loader.duplicate_keys_allowed:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        data[key] = loader.construct_object(value_node, deep=False)
        data.key_lines[key] = key_node.start_mark.line + 1
        data.value_lines[key] = value_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = []
    yield data
    for child in node.value:
        data.append(loader.construct_object(child, deep=False))
        data.item_lines.append(child.start_mark.line + 1)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def read_yaml(path: str | os.PathLike[str], allow_duplicate_keys: bool = False) -> Any:
    """Parse a YAML file safely (no Python tags; duplicate keys refused unless allowed); any problem is one InputError."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError(file, "", "an existing YAML file", "no such file")
    if not p.is_file():
        raise InputError(file, "", "a YAML file", "a directory" if p.is_dir() else "not a regular file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        hint = ""
        if p.suffix.lower() == ".onnx" or p.read_bytes()[:1] == b"\x08":  # an ONNX protobuf opens with ir_version
            hint = (f"; an ONNX model is converted to a workload file first: python -m acco import-onnx {file} "
                    "--mapping MAP.yaml --time-axis H|W -o WL.yaml (docs/inputs.md)")
        raise InputError(file, "", "a UTF-8 text file (a YAML input)", f"undecodable bytes ({e.reason}){hint}") from None
    except OSError as e:
        raise InputError(file, "", "a readable file", e.strerror or str(e)) from None
    try:
        loader = _LenientLoader if allow_duplicate_keys else _Loader
        return yaml.load(text, Loader=loader)  # noqa: S506 - both are SafeLoader subclasses
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = (e.problem or "a parse error") + (f" ({e.context})" if e.context else "")
        raise InputError(
            file,
            "",
            "valid YAML",
            problem,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as e:
        raise InputError(file, "", "valid YAML", str(e).replace("\n", " ")) from None


# --------------------------------------------------------------------------------------
# The cursor: a value plus where it came from
# --------------------------------------------------------------------------------------
class Field:
    """A value read from a file together with its file, field path and line, for located errors."""

    __slots__ = ("file", "path", "value", "line")

    def __init__(self, file: str, path: str, value: Any, line: int | None) -> None:
        self.file = file
        self.path = path
        self.value = value
        self.line = line

    @classmethod
    def root(cls, file: str | os.PathLike[str], value: Any) -> Field:
        """The cursor of a whole document (whole-file errors carry no line)."""
        return cls(str(file), "", value, None)

    # ---- errors -----------------------------------------------------------------------
    def error(self, expected: str, got: str | None = MISSING) -> InputError:
        """An InputError at this field; `got` defaults to the rendered value."""
        if got is MISSING:
            got = "nothing (the field is missing)" if self.value is MISSING else show(self.value)
        return InputError(self.file, self.path, expected, got, line=self.line)

    def renamed(self, path: str) -> Field:
        """The same value under another displayed path (e.g. ``layers[id=4]`` instead of ``layers[3]``)."""
        return Field(self.file, path, self.value, self.line)

    @property
    def missing(self) -> bool:
        """True when the field is absent from its mapping."""
        return self.value is MISSING

    # ---- navigation ---------------------------------------------------------------------
    def _child_path(self, key: Any) -> str:
        return f"{self.path}.{key}" if self.path else str(key)

    def child(self, key: Any) -> Field:
        """The entry `key` of this mapping (value MISSING, line of the mapping, if absent)."""
        d = self.value
        if isinstance(d, dict) and key in d:
            line = getattr(d, "value_lines", {}).get(key, self.line)
            return Field(self.file, self._child_path(key), d[key], line)
        return Field(self.file, self._child_path(key), MISSING, self.line)

    def key_field(self, key: Any) -> Field:
        """A cursor on the key itself (value = key), for errors about the key."""
        line = getattr(self.value, "key_lines", {}).get(key, self.line)
        return Field(self.file, self._child_path(key), key, line)

    def items(self) -> Iterator[tuple[Any, Field]]:
        """(key, cursor) pairs of this mapping, in file order."""
        for k in self.value:
            yield k, self.child(k)

    def elements(self) -> Iterator[Field]:
        """Cursors on the items of this list, in file order."""
        lines = getattr(self.value, "item_lines", None)
        for i, v in enumerate(self.value):
            line = lines[i] if lines and i < len(lines) else self.line
            yield Field(self.file, f"{self.path}[{i}]", v, line)

    # ---- shape checks -----------------------------------------------------------------
    def mapping(
        self,
        what: str = "a mapping",
        required: tuple[str, ...] | None = None,
        optional: tuple[str, ...] = (),
        describe: Callable[[str], str] | None = None,
    ) -> Field:
        """Check this is a mapping with string keys; with `required` given, also reject unknown and missing keys."""
        if self.missing or not isinstance(self.value, dict):
            raise self.error(what)
        for k in self.value:
            if not isinstance(k, str):
                raise self.key_field(k).error(f"a text key in {what}", f"key {show(k)}")
        if required is None:
            return self
        known = tuple(required) + tuple(optional)
        for k in self.value:
            if k not in known:
                raise unknown_key(self.key_field(k), known)
        for k in required:
            if k not in self.value:
                child = self.child(k)
                raise child.error(describe(k) if describe else "a value (required field)")
        return self

    def seq(self, what: str = "a list", min_len: int = 0) -> Field:
        """Check this is a list (of at least `min_len` items)."""
        if self.missing or not isinstance(self.value, list):
            raise self.error(what)
        if len(self.value) < min_len:
            raise self.error(what, "an empty list" if not self.value else f"{len(self.value)} items")
        return self

    def text(self, what: str = "a non-empty text") -> str:
        """A non-empty string."""
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error(what)
        return self.value

    def integer(self, what: str = "an integer") -> int:
        """An integer (booleans and floats refused, even 3.0) of magnitude at most MAX_INT (2**53)."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(what)
        if abs(self.value) > MAX_INT:
            raise self.error(f"{what} of at most 2**53 = {MAX_INT}")
        return self.value

    def pos_int(self, what: str = "a positive integer") -> int:
        """An integer > 0."""
        v = self.integer(what)
        if v <= 0:
            raise self.error(what)
        return v

    def nonneg_int(self, what: str = "a non-negative integer") -> int:
        """An integer >= 0."""
        v = self.integer(what)
        if v < 0:
            raise self.error(what)
        return v

    def nonneg_number(self, what: str = "a non-negative number") -> float:
        """A finite int or float in [0, MAX_INT], returned as float."""
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise self.error(what)
        if v > MAX_INT:
            raise self.error(f"{what} of at most 2**53 = {MAX_INT}")
        return float(v)


def unknown_key(key: Field, known: tuple[str, ...] | list[str]) -> InputError:
    """The error for a misspelled or unexpected key: lists the known ones and suggests the closest."""
    name = key.value
    hint = ""
    if isinstance(name, str):
        close = difflib.get_close_matches(name, list(known), n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    return key.error(f"one of the fields {', '.join(known)}", f"unknown field {show(name)}{hint}")


def one_of(values: tuple[str, ...] | list[str]) -> str:
    """Render a short list of allowed names for an 'expected ...' text."""
    return ", ".join(str(v) for v in values)
