"""Shared test helpers: paths to the project's inputs and test data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
INPUTS = ROOT / "inputs"
