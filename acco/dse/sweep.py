"""Sweep files (`inputs/sweeps/*.yaml`): the design space of Step 1, validated like every input.

A sweep names hardware and workloads and lists tile sizes, caching modes, explicit cuts, `cut_max`,
initial dilations, the batch, the per-layer optimisation targets, the mapper, the seed and the
cost-model version (`model`: acco-2022, the default, or zigzag-3.9.1). Hardware
may be given by name (`Meta_prototype_DF` → `inputs/hardware/Meta_prototype_DF.yaml`) or path;
a workload by name is looked up per hardware family (`inputs/workloads/Meta_prototype/<name>.yaml`),
or given as a path. How names and relative paths resolve, wherever the sweep file lives: acco.dse.locate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from acco.dse import locate
from acco.errors import InputError
from acco.io.yamlfile import Field, read_yaml
from acco.model_versions import DEFAULT_MODEL, MODELS

TARGETS = ("energy", "latency", "edp")
ENGINES = ("loma", "salsa")

_KEYS_REQUIRED = ("hardware", "workloads", "tile_x", "tile_y")
_KEYS_OPTIONAL = (
    "name", "description", "caching", "cuts", "cut_max", "initial_dilation", "batch", "targets",
    "mapper", "seed", "step3", "model",
)


@dataclass(frozen=True, repr=False)
class MapperSettings:
    """Per-layer mapper of a sweep: temporal engine and its settings (the target comes per scenario),
    the opt-in spatial search (`spatial: search`, `spatial_top`, `spatial_hint`) and the cost-model
    version it costs with (the sweep's top-level `model` key).

    The spatial fields and `model` are left out of `repr` and of the pickled state while they hold their
    defaults, so settings digests and result files of sweeps without them stay as they were.
    """

    engine: str = "loma"
    lpf_limit: int = 6
    iterations: int = 80
    chains: int = 2
    spatial: str = "fixed"
    spatial_top: int = 4
    spatial_hint: tuple[tuple[str, tuple[str, ...]], ...] = ()
    model: str = DEFAULT_MODEL

    def _set_optional(self) -> dict[str, Any]:
        """The spatial fields and the model that differ from their defaults."""
        return {k: getattr(self, k) for k, v in _OPTIONAL_DEFAULTS.items() if getattr(self, k) != v}

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._set_optional().items())
        return (f"MapperSettings(engine={self.engine!r}, lpf_limit={self.lpf_limit!r}, "
                f"iterations={self.iterations!r}, chains={self.chains!r}{extra})")

    def __getstate__(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in _OPTIONAL_DEFAULTS}
        d.update(self._set_optional())
        return d

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({**_OPTIONAL_DEFAULTS, **state})

    def config(self, target: str, seed: int) -> Any:
        """The mapper config object `acco.search.best_mapping` takes."""
        if self.engine == "salsa":
            from acco.search.salsa import SalsaConfig

            temporal: Any = SalsaConfig(iterations=self.iterations, chains=self.chains, seed=seed, objective=target,
                                        loma_lpf_limit=self.lpf_limit,  # never worse than LOMA at this limit
                                        model=self.model)
        else:
            from acco.search.loma import LomaConfig

            temporal = LomaConfig(lpf_limit=self.lpf_limit, objective=target, model=self.model)
        if self.spatial == "search":
            from acco.search.spatial_search import SpatialSearchConfig

            return SpatialSearchConfig(temporal, self.spatial_top, self.spatial_hint)
        return temporal


#: optional MapperSettings fields with their defaults (left out of repr and pickles while default)
_OPTIONAL_DEFAULTS: dict[str, Any] = {"spatial": "fixed", "spatial_top": 4, "spatial_hint": (), "model": DEFAULT_MODEL}
SPATIAL_MODES = ("fixed", "search")


@dataclass(frozen=True)
class Step3Settings:
    """Step-3 options of a sweep: the on-chip rule's threshold (MiB; the original's 1.0) or `hardware`."""

    threshold_mib: float | None = 1.0  # None = the hardware's activation buffer size
    # real-time budgets (docs/pipeline.md, "Real-time budgets"): with a clock and a period, Step 3 also
    # answers which strategy keeps up with the stream at the least energy
    clock_mhz: float | None = None
    hop_ms: float | None = None  # period of one new input time step (or frame_rate_hz in the file)
    act_budget_mib: float | None = None
    weight_budget_mib: float | None = None


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file."""

    path: str
    name: str
    hardware: tuple[str, ...]
    workloads: tuple[str, ...]
    tile_x: tuple[int, ...]
    tile_y: tuple[int, ...]
    caching: tuple[tuple[bool, bool], ...] = ((True, True),)
    cuts: tuple[tuple[int, ...], ...] = ((),)
    cut_max: int = 0
    initial_dilation: tuple[int, ...] = (-1,)
    batch: int = 1
    targets: tuple[str, ...] = ("energy",)
    mapper: MapperSettings = field(default_factory=MapperSettings)
    seed: int = 0
    step3: Step3Settings = field(default_factory=Step3Settings)
    project: str = "."  # the folder names and relative paths resolve against (acco.dse.locate)

    def workload_path(self, hw_path: str, workload: str) -> str:
        """The workload file of `workload` for the hardware at `hw_path` (name → family folder, or a path)."""
        return locate.workload_path(self.project, hw_path, workload)


