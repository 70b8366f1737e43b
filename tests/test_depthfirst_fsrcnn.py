"""FSRCNN on Meta_prototype_DF, LOMA lpf 6: the DeFiNES reference figures (hand check T17, docs/references.md).

Full-network runs: marked `slow` (select with `-m slow`). Energy = sum of energy_total, latency =
sum of latency_total1 over all layers and copy layers; both must be within 1 % of the reference.
"""

from __future__ import annotations

import pytest

from acco.depthfirst.combine import run_network
from acco.depthfirst.config import DfConfig
from acco.io import load_hardware, load_workload
from acco.search import LomaConfig
from tests.conftest import DATA, INPUTS

MODES = {"FR": (False, False), "H": (True, False), "FC": (True, True)}

# (Tx, Ty, mode) -> (energy mJ, latency M cycles or None, tile types)
REFERENCE = {
    (1, 1, "FR"): (47.29, 1025.9, 2),
    (1, 1, "FC"): (5.51, 298.6, 9),
    (4, 4, "FC"): (1.917, 19.21, 9),
    (16, 18, "FC"): (1.823, 20.52, 9),
    (60, 72, "FC"): (2.155, 20.17, 9),
    (60, 72, "H"): (2.221, 21.34, 6),
    (60, 72, "FR"): (2.361, 22.78, 3),
    (240, 72, "FC"): (8.52, 26.25, 9),
    (240, 270, "FC"): (17.85, 30.67, 6),
    (240, 270, "FR"): (18.25, 31.46, 2),
    (960, 72, "FC"): (17.61, 29.99, 3),
    (960, 540, "FC"): (20.27, 29.01, 1),
}


@pytest.fixture(scope="module")
def fsrcnn():
    return load_workload(INPUTS / "workloads" / "Meta_prototype" / "fsrcnn.yaml")


@pytest.fixture(scope="module", params=["acco", "defines"])
def hardware(request):
    """ACCO's Meta_prototype_DF and DeFiNES' variant (DRAM I1 `fl` port unused): the figures hold on both."""
    path = INPUTS / "hardware" / "Meta_prototype_DF.yaml" if request.param == "acco" else DATA / "df_Meta_prototype_DF_defines.yaml"
    return load_hardware(path)


@pytest.mark.slow
@pytest.mark.parametrize("key", list(REFERENCE), ids=[f"{x}x{y}-{m}" for x, y, m in REFERENCE])
def test_fsrcnn_reference_figures(fsrcnn, hardware, key):
    tx, ty, mode = key
    energy, latency, n_types = REFERENCE[key]
    net = run_network(fsrcnn, hardware, DfConfig(tx, ty, *MODES[mode], mapper=LomaConfig(lpf_limit=6, objective="energy")))
    assert len(net.stacks) == 1
    assert len(net.stacks[0].tile_types) == n_types
    assert net.energy / 1e9 == pytest.approx(energy, rel=0.01)
    assert net.latency / 1e6 == pytest.approx(latency, rel=0.01)


def test_fsrcnn_60x72_tile_types_without_mapping(fsrcnn):
    """Fast companion of the slow test: the planned tile types of the three modes (9 / 6 / 3)."""
    from acco.depthfirst.combine import count_tile_types

    meta = load_hardware(INPUTS / "hardware" / "Meta_prototype_DF.yaml")
    assert [count_tile_types(fsrcnn, meta, DfConfig(60, 72, *MODES[m])) for m in ("FC", "H", "FR")] == [9, 6, 3]
