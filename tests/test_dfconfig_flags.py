"""The last two DfConfig correction flags away from their defaults: harmonise_as_reference (§3.1) and
v_read_uses_last_tile_level (§9.4).

Both are shown on an irregular grid whose tile types put their caches in different levels. Stack: two
3x3 convs 4 -> 8 -> 8 channels, output 10 x 8, tiles 4 x 4 with the leftover last (leftover_first=False):
columns 4, 4, 2 and two rows of height 4. The toy hardware's A_LB is shrunk so that full tiles spill a
cache to A_GB while the narrow last column keeps it in A_LB. Every copy between A_LB and A_GB costs
1/64 (A_LB, 1 pJ per 64-bit word) + 10/128 (A_GB, 10 pJ per 128-bit word) = 12/128 pJ per bit.

Why the earlier search over regular grids found nothing: there every tile after the first in a row is
identical and the last tile is a full non-first one, so the rules can only differ through the first
row/column having the highest level. And while harmonise_as_reference is on, every tile's use_v *is* the
last tile's V level (plan.v_read_level), so v_read_uses_last_tile_level cannot change anything (checked
below): it needs harmonise_as_reference=False.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from acco.depthfirst.combine import run_stack
from acco.depthfirst.config import DfConfig
from acco.depthfirst.geometry import graph_of, with_full_sizes
from acco.depthfirst.synthetic import chain
from acco.depthfirst.tiles import plan_tiles
from acco.io import load_hardware
from acco.search import LomaConfig
from tests.conftest import DATA, with_lb

FAST = LomaConfig(lpf_limit=4)
PJ_PER_BIT = 12 / 128  # one bit copied between A_LB and A_GB (read one side, write the other)


def wl():
    return chain("2conv", 4, 10, 8, [("conv", 8, 3), ("conv", 8, 3)])


def levels(plan, attr):
    """(tile_x, level) per tile type, in first-seen order."""
    return [(t.tile_x, getattr(t, attr)) for t in plan.types]


def energies(acc, cfg):
    return run_stack(graph_of(wl()), acc, cfg).energy_per_layer()


def diff(a, b):
    return {k: a[k] - b[k] for k in a if a[k] != b[k]}


def test_harmonise_h_keeps_the_highest_level(toy):
    """H-cached V-recompute, A_LB = 4,000 bits. H peaks (live + H-caches): first column 3,328 (fits A_LB),
    full non-first 4,480 (A_GB), narrow last column 3,200 (A_LB). Along a row the reference sets each
    tile's H make-level to its right neighbour's: the first tile's to A_GB, then the middle tile's back
    down to the last tile's A_LB, so the middle tile writes and the last tile reads its H-cache in A_LB
    (= the tiles' own I/O level: no copies). Corrected (the maximum), the middle tile keeps A_GB.
    Per row that adds: layer 0's H write (8 ch x 2 cols x 6 rows x 8 b = 768 bits) and the last tile's
    H reads of the input (4 x 2 x 8 x 8 = 512) and of layer 0 (768), each A_LB <-> A_GB; two rows:
    copy_b4_0 += 2 x 512 x 12/128 = 96 pJ, copy_b4_1 += 2 x (768 + 768) x 12/128 = 288 pJ.
    (The input's own H write stays free, §9.3.)"""
    acc = with_lb(toy, 4000)
    ref_cfg = DfConfig(4, 4, True, False, leftover_first=False, mapper=FAST)
    fix_cfg = replace(ref_cfg, harmonise_as_reference=False)
    g = with_full_sizes(graph_of(wl()))
    ref, fix = plan_tiles(g, acc, ref_cfg), plan_tiles(g, acc, fix_cfg)
    assert levels(ref, "make_h") == [(4, "A_GB"), (4, "A_LB"), (2, None), (4, "A_GB")]
    assert levels(ref, "use_h") == [(4, None), (4, "A_GB"), (2, "A_LB"), (4, None)]
    assert levels(fix, "make_h") == [(4, "A_GB"), (4, "A_GB"), (2, None), (4, "A_GB")]
    assert levels(fix, "use_h") == [(4, None), (4, "A_GB"), (2, "A_GB"), (4, None)]
    assert ref.counts == fix.counts == (1, 2, 2, 1)
    d = diff(energies(acc, fix_cfg), energies(acc, ref_cfg))
    assert d == pytest.approx({"copy_b4_0": 2 * 512 * PJ_PER_BIT, "copy_b4_1": 2 * (768 + 768) * PJ_PER_BIT})
    assert d == pytest.approx({"copy_b4_0": 96, "copy_b4_1": 288})


def test_harmonise_v_takes_the_highest_level_not_the_last_tiles(toy):
    """Fully cached, A_LB = 6,000 bits. V peaks (minus the corner at the shared level): full non-first
    tiles 6,528 / 6,656 and the first tile 6,400 need A_GB, the narrow last-column tiles (5,248 / 5,376)
    and the first column off the first row (5,376) fit A_LB. The reference's V level is the last tile's,
    A_LB; corrected it is the highest of any tile, A_GB: the first row makes and the second row uses its
    V-caches in A_GB. Cost: the first row's tiles now copy layer 0's V write (8 ch x 2 rows x (6 + 4 + 2)
    cols x 8 b = 1,536 bits) A_LB -> A_GB: copy_b4_1 += 1,536 x 12/128 = 144 pJ. The input's V write is
    free (§9.3) and the V reads are not charged in either (§9.4 quirk, next test)."""
    acc = with_lb(toy, 6000)
    ref_cfg = DfConfig(4, 4, True, True, leftover_first=False, mapper=FAST)
    fix_cfg = replace(ref_cfg, harmonise_as_reference=False)
    g = with_full_sizes(graph_of(wl()))
    ref, fix = plan_tiles(g, acc, ref_cfg), plan_tiles(g, acc, fix_cfg)
    assert [t.make_v for t in ref.types] == ["A_LB"] * 3 + [None] * 3
    assert [t.use_v for t in ref.types] == [None] * 3 + ["A_LB"] * 3
    assert [t.make_v for t in fix.types] == ["A_GB"] * 3 + [None] * 3
    assert [t.use_v for t in fix.types] == [None] * 3 + ["A_GB"] * 3
    assert ref.v_read_level == fix.v_read_level == "A_LB"  # the last tile's own V level
    # own V level per tile class (tile_x, tile_y, first column?, first row?)
    assert {k: c.v_ml for k, c in fix.cachings.items()} == {
        (4, 4, True, True): "A_GB", (4, 4, False, True): "A_GB", (2, 4, False, True): "A_LB",
        (4, 4, True, False): "A_LB", (4, 4, False, False): "A_GB", (2, 4, False, False): "A_LB"}
    d = diff(energies(acc, fix_cfg), energies(acc, ref_cfg))
    assert d == pytest.approx({"copy_b4_1": 1536 * PJ_PER_BIT}) and d["copy_b4_1"] == pytest.approx(144)


def test_v_read_compares_against_the_level_used(toy):
    """Same stack and A_LB as above, harmonise_as_reference=False (V-caches in A_GB). The reference checks
    a V-cache read against the last tile's V level (A_LB) instead of the level the tile reads from
    (use_v = A_GB); A_LB is also every consumer's input level, so the reads look local and are never
    charged. Corrected, the second row reads them A_GB -> A_LB: the input's V-cache 4 ch x 2 rows x 14
    cols x 8 b = 896 bits (copy_b4_0 += 84 pJ) and layer 0's 8 x 2 x 12 x 8 = 1,536 bits (copy_b4_1 +=
    144 pJ). The plan (tile types, levels) is the same; only the level compared against differs.
    With harmonise_as_reference on, use_v is the last tile's V level for every tile, so the flag is a no-op."""
    acc = with_lb(toy, 6000)
    ref_cfg = DfConfig(4, 4, True, True, leftover_first=False, harmonise_as_reference=False, mapper=FAST)
    fix_cfg = replace(ref_cfg, v_read_uses_last_tile_level=False)
    g = with_full_sizes(graph_of(wl()))
    ref, fix = plan_tiles(g, acc, ref_cfg), plan_tiles(g, acc, fix_cfg)
    assert ref.types == fix.types and ref.counts == fix.counts
    assert (ref.v_read_level, [t.use_v for t in fix.types][3:]) == ("A_LB", ["A_GB"] * 3)
    r, f = run_stack(graph_of(wl()), acc, ref_cfg), run_stack(graph_of(wl()), acc, fix_cfg)
    v_reads = lambda s: sum(a.bits * tt.count for tt in s.tile_types for lt in tt.layers for a in lt.copy.actions if a.tag == "CI-V")  # noqa: E731
    assert (v_reads(r), v_reads(f)) == (0, 896 + 1536)
    d = diff(f.energy_per_layer(), r.energy_per_layer())
    assert d == pytest.approx({"copy_b4_0": 896 * PJ_PER_BIT, "copy_b4_1": 1536 * PJ_PER_BIT})
    assert d == pytest.approx({"copy_b4_0": 84, "copy_b4_1": 144})
    on = DfConfig(4, 4, True, True, leftover_first=False, mapper=FAST)
    assert energies(acc, on) == energies(acc, replace(on, v_read_uses_last_tile_level=False))
