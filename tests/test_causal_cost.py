"""Streaming costs: the cost anchor of the original tool (docs/causal.md, docs/references.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from acco.causal.frames import CausalSettings, cost_substack, explore, substacks
from acco.depthfirst.config import DfConfig
from acco.search import LomaConfig
from tests.conftest import INPUTS, ROOT

#: (energy pJ, latency cycles) of the original tool's Step-2 reading of this anchor (docs/references.md;
#: tests/data/acco_step2_reference/Meta_prototype/energy/.../4_4_True_True_*.log: KULeuven-MICAS/ACCO
#: 229f6d7, Python 3.9, numpy 1.26.4, PROVENANCE.md there). The original truncates to int and so do we:
#: compared exactly.
REF = {"warmup": (37_795_767, 165_096), "stable": (1_405_206, 11_281), "total": (42_011_407, 198_939)}


@pytest.fixture(scope="module")
def anchor(meta, stft):
    """Meta_prototype_DF, stftCNN-1x, tile 4x4, fully cached, whole network, energy-optimised, lpf 6."""
    subs = substacks(stft, CausalSettings(cut_max=0), meta)
    assert [(s.cut_before, s.cut_after) for s in subs] == [(None, None)]
    cfg = DfConfig(4, 4, True, True, mapper=LomaConfig(lpf_limit=6, objective="energy"))
    return cost_substack(subs[0], meta, cfg)


@pytest.mark.parametrize("kind", ["warmup", "stable", "total"])
def test_cost_anchor(anchor, kind):
    e, lat = REF[kind]
    assert (anchor.energy[kind], anchor.latency[kind]) == (e, lat)


def test_anchor_structure(anchor):
    """4 tile rows of one 1x4 tile; total = warm-up + 3 stable rows in latency; in energy the original's
    total exceeds that by 22 pJ (42,011,407 - 37,795,767 - 3 x 1,405,206), and so does ours."""
    assert anchor.rows == 4 and anchor.output_size == (1, 16)
    assert anchor.energy["total"] - anchor.energy["warmup"] - 3 * anchor.energy["stable"] == 22
    assert anchor.latency["total"] == anchor.latency["warmup"] + 3 * anchor.latency["stable"]
    assert anchor.footprint["total"].peak_bits == 1765312


def test_single_row_stable_falls_back_to_warmup(meta):
    """Step 2: with one tile row the stable row is the warm-up row."""
    from acco.depthfirst.synthetic import chain

    wl = chain("tiny", 4, 4, 4, [("conv", 8, 3), ("conv", 8, 3)])
    f = explore(wl, 4, 4, CausalSettings(), meta, DfConfig(4, 4))[0]
    assert f.rows == 1
    assert f.energy["stable"] == f.energy["warmup"] == f.energy["total"]


@pytest.mark.slow
def test_cli_causal_json():
    """`stack --causal --json` reports the anchor numbers."""
    out = subprocess.run(
        [sys.executable, "-m", "acco", "stack", str(INPUTS / "hardware" / "Meta_prototype_DF.yaml"),
         str(INPUTS / "workloads" / "Meta_prototype" / "stftCNN_fixed_unrolling_oxoy_025_1x.yaml"),
         "--tile", "4", "4", "--causal", "--json", "--no-progress"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)["ranges"][0]
    for kind, (e, lat) in REF.items():
        assert (r["energy_pJ"][kind], r["latency_cycles"][kind]) == (e, lat)
    assert r["peak_activation_bits"]["stable"] == 455360
