"""Data-copy actions and copy layers (hand check T14, docs/references.md)."""

from __future__ import annotations

import pytest

from acco.depthfirst.datacopy import CopyAction, copy_layer, copy_path, port_latency
from acco.depthfirst.memory import truncate
from acco.io import load_hardware
from tests.conftest import DATA, INPUTS


@pytest.fixture(scope="module")
def toy():
    return load_hardware(DATA / "df_toy_hw.yaml")


@pytest.fixture(scope="module")
def meta_df():
    return load_hardware(INPUTS / "hardware" / "Meta_prototype_DF.yaml")


@pytest.mark.parametrize(
    "bits,src,dst,energy,latency",
    [
        (2048, ("I1", "DRAM"), ("I1", "A_LB"), 3552, 64),
        (512, ("I1", "DRAM"), ("I1", "A_LB"), 888, 16),
        (32, ("I1", "DRAM"), ("I1", "A_LB"), 121, 2),
        (768, ("O", "A_LB"), ("O", "A_GB"), 72, 12),
        (512, ("I1", "A_GB"), ("I1", "A_LB"), 48, 8),
        (2304, ("O", "A_GB"), ("I1", "A_LB"), 216, 36),
    ],
)
def test_t14_toy_single_actions(toy, bits, src, dst, energy, latency):
    c = copy_layer(toy, [CopyAction(bits, *src, *dst)])
    assert c.energy == pytest.approx(energy) and c.latency == latency


def test_t14_meta_dram_to_local_buffer(meta_df):
    c = copy_layer(meta_df, [CopyAction(2048, "I1", "dram", "I1", "sram_64KB")])
    assert c.energy == pytest.approx(23317.76) and c.latency == 36
    assert [lv.name for lv, *_ in copy_path(meta_df, CopyAction(2048, "I1", "dram", "I1", "sram_64KB"))] == [
        "dram", "sram_1MB_A", "sram_64KB"]


def test_t14_meta_local_to_global(meta_df):
    c = copy_layer(meta_df, [CopyAction(4992, "O", "sram_64KB", "O", "sram_1MB_A")])
    assert c.energy == pytest.approx(1181.31) and c.latency == 10


def test_t14_parallel_actions_share_ports(toy):
    acts = [CopyAction(512, "O", "A_LB", "O", "A_GB"), CopyAction(512, "O", "A_LB", "O", "A_GB"),
            CopyAction(768, "I1", "A_GB", "I1", "A_LB")]
    c = copy_layer(toy, acts)
    assert c.energy == pytest.approx(168) and c.latency == 16


def test_copy_to_same_memory_is_free(toy):
    c = copy_layer(toy, [CopyAction(4096, "O", "A_LB", "I1", "A_LB")])
    assert c.energy == 0 and c.latency == 0


def test_port_latency_union():
    assert port_latency([(0, 8)]) == 8
    assert port_latency([(0, 8), (0, 8)]) == 16
    assert port_latency([(0, 4), (10, 12)]) == 12


def test_truncate_removes_levels_above_top(meta_df):
    t = truncate(meta_df, {"I1": "sram_64KB", "O": "sram_1MB_A", "I2": "sram_32KB"})
    assert [lv.name for lv in t.chain("I1")] == ["sram_64KB"]
    assert [lv.name for lv in t.chain("O")] == ["rf_2B", "sram_64KB", "sram_1MB_A"]
    assert [lv.name for lv in t.chain("I2")] == ["rf_1B", "sram_32KB"]
    assert "sram_1MB_W" not in [lv.name for lv in t.levels] and "dram" not in [lv.name for lv in t.levels]
    assert "I1" not in t.level_by_name("sram_1MB_A").port_allocation
