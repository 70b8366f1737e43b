"""Hand-worked cost-model cases on a tiny 2-level accelerator (tests/data/handworked_hw.yaml).

Hardware: 2x2 MAC array (1 pJ/MAC); `buf` (4096 b, 32 b/cycle words, 8 b granularity, read 1 pJ,
write 2 pJ per word, one read + one write port, serves both array dims, holds I1, I2 and O) and
`dram` (16 b words and granularity, read 10 pJ, write 12 pJ, one read-write port).
Words moved = ceil(bits per period / bw_min) * bw_min / bw_max * periods * instances.
"""

from __future__ import annotations

import pytest

from acco.cost import evaluate
from acco.io import load_hardware, load_temporal_mapping, load_workload
from conftest import DATA


@pytest.fixture(scope="module")
def hw():
    return load_hardware(DATA / "handworked_hw.yaml")


@pytest.fixture(scope="module")
def wl():
    return load_workload(DATA / "handworked_wl.yaml")


def test_layer0_every_count_by_hand(hw, wl):
    """1x1 conv K4 C2 OX3, spatial K2 (D1) x C2 (D2), temporal OX3 then K2, all in buf.

    Total cycles 6, 24 MACs. C is fully reduced across D2 (free spatial reduction), so buf
    holds final 8-bit outputs and no partial sums move.
    - O at buf: written from below 2 el (K2) x 8 b = 16 b per cycle -> ceil(16/8)*8/32 * 6 = 3 words;
      read to dram once: 12 el x 8 b = 96 b -> 12 * 8/32 = 3 words.
    - O at dram: 96 b written, limited to 16 b/cycle -> 6 cycles x 1 word = 6 words.
    - W at buf: 4 el (K2 x C2 distinct) x 8 b per cycle -> 4 * 1/4 * 6 = 6 words read; written once
      8 el x 8 b = 64 b -> 2 words. W at dram: 64 b / 16 = 4 words.
    - I at buf: 2 el (C2; K is multicast) per cycle -> 2 * 1/4 * 6 = 3 words; written once 6 el -> 1.5.
      I at dram: 48 b / 16 = 3 words.
    Energy: buf reads (3+6+3)*1 + writes (3+2+1.5)*2 + dram reads (4+3)*10 + writes 6*12 + 24 MACs
      = 12 + 13 + 70 + 72 + 24 = 191 pJ.
    Latency: 6 ideal cycles. buf's read port serves W and I every cycle (window 1 of period 1, 6 periods
    each) and O's final read (whole period): union of windows = 6, windows needed after the first
    period = 5 + 5 -> 4 stall cycles. On-loading: both inputs share the ports on both sides: W pair
    max(2, 4) + I pair max(2, 3) = 7. Off-loading: max(O buf->dram read 3, dram write 6) = 6.
    Total 6 + 4 + 7 + 6 = 23 cycles.
    """
    layer = wl.layer(0)
    tm = load_temporal_mapping(DATA / "handworked_tm0.yaml", layer, hw)
    c = evaluate(layer, hw, tm)
    acc = {op: [(a.tl, a.fh, a.fl, a.th) for a in c.accesses[op]] for op in c.accesses}
    assert acc["O"] == [(0, 0, 3, 3), (0, 0, 6, 0)]
    assert acc["W"] == [(6, 2, 0, 0), (4, 0, 0, 0)]
    assert acc["I"] == [(3, 1.5, 0, 0), (3, 0, 0, 0)]
    assert c.mac_energy == 24
    assert c.energy_total == pytest.approx(191.0, abs=1e-9)
    assert c.ideal_cycle == 6 and c.ideal_temporal_cycle == 6
    assert c.stall_slack == 4
    assert c.onloading == 7
    assert c.offloading == 6
    assert c.latency_total2 == 23


def test_layer1_partial_sums_by_hand(hw, wl):
    """1x1 conv K2 C4 OX2, spatial K2 x C2, temporal C2 then OX2: buf holds 16-bit partial sums.

    Each cycle 2 outputs (K2) are updated; the reference model bills a read and a write per update,
    including the first accumulation: 2 el x 16 b = 32 b -> ceil(32/8)*8/32 = 1 word, x 4 cycles
    = 4 words each way. The finished outputs leave buf once at 8 b: 4 el x 8 b = 32 b -> 1 word;
    dram writes 32 b / 16 = 2 words. W: 4 el (K2 x C2) per cycle -> 1 word x 4 = 4; written once
    8 el (K2 x C4) x 8 b = 64 b -> 2 words; dram 64 b / 16 = 4. I: 2 el (C2) per cycle -> 0.5 x 4
    = 2 words; written once 8 el (C4 x OX2) -> 2 words; dram 64 b / 16 = 4 words.
    Energy = buf reads (4+1+4+2)*1 + writes (4+2+2)*2 + dram reads (4+4)*10 + writes 2*12 + 16 MACs
      = 11 + 16 + 80 + 24 + 16 = 147 pJ.
    """
    layer = wl.layer(1)
    tm = load_temporal_mapping(DATA / "handworked_tm1.yaml", layer, hw)
    c = evaluate(layer, hw, tm)
    acc = {op: [(a.tl, a.fh, a.fl, a.th) for a in c.accesses[op]] for op in c.accesses}
    assert acc["O"] == [(4, 0, 4, 1), (0, 0, 2, 0)]
    assert acc["W"] == [(4, 2, 0, 0), (4, 0, 0, 0)]
    assert acc["I"] == [(2, 2, 0, 0), (4, 0, 0, 0)]
    assert c.energy_total == pytest.approx(147.0, abs=1e-9)
    assert c.ideal_temporal_cycle == 4


def test_energy_at_least_mac_energy_and_latency_at_least_ideal(hw, wl):
    """Invariants: memory energy is non-negative and latency never beats the ideal cycle count."""
    for lid, f in ((0, "handworked_tm0.yaml"), (1, "handworked_tm1.yaml")):
        layer = wl.layer(lid)
        c = evaluate(layer, hw, load_temporal_mapping(DATA / f, layer, hw))
        assert c.energy_total >= c.mac_energy > 0
        assert c.latency_total2 >= c.ideal_temporal_cycle >= c.ideal_cycle
