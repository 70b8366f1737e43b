"""Issue 21 items 2 and 5: a result file or mapper-cache shard with one flipped bit is never used.

Result files, baseline files and cache shards carry a checksum of their payload: a damaged result
counts as missing (Step 2 lists it as unreadable, never with changed numbers) and a rerun of Step 1
recomputes it, as Step 2's message advises; a damaged shard is dropped with one warning.
"""

from __future__ import annotations

import pickle
import random
import shutil
from pathlib import Path

import pytest

from acco.dse.runner import run_sweep
from acco.dse.scenarios import expand
from acco.dse.store import BASELINE_DIR, load_baselines, load_result, result_files, result_path
from acco.dse.sweep import load_sweep
from acco.io.checksum import ChecksumError, seal, unseal
from acco.reports.compile import compile_to_disk
from acco.search.memo import MappingCache, shard_folder

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
FLIPS = 12


def _flip(p: Path, rng: random.Random) -> None:
    data = bytearray(p.read_bytes())
    i = rng.randrange(len(data))
    data[i] ^= 1 << rng.randrange(8)
    p.write_bytes(bytes(data))


def _tables(sweep, out: Path):
    w = compile_to_disk(sweep, out, progress=False, jobs=1)
    return {n: (out / "step2" / n).read_bytes() for n in ("ranges.csv", "layers.csv")}, w


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("integrity")
    sw = d / "sweep.yaml"
    sw.write_text(f"name: integ\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: [4, 16]\ntile_y: [4]\n"
                  "caching: [[true, true]]\ncut_max: 0\ntargets: [energy]\nmapper: {engine: loma, lpf_limit: 6}\nseed: 0\n")
    sweep = load_sweep(sw)
    assert run_sweep(sweep, d / "out", jobs=1, progress=False).done == 2
    tables, _ = _tables(sweep, d / "out")
    return d, sweep, tables


def test_checksum_seals_and_detects_every_single_bit_flip() -> None:
    payload = pickle.dumps({"energy": 42_011_407}, protocol=pickle.HIGHEST_PROTOCOL)
    sealed = seal(payload)
    assert unseal(sealed) == payload and unseal(payload) == payload  # a legacy bare pickle is accepted
    for i in range(len(sealed)):
        for bit in range(8):
            bad = bytearray(sealed)
            bad[i] ^= 1 << bit
            with pytest.raises(ChecksumError):
                unseal(bytes(bad))


def test_flipped_bits_in_results_never_change_the_tables_and_a_rerun_repairs_them(ref, tmp_path: Path) -> None:
    d, sweep, tables = ref
    rng = random.Random(21)
    detected = 0
    for k in range(FLIPS):
        out = tmp_path / f"f{k}"
        shutil.copytree(d / "out", out)
        victim = rng.choice(result_files(out / "step1"))
        _flip(victim, rng)
        got, w = _tables(sweep, out)
        assert w.scenarios == 1 and list(w.missing.status) == ["unreadable"], "a damaged result was used"
        assert "checksum" in w.missing.message.item() or "damaged" in w.missing.message.item()
        assert "rerun Step 1" in w.missing.message.item()
        detected += 1
        # the advice works: Step 1 recomputes the damaged file (not "already done")
        s = run_sweep(sweep, out, jobs=1, progress=False)
        assert (s.done, s.damaged) == (1, 1)
        assert _tables(sweep, out)[0] == tables
    assert detected == FLIPS


def test_flipped_baseline_file_is_not_used(ref, tmp_path: Path) -> None:
    d, sweep, _ = ref
    out = tmp_path / "b"
    shutil.copytree(d / "out", out)
    (p,) = (out / "step1" / BASELINE_DIR).glob("*.pkl")
    assert load_baselines(p) is not None
    _flip(p, random.Random(3))
    assert load_baselines(p) is None
    s = run_sweep(sweep, out, jobs=1, progress=False)
    assert s.baselines_done == 1 and load_baselines(p) is not None


def test_flipped_cache_shard_is_dropped_with_one_warning(ref, tmp_path: Path, capsys) -> None:
    d, sweep, tables = ref
    out = tmp_path / "c"
    shutil.copytree(d / "out", out)
    cache = out / ".mapper-cache"
    # shards of this process's searches (an earlier test in this process may have answered the fixture's)
    from acco.search.memo import DEFAULT_CACHE

    for half in (0, 1):
        c = MappingCache({k: v for i, (k, v) in enumerate(DEFAULT_CACHE.entries.items()) if i % 2 == half})
        c.new = list(c.entries)
        c.save_shard(cache)
    shards = sorted(shard_folder(cache).glob("*.cache"))
    assert len(shards) >= 2
    for p in shards:
        _flip(p, random.Random(p.name))
    capsys.readouterr()
    c = MappingCache()
    assert c.load_dir(cache) == 0 and len(c) == 0
    err = capsys.readouterr().err
    assert err.count("warning: mapper cache: dropped") == len(shards) and "checksum" in err
    assert not list(shard_folder(cache).glob("*.cache")), "damaged shards kept"
    # a run over the damaged cache (recomputing every result) gives the same tables
    for sc in expand(sweep):
        result_path(out / "step1", sc).unlink()
    run_sweep(sweep, out, jobs=1, progress=False)
    assert _tables(sweep, out)[0] == tables


def test_legacy_result_without_checksum_is_accepted(ref, tmp_path: Path) -> None:
    d, sweep, tables = ref
    out = tmp_path / "legacy"
    shutil.copytree(d / "out", out)
    for p in result_files(out / "step1"):  # as written before checksums: the bare pickle
        p.write_bytes(pickle.dumps(load_result(p), protocol=pickle.HIGHEST_PROTOCOL))
    assert run_sweep(sweep, out, jobs=1, progress=False).done == 0
    assert _tables(sweep, out)[0] == tables