def _spatial_hint(f: Field) -> dict[str, Any]:
    """`spatial_hint: {D1: [K], D2: [C, OX]}` -> {"spatial_hint": (("D1", ("K",)), ("D2", ("C", "OX")))} ({} if absent)."""
    if f.missing:
        return {}
    f.mapping("a mapping array dimension -> list of loop dimensions, e.g. {D1: [K], D2: [C, OX]}")
    hint = []
    for oa, hf in f.items():
        hf.seq(f"a non-empty list of loop dimensions for {oa}")
        dims = tuple(e.text("a loop dimension name").upper() for e in hf.elements())
        if not dims:
            raise hf.error(f"a non-empty list of loop dimensions for {oa}", "[]")
        hint.append((str(oa), dims))
    return {"spatial_hint": tuple(hint)}


def hardware_name(hw_path: str) -> str:
    """A hardware's name: its file stem (`Meta_prototype_DF`)."""
    return Path(hw_path).stem


def workload_name(wl: str) -> str:
    """A workload's name: its file stem when given as a path."""
    return Path(wl).stem if wl.endswith((".yaml", ".yml")) else wl


def _bool_pair(f: Field) -> tuple[bool, bool]:
    f.seq("a pair [H, V] of booleans (horizontal, vertical caching)")
    if len(f.value) != 2 or not all(isinstance(x, bool) for x in f.value):
        raise f.error("a pair [H, V] of booleans (horizontal, vertical caching)")
    return bool(f.value[0]), bool(f.value[1])


def _int_list(f: Field, what: str, positive: bool = True) -> tuple[int, ...]:
    f.seq(f"a non-empty list of {what}", 1)
    out = []
    for e in f.elements():
        out.append(e.pos_int(what) if positive else e.integer(what))
    if len(set(out)) != len(out):
        raise f.error(f"a list of distinct {what}", f"{out} (repeated values)")
    return tuple(out)


