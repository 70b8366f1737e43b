"""Baseline definitions (acco.reports.baselines) on Meta_prototype_DF × stftCNN-1x, and the ratio table."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pandas as pd
import pytest

from acco.reports.allocate import allocate
from acco.reports.baselines import (
    BaselineCost,
    BaselineSettings,
    fixed_causal,
    layer_by_layer,
    ratio_table,
    spatial_df,
    windows,
)
from acco.search.memo import MappingCache

HW = "inputs/hardware/Meta_prototype_DF.yaml"
WL = "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
SETTINGS = BaselineSettings((1, 4), (1,), ((True, True),), ("energy",))


@pytest.fixture(scope="module")
def cache():
    return MappingCache()


def _cli_json(argv):
    from acco.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(argv) == 0
    return json.loads(buf.getvalue())


def test_windows_cover_the_causal_stream():
    """stftCNN-1x: one window gives OY = 1 output; the causal network emits OY * 16 rows -> 16 windows."""
    from acco.causal.transform import causal_network
    from acco.io.workload import load_workload

    wl = load_workload(WL)
    g, _ = causal_network(wl)
    assert windows(wl) == 16
    assert g.nodes[g.output_id].loop_sizes["OY"] == 1 * windows(wl)


def test_fixed_causal_is_the_stack_causal_full_width_one_step_run(cache):
    """The causal output is 1 column wide: the baseline is `stack --causal --tile 1 1` (fully cached, whole network)."""
    got = {c.view: c for c in fixed_causal(HW, WL, SETTINGS, cache)}
    ref = _cli_json(["stack", HW, WL, "--tile", "1", "1", "--causal", "--json", "--no-progress"])
    (r,) = ref["ranges"]
    assert (r["cut_before"], r["cut_after"]) == (None, None)
    assert (got["total"].energy, got["total"].latency) == (r["energy_pJ"]["total"], r["latency_cycles"]["total"])
    assert (got["real-time"].energy, got["real-time"].latency) == (r["energy_pJ"]["stable"], r["latency_cycles"]["stable"])
    assert got["total"].peak_bits == r["peak_activation_bits"]["total"]


def test_layer_by_layer_and_spatial_df_are_windows_times_one_run(cache):
    lbl = {c.view: c for c in layer_by_layer(HW, WL, SETTINGS, cache)}
    # each layer's whole output as one tile: a huge tile clipped to every stack
    ref = _cli_json(["stack", HW, WL, "--tile", "100000", "100000", "--clip-tile", "--layer-by-layer", "--json", "--no-progress"])
    assert len(ref["stacks"]) == 12 and all(len(s["tile_types"]) == 1 for s in ref["stacks"])  # one stack per layer, one tile
    assert lbl["total"].windows == 16 and lbl["real-time"].windows == 1
    assert (lbl["total"].energy, lbl["total"].latency) == (16 * lbl["real-time"].energy, 16 * lbl["real-time"].latency)
    # Step-2 sums (truncated per entry) are within a cycle per entry of the CLI's float totals (latency_total2 there)
    assert lbl["real-time"].energy == pytest.approx(ref["energy_pJ"], rel=1e-6)
    sdf = spatial_df(HW, WL, SETTINGS, cache)
    # the original output is 1x1: tile 4 clips to 1 in every stack, so only one schedule is run
    assert [c.config for c in sdf] == ["1x1/TT/energy", "1x1/TT/energy"]
    one = {c.view: c for c in sdf}
    df_ref = _cli_json(["stack", HW, WL, "--tile", "1", "1", "--json", "--no-progress"])
    assert one["real-time"].energy == pytest.approx(df_ref["energy_pJ"], rel=1e-6)
    assert one["total"].energy == 16 * one["real-time"].energy
    # fusion pays off: depth-first beats layer-by-layer
    assert one["total"].energy < lbl["total"].energy


def test_ratio_table_and_single_stack():
    def row(cb, ca, e, lat, tx):
        return dict(
            scenario_id=f"s{tx}", hardware="HW", workload=wl, cuts="", initial_dilation=-1, batch=1, target="energy", tile_x=tx,
            tile_y=1, h_cache=True, v_cache=True, cut_before=cb, cut_after=ca, kind="total", energy_pJ=e, latency_cc=lat,
            offload_energy_pJ=0, offload_latency_cc=0, reload_energy_pJ=0, reload_latency_cc=0, peak_activation_bits=0,
        )

    wl = "seldnet_oxoy_M"  # one of the paper's workloads: its claims beside the ratios
    df = pd.DataFrame([row(None, None, 100, 10, 1), row(None, None, 90, 12, 2), row(None, 0, 30, 4, 1), row(0, None, 30, 4, 1)])
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    alloc = allocate(df, cut_max=1, views=("total",))
    costs = {("HW", wl): [BaselineCost("fixed_causal", "total", 840, 10, "x"), BaselineCost("spatial_df", "total", 600, 50, "y")]}
    t = ratio_table(alloc, costs).set_index(["baseline", "metric"])
    assert t.loc[("single_stack", "energy"), "baseline_value"] == 90  # best whole-network option
    assert t.loc[("single_stack", "edp"), "ratio"] == pytest.approx(1000 / 480)
    assert t.loc[("fixed_causal", "edp"), "ratio"] == pytest.approx(8400 / 480)
    assert t.loc[("fixed_causal", "edp"), "paper_ratio"] == 8.4
    assert t.loc[("spatial_df", "latency"), "ratio"] == pytest.approx(50 / 8)
    assert t.loc[("spatial_df", "energy"), "paper_ratio"] == 37.0
    # another network: the same ratios, no claim of the paper beside them
    other = ratio_table(allocate(df.assign(workload="WL"), cut_max=1, views=("total",)), {("HW", "WL"): costs[("HW", wl)]})
    assert other["paper_ratio"].isna().all() and (other["paper_claim"] == "").all()
    assert list(other["ratio"]) == list(t["ratio"])
