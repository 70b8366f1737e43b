"""Issue 7: the mapper-cache folder and the chunked Step 1 change no result.

A reduced grid is run three times by the Step-1 script: with an empty cache folder and two workers
(cold), again on the same folder with one worker (warm: no search at all), and with the cache
off; the Step-2 tables must be byte-identical. (Determinism across --jobs 1 and 2 on one more
sweep is in tests/test_reliability.py.) Cache files are read through a restricted unpickler.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from acco.dse.runner import mapper_cache_dir, plan_chunks
from acco.dse.scenarios import expand
from acco.dse.sweep import load_sweep
from acco.reports.compile import compile_tables, write_tables
from acco.search import LomaConfig, MappingCache, best_mapping
from acco.search.memo import CacheFileError, compact_dir, shard_folder

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
STEP1 = ROOT / "DfStackCutAndXform_mp_misc.py"


def _sweep(folder: Path) -> Path:
    p = folder / "sweep.yaml"
    # tile_x 512 is wider than every range's output: those scenarios reuse the 16-wide ones' work
    p.write_text(
        f"name: cache\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: [4, 16, 512]\ntile_y: [4]\n"
        "caching: [[true, true], [false, false]]\ncut_max: 1\ntargets: [energy, latency]\n"
        "mapper: {engine: loma, lpf_limit: 6}\nseed: 0\n"
    )
    return p


def _step1(sweep: Path, out: Path, *args: str) -> str:
    r = subprocess.run([sys.executable, str(STEP1), "--sweep", str(sweep), "--out", str(out), "--quiet", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _searches(stdout: str) -> int:
    m = re.search(r"mapper cache .*: (\d+) searches", stdout)
    assert m, stdout
    return int(m.group(1))


def _tables(sweep: Path, out: Path) -> dict[str, bytes]:
    write_tables(compile_tables(load_sweep(sweep), out, progress=False), out)
    return {p.name: p.read_bytes() for p in sorted((out / "step2").glob("*.csv"))}


def test_tables_identical_with_the_cache_cold_warm_and_off(tmp_path: Path) -> None:
    sw = _sweep(tmp_path)
    cache = tmp_path / "cache"
    cold = _step1(sw, tmp_path / "cold", "--jobs", "2", "--mapper-cache", str(cache))
    assert _searches(cold) > 0
    assert list(shard_folder(cache).glob("*.cache")), "the workers wrote no shard"
    warm = _step1(sw, tmp_path / "warm", "--jobs", "1", "--mapper-cache", str(cache))
    assert _searches(warm) == 0 and "100%" in warm
    off = _step1(sw, tmp_path / "off", "--jobs", "1", "--mapper-cache", "off")
    assert "mapper cache off" in off and _searches(off) > 0
    assert not (tmp_path / "off" / ".mapper-cache").exists()
    ref = _tables(sw, tmp_path / "off")
    assert ref and ref["ranges.csv"].count(b"\n") > 12
    assert _tables(sw, tmp_path / "cold") == ref
    assert _tables(sw, tmp_path / "warm") == ref


def test_cache_folder_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCO_MAPPER_CACHE", raising=False)
    assert mapper_cache_dir(tmp_path) == tmp_path / ".mapper-cache"
    assert mapper_cache_dir(tmp_path, "off") is None
    assert mapper_cache_dir(tmp_path, str(tmp_path / "c")) == tmp_path / "c"
    monkeypatch.setenv("ACCO_MAPPER_CACHE", "OFF")
    assert mapper_cache_dir(tmp_path) is None
    monkeypatch.setenv("ACCO_MAPPER_CACHE", str(tmp_path / "e"))
    assert mapper_cache_dir(tmp_path) == tmp_path / "e"
    assert mapper_cache_dir(tmp_path, "off") is None  # the flag wins


def test_chunks_keep_neighbours_together_and_cover_every_scenario(tmp_path: Path) -> None:
    scs = expand(load_sweep(_sweep(tmp_path)))
    one = plan_chunks(scs, 1)
    assert len(one) == 2 and all(len({(s.h_cache, s.v_cache, s.tile_y) for s in c}) == 1 for c in one)
    for jobs in (1, 2, 4):
        chunks = plan_chunks(scs, jobs)
        assert sorted(s.id for c in chunks for s in c) == sorted(s.id for s in scs)
        assert len(chunks) >= min(len(scs), 3 * jobs) if jobs > 1 else True
    assert plan_chunks([], 2) == []


class _Evil:
    def __reduce__(self):  # noqa: D105
        return (print, ("pwned",))


def test_cache_files_are_restricted_and_bad_shards_are_skipped(meta, stft, tmp_path: Path) -> None:
    cache = MappingCache()
    r = best_mapping(stft.layer(2), meta, LomaConfig(4), cache)
    assert cache.save_shard(tmp_path) is not None and cache.save_shard(tmp_path) is None  # nothing new
    d = shard_folder(tmp_path)
    (d / "evil.cache").write_bytes(pickle.dumps(_Evil()))
    (d / "trunc.cache").write_bytes(next(d.glob("[0-9]*.cache")).read_bytes()[:50])
    with pytest.raises(CacheFileError, match="refused"):
        MappingCache.load(d / "evil.cache")
    other = MappingCache()
    assert other.load_dir(tmp_path) == 1
    again = best_mapping(stft.layer(2), meta, LomaConfig(4), other)
    assert (other.hits, other.misses) == (1, 0) and again.cost == r.cost
    # compaction merges the readable shards into one file and keeps the entries
    MappingCache({("k",): r}).save(d / "extra.cache")
    assert compact_dir(tmp_path, min_files=2) == 2
    merged = MappingCache()
    assert merged.load_dir(tmp_path) == 2


def test_a_search_that_fits_nothing_is_remembered(meta, stft, tmp_path: Path) -> None:
    from dataclasses import replace

    from acco.depthfirst.memory import truncate
    from acco.search import DoesNotFit

    tiny = truncate(meta, {op: meta.chain(op)[0].name for op in ("I1", "I2", "O")})
    layer = stft.layer(2)
    cache = MappingCache()
    with pytest.raises(DoesNotFit) as first:
        best_mapping(layer, tiny, LomaConfig(4), cache)
    with pytest.raises(DoesNotFit) as again:
        best_mapping(layer, tiny, LomaConfig(4), cache)
    assert str(again.value) == str(first.value) and (cache.hits, cache.misses) == (1, 1)
    with pytest.raises(DoesNotFit):  # another layer id: its own message, so searched again
        best_mapping(replace(layer, id=99), tiny, LomaConfig(4), cache)
    assert (cache.hits, cache.misses) == (1, 2)
    MappingCache(cache.take_new()).save(tmp_path / "no-fit.cache")  # a plain tuple: allowed in cache files
    loaded = MappingCache.load(tmp_path / "no-fit.cache")
    with pytest.raises(DoesNotFit):  # the entry now names layer 99, the last one searched
        best_mapping(replace(layer, id=99), tiny, LomaConfig(4), loaded)
    assert (loaded.hits, loaded.misses) == (1, 0)


# ---- invalidation: a changed model never reads old answers -------------------------------------
_PROBE = (
    "import sys, acco; from pathlib import Path; from acco.search.memo import MappingCache, model_digest; "
    "assert Path(acco.__file__).resolve().is_relative_to(Path.cwd().resolve()), acco.__file__; "
    "print(model_digest(), MappingCache().load_dir(sys.argv[1]))"
)


def _probe(tree: Path, cache_dir: Path) -> tuple[str, int]:
    """(model digest, cache entries read from `cache_dir`) of the package copy under `tree`."""
    r = subprocess.run([sys.executable, "-c", _PROBE, str(cache_dir)], cwd=tree, capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)})
    assert r.returncode == 0, r.stderr
    digest, n = r.stdout.split()
    return digest, int(n)


def test_a_changed_cost_model_or_mapper_does_not_read_the_old_cache(meta, stft, tmp_path: Path) -> None:
    """A cache folder written by this code is read by an identical copy of the package, and by no copy
    whose cost model, mapper, mapping, hardware or workload code differs by one comment line; a
    change elsewhere (reports) keeps it (the digest is not over-broad)."""
    import shutil

    cache_dir = tmp_path / "cache"
    c = MappingCache()
    best_mapping(stft.layer(4), meta, LomaConfig(lpf_limit=4), c)
    assert c.save_shard(cache_dir) is not None
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "acco", tree / "acco", ignore=shutil.ignore_patterns("__pycache__"))
    same_digest, same_n = _probe(tree, cache_dir)
    assert (same_digest, same_n) == (shard_folder(cache_dir).name, 1)
    for rel, stays in [("cost/model.py", False), ("search/salsa.py", False), ("mapping/temporal.py", False),
                       ("hardware/models.py", False), ("workload/layer.py", False), ("reports/allocate.py", True)]:
        f = tree / "acco" / rel
        original = f.read_bytes()
        f.write_bytes(original + b"\n# a changed line\n")
        try:
            digest, n = _probe(tree, cache_dir)
        finally:
            f.write_bytes(original)
        assert (digest == same_digest, n) == ((True, 1) if stays else (False, 0)), rel