def load_sweep(path: str | os.PathLike[str], check_inputs: bool = True) -> Sweep:
    """Read and validate a sweep file; every mistake is one InputError naming the file and field.

    With `check_inputs` (the default) every hardware and workload file the sweep names is loaded and
    validated too, each workload's spatial mapping is checked against each hardware's array, and
    every explicit cut must name a layer of every workload: a bad input stops all three steps up
    front (exit status 2, nothing written) instead of failing scenario by scenario in Step 1.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise InputError(path, "", "an existing sweep file", "no such file")
    root_f = Field.root(path, read_yaml(path))
    root_f.mapping("a sweep (a mapping with hardware, workloads, tile_x, tile_y, ...)", _KEYS_REQUIRED, _KEYS_OPTIONAL)
    project = locate.project_folder(path)
    name = root_f.child("name").text("a sweep name") if not root_f.child("name").missing else Path(path).stem

    hw_f = root_f.child("hardware").seq("a non-empty list of hardware names or files", 1)
    hardware = []
    for e in hw_f.elements():
        text = e.text("a hardware name (e.g. Meta_prototype_DF) or a hardware file path")
        p = locate.hardware_path(project, text)
        if not os.path.isfile(p):
            raise e.error(f"an existing hardware (looked for {p}; {locate.hardware_hint(project, text)})")
        hardware.append(p)
    if len(set(hardware)) != len(hardware):
        raise hw_f.error("distinct hardware entries")

    wl_f = root_f.child("workloads").seq("a non-empty list of workload names or files", 1)
    workloads = []
    for e in wl_f.elements():
        text = e.text("a workload name (e.g. stftCNN_fixed_unrolling_oxoy_025_1x) or a workload file path")
        for hw in hardware:
            p = locate.workload_path(project, hw, text)
            if not os.path.isfile(p):
                raise e.error(f"a workload that exists for hardware {hardware_name(hw)} "
                              f"(looked for {p}; {locate.workload_hint(project, hw, text)})")
        workloads.append(text)
    if len(set(workloads)) != len(workloads):
        raise wl_f.error("distinct workload entries")

    tile_x = _int_list(root_f.child("tile_x"), "positive tile widths (output columns, X = frequency)")
    tile_y = _int_list(root_f.child("tile_y"), "positive tile heights (output rows, Y = time)")

    caching: tuple[tuple[bool, bool], ...] = ((True, True),)
    c_f = root_f.child("caching")
    if not c_f.missing:
        c_f.seq("a non-empty list of [H, V] caching pairs", 1)
        caching = tuple(_bool_pair(e) for e in c_f.elements())
        if len(set(caching)) != len(caching):
            raise c_f.error("distinct [H, V] caching pairs", f"{[list(c) for c in caching]} (repeated pairs)")

    cuts: tuple[tuple[int, ...], ...] = ((),)
    cut_fields: list[list[Field]] = []
    cu_f = root_f.child("cuts")
    if not cu_f.missing:
        cu_f.seq("a non-empty list of cut lists (e.g. [[]] or [[], [3, 7]])", 1)
        lst = []
        for e in cu_f.elements():
            e.seq("a list of layer ids to cut after")
            lst.append(tuple(sorted(x.nonneg_int("a layer id (non-negative integer)") for x in e.elements())))
        cuts = tuple(lst)
        cut_fields = [list(e.elements()) for e in cu_f.elements()]

    cut_max = root_f.child("cut_max").nonneg_int("a non-negative integer (extra cuts per cut set)") if not root_f.child("cut_max").missing else 0

    dil: tuple[int, ...] = (-1,)
    d_f = root_f.child("initial_dilation")
    if not d_f.missing:
        dil = _int_list(d_f, "dilations (-1 = inherited, or a positive integer)", positive=False)
        for e, v in zip(d_f.elements(), dil):
            if v == 0 or v < -1:
                raise e.error("-1 (inherited) or a positive integer")

    batch = 1
    b_f = root_f.child("batch")
    if not b_f.missing:
        batch = b_f.integer("a positive integer, or -1 (inferred)")
        if batch == 0 or batch < -1:
            raise b_f.error("a positive integer, or -1 (inferred)")

    targets: tuple[str, ...] = ("energy",)
    t_f = root_f.child("targets")
    if not t_f.missing:
        t_f.seq("a non-empty list of optimisation targets", 1)
        lst2 = []
        for e in t_f.elements():
            if e.value not in TARGETS:
                raise e.error(f"one of {', '.join(TARGETS)}")
            lst2.append(e.value)
        if len(set(lst2)) != len(lst2):
            raise t_f.error("distinct targets")
        targets = tuple(lst2)

    mapper = MapperSettings()
    m_f = root_f.child("mapper")
    if not m_f.missing:
        m_f.mapping("a mapper mapping (engine, lpf_limit, iterations, chains, spatial, spatial_top, spatial_hint)", (),
                    ("engine", "lpf_limit", "iterations", "chains", "spatial", "spatial_top", "spatial_hint"))
        kw: dict[str, Any] = {}
        if not m_f.child("engine").missing:
            if m_f.child("engine").value not in ENGINES:
                raise m_f.child("engine").error(f"one of {', '.join(ENGINES)}")
            kw["engine"] = m_f.child("engine").value
        for k in ("lpf_limit", "iterations", "chains", "spatial_top"):
            if not m_f.child(k).missing:
                kw[k] = m_f.child(k).pos_int()
        if not m_f.child("spatial").missing:
            if m_f.child("spatial").value not in SPATIAL_MODES:
                raise m_f.child("spatial").error(f"one of {', '.join(SPATIAL_MODES)}")
            kw["spatial"] = m_f.child("spatial").value
        kw.update(_spatial_hint(m_f.child("spatial_hint")))
        if kw.get("spatial", "fixed") == "fixed":
            for k in ("spatial_top", "spatial_hint"):
                if k in kw:
                    raise m_f.child(k).error("no spatial_top or spatial_hint unless spatial: search", "spatial: fixed")
        mapper = MapperSettings(**kw)
    m_model = root_f.child("model")
    if not m_model.missing:
        if m_model.value not in MODELS:
            raise m_model.error(f"a cost-model version, one of {', '.join(MODELS)}")
        mapper = replace(mapper, model=m_model.value)

    seed = root_f.child("seed").nonneg_int("a non-negative integer seed") if not root_f.child("seed").missing else 0

    step3 = Step3Settings()
    s_f = root_f.child("step3")
    if not s_f.missing:
        keys = ("threshold_mib", "clock_mhz", "hop_ms", "frame_rate_hz", "act_budget_mib", "weight_budget_mib")
        s_f.mapping(f"a step3 mapping ({', '.join(keys)})", (), keys)
        s3: dict[str, Any] = {}
        th = s_f.child("threshold_mib")
        if not th.missing:
            if th.value == "hardware":
                s3["threshold_mib"] = None
            else:
                s3["threshold_mib"] = th.nonneg_number("a size in MiB, or 'hardware' (the activation buffer's size)")
        for k, what in (("clock_mhz", "a positive clock frequency in MHz"), ("hop_ms", "a positive period in ms"),
                        ("frame_rate_hz", "a positive frame rate in Hz")):
            f = s_f.child(k)
            if not f.missing:
                v = f.nonneg_number(what)
                if v <= 0:
                    raise f.error(what)
                s3[k] = v
        if "hop_ms" in s3 and "frame_rate_hz" in s3:
            raise s_f.child("frame_rate_hz").error("either hop_ms or frame_rate_hz, not both")
        if "frame_rate_hz" in s3:
            s3["hop_ms"] = 1000.0 / s3.pop("frame_rate_hz")
        if ("clock_mhz" in s3) != ("hop_ms" in s3):
            raise s_f.child("clock_mhz" if "clock_mhz" not in s3 else "hop_ms").error(
                "clock_mhz together with hop_ms (or frame_rate_hz): the real-time deadline needs both")
        for k in ("act_budget_mib", "weight_budget_mib"):
            if not s_f.child(k).missing:
                s3[k] = s_f.child(k).nonneg_number("a non-negative size in MiB")
        step3 = Step3Settings(**s3)

    if check_inputs:
        _check_inputs(str(project), hardware, workloads, cut_fields, mapper.spatial != "search")
        if mapper.spatial_hint:
            _check_hint_dims(m_f.child("spatial_hint"), mapper.spatial_hint, hardware)

    return Sweep(
        path=path, name=name, hardware=tuple(hardware), workloads=tuple(workloads), tile_x=tile_x,
        tile_y=tile_y, caching=caching, cuts=cuts, cut_max=cut_max, initial_dilation=dil, batch=batch,
        targets=targets, mapper=mapper, seed=seed, step3=step3, project=os.path.relpath(project),
    )


def _check_hint_dims(f: Field, hint: tuple[tuple[str, tuple[str, ...]], ...], hardware: list[str]) -> None:
    """Each array dim a spatial hint names exists in every hardware of the sweep."""
    from acco.api import load_any_hardware

    for hw in hardware:
        dims = load_any_hardware(hw).array.dimensions
        for oa, _ in hint:
            if oa not in dims:
                raise f.key_field(oa).error(f"an array dimension of {hardware_name(hw)} ({', '.join(dims)})", repr(oa))


def _check_inputs(root: str, hardware: list[str], workloads: list[str], cut_fields: list[list[Field]],
                  check_unrolling: bool = True) -> None:
    """Load every hardware and workload of a sweep; check spatial mappings against arrays (not with the
    spatial search, which does not need them to fit) and cut ids.

    Hardware may be ACCO's or ZigZag 3.x files (as Step 1 reads them); each error is the input file's
    own located InputError (a spatial mapping that does not fit names the workload file and layer).
    """
    from acco.api import load_any_hardware
    from acco.io.workload import check_spatial_mapping, load_workload

    accs = {hw: load_any_hardware(hw) for hw in hardware}
    for hw, acc in accs.items():
        for text in workloads:
            wl_path = locate.workload_path(root, hw, text)
            wl = load_workload(wl_path)
            for layer in wl.layers if check_unrolling else ():
                check_spatial_mapping(layer, acc, wl_path)
            ids = [layer.id for layer in wl.layers]
            for fields in cut_fields:
                for f in fields:
                    if f.value not in ids:
                        shown = ", ".join(str(i) for i in ids) if len(ids) <= 12 else f"{ids[0]} .. {ids[-1]}"
                        raise f.error(f"the id of a layer of workload {workload_name(text)} to cut after ({shown})",
                                      f"{f.value} (no such layer in {wl_path})")


__all__ = ["MapperSettings", "Step3Settings", "Sweep", "TARGETS", "hardware_name", "load_sweep", "workload_name"]
