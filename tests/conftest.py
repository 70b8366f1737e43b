"""Shared test helpers: paths to the project's inputs and test data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from acco.io import load_hardware, load_workload

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
INPUTS = ROOT / "inputs"


@pytest.fixture(scope="session")
def meta():
    """ACCO's Meta_prototype_DF hardware."""
    return load_hardware(INPUTS / "hardware" / "Meta_prototype_DF.yaml")


@pytest.fixture(scope="session")
def stft():
    """stftCNN x0.25, 1x output, with Meta_prototype's spatial mapping."""
    return load_workload(INPUTS / "workloads" / "Meta_prototype" / "stftCNN_fixed_unrolling_oxoy_025_1x.yaml")


@pytest.fixture(scope="module")
def toy():
    """The small depth-first test hardware (tests/data/df_toy_hw.yaml)."""
    return load_hardware(DATA / "df_toy_hw.yaml")


def with_lb(acc, bits):
    """`acc` with its activation local buffer A_LB resized to `bits`."""
    return replace(acc, levels=tuple(
        replace(lv, instance=replace(lv.instance, size=bits)) if lv.name == "A_LB" else lv for lv in acc.levels))


def pytest_configure(config):
    """Register the `slow` marker (full-network depth-first runs): select with -m slow, skip with -m 'not slow'."""
    config.addinivalue_line("markers", "slow: long full-network runs (select with -m slow, deselect with -m 'not slow')")
