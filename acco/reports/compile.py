"""Step 2: reduce the Step-1 results of a sweep to tidy tables (CSV), as the original's Step 2 does.

Per scenario × sub-stack range × kind (`warmup` = first tile row, `stable` = second row, `total` =
whole sequence): energy, latency, DRAM off-load/reload deltas and bytes, peak activation and weight
bits (`ranges.csv`); per layer and data-copy layer of the whole sequence (`layers.csv`, optional: it is
the large one); and what is missing or failed. The energy breakdown per layer into MAC, memory levels
and copies is read on demand for chosen strategies (`layer_energy_of`), not tabulated for all. Rows follow the sweep's scenario order, so the same results always give the same bytes.
The table layout is documented in docs/pipeline.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd
from tqdm import tqdm

from acco.causal.readings import READING_FIELDS
from acco.dse.result import ENTRY_KINDS, KINDS, Scenario, ScenarioResult
from acco.dse.scenarios import expand
from acco.dse.store import ResultFileError, gc_paused, iter_failures, load_result, load_result_bytes, result_digest, result_path
from acco.dse.sweep import Sweep
from acco.reports.cuttext import cut_text

KEY_COLUMNS = (
    "scenario_id", "hardware", "workload", "target", "tile_x", "tile_y", "h_cache", "v_cache", "cuts",
    "initial_dilation", "batch", "cut_before", "cut_after",
)
_UNITS = {
    "energy": "energy_pJ", "latency": "latency_cc", "offload_energy": "offload_energy_pJ",
    "offload_latency": "offload_latency_cc", "reload_energy": "reload_energy_pJ",
    "reload_latency": "reload_latency_cc", "offload_bytes": "offload_bytes", "reload_bytes": "reload_bytes",
}
READING_COLUMNS = tuple(_UNITS[f] for f in READING_FIELDS)
RANGE_COLUMNS = KEY_COLUMNS + ("first_layer", "last_layer", "n_layers", "rows", "kind") + READING_COLUMNS + (
    "peak_activation_bits", "weight_bits",
)
LAYER_COLUMNS = KEY_COLUMNS + ("kind", "position", "node_id", "entry") + READING_COLUMNS + ("mac_energy_pJ",)
ENERGY_COLUMNS = KEY_COLUMNS + ("node_id", "component", "energy_pJ")


@dataclass(frozen=True)
class Tables:
    """The Step-2 tables of a sweep."""

    ranges: pd.DataFrame | None
    layers: pd.DataFrame | None
    missing: pd.DataFrame
    failures: pd.DataFrame


def _keys(sc: Scenario, cb: int | None, ca: int | None) -> tuple:
    return (
        sc.id, sc.hardware, sc.workload, sc.target, sc.tile_x, sc.tile_y, sc.h_cache, sc.v_cache,
        cut_text(sc.cuts), sc.initial_dilation, sc.batch, cb, ca,
    )


def result_rows(res: ScenarioResult, layers: bool = True, ranges: set | None = None) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(ranges rows, layers rows, layer-energy rows) of one scenario result (`ranges`: only these (cb, ca))."""
    sc = res.scenario
    r_rows: list[tuple] = []
    l_rows: list[tuple] = []
    e_rows: list[tuple] = []
    for rg in res.ranges:
        if ranges is not None and (rg.cut_before, rg.cut_after) not in ranges:
            continue
        keys = _keys(sc, rg.cut_before, rg.cut_after)
        ids = rg.layer_ids
        for kind in KINDS:
            k = rg.kind(kind)
            rd = k.reading
            r_rows.append(
                keys + (min(ids), max(ids), len(ids), rg.rows, kind)
                + tuple(getattr(rd, f) for f in READING_FIELDS) + (k.peak_bits, k.weight_bits)
            )
        if not layers:
            continue
        tot = rg.total
        for pos, en in enumerate(tot.entries):
            l_rows.append(keys + ("total", pos, en.node_id, en.entry) + tuple(getattr(en.reading, f) for f in READING_FIELDS) + (en.mac_energy,))
            if en.entry == "copy":
                if en.reading.energy:
                    e_rows.append(keys + (en.node_id, "copy", float(en.reading.energy)))
            else:
                e_rows.append(keys + (en.node_id, "MAC", en.mac_energy))
                for name, e in en.level_energy:
                    e_rows.append(keys + (en.node_id, name, e))
    return r_rows, l_rows, e_rows


