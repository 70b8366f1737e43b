"""Memoised mapper entry point: `best_mapping` answers a repeated query with a dictionary look-up.

The key is canonical (what the cost depends on, never object identity): the layer's loop nest
(equation, loop sizes, relations, precisions, spatial mapping, operand links, but not its id or
name), the accelerator (array and every memory level, which already says which levels are
available), and the mapper settings. The cache is a plain dict of picklable values, so it can be
shipped to worker processes, merged back, or persisted with `save` / `load`.

A cache **folder** (`load_dir` / `save_shard` / `compact_dir`) is shared by the worker processes
of a run and by later runs: each writer adds shard files (atomically written, never modified),
a reader merges every shard. Shards live in a sub-folder named by a digest of the model's source
code (`model_digest`), so a changed cost model or mapper never reads old answers. Files are read
through a restricted unpickler that admits only the classes a cache holds, after checking the
checksum of their payload (`acco.io.checksum`): a damaged shard is dropped with one warning, never used.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Hashable, Protocol

from acco.hardware.models import Accelerator
from acco.io.atomic import atomic_write_bytes
from acco.io.checksum import ChecksumError, seal, unseal
from acco.search.allocator import DoesNotFit
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
    """The canonical key of one mapper query (the config carries the cost-model version, `config.model`)."""
    return (layer_key(layer), acc.array, acc.levels, type(config).__name__, config)


#: the only classes a cache file may contain (the cache types, then a few builtin containers)
_ALLOWED = {
    ("acco.frozendict", "FrozenDict"),
    ("acco.workload.layer", "Relation"),
    ("acco.hardware.models", "OperationalArray"),
    ("acco.hardware.models", "MemoryLevel"),
    ("acco.hardware.models", "MemoryInstance"),
    ("acco.hardware.models", "Port"),
    ("acco.search.loma", "LomaConfig"),
    ("acco.search.loma", "SearchResult"),
    ("acco.search.salsa", "SalsaConfig"),
    ("acco.search.spatial_search", "SpatialSearchConfig"),
    ("acco.cost.model", "LayerCost"),
    ("acco.cost.model", "Accesses"),
    ("acco.mapping.temporal", "TemporalMapping"),
}
_ALLOWED |= {("builtins", n) for n in ("tuple", "dict", "list", "frozenset", "set", "int", "float", "str", "bool", "complex")}

#: format of the files written by `save` and `save_shard`
CACHE_FORMAT = "acco-mapper-cache-1"
SHARD_SUFFIX = ".cache"


class CacheFileError(Exception):
    """A cache file that cannot be used (refused class, other format, corrupt)."""


class _Restricted(pickle.Unpickler):
    """Unpickles only the classes in `_ALLOWED`: a cache file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise CacheFileError(f"refused to load {module}.{name}: not a mapper-cache type")
        return super().find_class(module, name)


def _dumps(entries: dict[tuple, SearchResult]) -> bytes:
    return seal(pickle.dumps((CACHE_FORMAT, entries), protocol=pickle.HIGHEST_PROTOCOL))


class DamagedShard(CacheFileError):
    """A cache file whose payload does not match its checksum."""


def _loads(data: bytes, source: str) -> dict[tuple, SearchResult]:
    try:
        obj = _Restricted(io.BytesIO(unseal(data, source))).load()
    except ChecksumError as e:
        raise DamagedShard(str(e)) from None
    except CacheFileError as e:
        raise CacheFileError(f"{source}: {e}") from None
    except Exception as e:  # truncated or garbage file
        raise CacheFileError(f"{source}: not a readable mapper cache ({type(e).__name__}: {e})") from None
    if isinstance(obj, dict):  # files written before the format tag
        return obj
    if not (isinstance(obj, tuple) and len(obj) == 2 and obj[0] == CACHE_FORMAT and isinstance(obj[1], dict)):
        raise CacheFileError(f"{source}: not an ACCO mapper cache of format {CACHE_FORMAT}")
    return obj[1]


_MODEL_PACKAGES = ("cost", "search", "mapping", "hardware", "workload")


def model_digest() -> str:
    """Digest of the source code that mapper answers depend on (cost model, mappers, models)."""
    global _DIGEST
    if _DIGEST is None:
        from acco import __version__

        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256(__version__.encode())
        files = [root / "frozendict.py", root / "model_versions.py"] + [f for pkg in _MODEL_PACKAGES for f in sorted((root / pkg).glob("*.py"))]
        for f in files:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        _DIGEST = h.hexdigest()[:16]
    return _DIGEST


_DIGEST: str | None = None


