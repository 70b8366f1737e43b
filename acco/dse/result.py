"""What Step 1 stores per scenario: plain numbers and names, no live model objects.

A `ScenarioResult` holds, for every sub-stack range of one scenario and for each kind
(`warmup`, `stable`, `total`), the Step-2 readings (energy, latency, DRAM off-load/reload deltas)
per entry and summed, and the footprints. It is small, picklable, and loadable by the restricted
unpickler of `acco.dse.store`, which admits only the classes of this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from acco.causal.readings import EntryReading, Reading
from acco.dse.sweep import MapperSettings

#: bump when the layout of these classes changes: older pickles are refused (rerun Step 1)
SCHEMA_VERSION = 1

KINDS = ("warmup", "stable", "total")


@dataclass(frozen=True)
class Scenario:
    """One Step-1 run: hardware × workload × target × tile × caching × cuts × dilation × batch."""

    hardware: str
    hardware_path: str
    workload: str
    workload_path: str
    target: str
    tile_x: int
    tile_y: int
    h_cache: bool
    v_cache: bool
    cuts: tuple[int, ...]
    initial_dilation: int
    batch: int
    cut_max: int
    mapper: MapperSettings
    seed: int
    #: sha256 of the hardware and workload files: a result from other inputs is stale
    inputs_sha256: str = ""

    @property
    def id(self) -> str:
        """Readable unique id, also the result's file path under the step-1 folder (without suffix)."""
        hv = ("T" if self.h_cache else "F") + ("T" if self.v_cache else "F")
        cuts = ".".join(str(c) for c in self.cuts)
        return (
            f"{self.hardware}/{self.workload}/{self.target}/{self.tile_x}x{self.tile_y}/{hv}"
            f"/cuts-{cuts}/dil{self.initial_dilation}/b{self.batch}"
        )

    @property
    def settings_digest(self) -> str:
        """Short hash of what the id leaves out (cut_max, mapper, seed, input file contents): other settings, other file."""
        # input *contents* (not paths, which depend on the working folder) decide the result
        text = repr((self.cut_max, self.mapper, self.seed, self.inputs_sha256))
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def file_stem(self) -> str:
        """Relative path of the result file (without suffix): one folder per hardware/workload/target."""
        hv = f"{self.h_cache}_{self.v_cache}"
        cuts = ".".join(str(c) for c in self.cuts)
        return (
            f"{self.hardware}/{self.workload}/{self.target}/"
            f"{self.tile_x}_{self.tile_y}_{hv}_cuts-{cuts}_dil{self.initial_dilation}_b{self.batch}_{self.settings_digest}"
        )


@dataclass(frozen=True)
class KindResult:
    """One kind (warm-up row, stable row or whole sequence) of one range."""

    reading: Reading
    peak_bits: int
    weight_bits: int
    entries: tuple[EntryReading, ...]


@dataclass(frozen=True)
class RangeResult:
    """One sub-stack range (cut_before, cut_after; None = open end) of a scenario."""

    cut_before: int | None
    cut_after: int | None
    layer_ids: tuple[int, ...]
    output_size: tuple[int, int]
    rows: int
    warmup: KindResult
    stable: KindResult
    total: KindResult

    def kind(self, name: str) -> KindResult:
        """The result of kind `name` (warmup, stable, total)."""
        return getattr(self, name)


@dataclass(frozen=True)
class ScenarioResult:
    """Everything Step 1 keeps of a scenario (one pickle)."""

    schema_version: int
    acco_version: str
    scenario: Scenario
    ranges: tuple[RangeResult, ...]
    seconds: float


@dataclass(frozen=True)
class ScenarioFailure:
    """A scenario that raised: its parameters, the message and the traceback."""

    scenario: Scenario
    message: str
    traceback: str
    seconds: float


__all__ = ["KINDS", "SCHEMA_VERSION", "KindResult", "RangeResult", "Scenario", "ScenarioFailure", "ScenarioResult"]
