"""Cut-range enumeration in the original's order, forced cuts, multi-output nodes."""

from __future__ import annotations

from acco.causal.frames import CausalSettings, substacks
from acco.causal.ranges import drop_multi_output_splits, enumerate_ranges
from acco.depthfirst.geometry import graph_of
from acco.depthfirst.synthetic import chain


def _expected(n: int) -> list:
    out = [(None, None)]
    for i in range(n - 1):
        out += [(None, i), (i, None)]
    for i in range(n - 1):
        for j in range(i + 1, n - 1):
            out.append((i, j))
    return out


def test_order_and_count():
    ids = [-1] + list(range(12))
    r = enumerate_ranges(ids, [-1], (), 2)
    assert len(r) == 78
    assert r[:6] == [(None, None), (None, 0), (0, None), (None, 1), (1, None), (None, 2)]
    assert r == _expected(12)
    assert len(enumerate_ranges([-1] + list(range(8)), [-1], (), 3)) == 36


def test_cut_max_limits():
    ids = [-1] + list(range(5))
    assert enumerate_ranges(ids, [-1], (), 0) == [(None, None)]
    assert enumerate_ranges(ids, [-1], (), 1) == _expected(5)[:9]


def test_forced_cuts():
    ids = [-1] + list(range(5))
    assert enumerate_ranges(ids, [-1], [2], 0) == [(None, 2), (2, None)]
    r = enumerate_ranges(ids, [-1], [2], 5)
    assert len(r) == 3 * 4 // 2 + 2 * 3 // 2  # 6 + 3 ranges between the forced cut
    assert all(not (a is None or a < 2) or b is None or b <= 2 for a, b in r)
    assert enumerate_ranges(ids, [-1], (), 2, already=[(None, None)])[0] == (None, 0)


def test_multi_output_ranges_dropped():
    """Layer 0 feeds both 1 and the add 2: a range holding 0 must end on 0."""
    wl = chain("res", 4, 8, 8, [("conv", 4, 3), ("conv", 4, 1), ("add", 0, 1), ("conv", 4, 3)])
    g = graph_of(wl)
    rs = drop_multi_output_splits(g, enumerate_ranges([n.id for n in wl.nodes], [-1], (), 3))
    assert (None, 0) in rs and (0, None) in rs and (0, 2) in rs
    assert (None, None) not in rs and (None, 1) not in rs and (None, 2) not in rs
    subs = substacks(wl, CausalSettings(cut_max=3))
    assert [(s.cut_before, s.cut_after) for s in subs] == rs
