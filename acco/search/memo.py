"""Memoised mapper entry point: `best_mapping` answers a repeated query with a dictionary look-up.

The key is canonical (what the cost depends on, never object identity): the layer's loop nest
(equation, loop sizes, relations, precisions, spatial mapping, operand links, but not its id or
name), the accelerator (array and every memory level, which already says which levels are
available), and the mapper settings. The cache is a plain dict of picklable values, so it can be
shipped to worker processes, merged back, or persisted with `save` / `load`.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from typing import Any, Hashable, Protocol

from acco.hardware.models import Accelerator
from acco.io.atomic import atomic_write_bytes
from acco.search.loma import SearchResult
from acco.workload.layer import Layer


class MapperConfig(Protocol):
    """What every mapper config offers: a frozen, hashable settings object run by `search`."""

    def search(self, layer: Layer, acc: Accelerator) -> SearchResult: ...


def layer_key(layer: Layer) -> tuple:
    """Everything of a layer that its cost depends on (id, name and operand sources excluded)."""
    return (
        layer.type,
        layer.equation,
        layer.operands,
        layer.operand_dims,
        layer.relations,
        layer.loop_sizes,
        layer.precision,
        layer.constant_operands,
        layer.spatial_mapping,
        layer.memory_operand_links,
    )


def cache_key(layer: Layer, acc: Accelerator, config: Hashable) -> tuple:
    """The canonical key of one mapper query."""
    return (layer_key(layer), acc.array, acc.levels, type(config).__name__, config)


class MappingCache:
    """A dictionary of finished searches; `hits` / `misses` count look-ups."""

    def __init__(self, entries: dict[tuple, SearchResult] | None = None) -> None:
        self.entries: dict[tuple, SearchResult] = dict(entries or {})
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self.entries)

    def update(self, other: "MappingCache | dict[tuple, SearchResult]") -> None:
        """Merge entries found elsewhere (e.g. returned by a worker process)."""
        self.entries.update(other.entries if isinstance(other, MappingCache) else other)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Persist atomically (temporary file in the same folder, then rename)."""
        atomic_write_bytes(path, pickle.dumps(self.entries, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "MappingCache":
        """Read a cache written by `save` (a missing file gives an empty cache)."""
        if not os.path.exists(path):
            return cls()
        with open(path, "rb") as f:
            return cls(pickle.load(f))


#: the process-wide default cache used when `best_mapping` is given none
DEFAULT_CACHE = MappingCache()


def best_mapping(layer: Layer, acc: Accelerator, config: Any, cache: MappingCache | None = DEFAULT_CACHE) -> SearchResult:
    """Best temporal mapping of `layer` on `acc` under a mapper config (LomaConfig, SalsaConfig), memoised.

    A cached answer is returned with the layer's own id filled in, so identical layers of
    different networks share one search. `cache=None` disables memoisation.
    """
    if cache is None:
        return config.search(layer, acc)
    key = cache_key(layer, acc, config)
    hit = cache.entries.get(key)
    if hit is not None:
        cache.hits += 1
        if hit.cost.layer_id != layer.id:
            hit = replace(hit, cost=replace(hit.cost, layer_id=layer.id))
        return hit
    cache.misses += 1
    res = config.search(layer, acc)
    cache.entries[key] = res
    return res