class MappingCache:
    """A dictionary of finished searches; `hits` / `misses` count look-ups.

    Entries added by searches (misses) since the last `take_new` are remembered, so that a worker
    can append just those to a cache folder.
    """

    def __init__(self, entries: dict[tuple, SearchResult] | None = None) -> None:
        self.entries: dict[tuple, SearchResult] = dict(entries or {})
        self.hits = 0
        self.misses = 0
        self.new: list[tuple] = []
        #: shard files of a cache folder already merged into `entries` (by path)
        self.loaded_shards: set[str] = set()
        #: answers by (layer number, accelerator number, config) (see `best_mapping`), the
        #: DoesNotFit entries of other (layer id, accelerator name) pairs, and relabelled answers
        self._fast: dict[tuple, Any] = {}
        self._no_fit: dict[tuple, tuple] = {}
        self._relabelled: dict[tuple, SearchResult] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def update(self, other: "MappingCache | dict[tuple, SearchResult]") -> None:
        """Merge entries found elsewhere (e.g. returned by a worker process)."""
        self.entries.update(other.entries if isinstance(other, MappingCache) else other)
        self._forget_fast()

    def _forget_fast(self) -> None:
        """Drop the look-up shortcuts (after `entries` may have changed other than by adding)."""
        self._fast.clear()
        self._no_fit.clear()
        self._relabelled.clear()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Persist atomically (temporary file in the same folder, then rename)."""
        atomic_write_bytes(path, _dumps(self.entries))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "MappingCache":
        """Read a cache written by `save` (a missing file gives an empty cache); restricted unpickler."""
        if not os.path.exists(path):
            return cls()
        return cls(_loads(Path(path).read_bytes(), str(path)))

    def take_new(self) -> dict[tuple, SearchResult]:
        """The entries searched since the last call (and forget them as new)."""
        new = {k: self.entries[k] for k in self.new if k in self.entries}
        self.new = []
        return new

    # ---- cache folders -----------------------------------------------------------------
    def load_dir(self, folder: str | os.PathLike[str]) -> int:
        """Merge every shard of `folder` not merged yet (this model's sub-folder); return entries added.

        A shard that cannot be read (another schema, corrupt) is skipped: the cache only saves work.
        """
        d = shard_folder(folder)
        if not d.is_dir():
            return 0
        added = 0
        for p in sorted(d.glob("*" + SHARD_SUFFIX)):
            name = str(p)
            if name in self.loaded_shards:
                continue
            try:
                entries = _loads(p.read_bytes(), name)
            except DamagedShard as e:
                drop_damaged(p, e)
                continue
            except (OSError, CacheFileError):
                continue  # removed by a concurrent compaction (its entries are in the merged file) or unusable
            self.loaded_shards.add(name)
            for k, v in entries.items():
                if k not in self.entries:
                    self.entries[k] = v
                    added += 1
        return added

    def save_shard(self, folder: str | os.PathLike[str]) -> Path | None:
        """Write the entries searched since the last shard as a new shard file of `folder` (None if none)."""
        new = self.take_new()
        if not new:
            return None
        p = shard_folder(folder) / f"{os.getpid()}-{uuid.uuid4().hex[:12]}{SHARD_SUFFIX}"
        atomic_write_bytes(p, _dumps(new))
        self.loaded_shards.add(str(p))
        return p


_warned: set[str] = set()


def drop_damaged(path: Path, err: Exception) -> None:
    """A damaged shard: one warning (per file and process) and the file removed (best effort: the
    folder may be read-only); its searches are simply done again."""
    if str(path) not in _warned:
        _warned.add(str(path))
        import sys

        print(f"warning: mapper cache: dropped {err}", file=sys.stderr)
    try:
        path.unlink()
    except OSError:
        pass


def shard_folder(folder: str | os.PathLike[str]) -> Path:
    """Where the shards of this model's code live inside a cache folder."""
    return Path(folder) / model_digest()


def compact_dir(folder: str | os.PathLike[str], min_files: int = 8) -> int:
    """Merge the shards of `folder` into one when there are at least `min_files`; return the files merged.

    Safe with concurrent writers and compactions: the merged file is written (atomically) before
    the shards it holds are removed, and only shards that were read are removed.
    """
    d = shard_folder(folder)
    files = sorted(d.glob("*" + SHARD_SUFFIX)) if d.is_dir() else []
    if len(files) < min_files:
        return 0
    merged: dict[tuple, SearchResult] = {}
    read: list[Path] = []
    for p in files:
        try:
            entries = _loads(p.read_bytes(), str(p))
        except DamagedShard as e:
            drop_damaged(p, e)
            continue
        except (OSError, CacheFileError):
            continue
        for k, v in entries.items():
            merged.setdefault(k, v)
        read.append(p)
    if len(read) < 2:
        return 0
    atomic_write_bytes(d / f"merged-{os.getpid()}-{uuid.uuid4().hex[:12]}{SHARD_SUFFIX}", _dumps(merged))
    for p in read:
        p.unlink(missing_ok=True)
    return len(read)


#: tag of a cached search that found no mapping that fits (the entry is a plain tuple, see `best_mapping`)
NO_FIT = "DoesNotFit"

#: the process-wide default cache used when `best_mapping` is given none
DEFAULT_CACHE = MappingCache()


def best_mapping(layer: Layer, acc: Accelerator, config: Any, cache: MappingCache | None = DEFAULT_CACHE) -> SearchResult:
    """Best temporal mapping of `layer` on `acc` under a mapper config (LomaConfig, SalsaConfig), memoised.

    A cached answer is returned with the layer's own id filled in, so identical layers of
    different networks share one search. A search that raised DoesNotFit is remembered too and
    raises the same error again; its message names the layer id and the accelerator, so it is
    remembered per (layer id, accelerator name) (the first one under the canonical key, others
    under `(NO_FIT, key, layer id, accelerator name)`). `cache=None` disables memoisation.

    Repeated look-ups of the same layer and accelerator objects skip building and hashing the
    canonical key: both carry a process-wide number of their canonical part (`_layer_token`,
    `_acc_token`), and the cache keeps the answers by (layer number, accelerator number, config).
    """
    if cache is None:
        return config.search(layer, acc)
    fk = (_layer_token(layer), _acc_token(acc), config)
    hit = cache._fast.get(fk)
    if hit is None:
        key = cache_key(layer, acc, config)
        hit = cache.entries.get(key)
        if hit is None:
            return _search(layer, acc, config, cache, key, fk)
        cache._fast[fk] = hit
    if type(hit) is tuple:  # a search that found nothing that fits: (tag, layer id, accelerator name, args)
        if hit[1] != layer.id or hit[2] != acc.name:  # the message names both: look for this pair's own entry
            hit = cache._no_fit.get((fk, layer.id, acc.name))
            if hit is None:
                key = cache_key(layer, acc, config)
                hit = cache.entries.get((NO_FIT, key, layer.id, acc.name))
                if hit is None:
                    return _search(layer, acc, config, cache, key, fk)
                cache._no_fit[(fk, layer.id, acc.name)] = hit
        cache.hits += 1
        raise DoesNotFit(*hit[3])
    cache.hits += 1
    if hit.cost.layer_id != layer.id:
        rk = (fk, layer.id)
        r = cache._relabelled.get(rk)
        if r is None:
            r = cache._relabelled[rk] = replace(hit, cost=replace(hit.cost, layer_id=layer.id))
        return r
    return hit


def _search(layer: Layer, acc: Accelerator, config: Any, cache: MappingCache, key: tuple, fk: tuple) -> SearchResult:
    """A cache miss: search, remember the answer (or the DoesNotFit) under `key`, return it (or raise)."""
    cache.misses += 1
    try:
        res = config.search(layer, acc)
    except DoesNotFit as e:
        entry = (NO_FIT, layer.id, acc.name, tuple(str(a) for a in e.args))
        first = cache.entries.get(key)
        if first is None:
            cache.entries[key] = entry  # type: ignore[assignment]
            cache._fast[fk] = entry
            cache.new.append(key)
        else:  # the key already names another layer id or accelerator: this pair's own entry
            ext = (NO_FIT, key, layer.id, acc.name)
            cache.entries[ext] = entry  # type: ignore[assignment]
            cache._no_fit[(fk, layer.id, acc.name)] = entry
            cache.new.append(ext)
        raise
    cache.entries[key] = res
    cache._fast[fk] = res
    cache.new.append(key)
    return res


#: process-wide numbers of canonical layers (`layer_key`) and accelerators ((array, levels)); a
#: layer or accelerator object keeps its number (never pickled: Layer and Accelerator pickle
#: their fields only), so equal objects share one number and a repeated look-up hashes two ints
_TOKENS: dict[tuple, int] = {}


def _layer_token(layer: Layer) -> int:
    d = layer.__dict__
    t = d.get("_mapper_token")
    if t is None:
        t = d["_mapper_token"] = _TOKENS.setdefault(("layer", layer_key(layer)), len(_TOKENS))
    return t


def _acc_token(acc: Accelerator) -> int:
    m = acc.memo
    t = m.get("mapper_token")
    if t is None:
        t = m["mapper_token"] = _TOKENS.setdefault(("acc", acc.array, acc.levels), len(_TOKENS))
    return t
