"""best_mapping: a repeated query is a look-up; keys separate what changes the answer; caches persist."""

from __future__ import annotations

from dataclasses import replace

from acco.frozendict import FrozenDict
from acco.search import LomaConfig, MappingCache, SalsaConfig, best_mapping


def test_repeat_is_a_cache_hit_and_ids_are_kept(meta, stft):
    cache = MappingCache()
    layer = stft.layer(2)
    a = best_mapping(layer, meta, LomaConfig(4), cache)
    twin = replace(layer, id=99, name="renamed")
    b = best_mapping(twin, meta, LomaConfig(4), cache)
    assert (cache.hits, cache.misses) == (1, 1)
    assert b.cost.energy_total == a.cost.energy_total and b.cost.layer_id == 99


def test_key_separates_settings_sizes_and_hardware(meta, stft):
    cache = MappingCache()
    layer = stft.layer(2)
    best_mapping(layer, meta, LomaConfig(4), cache)
    best_mapping(layer, meta, LomaConfig(4, "latency"), cache)
    best_mapping(layer, meta, SalsaConfig(seed=1), cache)
    bigger = replace(layer, loop_sizes=FrozenDict({**layer.loop_sizes, "OX": layer.loop_sizes["OX"] * 2}))
    best_mapping(bigger, meta, LomaConfig(4), cache)
    top = meta.levels[-1]
    other_hw = replace(meta, levels=meta.levels[:-1] + (replace(top, instance=replace(top.instance, r_cost=top.instance.r_cost * 2)),))
    best_mapping(layer, other_hw, LomaConfig(4), cache)
    assert cache.misses == 5 and cache.hits == 0


def test_cache_persists_and_merges(meta, stft, tmp_path):
    cache = MappingCache()
    r = best_mapping(stft.layer(2), meta, LomaConfig(4), cache)
    path = tmp_path / "sub" / "cache.pkl"
    cache.save(path)
    loaded = MappingCache.load(path)
    assert len(loaded) == 1
    again = best_mapping(stft.layer(2), meta, LomaConfig(4), loaded)
    assert loaded.hits == 1 and again.cost.energy_total == r.cost.energy_total
    merged = MappingCache()
    merged.update(loaded)
    assert len(merged) == 1
    assert MappingCache.load(tmp_path / "missing.pkl").entries == {}
    assert not list(path.parent.glob("*.tmp"))
