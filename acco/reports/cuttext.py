"""Cut sets as table text: `[1,3]`, `[5]`, `[]` — never a number to `pandas.read_csv`, one text per set.

The `cuts` (a scenario's explicit cuts) and `cut_set` (a strategy's cuts) columns of every table use this
form, so a plain `pandas.read_csv` keeps them as text: a dotted form (`0.10`, `0.1`) would be read as
two equal numbers, and an empty one as NaN. The ids are the layer ids cut after, in increasing order.
"""

from __future__ import annotations

from typing import Sequence


def cut_text(cuts: Sequence[int]) -> str:
    """A cut set as text: `[1,3]` (ids cut after, as given), `[]` for none."""
    return "[" + ",".join(str(int(c)) for c in cuts) + "]"


def parse_cut_text(text: object) -> tuple[int, ...]:
    """The ids of a cut-set text written by `cut_text` (or by older tables: `1.3`, empty for none);
    ValueError naming the text otherwise."""
    s = "" if text is None or text != text else str(text).strip()  # None / NaN: no cuts
    if s == "" or s.replace(".", "").isdigit():  # the older dotted form
        return tuple(int(c) for c in s.split(".")) if s else ()
    if not (s.startswith("[") and s.endswith("]")):
        raise ValueError(f"expected a cut set such as [1,3] or [], got {text!r}")
    body = s[1:-1].strip()
    try:
        return tuple(int(c) for c in body.split(",")) if body else ()
    except ValueError:
        raise ValueError(f"expected a cut set such as [1,3] or [], got {text!r}") from None


__all__ = ["cut_text", "parse_cut_text"]