def _scan(sweep: Sweep, out: str | os.PathLike[str], progress: bool, layers: bool, missing: list[tuple]) -> Iterator[tuple[list, list]]:
    """(ranges rows, layers rows) of every scenario of `sweep` with a result, in sweep order; the others go to `missing`."""
    step1 = Path(out) / "step1"
    failed_ids = {f.get("scenario_id"): f for f in iter_failures(step1)} if step1.exists() else {}
    for sc in tqdm(expand(sweep), desc="step 2", unit="scenario", disable=not progress):
        p = result_path(step1, sc)
        if not p.exists():
            f = failed_ids.get(sc.id)
            missing.append((sc.id, "failed" if f else "not run", f["message"] if f else ""))
            continue
        try:
            res = load_result(p)
        except ResultFileError as e:
            missing.append((sc.id, "unreadable", str(e)))
            continue
        a, b, _ = result_rows(res, layers)
        yield a, b


def _failures(sweep: Sweep, out: str | os.PathLike[str]) -> pd.DataFrame:
    step1 = Path(out) / "step1"
    failed = {f.get("scenario_id"): f for f in iter_failures(step1)} if step1.exists() else {}
    sweep_ids = {sc.id for sc in expand(sweep)}
    rows = [(k, failed[k].get("message", "")) for k in sorted(failed) if k in sweep_ids]
    return pd.DataFrame(rows, columns=["scenario_id", "message"])


def _missing(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["scenario_id", "status", "message"])


def compile_tables(sweep: Sweep, out: str | os.PathLike[str], progress: bool = True, layers: bool = True) -> Tables:
    """Read the Step-1 results of every scenario of `sweep` under `out/step1/` into tables (`layers`: the per-layer one too)."""
    r_rows: list[tuple] = []
    l_rows: list[tuple] = []
    missing: list[tuple] = []
    for a, b in _scan(sweep, out, progress, layers, missing):
        r_rows += a
        l_rows += b
    return Tables(
        _frame(r_rows, RANGE_COLUMNS),
        _frame(l_rows, LAYER_COLUMNS) if layers else None,
        _missing(missing),
        _failures(sweep, out),
    )


#: scenarios whose per-layer rows are turned into CSV text at a time by `compile_to_disk`
LAYER_CHUNK = 64


