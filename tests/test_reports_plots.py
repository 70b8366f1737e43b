"""Step-3 figures and the Step-3 script end to end on a tiny synthetic Step-2 table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acco.reports.allocate import MIB_BITS, allocate
from acco.reports.plots import best_picks, plot_all

HWN, WLN = "Meta_prototype_DF", "stftCNN_fixed_unrolling_oxoy_025_1x"


def tiny_ranges() -> pd.DataFrame:
    """Whole network and the cut after layer 5; 2x2 tiles, 2 caching modes, 1 target; all three kinds."""
    rows = []
    for tx in (1, 4):
        for ty in (1, 4):
            for h in (True, False):
                for cb, ca in ((None, None), (None, 5), (5, None)):
                    for kind, f in (("warmup", 0.8), ("stable", 0.1), ("total", 1.0)):
                        e = int(1e6 * f * (2 + tx + ty + (0 if h else 3) + (cb or 0)))
                        lat = int(1e4 * f * (9 - tx - ty + (0 if h else 1)))
                        rows.append(dict(
                            scenario_id=f"{HWN}/{WLN}/energy/{tx}x{ty}/{'TT' if h else 'FF'}/cuts-/dil-1/b1", hardware=HWN, workload=WLN,
                            target="energy", tile_x=tx, tile_y=ty, h_cache=h, v_cache=h, cuts="", initial_dilation=-1, batch=1,
                            cut_before=cb, cut_after=ca, first_layer=0, last_layer=11, n_layers=12, rows=4, kind=kind, energy_pJ=e,
                            latency_cc=lat, offload_energy_pJ=1000 if ca else 0, offload_latency_cc=10 if ca else 0,
                            reload_energy_pJ=1000 if cb else 0, reload_latency_cc=10 if cb else 0, offload_bytes=0, reload_bytes=0,
                            peak_activation_bits=int(MIB_BITS * 0.05 * tx * ty), weight_bits=1000,
                        ))
    df = pd.DataFrame(rows)
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    return df


def stamp(out: Path) -> None:
    """Mark a hand-made OUT/step2/ as Step 2's tables of the default sweep (Step 3 checks the record)."""
    from acco.dse.cli import DEFAULT_SWEEP
    from acco.dse.sweep import load_sweep
    from acco.provenance import stamp_step2, sweep_record

    rec = sweep_record(load_sweep(DEFAULT_SWEEP))
    stamp_step2(out / "step2", rec, rec["scenarios"]["count"])


def tiny_layer_energy(picks: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in picks.itertuples(index=False):
        for node in range(3):
            for comp, e in (("MAC", 10.0), ("sram_64KB", 5.0), ("dram", 20.0), ("copy", 1.0)):
                rows.append(dict(scenario_id=r.scenario_id, cut_before=r.cut_before, cut_after=r.cut_after, node_id=node, component=comp, energy_pJ=e))
    return pd.DataFrame(rows)


def test_plots_are_written(tmp_path):
    ranges = tiny_ranges()
    alloc = allocate(ranges, cut_max=1)
    picks = best_picks(alloc.strategy_ranges, alloc.best)
    assert len(picks) >= 1
    ratios = pd.DataFrame([
        dict(hardware=HWN, workload=WLN, view=v, baseline=b, metric=m, ratio=2.0, paper_ratio=8.4 if m == "edp" else float("nan"))
        for v in ("total", "real-time") for b in ("fixed_causal", "spatial_df") for m in ("energy", "latency", "edp")
    ])
    files = plot_all(ranges, tmp_path, alloc.strategy_ranges, alloc.best, alloc.pareto, tiny_layer_energy(picks), ratios)
    names = {f.name.split("_Meta")[0] for f in files}
    assert names == {"heatmap", "warmup_stable", "pareto", "energy_breakdown", "baselines"}
    assert len([f for f in files if f.name.startswith("pareto")]) == 2  # one per view
    for f in files:
        assert f.stat().st_size > 1000 and f.read_bytes()[:4] == b"\x89PNG"


def test_step3_script_end_to_end(tmp_path, capsys):
    import explore_pickle_hierarchy_cache_allocation as step3

    (tmp_path / "step2").mkdir()
    tiny_ranges().to_csv(tmp_path / "step2" / "ranges.csv", index=False)
    stamp(tmp_path)
    assert step3.main(["--out", str(tmp_path), "--no-baselines", "--threshold-mib", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "best whole-network strategies (on-chip threshold 0.5 MiB)" in out
    d = tmp_path / "step3"
    for name in ("strategies", "strategy_ranges", "best", "pareto"):
        assert len(pd.read_csv(d / f"{name}.csv")) > 0
    best = pd.read_csv(d / "best.csv", keep_default_na=False)
    assert set(best["view"]) == {"total", "real-time"} and set(best["metric"]) == {"energy", "latency", "edp"}
    assert (best["threshold_MiB"] == 0.5).all()
    assert any(p.suffix == ".png" for p in d.iterdir())
    # the activation buffer of Meta_prototype_DF is 1 MiB
    assert step3.main(["--out", str(tmp_path), "--no-baselines", "--no-plots", "--threshold", "hardware"]) == 0
    assert (pd.read_csv(d / "best.csv")["threshold_MiB"] == 1.0).all()


def test_step3_script_missing_step2(tmp_path, capsys):
    import explore_pickle_hierarchy_cache_allocation as step3

    assert step3.main(["--out", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ranges.csv" in err and "Step 2" in err


@pytest.mark.parametrize("bad", [["--threshold-mib", "-1"]])
def test_step3_script_bad_threshold(tmp_path, bad):
    import explore_pickle_hierarchy_cache_allocation as step3

    (tmp_path / "step2").mkdir()
    tiny_ranges().to_csv(tmp_path / "step2" / "ranges.csv", index=False)
    stamp(tmp_path)
    assert step3.main(["--out", str(tmp_path), "--no-baselines", "--no-plots", *bad]) == 2
