"""Benchmark: ACCO's temporal mappers (LOMA, SALSA) against ZigZag 3.9.1's on the same input files.

For every (hardware, workload, layer, engine) it prints and saves (CSV) the energy and latency each
tool finds, the energy ratio ACCO/ZigZag, both search times and the speed-up ZigZag/ACCO.

* ZigZag side: zigzag-dse 3.9.1 in its own venv ``benchmarks/.peers/zigzag-venv`` (created on first
  use), one fresh subprocess per (hardware, workload, engine), called through
  ``zigzag.api.get_hardware_performance_zigzag`` with opt=energy; SALSA runs are made reproducible by
  re-seeding its RNGs in the worker (see ``peers/zigzag_runner.py``).  Results are cached as JSON in
  ``benchmarks/.peers/cache/`` (``--no-cache`` to rerun).
* ACCO side: in this process, ``acco.io.zigzag`` loads the same files and ``acco.search.loma`` /
  ``acco.search.salsa`` search every layer with the same settings.

Energies of LOMA at the same lpf limit are expected to agree within 0.5 %.  LOMA rows outside that
are explained term by term (``--explain``, ``peers/zigzag_terms.py``, docs/mappers_vs_zigzag.md):
ACCO's model is evaluated on ZigZag's chosen mapping with and without the four documented
differences between the original ACCO cost model and ZigZag 3.9.1; a row is "explained" when
applying them reproduces ZigZag's energy exactly (``--verify-terms`` also checks every word count
against ZigZag run on that mapping alone).  SALSA draws different
random numbers in the two tools, so its energies are compared but not judged.  With the default
``--model acco-2022`` ACCO's latency model is the 2022-era ACCO one, not ZigZag 3.9.1's, so latency
differences are reported, never flagged; ``--model zigzag-3.9.1`` costs ACCO's side with ZigZag
3.9.1's rules (docs/model_versions.md) and also judges LOMA latencies (1 %) and SALSA energies
(ACCO at most 0.5 % above ZigZag).

Run with the project venv, e.g.::

    .venv/bin/python benchmarks/mappers_vs_zigzag.py --quick
    .venv/bin/python benchmarks/mappers_vs_zigzag.py --workloads conv --engines loma,salsa
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers.zigzag_peer import PeerError, ZigZagRun, ensure_venv, peer_version, run_zigzag  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO / "outputs" / "benchmarks" / "mappers_vs_zigzag.csv"

#: hardware name -> mapping file stem (in the reference mapping folder)
HARDWARE: dict[str, str] = {
    "ascend_like": "ascend_like",
    "edge_tpu_like": "edge_tpu_like",
    "meta_prototype": "meta_prototype_like",
    "tesla_npu_like": "tesla_npu_like",
    "tpu_like": "tpu_like",
}
#: workload short name -> workload file name
WORKLOADS: dict[str, str] = {
    "conv": "conv_k64_c64_56x56_3x3.yaml",
    "resnet18": "resnet18.yaml",
}
ENGINES = ("loma", "salsa")
LOMA_ENERGY_TOLERANCE = 0.005  # relative, ACCO vs ZigZag at the same lpf limit
#: with --model zigzag-3.9.1 (ZigZag 3.9.1's latency model), LOMA latencies are judged too
LOMA_LATENCY_TOLERANCE = 0.01
#: with --model zigzag-3.9.1: ACCO-SALSA's energy may exceed ZigZag-SALSA's by at most this (relative)
SALSA_ENERGY_TOLERANCE = 0.005
#: cost-model versions (acco.model_versions.MODELS; spelled out so that --help needs no import of acco)
MODELS = ("acco-2022", "zigzag-3.9.1")


def default_reference_dir() -> Path:
    """ZigZag's example inputs (hardware/, mapping/, workload/): ACCO_ZIGZAG_INPUTS, else the `zigzag/inputs`
    folder of a clone of KULeuven-MICAS/zigzag beside this repository."""
    return Path(os.environ.get("ACCO_ZIGZAG_INPUTS", str(REPO.parent / "zigzag" / "zigzag" / "inputs")))


# --------------------------------------------------------------------------------------------- util


def cpu_seconds() -> float:
    """CPU seconds of this process plus its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def machine_description() -> str:
    """CPU model, core count, OS and Python of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return (
        f"{model}; {os.cpu_count()} logical cores; load avg {load}; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )


def git_commit() -> str:
    """Short commit of the ACCO checkout (plus '+dirty' if it has local changes)."""
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "acco"], capture_output=True, text=True)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def progress(iterable: Any = None, **kwargs: Any) -> Any:
    """tqdm progress bar on stderr (plain iterable if tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        raise SystemExit("tqdm is required (it is in the project venv)")
    return tqdm(iterable, file=sys.stderr, dynamic_ncols=True, **kwargs)


# ------------------------------------------------------------------------------------------- zigzag


@dataclass(frozen=True)
class Case:
    """One (hardware, workload) pair with its files."""

    hardware: str
    workload: str
    hardware_file: Path
    mapping_file: Path
    workload_file: Path


def make_cases(ref: Path, hardware: Sequence[str], workloads: Sequence[str]) -> list[Case]:
    """All (hardware, workload) pairs of the selection, files resolved in the reference folder."""
    cases = []
    for hw in hardware:
        for wl in workloads:
            case = Case(
                hw,
                wl,
                ref / "hardware" / f"{hw}.yaml",
                ref / "mapping" / f"{HARDWARE[hw]}.yaml",
                ref / "workload" / WORKLOADS[wl],
            )
            for f in (case.hardware_file, case.mapping_file, case.workload_file):
                if not f.is_file():
                    raise SystemExit(f"missing input file {f}")
            cases.append(case)
    return cases


def zigzag_run_for(case: Case, engine: str, args: argparse.Namespace) -> ZigZagRun:
    """The ZigZag invocation for a case and engine with the command-line settings."""
    return ZigZagRun(
        hardware=str(case.hardware_file),
        workload=str(case.workload_file),
        mapping=str(case.mapping_file),
        engine=engine,
        lpf_limit=args.lpf_limit,
        seed=args.seed,
        iterations=args.salsa_iterations,
        start_temperature=args.start_temperature,
        chains=1,
        opt="energy",
    )


def run_zigzag_all(
    cases: list[Case], engines: Sequence[str], args: argparse.Namespace
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """ZigZag results per (hardware, workload, engine); runs missing from the cache in subprocesses."""
    jobs = [(c, e) for c in cases for e in engines]
    results: dict[tuple[str, str, str], dict[str, Any]] = {}

    def one(job: tuple[Case, str]) -> tuple[tuple[str, str, str], dict[str, Any]]:
        case, engine = job
        try:
            res = run_zigzag(zigzag_run_for(case, engine, args), use_cache=not args.no_cache)
        except PeerError as exc:
            res = {"error": str(exc).splitlines()[0], "detail": str(exc), "layers": []}
        return (case.hardware, case.workload, engine), res

    bar = progress(total=len(jobs), desc="ZigZag runs", unit="run")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for key, res in pool.map(one, jobs):
            results[key] = res
            bar.set_postfix_str(f"{'/'.join(key)}{' (cached)' if res.get('cached') else ''}")
            bar.update(1)
            if "error" in res:
                print(f"ZigZag run {'/'.join(key)} failed: {res['detail'][-1500:]}", file=sys.stderr)
    bar.close()
    return results


# --------------------------------------------------------------------------------------------- acco


@dataclass
class AccoApi:
    """The ACCO entry points this benchmark needs; ``None`` where not available (yet)."""

    load_hardware: Callable[..., Any] | None
    load_workload: Callable[..., Any] | None
    searchers: dict[str, Callable[[Any, Any], Any]]
    missing: list[str]
    description: str = ""
    #: (workload file, mapping file) -> {layer id: complete user temporal ordering, innermost first}
    user_orderings: Callable[[Any, Any], dict[int, list[tuple[str, int]]]] | None = None
    #: (layer, accelerator, ordering) -> LayerCost of that one ordering
    fixed: Callable[[Any, Any, list[tuple[str, int]]], Any] | None = None


def acco_api(args: argparse.Namespace) -> AccoApi:
    """Import ACCO's loaders and mappers; note what is missing instead of failing."""
    missing: list[str] = []
    load_hw = load_wl = None
    try:
        from acco.io import zigzag as zz_io

        load_hw = zz_io.load_zigzag_hardware
        load_wl = zz_io.load_zigzag_workload
    except (ImportError, AttributeError) as exc:
        missing.append(f"ACCO ZigZag-format loader (acco.io.zigzag) not available yet: {exc}")
    searchers: dict[str, Callable[[Any, Any], Any]] = {}
    try:
        import acco.search as search
    except ImportError as exc:
        missing.append(f"acco.search not importable: {exc}")
        return AccoApi(load_hw, load_wl, searchers, missing)

    if hasattr(search, "loma") and hasattr(search, "LomaConfig"):
        cfg = search.LomaConfig(lpf_limit=args.lpf_limit, objective="energy", model=args.model)
        searchers["loma"] = lambda layer, acc, _c=cfg: search.loma(layer, acc, _c)
    else:
        missing.append("ACCO loma not available yet")
    if hasattr(search, "salsa") and hasattr(search, "SalsaConfig"):
        if args.acco_salsa == "defaults":
            scfg = search.SalsaConfig(seed=args.seed, objective="energy", model=args.model)
        else:
            scfg = search.SalsaConfig(
                iterations=args.salsa_iterations,
                start_temperature=args.start_temperature,
                chains=1,
                seed=args.seed,
                objective="energy",
                model=args.model,
            )
        searchers["salsa"] = lambda layer, acc, _c=scfg: search.salsa(layer, acc, _c)
    else:
        missing.append("ACCO salsa not available yet")
    desc = ""
    if "salsa" in searchers:
        desc = f"ACCO SALSA config: {scfg}"
    api = AccoApi(load_hw, load_wl, searchers, missing, desc)
    try:  # ZigZag's LOMA evaluates a complete user temporal_ordering as is; so must ACCO's side
        from acco.cost.model import evaluate
        from acco.io.zigzag import zigzag_temporal_orderings
        from acco.mapping.spatial import spatial_mapping_for

        def fixed(layer: Any, acc: Any, ordering: list[tuple[str, int]]) -> Any:
            spatial = spatial_mapping_for(layer, acc)
            tm = search.allocate(layer, acc, spatial, list(ordering), args.model)
            return evaluate(layer, acc, tm, spatial, args.model)

        api.user_orderings = zigzag_temporal_orderings
        api.fixed = fixed
    except (ImportError, AttributeError) as exc:
        missing.append(f"ACCO user temporal orderings not available ({exc}); such layers are searched instead")
    return api


def run_acco_all(
    cases: list[Case], engines: Sequence[str], api: AccoApi, layer_filter: set[int] | None
) -> dict[tuple[str, str, str, Any], dict[str, Any]]:
    """ACCO results per (hardware, workload, engine, layer id)."""
    out: dict[tuple[str, str, str, Any], dict[str, Any]] = {}
    if api.load_hardware is None or api.load_workload is None:
        return out
    todo: list[tuple[Case, str, Any, Any, Any]] = []
    for case in cases:
        try:
            acc = api.load_hardware(case.hardware_file)
            workload = api.load_workload(case.workload_file, case.mapping_file, acc)
            user = api.user_orderings(case.workload_file, case.mapping_file) if api.user_orderings else {}
        except Exception as exc:  # noqa: BLE001  (report any loader failure per case)
            for engine in engines:
                out[(case.hardware, case.workload, engine, None)] = {"error": f"load: {type(exc).__name__}: {exc}"}
            continue
        for layer in workload.layers:
            if layer_filter is not None and layer.id not in layer_filter:
                continue
            for engine in engines:
                if engine in api.searchers:
                    # ZigZag's LOMA stage uses a complete user ordering as is (its SALSA ignores it)
                    ordering = user.get(layer.id) if engine == "loma" and api.fixed else None
                    todo.append((case, engine, acc, layer, ordering))
    if todo:  # one-off per process: import numba and load (or compile) the cost kernel, not timed per layer
        case, engine, acc, layer, _ = todo[0]
        cpu0 = cpu_seconds()
        try:
            api.searchers[engine](layer, acc)
        except Exception:  # noqa: BLE001  (reported by the timed run below)
            pass
        print(f"ACCO one-off start-up (kernel load + first search, not counted below): {cpu_seconds() - cpu0:.2f} s CPU",
              flush=True)
    for case, engine, acc, layer, ordering in progress(todo, desc="ACCO searches", unit="layer"):
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        try:
            if ordering is not None and api.fixed is not None:
                cost, n_orderings, n_valid = api.fixed(layer, acc, ordering), 1, 1
            else:
                res = api.searchers[engine](layer, acc)
                cost, n_orderings, n_valid = res.cost, getattr(res, "orderings", None), getattr(res, "valid", None)
        except Exception as exc:  # noqa: BLE001  (one failing layer must not stop the benchmark)
            out[(case.hardware, case.workload, engine, layer.id)] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        out[(case.hardware, case.workload, engine, layer.id)] = {
            "energy": float(cost.energy_total),
            "latency": float(cost.latency_total2),
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "orderings": n_orderings,
            "valid": n_valid,
            "user_ordering": ordering is not None,
            "temporal_mapping": getattr(cost, "temporal_mapping", None),
        }
    return out


# -------------------------------------------------------------------------------------------- table


def build_table(
    cases: list[Case],
    engines: Sequence[str],
    zz: dict[tuple[str, str, str], dict[str, Any]],
    ac: dict[tuple[str, str, str, Any], dict[str, Any]],
    layer_filter: set[int] | None,
    timing: str,
    acco_notes: dict[str, str] | None = None,
    model: str = "acco-2022",
) -> Any:
    """One row per (hardware, workload, layer, engine), ZigZag and ACCO side by side.

    ``acco_notes`` gives, per engine, why ACCO has no result at all (shown as the row status)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    sec = f"{timing}_seconds"
    for case in cases:
        for engine in engines:
            zres = zz.get((case.hardware, case.workload, engine), {})
            layers = [lay for lay in zres.get("layers", []) if layer_filter is None or lay["id"] in layer_filter]
            ids = [lay["id"] for lay in layers]
            ids += [k[3] for k in ac if k[:3] == (case.hardware, case.workload, engine) and k[3] not in ids]
            zby = {lay["id"]: lay for lay in layers}
            for lid in ids:
                z = zby.get(lid, {})
                a = ac.get((case.hardware, case.workload, engine, lid), {})
                ze, ae = z.get("energy", math.nan), a.get("energy", math.nan)
                zs, as_ = z.get(sec) or math.nan, a.get(sec) or math.nan
                ratio = ae / ze if ze else math.nan
                lat_ratio = (a.get("latency", math.nan) / z["latency"]) if z.get("latency") else math.nan
                if engine == "loma" and not math.isnan(ratio):
                    status = "ok" if abs(ratio - 1) <= LOMA_ENERGY_TOLERANCE else "ENERGY-DIFF"
                    if model != "acco-2022" and not abs(lat_ratio - 1) <= LOMA_LATENCY_TOLERANCE:
                        status = "LATENCY-DIFF" if status == "ok" else status + ", LATENCY-DIFF"
                    if a.get("user_ordering"):
                        status += " (user ordering)"
                elif not math.isnan(ratio):
                    status = "better" if ratio < 1 - 1e-9 else ("equal" if ratio <= 1 + 1e-9 else "worse")
                    if model != "acco-2022" and ratio > 1 + SALSA_ENERGY_TOLERANCE:
                        status = "SALSA-ABOVE-0.5%"
                else:
                    status = (
                        a.get("error")
                        or zres.get("error")
                        or (acco_notes or {}).get(engine)
                        or ("no ACCO result" if z else "no ZigZag result")
                    )
                rows.append(
                    {
                        "hardware": case.hardware,
                        "workload": case.workload,
                        "layer": lid,
                        "layer_name": z.get("name", ""),
                        "engine": engine,
                        "zz_energy": ze,
                        "acco_energy": ae,
                        "energy_ratio": ratio,
                        "zz_latency": z.get("latency", math.nan),
                        "acco_latency": a.get("latency", math.nan),
                        "latency_ratio": lat_ratio,
                        "zz_s": zs,
                        "acco_s": as_,
                        "speedup": zs / as_ if as_ and not math.isnan(as_) and as_ > 0 else math.nan,
                        "zz_cpu_s": z.get("cpu_seconds", math.nan),
                        "acco_cpu_s": a.get("cpu_seconds", math.nan),
                        "zz_wall_s": z.get("wall_seconds", math.nan),
                        "acco_wall_s": a.get("wall_seconds", math.nan),
                        "user_ordering": bool(a.get("user_ordering", False)),
                        "zz_orderings": z.get("orderings") or (1 if a.get("user_ordering") else None),
                        "acco_orderings": a.get("orderings"),
                        "status": status,
                    }
                )
    return pd.DataFrame(rows)


EXPLAIN_REL = 1e-9  # relative tolerance for "applying the documented differences reproduces ZigZag"


class _ZigZagRows:
    """Per benchmark row: ACCO's loading of the row's ZigZag files (cached per case) and ZigZag's chosen mapping."""

    def __init__(self, cases: list[Case], zz: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        self.by_case = {(c.hardware, c.workload): c for c in cases}
        self.zz = zz
        self.loaded: dict[tuple[str, str], Any] = {}

    def layer_and_mapping(self, r: Any, engine: str) -> tuple[Any, Any, Any]:
        """(ACCO layer, ACCO accelerator, ZigZag's temporal mapping of that layer by `engine`)."""
        from acco.io import zigzag as zz_io
        from peers.zigzag_terms import parse_zigzag_temporal_mapping

        case = self.by_case[(r.hardware, r.workload)]
        key = (case.hardware, case.workload)
        if key not in self.loaded:
            acc = zz_io.load_zigzag_hardware(case.hardware_file)
            wl = zz_io.load_zigzag_workload(case.workload_file, case.mapping_file, acc)
            self.loaded[key] = (acc, {lay.id: lay for lay in wl.layers})
        acc, layers = self.loaded[key]
        zlay = next(x for x in self.zz[(r.hardware, r.workload, engine)]["layers"] if x["id"] == r.layer)
        return layers[r.layer], acc, parse_zigzag_temporal_mapping(zlay["temporal_mapping"])


def explain_rows(
    df: Any,
    cases: list[Case],
    zz: dict[tuple[str, str, str], dict[str, Any]],
    ac: dict[tuple[str, str, str, Any], dict[str, Any]],
    which: str,
    verify: bool,
    args: argparse.Namespace,
) -> Any:
    """Split ACCO-minus-ZigZag LOMA energies into the documented model differences (one row each).

    For every selected LOMA row (``which``: "outliers" = outside the tolerance, or "all"), ZigZag's
    chosen temporal mapping is evaluated with ACCO's model and then with the 3.9.1 rules of
    ``peers/zigzag_terms.py`` applied one by one.  Columns (pJ): ``acco_on_zz_map``, one ``d_<rule>``
    per rule (ACCO minus 3.9.1), ``d_mapping_choice`` (ACCO's optimum minus ACCO's energy of ZigZag's
    mapping), ``residual`` (3.9.1 reading minus ZigZag's energy) and ``zz_model_acco_map`` (the 3.9.1
    reading of ACCO's chosen mapping).  ``explained``: the residual is 0 (relative 1e-9).
    With ``verify``, ZigZag is run on its own ordering of that layer alone with per-term output and
    ``terms_max_word_diff`` is the largest |3.9.1 reading - ZigZag| word count over all terms.
    Also updates ``df.status`` of the outliers and adds the columns to ``df``."""
    import pandas as pd

    from peers.zigzag_terms import RULES, explain

    loma = df[(df.engine == "loma") & df.zz_energy.notna() & df.acco_energy.notna()]
    if which == "outliers":
        loma = loma[(loma.energy_ratio - 1).abs() > LOMA_ENERGY_TOLERANCE]
    by_case = {(c.hardware, c.workload): c for c in cases}
    zrows = _ZigZagRows(cases, zz)
    rows = []
    for idx, r in loma.iterrows():
        case = by_case[(r.hardware, r.workload)]
        layer, acc, tm = zrows.layer_and_mapping(r, "loma")
        e = explain(layer, acc, tm)
        rec: dict[str, Any] = {"index": idx, "acco_on_zz_map": e.acco.total}
        deltas = e.rule_deltas()
        for rule in RULES:
            rec[f"d_{rule}"] = deltas[rule]
        rec["d_mapping_choice"] = r.acco_energy - e.acco.total
        rec["residual"] = e.zigzag391 - r.zz_energy
        rec["explained"] = abs(rec["residual"]) <= EXPLAIN_REL * r.zz_energy
        rec["rules"] = "+".join(k for k in RULES if abs(deltas[k]) > EXPLAIN_REL * r.zz_energy)
        acco_tm = ac.get((r.hardware, r.workload, "loma", r.layer), {}).get("temporal_mapping")
        rec["zz_model_acco_map"] = explain(layer, acc, acco_tm).zigzag391 if acco_tm else math.nan
        if verify:
            rec["terms_max_word_diff"] = _verify_terms(case, r.layer, tm, e.steps[-1][1].words, args)
        rows.append(rec)
    ex = pd.DataFrame(rows).set_index("index") if rows else pd.DataFrame()
    for col in ex.columns:
        df[col] = ex[col]
    for idx, rec in ex.iterrows():
        if abs(df.at[idx, "energy_ratio"] - 1) > LOMA_ENERGY_TOLERANCE:
            what = f"explained: {rec['rules']}" if rec["explained"] else "UNEXPLAINED"
            df.at[idx, "status"] = df.at[idx, "status"].replace("ENERGY-DIFF", f"ENERGY-DIFF, {what}")
    return ex


def judge_salsa(df: Any, cases: list[Case], zz: dict[tuple[str, str, str], dict[str, Any]]) -> Any:
    """SALSA like for like: both tools' chosen mappings costed by one model.

    The two cost models differ by the documented rules (up to ~3 % on some layers), so raw energies
    cannot say which search found the better mapping. ``acco_on_zz_salsa_map`` is ACCO's model on
    ZigZag-SALSA's chosen mapping; ``salsa_at_or_below`` is ACCO-SALSA's energy <= it (relative 1e-9).
    Adds both columns to ``df`` and returns the SALSA rows."""
    from peers.zigzag_terms import explain

    rows = df[(df.engine == "salsa") & df.zz_energy.notna() & df.acco_energy.notna()]
    zrows = _ZigZagRows(cases, zz)
    df["acco_on_zz_salsa_map"] = math.nan
    df["salsa_at_or_below"] = None
    for idx, r in rows.iterrows():
        e = explain(*zrows.layer_and_mapping(r, "salsa")).acco.total
        df.at[idx, "acco_on_zz_salsa_map"] = e
        df.at[idx, "salsa_at_or_below"] = bool(r.acco_energy <= e * (1 + EXPLAIN_REL))
    return df[df.engine == "salsa"]


def _verify_terms(case: Case, layer_id: int, tm: Any, words: dict[tuple[str, str, str], float], args: argparse.Namespace) -> float:
    """Run ZigZag on ``tm``'s loop ordering for one layer (cached) and return the largest difference
    between its word counts and ``words`` (the 3.9.1 reading), over every operand, level, direction."""
    import json

    ordering = [[d, int(s)] for lv in next(iter(tm.levels.values())) for d, s in lv]
    run = ZigZagRun(
        hardware=str(case.hardware_file),
        workload=str(case.workload_file),
        mapping=str(case.mapping_file),
        engine="loma",
        lpf_limit=args.lpf_limit,
        layers=str(layer_id),
        orderings=json.dumps({str(layer_id): ordering}),
        detail=True,
    )
    try:
        res = run_zigzag(run, use_cache=not args.no_cache)
    except PeerError as exc:
        print(f"term check of {case.hardware}/{case.workload} layer {layer_id} failed: {exc}", file=sys.stderr)
        return math.nan
    rec = res["layers"][0]
    diff = 0.0
    for lv in rec["levels"]:
        for d, x in lv["directions"].items():
            diff = max(diff, abs(words.get((lv["operand"], lv["memory"], d), 0.0) - x["accesses"]))
    return diff


def summarise(df: Any, keys: Sequence[str] = ("engine",)) -> Any:
    """Totals per group (default per engine): energies, max deviation, geometric-mean speed-up, seconds."""
    import pandas as pd

    out = []
    for group, g in df.groupby(list(keys), sort=False):
        group = group if isinstance(group, tuple) else (group,)
        engine = dict(zip(keys, group)).get("engine")
        both = g.dropna(subset=["zz_energy", "acco_energy"])
        sp = both["speedup"].dropna()
        sp = sp[sp > 0]
        dev = (both["energy_ratio"] - 1).abs()
        out.append(
            {
                **dict(zip(keys, group)),
                "layers": len(g),
                "compared": len(both),
                "zz_energy_sum": g["zz_energy"].sum(),
                "acco_energy_sum": both["acco_energy"].sum() if len(both) else math.nan,
                "energy_ratio_of_sums": both["acco_energy"].sum() / both["zz_energy"].sum() if len(both) else math.nan,
                "max_abs_energy_dev_%": 100 * dev.max() if len(both) else math.nan,
                "outside_0.5%": int((dev > LOMA_ENERGY_TOLERANCE).sum()) if engine == "loma" else math.nan,
                "unexplained": (
                    int(((dev > LOMA_ENERGY_TOLERANCE) & (both["explained"] != True)).sum())  # noqa: E712
                    if engine == "loma" and "explained" in both
                    else math.nan
                ),
                "acco_better": int((both["energy_ratio"] < 1 - 1e-9).sum()),
                "acco_worse": int((both["energy_ratio"] > 1 + 1e-9).sum()),
                "zz_s_sum": g["zz_s"].sum(),
                "acco_s_sum": both["acco_s"].sum() if len(both) else math.nan,
                "geomean_speedup": math.exp(sum(math.log(x) for x in sp) / len(sp)) if len(sp) else math.nan,
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------- main


def print_explanations(df: Any, ex: Any, which: str) -> None:
    """Print the per-row split of ACCO-minus-ZigZag LOMA energy into the documented differences."""
    from peers.zigzag_terms import RULE_TEXT, RULES

    print()
    if ex.empty:
        print("LOMA: no row outside the tolerance to explain" if which == "outliers" else "LOMA: no row to explain")
        return
    rows = df.loc[ex.index]
    out = rows[["hardware", "workload", "layer"]].copy()
    out["acco-zz_%"] = 100 * (rows.acco_energy / rows.zz_energy - 1)
    for col in [f"d_{r}" for r in RULES] + ["d_mapping_choice", "residual"]:
        out[col.removeprefix("d_") + "_%"] = 100 * ex[col] / rows.zz_energy
    out["zz_model_acco_map_%"] = 100 * (ex.zz_model_acco_map / rows.zz_energy - 1)
    out["explained"] = ex.explained
    if "terms_max_word_diff" in ex:
        out["terms_max_word_diff"] = ex.terms_max_word_diff
    title = "outside the tolerance" if which == "outliers" else "all"
    print(f"LOMA rows ({title}): ACCO minus ZigZag energy, in % of ZigZag's, split into the documented")
    print("differences between the original ACCO model and ZigZag 3.9.1 (docs/mappers_vs_zigzag.md),")
    print("each evaluated on ZigZag's chosen mapping, plus the effect of ACCO's LOMA choosing another mapping:")
    for r in RULES:
        print(f"  {r + '_%':<20} {RULE_TEXT[r]}")
    print(f"  {'mapping_choice_%':<20} ACCO's optimum minus ACCO's energy of ZigZag's mapping")
    print(f"  {'residual_%':<20} ZigZag's energy of its mapping not reproduced by the rules (0 = explained)")
    print(f"  {'zz_model_acco_map_%':<20} ZigZag 3.9.1's model on ACCO's chosen mapping, vs ZigZag's optimum")
    shown = out
    if which == "all":  # only the rows where something differs, plus a count
        shown = out[out["acco-zz_%"].abs() > 100 * EXPLAIN_REL]
    print(shown.to_string(index=False, float_format=lambda x: f"{x:+.4f}"))
    n_out = int((out["acco-zz_%"].abs() > 100 * LOMA_ENERGY_TOLERANCE).sum())
    n_out_ok = int(((out["acco-zz_%"].abs() > 100 * LOMA_ENERGY_TOLERANCE) & out.explained).sum())
    print(f"rows outside {100 * LOMA_ENERGY_TOLERANCE:g} %: {n_out}, explained: {n_out_ok}")
    if which == "all":
        print(f"3.9.1 reading of ZigZag's mapping reproduces ZigZag's energy on {int(out.explained.sum())}/{len(out)} LOMA rows")


def print_worst(df: Any, model: str) -> None:
    """The worst row of each judged quantity: LOMA energy and latency, SALSA energy (ACCO over ZigZag)."""
    print()
    print(f"worst rows (model {model}):")
    for engine, col, what in (("loma", "energy_ratio", "LOMA energy"), ("loma", "latency_ratio", "LOMA latency"),
                              ("salsa", "energy_ratio", "SALSA energy (ACCO / ZigZag)")):
        g = df[(df.engine == engine) & df[col].notna()]
        if g.empty:
            continue
        dev = (g[col] - 1).abs() if engine == "loma" else g[col]
        r = g.loc[dev.idxmax()]
        print(f"  {what:<30} {100 * (r[col] - 1):+.4f} %  {r.hardware}/{r.workload} layer {r.layer} "
              f"(ZigZag {r['zz_' + col.split('_')[0]]:,.2f}, ACCO {r['acco_' + col.split('_')[0]]:,.2f})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])

    def csv_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
        def parse(text: str) -> list[str]:
            items = [t.strip() for t in text.split(",") if t.strip()]
            bad = [t for t in items if t not in choices]
            if bad or not items:
                raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (got {text!r})")
            return items

        return parse

    p.add_argument("--hardware", type=csv_list(tuple(HARDWARE)), default=list(HARDWARE), help="comma list (default all five)")
    p.add_argument("--workloads", type=csv_list(tuple(WORKLOADS)), default=list(WORKLOADS), help="conv,resnet18 (default both)")
    p.add_argument("--engines", type=csv_list(ENGINES), default=list(ENGINES), help="loma,salsa (default both)")
    p.add_argument("--layers", type=lambda s: {int(x) for x in s.split(",")}, default=None, help="only these layer ids")
    p.add_argument("--lpf-limit", type=int, default=6)
    p.add_argument("--salsa-iterations", type=int, default=1000)
    p.add_argument("--start-temperature", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--acco-salsa",
        choices=("same", "defaults"),
        default="same",
        help="ACCO SALSA settings: 'same' = ZigZag's (iterations, T0, 1 chain, seed), 'defaults' = ACCO's "
        "SalsaConfig defaults with --seed",
    )
    p.add_argument(
        "--explain",
        choices=("outliers", "all", "none"),
        default="outliers",
        help="split ACCO-minus-ZigZag LOMA energies into the documented model differences "
        "(docs/mappers_vs_zigzag.md) for the rows outside the tolerance (default), all rows, or none",
    )
    p.add_argument(
        "--verify-terms",
        action="store_true",
        help="with --explain: also run ZigZag on its own mapping of each explained row alone and compare "
        "every word count (cached like the other runs)",
    )
    p.add_argument(
        "--model",
        choices=MODELS,
        default="acco-2022",
        help="ACCO's cost-model version (default acco-2022, the original's; zigzag-3.9.1 also judges LOMA "
        "latencies within 1 %% and ACCO-SALSA energies within +0.5 %% of ZigZag's)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: conv layer on tpu_like only")
    p.add_argument("--no-cache", action="store_true", help="rerun ZigZag even if a cached result exists")
    p.add_argument("--zigzag-only", action="store_true", help="skip the ACCO side (e.g. to fill the cache)")
    p.add_argument("--jobs", type=int, default=1, help="ZigZag subprocesses at once (>1 skews its timings)")
    p.add_argument("--timing", choices=("cpu", "wall"), default="cpu", help="seconds compared (default CPU)")
    p.add_argument("--reference-dir", type=Path, default=None, help="folder with hardware/ mapping/ workload/")
    p.add_argument("--csv", type=Path, default=DEFAULT_CSV, help=f"CSV output (default {DEFAULT_CSV.relative_to(REPO)})")
    args = p.parse_args(argv)
    if args.quick:
        args.workloads = ["conv"]
        args.hardware = ["tpu_like"] if args.hardware == list(HARDWARE) else args.hardware[:1]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and summary, write the CSV."""
    import pandas as pd

    args = parse_args(argv)
    ref = args.reference_dir or default_reference_dir()
    cases = make_cases(ref, args.hardware, args.workloads)

    ensure_venv()
    print("=" * 100)
    print("ACCO mappers vs ZigZag")
    print(f"ZigZag:   zigzag-dse {peer_version()} (peer venv {ensure_venv().parent.parent})")
    print(f"ACCO:     {git_commit()}")
    print(f"machine:  {machine_description()}")
    print(
        f"settings: hardware={','.join(args.hardware)} workloads={','.join(args.workloads)} "
        f"engines={','.join(args.engines)} lpf_limit={args.lpf_limit} salsa_iterations={args.salsa_iterations} "
        f"T0={args.start_temperature} seed={args.seed} chains=1 opt=energy timing={args.timing} model={args.model}"
    )
    print(f"inputs:   {ref}")
    print("=" * 100, flush=True)

    t0 = time.perf_counter()
    zz = run_zigzag_all(cases, args.engines, args)
    n_cached = sum(1 for r in zz.values() if r.get("cached"))
    print(f"ZigZag: {len(zz)} runs ({n_cached} from cache) in {time.perf_counter() - t0:.1f} s", flush=True)

    ac: dict[tuple[str, str, str, Any], dict[str, Any]] = {}
    notes = {e: "ACCO skipped (--zigzag-only)" for e in args.engines}
    if not args.zigzag_only:
        api = acco_api(args)
        for msg in api.missing:
            print(msg, flush=True)
        if api.description and "salsa" in args.engines:
            print(api.description, flush=True)
        if api.load_hardware is None or api.load_workload is None:
            notes = {e: "ACCO loader n/a" for e in args.engines}
        else:
            notes = {e: f"ACCO {e} n/a" for e in args.engines if e not in api.searchers}
        t1 = time.perf_counter()
        ac = run_acco_all(cases, args.engines, api, args.layers)
        print(f"ACCO: {len(ac)} searches in {time.perf_counter() - t1:.1f} s", flush=True)

    df = build_table(cases, args.engines, zz, ac, args.layers, args.timing, notes, args.model)
    ex = None
    if args.explain != "none" and "loma" in args.engines and ac:
        ex = explain_rows(df, cases, zz, ac, args.explain, args.verify_terms, args)
    shown = df[
        [
            "hardware", "workload", "layer", "engine", "zz_energy", "acco_energy", "energy_ratio", "zz_latency",
            "acco_latency", "latency_ratio", "zz_s", "acco_s", "speedup", "status",
        ]  # fmt: skip
    ]
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 250):
        print()
        print(
            shown.to_string(
                index=False,
                float_format=lambda x: f"{x:,.6g}" if abs(x) < 100 else f"{x:,.1f}",
                formatters={
                    "energy_ratio": lambda x: f"{x:.5f}",
                    "latency_ratio": lambda x: f"{x:.4f}",
                    "zz_s": lambda x: f"{x:.3f}",
                    "acco_s": lambda x: f"{x:.3f}",
                    "speedup": lambda x: f"{x:.1f}",
                },
            )
        )
        if ex is not None:
            print_explanations(df, ex, args.explain)
        if "salsa" in args.engines and ac:
            sj = judge_salsa(df, cases, zz)
            judged = sj[sj.salsa_at_or_below.notna()]
            worse = judged[~judged.salsa_at_or_below.astype(bool)]
            print(f"\nSALSA like for like (ACCO's model on both tools' chosen mappings): ACCO-SALSA at or below "
                  f"ZigZag-SALSA on {len(judged) - len(worse)}/{len(judged)} layers")
            if len(worse):
                dev = 100 * (worse.acco_energy / worse.acco_on_zz_salsa_map - 1)
                print(f"  above on {len(worse)} (max +{dev.max():.3f} %): "
                      + ", ".join(f"{h}/{w}/{ly}" for h, w, ly in zip(worse.hardware, worse.workload, worse.layer)))
        print_worst(df, args.model)
        print()
        print(f"summary per engine ({args.timing} seconds; LOMA energy tolerance {100 * LOMA_ENERGY_TOLERANCE:g} %;")
        if args.model == "acco-2022":
            print(" latency differs by design: ACCO's latency model is the 2022-era ACCO one, not ZigZag 3.9.1's)")
        else:
            print(f" model {args.model}: LOMA latency tolerance {100 * LOMA_LATENCY_TOLERANCE:g} %)")
        fmt = lambda x: f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.1f}"  # noqa: E731
        ratio_fmt = {"energy_ratio_of_sums": lambda x: f"{x:.6f}"}
        print(summarise(df).to_string(index=False, float_format=fmt, formatters=ratio_fmt))
        if len(cases) > 1:
            print("\nper hardware, workload and engine")
            summary = summarise(df, ("hardware", "workload", "engine"))
            print(summary.to_string(index=False, float_format=fmt, formatters=ratio_fmt))
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.csv, index=False)
    print(f"\nwritten {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
