"""The packed per-entry tables of Step-1 results (schema 2) and Step 2's direct CSV formatting.

Step 1 stores each kind's entry readings column-wise (`EntryTable`) so that Step 2 loads a result
about ten times faster; Step 2 formats `layers.csv` itself instead of through pandas. Both must be
lossless: the entries unpack to exactly what was packed, and a field is written as pandas writes it.
"""

from __future__ import annotations

import io
import math
import pickle

import pandas as pd
import pytest

from acco.causal.readings import EntryReading, Reading
from acco.dse.result import EntryTable
from acco.reports.compile import csv_field


def _entries() -> tuple[EntryReading, ...]:
    return (
        EntryReading(0, "copy", Reading(1, 2, 0, 0, 5, 6, 0, 8)),
        EntryReading(1, "layer", Reading(2**40 + 3, 99, 7, 8, 0, 0, 12, 0), 123.456, (("rf", 0.1), ("gb", 1e16), ("dram", 2.5e-300))),
        EntryReading(1, "copy", Reading()),
        EntryReading(7, "layer", Reading(10, 20, 0, 0, 0, 0, 0, 0), 0.0, (("gb", 3.0000000000000004), ("rf", 7.0))),
    )


def test_entry_table_round_trips_exactly() -> None:
    es = _entries()
    tb = EntryTable.of(es)
    assert tb.n == len(es)
    assert tb.entries() == es  # ints, floats (bit for bit) and level order per entry
    again = pickle.loads(pickle.dumps(tb, protocol=pickle.HIGHEST_PROTOCOL))
    assert again.entries() == es
    assert EntryTable.of(()).entries() == ()


def test_entry_table_refuses_an_unknown_entry_kind() -> None:
    with pytest.raises(ValueError):
        EntryTable.of((EntryReading(0, "weights", Reading()),))


@pytest.mark.parametrize("v", [
    0.1, 1.0, 1e16, 1.2345678901234567e15, 1e-5, 123456789.123456789, 3.0000000000000004, 2.5e-300, -0.0,
    math.nan, 0, -17, 2**62, True, False, None, "", "plain", "a,b", 'say "hi"', "two\nlines", "x/y.z",
])
def test_csv_field_writes_what_pandas_writes(v: object) -> None:
    buf = io.StringIO()
    pd.DataFrame({"a": [v], "b": [1]}).to_csv(buf, index=False, header=False, lineterminator="\n")
    assert f"{csv_field(v)},1\n" == buf.getvalue()
