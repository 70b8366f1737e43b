"""The opt-in spatial search as a sweep key and CLI option; defaults leave digests and files unchanged."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from acco.cli import main
from acco.dse.scenarios import expand
from acco.dse.sweep import MapperSettings, load_sweep
from acco.io.errors import InputError
from acco.search.spatial_search import SpatialSearchConfig
from acco.search import LomaConfig
from conftest import DATA, INPUTS

META = INPUTS / "hardware" / "Meta_prototype_DF.yaml"
STFT = INPUTS / "workloads" / "Meta_prototype" / "stftCNN_fixed_unrolling_oxoy_025_1x.yaml"


def _sweep(tmp_path: Path, mapper: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(f"hardware: [{META}]\nworkloads: [{STFT}]\ntile_x: [1]\ntile_y: [1]\nmapper: {mapper}\n")
    return p


def test_defaults_keep_repr_and_pickled_state():
    """The settings digest hashes repr(mapper) and result files pickle it: both as before the spatial keys."""
    m = MapperSettings()
    assert repr(m) == "MapperSettings(engine='loma', lpf_limit=6, iterations=80, chains=2)"
    assert m.__getstate__() == {"engine": "loma", "lpf_limit": 6, "iterations": 80, "chains": 2}
    assert pickle.loads(pickle.dumps(m)) == m
    assert m.config("edp", 0) == LomaConfig(6, "edp")


def test_spatial_key_reaches_config_digest_and_pickle(tmp_path):
    s = load_sweep(_sweep(tmp_path, "{engine: loma, spatial: search, spatial_top: 3, spatial_hint: {D1: [k, c]}}"))
    m = s.mapper
    assert (m.spatial, m.spatial_top, m.spatial_hint) == ("search", 3, (("D1", ("K", "C")),))
    assert m.config("latency", 0) == SpatialSearchConfig(LomaConfig(6, "latency"), 3, (("D1", ("K", "C")),))
    assert "spatial='search'" in repr(m) and pickle.loads(pickle.dumps(m)) == m
    plain = load_sweep(_sweep(tmp_path, "{engine: loma}"))
    assert plain.mapper == MapperSettings()
    (a,), (b,) = expand(s), expand(plain)
    assert a.settings_digest != b.settings_digest and a.id == b.id


@pytest.mark.parametrize("mapper, field, expected", [
    ("{spatial: sideways}", "mapper.spatial", "one of fixed, search"),
    ("{spatial_top: 3}", "mapper.spatial_top", "unless spatial: search"),
    ("{spatial: search, spatial_top: 0}", "mapper.spatial_top", "positive integer"),
    ("{spatial: search, spatial_hint: {D7: [K]}}", "mapper.spatial_hint.D7", "an array dimension of Meta_prototype_DF (D1, D2, D3, D4)"),
    ("{spatial: search, spatial_hint: {D1: []}}", "mapper.spatial_hint.D1", "non-empty list"),
])
def test_bad_spatial_keys_are_named(tmp_path, mapper, field, expected):
    with pytest.raises(InputError) as e:
        load_sweep(_sweep(tmp_path, mapper))
    assert field in str(e.value) and expected in str(e.value) and "s.yaml" in str(e.value)


def test_cli_layer_reports_the_chosen_unrolling(capsys):
    hw, wl = str(DATA / "handworked_hw.yaml"), str(DATA / "handworked_wl.yaml")
    assert main(["layer", hw, wl, "--layer", "0", "--spatial", "search", "--spatial-hint", "D1=OX", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["search"]["spatial"] == "search" and d["spatial_unrolling"]["D1"][0] == "OX"
    assert main(["layer", hw, wl, "--layer", "0", "--spatial", "search", "--spatial-top", "2"]) == 0
    assert "spatial       D1:" in capsys.readouterr().out
    assert main(["layer", hw, wl, "--layer", "0", "--json"]) == 0
    assert "spatial_unrolling" not in json.loads(capsys.readouterr().out)
    assert main(["layer", hw, wl, "--layer", "0", "--spatial", "search", "--spatial-hint", "D5=K"]) == 2
    assert "--spatial-hint" in capsys.readouterr().err
    assert main(["layer", hw, wl, "--layer", "0", "--spatial-top", "2"]) == 2
    assert "--spatial search" in capsys.readouterr().err
    tm = str(DATA / "handworked_tm0.yaml")
    assert main(["layer", hw, wl, "--layer", "0", "--temporal-mapping", tm, "--spatial", "search"]) == 2
    assert "no --spatial search with --temporal-mapping" in capsys.readouterr().err


def test_cli_layer_takes_the_zigzag_mapping_files_hint(tmp_path, capsys):
    zz = DATA / "zigzag_examples"
    text = (zz / "mapping" / "tpu_like.yaml").read_text()
    mapping = tmp_path / "m.yaml"
    mapping.write_text(text.replace("- name: default\n", "- name: default\n  spatial_mapping_hint: {D1: [ox], D2: [OY]}\n", 1))
    args = ["layer", str(zz / "hardware" / "tpu_like.yaml"), str(zz / "workload" / "conv_k64_c64_56x56_3x3.yaml"),
            "--mapping", str(mapping), "--layer", "0", "--spatial", "search", "--spatial-top", "2", "--json"]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["search"]["spatial_hint"] == {"D1": ["OX"], "D2": ["OY"]}
    assert d["spatial_unrolling"] == {"D1": ["OX", 28], "D2": ["OY", 28]}  # the divisors of 56 that fit 32
    assert main(args + ["--spatial-hint", "D1=K;D2=C"]) == 0  # the option overrides the file
    d = json.loads(capsys.readouterr().out)
    assert d["spatial_unrolling"] == {"D1": ["K", 32], "D2": ["C", 32]}


def test_other_array_dims_need_the_spatial_search(tmp_path, capsys):
    """A 4x1 array (D1 only): the workload's fixed unrolling (D1: K, D2: C) does not fit it, the search does."""
    hw = tmp_path / "hw_d1.yaml"
    hw.write_text((DATA / "handworked_hw.yaml").read_text().replace("dimensions: {D1: 2, D2: 2}", "dimensions: {D1: 4}"))
    wl = str(DATA / "handworked_wl.yaml")
    assert main(["layer", str(hw), wl, "--layer", "0", "--json"]) == 2
    assert "spatial_mapping.D2" in capsys.readouterr().err
    assert main(["layer", str(hw), wl, "--layer", "0", "--spatial", "search", "--spatial-top", "20", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d["spatial_unrolling"]) == ["D1"]
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"hardware: [{hw}]\nworkloads: [{wl}]\ntile_x: [1]\ntile_y: [1]\nmapper: {{spatial: search}}\n")
    assert load_sweep(sweep).mapper.spatial == "search"
    sweep.write_text(f"hardware: [{hw}]\nworkloads: [{wl}]\ntile_x: [1]\ntile_y: [1]\n")
    with pytest.raises(InputError, match="spatial_mapping.D2"):
        load_sweep(sweep)