def csv_field(v: object) -> str:
    """One CSV field exactly as pandas' `to_csv` writes it (None/NaN empty, floats by repr, minimal quoting)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v
    if isinstance(v, float):
        return "" if v != v else repr(v)
    return str(v)


def key_texts(res: ScenarioResult) -> list[str]:
    """The key columns of each range of a result as CSV text (`csv_field` of `_keys`), the scenario's
    part formatted once."""
    sc = res.scenario
    head = ",".join(csv_field(v) for v in _keys(sc, None, None)[:-2])
    return [f"{head},{csv_field(rg.cut_before)},{csv_field(rg.cut_after)}" for rg in res.ranges]


def layer_csv(res: ScenarioResult, keys: list[str] | None = None) -> tuple[str, int]:
    """The `layers.csv` lines (LAYER_COLUMNS, kind `total`) of one result and their count.

    Formatted directly from the packed entry tables, the same text as `_frame(rows).to_csv()` of
    `result_rows(res)[1]` (a test checks it) at a fraction of the time.
    """
    keys = key_texts(res) if keys is None else keys
    parts: list[str] = []
    n = 0
    for rg, key in zip(res.ranges, keys):
        tb = rg.total.table
        if not tb.n:
            continue
        prefix = key + ",total,"
        ints = tb.int_array().tolist()
        mac = tb.mac_array().tolist()
        for pos, row in enumerate(ints):
            parts.append(
                f"{prefix}{pos},{row[0]},{ENTRY_KINDS[row[1]]},{row[2]},{row[3]},{row[4]},{row[5]},{row[6]},"
                f"{row[7]},{row[8]},{row[9]},{csv_field(mac[pos])}\n"
            )
        n += tb.n
    return "".join(parts), n


def range_csv(res: ScenarioResult, keys: list[str] | None = None) -> tuple[str, int]:
    """The `ranges.csv` lines (RANGE_COLUMNS) of one result and their count: the text pandas writes for
    `result_rows(res)[0]` (a test checks it), formatted directly."""
    keys = key_texts(res) if keys is None else keys
    parts: list[str] = []
    for rg, prefix in zip(res.ranges, keys):
        ids = rg.layer_ids
        head = f"{prefix},{min(ids)},{max(ids)},{len(ids)},{rg.rows},"
        for kind in KINDS:
            k = rg.kind(kind)
            r = k.reading
            parts.append(
                f"{head}{kind},{r.energy},{r.latency},{r.offload_energy},{r.offload_latency},{r.reload_energy},"
                f"{r.reload_latency},{r.offload_bytes},{r.reload_bytes},{k.peak_bits},{k.weight_bits}\n"
            )
    return "".join(parts), len(parts)


@dataclass(frozen=True)
class ChunkText:
    """What a Step-2 worker returns for one chunk of scenarios: both tables' lines, their counts, the
    scenarios without a usable result (id, status, message; status None = no file) and the checksums
    of the results read (for the provenance record)."""

    ranges: bytes
    n_ranges: int
    layers: bytes
    n_layers: int
    scenarios: int
    missing: list[tuple]
    digests: list[str]


def _chunk(job: tuple[list[Scenario], str, bool, bool]) -> ChunkText:
    """One chunk of scenarios (a worker's job), formatted as CSV lines (headers when `header`).

    The cyclic garbage collector is paused meanwhile (`gc_paused`): the results and lines are acyclic."""
    with gc_paused():
        return _chunk_text(job)


def _chunk_text(job: tuple[list[Scenario], str, bool, bool]) -> ChunkText:
    scenarios, step1, layers, header = job
    r_texts: list[str] = [",".join(RANGE_COLUMNS) + "\n"] if header else []
    l_texts: list[str] = [",".join(LAYER_COLUMNS) + "\n"] if layers and header else []
    n_ranges = n_layers = done = 0
    missing: list[tuple] = []
    digests: list[str] = []
    for sc in scenarios:
        p = result_path(Path(step1), sc)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            missing.append((sc.id, None, ""))
            continue
        try:
            res = load_result_bytes(data, p)
        except ResultFileError as e:
            missing.append((sc.id, "unreadable", str(e)))
            continue
        digests.append(result_digest(data))
        done += 1
        keys = key_texts(res)
        text, n = range_csv(res, keys)
        r_texts.append(text)
        n_ranges += n
        if layers:
            text, n = layer_csv(res, keys)
            l_texts.append(text)
            n_layers += n
    return ChunkText("".join(r_texts).encode(), n_ranges, "".join(l_texts).encode(), n_layers, done, missing, digests)


@dataclass(frozen=True)
class Written:
    """What `compile_to_disk` wrote: row counts, scenarios with a result, and the missing / failed tables."""

    scenarios: int
    range_rows: int
    layer_rows: int
    missing: pd.DataFrame
    failures: pd.DataFrame
    #: sha256 over the checksums of the results read, in sweep order (names the Step-1 data used)
    results_digest: str = ""


def compile_to_disk(
    sweep: Sweep, out: str | os.PathLike[str], progress: bool = True, layers: bool = True, jobs: int | None = None,
    dest: str | os.PathLike[str] | None = None,
) -> Written:
    """`compile_tables` + `write_tables`, the same bytes, with bounded memory and in parallel: chunks of
    `LAYER_CHUNK` scenarios are read and formatted by `jobs` processes (default: the CPUs) and both tables
    are streamed to `dest` (default `out/step2/`) chunk by chunk in sweep order."""
    import hashlib

    from acco.io.atomic import atomic_writer
    from acco.stopping import worker_pool

    step1 = Path(out) / "step1"
    scenarios = expand(sweep)
    chunks = [scenarios[i:i + LAYER_CHUNK] for i in range(0, len(scenarios), LAYER_CHUNK)] or [[]]
    work = [(c, str(step1), layers, i == 0) for i, c in enumerate(chunks)]
    jobs = min(jobs or os.cpu_count() or 1, len(chunks))
    failed_ids = {f.get("scenario_id"): f for f in iter_failures(step1)} if step1.exists() else {}
    missing: list[tuple] = []
    n_ranges = n_layers = done = 0
    d = Path(out) / "step2" if dest is None else Path(dest)
    h = hashlib.sha256()
    bar = tqdm(total=len(scenarios), desc="step 2", unit="scenario", disable=not progress)
    pool = worker_pool(jobs) if jobs > 1 else None
    try:
        results = pool.map(_chunk, work) if pool else map(_chunk, work)
        with atomic_writer(d / "ranges.csv") as fr, (atomic_writer(d / "layers.csv") if layers else _nowhere()) as fl:
            for (c, *_), ct in zip(work, results):
                fr.write(ct.ranges)
                fl.write(ct.layers)
                n_ranges += ct.n_ranges
                n_layers += ct.n_layers
                done += ct.scenarios
                h.update("".join(f"{x}\n" for x in ct.digests).encode())
                for sid, status, msg in ct.missing:
                    if status is None:
                        fl_ = failed_ids.get(sid)
                        status, msg = ("failed", fl_["message"]) if fl_ else ("not run", "")
                    missing.append((sid, status, msg))
                bar.update(len(c))
    except BaseException:
        if pool:
            pool.stop()  # type: ignore[attr-defined]
            pool = None
        raise
    finally:
        bar.close()
        if pool:
            pool.shutdown()
    w = Written(done, n_ranges, n_layers, _missing(missing), _failures(sweep, out), h.hexdigest())
    write_tables(Tables(None, None, w.missing, w.failures), out, d)  # the two streamed tables are written
    return w


class _nowhere:
    """A context manager whose file swallows what is written (no per-layer table asked for)."""

    def __enter__(self) -> "_nowhere":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> int:
        return len(data)


def _frame(rows: Iterable[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(columns))
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    return df


def write_tables(t: Tables, out: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None) -> Path:
    """Write the tables as CSV into `dest` (default `out/step2/`; each atomically)."""
    from acco.io.atomic import atomic_write_bytes

    d = Path(out) / "step2" if dest is None else Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    for name, df in (("ranges", t.ranges), ("layers", t.layers), ("missing", t.missing), ("failures", t.failures)):
        if df is None:
            continue
        atomic_write_bytes(d / f"{name}.csv", df.to_csv(index=False, lineterminator="\n").encode())
    return d


def layer_energy_of(out: str | os.PathLike[str], picks: Iterable[tuple[str, int | None, int | None]], sweep: Sweep) -> pd.DataFrame:
    """Energy breakdown (MAC, each memory level, copies) per layer of chosen (scenario_id, cut_before, cut_after).

    Columns ENERGY_COLUMNS, kind `total`; read from the Step-1 results of `sweep` under `out/step1/`.
    """
    want: dict[str, set] = {}
    for sid, cb, ca in picks:
        want.setdefault(sid, set()).add((None if pd.isna(cb) else int(cb), None if pd.isna(ca) else int(ca)))
    step1 = Path(out) / "step1"
    rows: list[tuple] = []
    for sc in expand(sweep):
        if sc.id in want:
            _, _, e = result_rows(load_result(result_path(step1, sc)), True, want[sc.id])
            rows += e
    return _frame(rows, ENERGY_COLUMNS)


def read_ranges(out: str | os.PathLike[str]) -> pd.DataFrame:
    """`out/step2/ranges.csv` with the key columns typed (open range ends as <NA>)."""
    df = pd.read_csv(Path(out) / "step2" / "ranges.csv", keep_default_na=True, dtype={"cuts": str})
    for c in ("cut_before", "cut_after"):
        df[c] = df[c].astype("Int64")
    return df


__all__ = ["ENERGY_COLUMNS", "KEY_COLUMNS", "LAYER_COLUMNS", "RANGE_COLUMNS", "Tables", "compile_tables", "compile_to_disk", "csv_field", "layer_csv", "range_csv", "Written", "layer_energy_of", "read_ranges", "write_tables"]
