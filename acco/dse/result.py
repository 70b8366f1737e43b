"""What Step 1 stores per scenario: plain numbers and names, no live model objects.

A `ScenarioResult` holds, for every sub-stack range of one scenario and for each kind
(`warmup`, `stable`, `total`), the Step-2 readings (energy, latency, DRAM off-load/reload deltas)
per entry and summed, and the footprints. It is small, picklable, and loadable by the restricted
unpickler of `acco.dse.store`, which admits only the classes of this module.

The per-entry readings are stored column-wise as packed bytes (`EntryTable`) rather than as one
object per entry: a paper-grid result then loads about ten times faster (Step 2 reads thousands).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from acco.causal.readings import READING_FIELDS, EntryReading, Reading
from acco.dse.sweep import MapperSettings

#: bump when the layout of these classes changes: older pickles are refused (rerun Step 1)
SCHEMA_VERSION = 2

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
        return _settings_digest(self.cut_max, self.mapper, self.seed, self.inputs_sha256)

    @property
    def file_stem(self) -> str:
        """Relative path of the result file (without suffix): one folder per hardware/workload/target."""
        hv = f"{self.h_cache}_{self.v_cache}"
        cuts = ".".join(str(c) for c in self.cuts)
        return (
            f"{self.hardware}/{self.workload}/{self.target}/"
            f"{self.tile_x}_{self.tile_y}_{hv}_cuts-{cuts}_dil{self.initial_dilation}_b{self.batch}_{self.settings_digest}"
        )


@lru_cache(maxsize=256)
def _settings_digest(cut_max: int, mapper: Any, seed: int, inputs_sha256: str) -> str:
    """`Scenario.settings_digest`, once per distinct settings (a sweep's scenarios share a few)."""
    return hashlib.sha256(repr((cut_max, mapper, seed, inputs_sha256)).encode()).hexdigest()[:10]


#: columns of `EntryTable.ints`: node id, 1 for a data-copy entry (0 for a layer), the readings
ENTRY_INT_COLUMNS = ("node_id", "is_copy") + READING_FIELDS
#: `EntryReading.entry` by the is_copy column
ENTRY_KINDS = ("layer", "copy")


@dataclass(frozen=True)
class EntryTable:
    """The `EntryReading`s of one kind of one range, column-wise in packed bytes (native byte order).

    `ints`: n x len(ENTRY_INT_COLUMNS) int64; `mac`: n float64 (MAC energy); the per-level energies
    of entry i are `level_energy[level_start[i]:level_start[i + 1]]` (float64) at the level names
    `names[level_name[...]]` (int32 indices; `level_start`: n + 1 int64), in the entry's own order.
    """

    n: int
    ints: bytes
    mac: bytes
    level_start: bytes
    level_name: bytes
    level_energy: bytes
    names: tuple[str, ...]

    @staticmethod
    def of(entries: Sequence[EntryReading]) -> "EntryTable":
        """Pack a sequence of entry readings."""
        n = len(entries)
        ints = np.empty((n, len(ENTRY_INT_COLUMNS)), dtype=np.int64)
        mac = np.empty(n, dtype=np.float64)
        start = np.zeros(n + 1, dtype=np.int64)
        names: dict[str, int] = {}
        lv_name: list[int] = []
        lv_e: list[float] = []
        for i, e in enumerate(entries):
            r = e.reading
            ints[i] = (e.node_id, ENTRY_KINDS.index(e.entry), r.energy, r.latency, r.offload_energy, r.offload_latency,
                       r.reload_energy, r.reload_latency, r.offload_bytes, r.reload_bytes)
            mac[i] = e.mac_energy
            for name, v in e.level_energy:
                lv_name.append(names.setdefault(name, len(names)))
                lv_e.append(v)
            start[i + 1] = len(lv_e)
        return EntryTable(
            n, ints.tobytes(), mac.tobytes(), start.tobytes(), np.asarray(lv_name, dtype=np.int32).tobytes(),
            np.asarray(lv_e, dtype=np.float64).tobytes(), tuple(names),
        )

    def int_array(self) -> np.ndarray:
        """The n x len(ENTRY_INT_COLUMNS) integer columns (read-only view)."""
        return np.frombuffer(self.ints, dtype=np.int64).reshape(self.n, len(ENTRY_INT_COLUMNS))

    def mac_array(self) -> np.ndarray:
        """MAC energy per entry (read-only view)."""
        return np.frombuffer(self.mac, dtype=np.float64)

    def levels_of(self, i: int) -> tuple[tuple[str, float], ...]:
        """(level name, energy) pairs of entry i."""
        start = np.frombuffer(self.level_start, dtype=np.int64)
        a, b = int(start[i]), int(start[i + 1])
        idx = np.frombuffer(self.level_name, dtype=np.int32)[a:b].tolist()
        es = np.frombuffer(self.level_energy, dtype=np.float64)[a:b].tolist()
        return tuple((self.names[k], v) for k, v in zip(idx, es))

    def entries(self) -> tuple[EntryReading, ...]:
        """The entry readings, unpacked."""
        ints = self.int_array().tolist()
        mac = self.mac_array().tolist()
        return tuple(
            EntryReading(row[0], ENTRY_KINDS[row[1]], Reading(*row[2:]), mac[i], self.levels_of(i))
            for i, row in enumerate(ints)
        )


@dataclass(frozen=True)
class KindResult:
    """One kind (warm-up row, stable row or whole sequence) of one range."""

    reading: Reading
    peak_bits: int
    weight_bits: int
    table: EntryTable

    @property
    def entries(self) -> tuple[EntryReading, ...]:
        """The per-entry readings (layers and the data-copy layer before each), unpacked from `table`."""
        return self.table.entries()


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


__all__ = ["ENTRY_INT_COLUMNS", "ENTRY_KINDS", "KINDS", "SCHEMA_VERSION", "EntryTable", "KindResult", "RangeResult", "Scenario", "ScenarioFailure", "ScenarioResult"]
